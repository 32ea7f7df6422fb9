// Limits (issue 7): each configurable, each hit a clear error and a count for the metric.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Snapshot } from '../shared/config/types.ts';
import { createLogger } from '../shared/log.ts';
import { deeperThan } from '../proxy/downstream/read-message.ts';
import { compileRoutingTable } from '../proxy/routing/table.ts';
import { ProxyServer } from '../proxy/server.ts';
import { createEchoUpstream } from './bench/fixtures/echo-upstream.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const KEY = 'limits-test-key';

let upstream: Server;
let proxy: ProxyServer;
let url: string;
const hits: string[] = [];

function snapshot(port: number): Snapshot {
  return {
    version: 'v1',
    group: 'ns/gw',
    listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] }],
    routes: [{ name: 'ns/r/0/0', listeners: ['http'], pathPrefix: '/mcp', backend: 'ns/b', hostnames: [] }],
    backends: [{ name: 'ns/b', prefixMode: 'PREFIX_MODE_ALWAYS', failureMode: 'FAILURE_MODE_OPEN', targets: ['echo'], toolInclude: [], toolExclude: [], serverInfo: null, instructions: '' }],
    targets: [{ backend: 'ns/b', name: 'echo', endpoints: [{ address: '127.0.0.1', port, ready: true }], path: '/mcp', protocol: 'PROTOCOL_STREAMABLE_HTTP', scheme: 'http', timeouts: { requestMs: 0, initializeMs: 0 }, authSecret: '', source: 't', stdio: null, protocolEra: 'PROTOCOL_ERA_AUTO' }],
    policies: [{ name: 'p', backends: ['ns/b'], authentication: { jwt: [], apiKeys: [{ principal: 'bot', sha256: createHash('sha256').update(KEY).digest('hex') }] }, authorization: null }],
    secrets: [],
  };
}

const initialize = (): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': KEY },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'l', version: '1' } } }),
  });

test.before(async () => {
  upstream = createEchoUpstream();
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, maxJsonDepth: 8, maxSessionsPerPrincipal: 3, maxInFlightPerSession: 1, maxBodyBytes: 2048, onLimit: (limit) => hits.push(limit) });
  await proxy.start();
  proxy.apply(compileRoutingTable(snapshot((upstream.address() as AddressInfo).port)));
  url = `http://127.0.0.1:${proxy.port}/mcp`;
});

test.after(async () => {
  await proxy.close();
  await new Promise((resolve) => upstream.close(resolve));
});

test('deeperThan counts objects and arrays, and stops one level past the limit (no stack at risk)', () => {
  assert.is(deeperThan({ a: [1, { b: 2 }] }, 3), false);
  assert.is(deeperThan({ a: [1, { b: [] }] }, 3), true);
  assert.is(deeperThan(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 64), true);
  assert.is(deeperThan('text', 0), false);
});

test('too deep a message: 429 naming the limit; too large a body: 413; both counted', async () => {
  const deep = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': KEY },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { a: [[[[[[[[[1]]]]]]]]] } }),
  });
  assert.is(deep.status, 429);
  assert.match(await deep.text(), /nests deeper than 8 levels/);
  const large = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': KEY }, body: 'x'.repeat(4096) });
  assert.is(large.status, 413);
  await large.text();
  assert.equal(hits.slice(0, 2), ['json-depth', 'body-bytes']);
});

test('a session may have so many requests in flight; the next is refused with its id', async () => {
  const session = (await initialize()).headers.get('mcp-session-id')!;
  const headers = { 'content-type': 'application/json', accept: 'application/json', 'x-api-key': KEY, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
  await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.text());
  const call = (id: number) => fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }) });
  const [a, b] = await Promise.all([call(1), call(2)]);
  const bodies = [await a.text(), await b.text()];
  assert.ok(bodies.some((text) => /requests in flight/.test(text)), bodies.join('\n'));
  assert.ok(bodies.some((text) => /"tools"/.test(text)), 'the other one is answered');
  assert.ok(hits.includes('in-flight-per-session'));
  await fetch(url, { method: 'DELETE', headers: { 'x-api-key': KEY, 'mcp-session-id': session } }).then((r) => r.text());
});

test('a principal may hold so many sessions; the next is 429 until one ends', async () => {
  const first = await initialize();
  const second = await initialize();
  const third = await initialize();
  assert.equal([first.status, second.status, third.status], [200, 200, 200]);
  const fourth = await initialize();
  assert.is(fourth.status, 429);
  assert.match(await fourth.text(), /api-key:bot already holds 3 sessions/);
  assert.ok(hits.includes('sessions-per-principal'));
  const ended = await fetch(url, { method: 'DELETE', headers: { 'x-api-key': KEY, 'mcp-session-id': first.headers.get('mcp-session-id')! } });
  assert.is(ended.status, 200);
  assert.is((await initialize()).status, 200);
});

test.run();
