// Bad input at the proxy's HTTP edge: each gets its own status and JSON-RPC error, and an open
// session next to it keeps working. Also: no snapshot yet, failure mode closed, session end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'undici';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../shared/log.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { connectClient, DOWN, EVERYTHING, firstText, startUpstreams, type Upstreams } from './testing/fixture.ts';
import { Cleanup } from '../shared/testing/processes.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
const MAX_BODY = 64 * 1024;
let up: Upstreams;
let proxy: ProxyServer;
let url: string;
let bystander: Client;
let legacyBystander: Client;

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

interface Answer {
  status: number;
  headers: Headers;
  body: { id?: unknown; error?: { code: number; message: string; data?: { code?: string } }; result?: unknown } | undefined;
}

async function post(body: string | object, headers: Record<string, string> = {}, target = url): Promise<Answer> {
  const response = await fetch(target, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A raw session: initialize + initialized; returns its id. */
async function rawSession(): Promise<string> {
  const init = await post(INIT);
  assert.is(init.status, 200);
  const id = init.headers.get('mcp-session-id');
  assert.ok(id && id.length >= 22, 'a session id of at least 128 bits');
  assert.is((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id! })).status, 202);
  return id!;
}

async function bystanderStillWorks(): Promise<void> {
  assert.is(firstText(await bystander.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'still' } })), 'Echo: still');
  if (legacyBystander) assert.is(firstText(await legacyBystander.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'legacy' } })), 'Echo: legacy');
}

/** A request with headers fetch() will not send (Host). */
async function raw(method: 'POST' | 'PUT', headers: Record<string, string>, body?: string): Promise<Answer> {
  const response = await request(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.body.text();
  const answerHeaders = new Headers();
  for (const [k, v] of Object.entries(response.headers)) if (typeof v === 'string') answerHeaders.set(k, v);
  return { status: response.statusCode, headers: answerHeaders, body: text ? JSON.parse(text) : undefined };
}

test.before(async () => {
  up = await startUpstreams(cleanup);
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, maxBodyBytes: MAX_BODY });
  await proxy.start();
  cleanup.add(() => proxy.close());
  url = `http://127.0.0.1:${proxy.port}/mcp`;
});

test.after(() => cleanup.run());

test('before any table: 503 with MCPMUX_NO_SNAPSHOT', async () => {
  const answer = await post(INIT);
  assert.is(answer.status, 503);
  assert.is(answer.body?.error?.data?.code, 'MCPMUX_NO_SNAPSHOT');
  assert.is(proxy.version, undefined);
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { [EVERYTHING]: up.everything.url, [DOWN]: up.downUrl } })));
  bystander = await connectClient(url, cleanup, 'bystander');
  legacyBystander = new Client({ name: 'legacy-bystander', version: '1' });
  await legacyBystander.connect(new SSEClientTransport(new URL(url)));
  cleanup.add(() => legacyBystander.close());
});

const cases: Array<[string, () => Promise<Answer>, number, number, string]> = [
  ['malformed JSON', () => post('{"jsonrpc":'), 400, -32700, 'MCPMUX_PARSE_ERROR'],
  ['not JSON-RPC', () => post({ jsonrpc: '1.0', id: 1, method: 'ping' }), 400, -32600, 'MCPMUX_INVALID_REQUEST'],
  ['params not an object', () => post({ jsonrpc: '2.0', id: 1, method: 'ping', params: 3 }), 400, -32600, 'MCPMUX_INVALID_REQUEST'],
  ['a batch', () => post([{ jsonrpc: '2.0', id: 1, method: 'ping' }]), 400, -32600, 'MCPMUX_INVALID_REQUEST'],
  ['missing session id', () => post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), 400, -32600, 'MCPMUX_SESSION_REQUIRED'],
  ['unknown session id', () => post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'nope' }), 404, -32001, 'MCPMUX_SESSION_NOT_FOUND'],
  ['wrong content type', () => post('{}', { 'content-type': 'text/plain' }), 415, -32600, 'MCPMUX_UNSUPPORTED_MEDIA_TYPE'],
  ['accept without JSON', () => post(INIT, { accept: 'text/html' }), 406, -32600, 'MCPMUX_NOT_ACCEPTABLE'],
  ['unsupported protocol version', () => post(INIT, { 'mcp-protocol-version': '1999-01-01' }), 400, -32600, 'MCPMUX_UNSUPPORTED_PROTOCOL_VERSION'],
  ['body too large', () => post({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(MAX_BODY) } }), 413, -32600, 'MCPMUX_BODY_TOO_LARGE'],
  ['no route', () => post(INIT, {}, url.replace('/mcp', '/elsewhere')), 404, -32601, 'MCPMUX_ROUTE_NOT_FOUND'],
  ['initialize carrying a session id', () => post(INIT, { 'mcp-session-id': 'x' }), 400, -32600, 'MCPMUX_INVALID_REQUEST'],
  ['an Origin not allowed (DNS rebinding)', () => post(INIT, { origin: 'http://evil.example' }), 403, -32600, 'MCPMUX_FORBIDDEN_ORIGIN'],
  ['an Origin of another scheme or host', () => post(INIT, { origin: 'file://localhost' }), 403, -32600, 'MCPMUX_FORBIDDEN_ORIGIN'],
  [
    'a Host not allowed on a loopback bind',
    () => raw('POST', { ...JSON_HEADERS, host: 'rebound.example:80' }, JSON.stringify(INIT)),
    403,
    -32600,
    'MCPMUX_FORBIDDEN_HOST',
  ],
  ['a POST to an unknown legacy SSE session', () => post({ jsonrpc: '2.0', id: 1, method: 'ping' }, {}, `${url}/message?sessionId=nope`), 404, -32001, 'MCPMUX_SESSION_NOT_FOUND'],
  ['a legacy POST without sessionId', () => post({ jsonrpc: '2.0', id: 1, method: 'ping' }, {}, `${url}/message`), 400, -32600, 'MCPMUX_SESSION_REQUIRED'],
  ['a GET stream for an unknown session', () => get({ 'mcp-session-id': 'nope' }), 404, -32001, 'MCPMUX_SESSION_NOT_FOUND'],
  ['a GET that does not accept an event stream', () => get({ accept: 'application/json' }), 406, -32600, 'MCPMUX_NOT_ACCEPTABLE'],
  ['a method we do not serve', () => raw('PUT', JSON_HEADERS, '{}'), 405, -32600, 'MCPMUX_METHOD_NOT_ALLOWED'],
];

async function get(headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

for (const [name, send, status, code, mcpmuxCode] of cases) {
  test(`${name}: HTTP ${status}, JSON-RPC ${code}; other sessions unaffected`, async () => {
    const answer = await send();
    assert.is(answer.status, status);
    assert.is(answer.body?.error?.code, code);
    assert.is(answer.body?.error?.data?.code, mcpmuxCode);
    await bystanderStillWorks();
  });
}

test('unknown method: JSON-RPC -32601 in a 200, with the request id', async () => {
  const session = await rawSession();
  const answer = await post({ jsonrpc: '2.0', id: 'abc', method: 'no/such', params: {} }, { 'mcp-session-id': session });
  assert.is(answer.status, 200);
  assert.is(answer.body?.id, 'abc');
  assert.is(answer.body?.error?.code, -32601);
  assert.match(answer.body!.error!.message, 'no/such');
  await bystanderStillWorks();
});

test('invalid cursor: -32602', async () => {
  const session = await rawSession();
  const answer = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { cursor: 'garbage' } }, { 'mcp-session-id': session });
  assert.is(answer.body?.error?.code, -32602);
  assert.match(answer.body!.error!.message, /Invalid cursor/);
});

test('a tool of a target that is down: a clear error naming it', async () => {
  try {
    await bystander.callTool({ name: `${DOWN}_echo`, arguments: {} });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, McpError);
    assert.match((error as Error).message, new RegExp(`target ${DOWN} is unavailable`));
  }
  await bystanderStillWorks();
});

test('CORS: a preflight from an allowed origin succeeds; answers expose Mcp-Session-Id', async () => {
  const preflight = await fetch(url, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-session-id, mcp-protocol-version' },
  });
  assert.is(preflight.status, 204);
  assert.is(preflight.headers.get('access-control-allow-origin'), 'http://localhost:6274');
  assert.is(preflight.headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS');
  for (const h of ['content-type', 'authorization', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id']) {
    assert.ok(preflight.headers.get('access-control-allow-headers')?.split(', ').includes(h), h);
  }
  const init = await post(INIT, { origin: 'http://127.0.0.1:6274' });
  assert.is(init.status, 200);
  assert.is(init.headers.get('access-control-allow-origin'), 'http://127.0.0.1:6274');
  assert.match(init.headers.get('access-control-expose-headers') ?? '', /Mcp-Session-Id/);
  // A preflight from an origin not allowed is refused like any other request from it.
  const refused = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.is(refused.status, 403);
  assert.is(refused.headers.get('access-control-allow-origin'), null);
  await bystanderStillWorks();
});

test('allowed Hosts: localhost names on a loopback bind, with or without a port', async () => {
  for (const host of ['localhost', `localhost:${proxy.port}`, `127.0.0.1:${proxy.port}`, `[::1]:${proxy.port}`]) {
    const answer = await raw('POST', { ...JSON_HEADERS, host }, JSON.stringify(INIT));
    assert.is(answer.status, 200, host);
  }
});

test('notifications and responses are accepted with 202', async () => {
  const session = await rawSession();
  assert.is((await post({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, { 'mcp-session-id': session })).status, 202);
  assert.is((await post({ jsonrpc: '2.0', id: 99, result: {} }, { 'mcp-session-id': session })).status, 202);
});

test('DELETE ends the session: later requests get 404; DELETE without an id is 400', async () => {
  const session = await rawSession();
  assert.is((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session })).status, 200);
  const deleted = await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  assert.is(deleted.status, 200);
  assert.is((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session })).status, 404);
  assert.is((await fetch(url, { method: 'DELETE' })).status, 400);
  assert.is((await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session } })).status, 404);
  await bystanderStillWorks();
});

test('failure mode closed: a target that is down fails initialize, and no session is issued', async () => {
  proxy.apply(
    compileRoutingTable(
      simpleSnapshot({ version: 'closed', targets: { [EVERYTHING]: up.everything.url, [DOWN]: up.downUrl }, backend: { failureMode: 'FAILURE_MODE_CLOSED' } }),
    ),
  );
  const answer = await post(INIT);
  assert.is(answer.status, 200);
  assert.is(answer.body?.error?.data?.code, 'MCPMUX_TARGET_UNAVAILABLE');
  assert.match(answer.body!.error!.message, new RegExp(`target ${DOWN}`));
  assert.is(answer.headers.get('mcp-session-id'), null);
  // The open session meets the same rule for lists, and still works for its live target.
  try {
    await bystander.listTools();
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, new RegExp(`target ${DOWN}`));
  }
  await bystanderStillWorks();
});

test.run();
