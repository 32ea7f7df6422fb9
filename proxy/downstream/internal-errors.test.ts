// Issue 16: what failed inside the proxy stays in its log. A client gets a generic 500 with a
// correlation id; the log line carries the same id and the details (message and stack).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { McpmuxError } from '../../shared/errors.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { compileRoutingTable, type RoutingTable } from '../routing/table.ts';
import { ProxyServer } from '../server.ts';
import { SessionRegistry } from '../sessions/registry.ts';
import { simpleSnapshot } from '../testing/snapshots.ts';
import { MemoryEventStore } from './event-store.ts';
import { StreamableHttpEndpoint } from './streamable-http.ts';
import { SessionAdmission } from './session-admission.ts';

const SECRET = 'EACCES: permission denied, open /var/run/secrets/upstream-token (at 10.0.3.7)';
const INIT = { jsonrpc: '2.0', id: 7, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** A logger whose lines are kept, parsed. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

function table(): RoutingTable {
  return compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { down: 'http://127.0.0.1:9/mcp' } }));
}

interface Answer {
  status: number;
  body: { id: unknown; error: { code: number; message: string; data?: { code?: string; errorId?: string } } };
}

async function initialize(url: string): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INIT) });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** The client's answer says nothing of the failure but an id; the log line under that id says it all. */
function assertHidden(answer: Answer, lines: Array<Record<string, unknown>>): void {
  assert.is(answer.status, 500);
  assert.is(answer.body.error.code, -32603);
  assert.is(answer.body.error.data?.code, 'MCPMUX_INTERNAL');
  const errorId = answer.body.error.data?.errorId;
  assert.ok(typeof errorId === 'string' && /^[0-9a-f]{16}$/.test(errorId), `a correlation id in error.data: ${JSON.stringify(answer.body)}`);
  assert.ok(answer.body.error.message.includes(errorId!), answer.body.error.message);
  const text = JSON.stringify(answer.body);
  for (const leak of ['EACCES', '/var/run', '10.0.3.7', 'upstream-token']) assert.not.ok(text.includes(leak), `the answer leaks ${leak}: ${text}`);
  const logged = lines.find((line) => line.errorId === errorId);
  assert.ok(logged, `a log line with errorId ${errorId}: ${JSON.stringify(lines)}`);
  assert.is(logged!.level, 50);
  assert.ok(String(logged!.err).includes(SECRET), JSON.stringify(logged));
  assert.ok(String(logged!.stack).includes('internal-errors.test.ts'), 'the stack is logged');
}

test('an error routing a request (a failing authenticator): generic 500 with an id, details in the log', async () => {
  const { logger, lines } = capturingLogger();
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  try {
    const compiled = table();
    const failing = { authenticate: () => Promise.reject(new Error(SECRET)) } as unknown as Authenticator;
    const route = { ...compiled.routes[0]!, backend: { ...compiled.routes[0]!.backend, authenticator: failing } };
    proxy.apply({ ...compiled, routes: [route], sseAlias: route });
    assertHidden(await initialize(`http://127.0.0.1:${proxy.port}/mcp`), lines);
  } finally {
    await proxy.close();
  }
});

test('an error inside the streamable HTTP transport: generic 500 with an id, details in the log', async () => {
  const { logger, lines } = capturingLogger();
  const sessions = new SessionRegistry({ logger, idleTtlMs: 60_000 });
  const endpoint = new StreamableHttpEndpoint({
    sessions,
    admission: new SessionAdmission({ sessions, maxSessions: 0, maxSessionsPerPrincipal: 0, maxAnonymousSessionsPerAddress: 0 }),
    logger,
    maxBodyBytes: 65536,
    store: new MemoryEventStore({ maxEventsPerSession: 16, maxBytesPerSession: 65536 }),
    keepAliveMs: 15_000,
    maxBufferedBytes: 1 << 20,
    legacyResumeGraceMs: 1_000,
    uninitializedSessionTtlMs: 1_000,
    maxJsonDepth: 64,
    maxInFlightPerSession: 8,
    createSession: () => {
      throw new Error(SECRET);
    },
  });
  const route = table().routes[0]!;
  const server: Server = createServer((req, res) => endpoint.handle(req, res, route));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    assertHidden(await initialize(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`), lines);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a refusal meant for the client still reaches it as it is', async () => {
  const { logger, lines } = capturingLogger();
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  try {
    const compiled = table();
    const refusing = { authenticate: () => Promise.reject(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', 'NATS is unreachable; retry shortly')) } as unknown as Authenticator;
    const route = { ...compiled.routes[0]!, backend: { ...compiled.routes[0]!.backend, authenticator: refusing } };
    proxy.apply({ ...compiled, routes: [route], sseAlias: route });
    const answer = await initialize(`http://127.0.0.1:${proxy.port}/mcp`);
    assert.is(answer.status, 503);
    assert.match(answer.body.error.message, /NATS is unreachable/);
    assert.is(lines.filter((line) => line.level === 50).length, 0);
  } finally {
    await proxy.close();
  }
});

test.run();
