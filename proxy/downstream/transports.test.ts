// Both downstream transports at a route's prefix, driven by the SDK's own clients and by raw HTTP
// where the wire itself is the point: legacy SSE (endpoint event, 202 + answers on the stream, the
// `/sse` alias, 2024-11-05 by default), streamable HTTP answered as JSON or SSE, the GET stream,
// resumability with Last-Event-ID, and clients and upstreams on different protocol versions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../../shared/log.ts';
import { Cleanup } from '../../shared/testing/processes.ts';
import { startRecordingServer, type RecordingServer } from '../../shared/testing/upstreams.ts';
import { compileRoutingTable } from '../routing/table.ts';
import { ProxyServer } from '../server.ts';
import { connectClient, EVERYTHING, firstText, startUpstreams, type Upstreams } from '../testing/fixture.ts';
import { simpleSnapshot } from '../testing/snapshots.ts';
import { openSse, postJson, type SseReader } from '../testing/raw-http.ts';
import { WATCHER_CLIENT } from '../mux/list-watchers.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
const REC = 'rec';
let up: Upstreams;
let rec: RecordingServer;
let proxy: ProxyServer;
let base: string;

test.before(async () => {
  up = await startUpstreams(cleanup);
  // Pinned to an older version than any client here asks for.
  rec = await startRecordingServer({ name: REC, protocolVersion: '2025-03-26' });
  cleanup.add(() => rec.close());
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { [EVERYTHING]: up.everything.url, [REC]: rec.url } })));
  base = `http://127.0.0.1:${proxy.port}`;
});

test.after(() => cleanup.run());

async function sseClient(path: string, name = 'sse-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new SSEClientTransport(new URL(`${base}${path}`)));
  cleanup.add(() => client.close());
  return client;
}

test('legacy SSE: the SDK SSEClientTransport at /mcp lists and calls tools', async () => {
  const client = await sseClient('/mcp');
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes(`${EVERYTHING}_echo`) && names.includes(`${REC}_echo`), names.join(', '));
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'over sse' } })), 'Echo: over sse');
  assert.is(firstText(await client.callTool({ name: `${REC}_echo`, arguments: { text: 'x' } })), 'rec: x');
});

test('legacy SSE: /sse is an alias of the only route', async () => {
  const client = await sseClient('/sse', 'alias');
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_get-sum`, arguments: { a: 1, b: 2 } })).includes('3'), true);
});

test('legacy SSE on the wire: endpoint event first, 202 for POSTs, answers on the stream, 2024-11-05 by default', async () => {
  const stream = await openSse(`${base}/mcp`, {});
  cleanup.add(() => stream.close());
  assert.is(stream.status, 200);
  const endpoint = await stream.next();
  assert.is(endpoint.event, 'endpoint');
  assert.match(endpoint.data, /^\/mcp\/message\?sessionId=[A-Za-z0-9_-]{24}$/);
  const post = (body: object) => postJson(`${base}${endpoint.data}`, body, { accept: '' });
  const accepted = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2099-01-01', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  assert.is(accepted.status, 202);
  const init = JSON.parse((await stream.next()).data) as { id: number; result: { protocolVersion: string } };
  assert.is(init.id, 1);
  assert.is(init.result.protocolVersion, '2024-11-05');
  assert.is((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
  assert.is((await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: `${REC}_echo`, arguments: { text: 'old client' } } })).status, 202);
  const call = JSON.parse((await stream.next()).data) as { id: number; result: { content: Array<{ text: string }> } };
  assert.equal([call.id, call.result.content[0]!.text], [2, 'rec: old client']);
});

/** An SDK client transport that asks for `version` instead of the SDK's latest. */
function askingFor(version: string, inner: Transport): Transport {
  const send = inner.send.bind(inner);
  inner.send = (message: JSONRPCMessage, options) => {
    if ('method' in message && message.method === 'initialize') {
      return send({ ...message, params: { ...message.params, protocolVersion: version } }, options);
    }
    return send(message, options);
  };
  return inner;
}

test('a 2024-11-05 client with upstreams on 2025-03-26 (rec) and newer (server-everything) works', async () => {
  const client = new Client({ name: 'old', version: '1' });
  await client.connect(askingFor('2024-11-05', new SSEClientTransport(new URL(`${base}/mcp`))));
  cleanup.add(() => client.close());
  assert.is(client.getServerVersion()?.name, 'mcpmux');
  assert.is(firstText(await client.callTool({ name: `${REC}_echo`, arguments: { text: 'v' } })), 'rec: v');
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'v' } })), 'Echo: v');
  // rec was asked for the client's 2024-11-05, answered its own 2025-03-26, and is spoken to in it.
  const asked = rec.receivedOf('initialize').map((m) => JSON.stringify(m));
  assert.ok(asked.some((m) => m.includes('"protocolVersion":"2024-11-05"')), asked.join('\n'));
  const call = rec.received.filter((r) => JSON.stringify(r.message).includes('"text":"v"'));
  assert.equal(call.map((r) => r.protocolVersion), ['2025-03-26']);
});

test('streamable HTTP: a 2025-11-25 client gets every answer as a resumable stream (priming event first), as the SDK server does', async () => {
  const client = await connectClient(`${base}/mcp`, cleanup);
  const sessionId = (client.transport as { sessionId?: string }).sessionId!;
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
  const fast = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: `${REC}_echo`, arguments: { text: 'how' } } }, headers);
  assert.match(fast.contentType, /^text\/event-stream/);
  const events = fast.events();
  assert.equal(events.map((e) => (e.data === '' ? 'priming' : 'answer')), ['priming', 'answer']);
  assert.ok(events[0]!.id, 'the priming event carries the resumption cursor');
  const asJson = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 8, method: 'tools/list' }, { ...headers, accept: 'application/json' });
  assert.match(asJson.contentType, /^application\/json/);
});

test('streamable HTTP (before 2025-11-25): a call answered fast is JSON; one that talks first or takes a while is SSE; without SSE in Accept, JSON', async () => {
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'older', version: '1' });
  await client.connect(askingFor('2025-06-18', new StreamableHTTPClientTransport(new URL(`${base}/mcp`))));
  cleanup.add(() => client.close());
  const sessionId = (client.transport as { sessionId?: string }).sessionId!;
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  const echo = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: `${REC}_echo`, arguments: { text: 'how' } } };
  const fast = await postJson(`${base}/mcp`, echo, headers);
  assert.match(fast.contentType, /^application\/json/);
  assert.equal(fast.json<{ result: { content: Array<{ text: string }> } }>().result.content[0]!.text, 'rec: how');
  // Progress before the answer: the response becomes an event stream, the answer last.
  const log = { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: `${REC}_log`, arguments: { message: 'm' } } };
  const talking = await postJson(`${base}/mcp`, log, headers);
  assert.match(talking.contentType, /^text\/event-stream/);
  const events = talking.events();
  assert.equal(events.map((e) => JSON.parse(e.data).method ?? 'answer'), ['notifications/message', 'answer']);
  // Slow and silent: the stream opens anyway (keep-alives, and the events carry ids to resume from).
  const slow = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: `${REC}_slow`, arguments: { ms: 300 } } }, headers);
  assert.match(slow.contentType, /^text\/event-stream/);
  const asJson = await postJson(`${base}/mcp`, { ...log, id: 10 }, { ...headers, accept: 'application/json' });
  assert.match(asJson.contentType, /^application\/json/);
  assert.equal(asJson.json<{ id: number; result: { content: Array<{ text: string }> } }>().result.content[0]!.text, 'rec: logged');
  const list = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 11, method: 'tools/list' }, headers);
  assert.match(list.contentType, /^application\/json/);
});

test('streamable HTTP: one GET stream per session (409 for a second); GET needs Accept: text/event-stream', async () => {
  const client = await connectClient(`${base}/mcp`, cleanup, 'getter');
  const sessionId = (client.transport as { sessionId?: string }).sessionId!;
  // The SDK client opened its GET stream after initialized; wait for the server to see it.
  let second: SseReader | undefined;
  for (let i = 0; i < 50; i++) {
    second = await openSse(`${base}/mcp`, { 'mcp-session-id': sessionId });
    if (second.status === 409) break;
    second.close();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.is(second!.status, 409);
  const noAccept = await fetch(`${base}/mcp`, { headers: { 'mcp-session-id': sessionId, accept: 'application/json' } });
  await noAccept.text();
  assert.is(noAccept.status, 406);
  assert.is(firstText(await client.callTool({ name: `${REC}_echo`, arguments: { text: 'still' } })), 'rec: still');
});

test('resumability: a tools/call stream cut mid-way is resumed with Last-Event-ID, nothing lost', async () => {
  const client = await connectClient(`${base}/mcp`, cleanup, 'resumer');
  const sessionId = (client.transport as { sessionId?: string }).sessionId!;
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
  const call = { jsonrpc: '2.0', id: 'r1', method: 'tools/call', params: { name: `${REC}_slow`, arguments: { ms: 600, steps: 3 }, _meta: { progressToken: 'tok' } } };
  const first = await openSse(`${base}/mcp`, headers, call);
  const priming = await first.next();
  const progress1 = await first.next();
  assert.is(JSON.parse(progress1.data).params.progress, 1);
  first.close(); // the connection drops after the first progress
  await new Promise((r) => setTimeout(r, 500));
  const resumed = await openSse(`${base}/mcp`, { ...headers, 'last-event-id': progress1.id! });
  const rest: unknown[] = [];
  for (let e = await resumed.next(); ; e = await resumed.next()) {
    rest.push(JSON.parse(e.data));
    if ('result' in (rest.at(-1) as object)) break;
  }
  assert.equal(
    rest.map((m) => (m as { params?: { progress: number } }).params?.progress ?? 'result'),
    [2, 3, 'result'],
  );
  assert.is((rest.at(-1) as { id: string }).id, 'r1');
  assert.ok(priming.id);
  // The request ran to its end: the upstream was never told to cancel it.
  assert.not.ok(rec.receivedOf('notifications/cancelled').some((m) => JSON.stringify(m).includes('slow')));
  // A stream that was answered and delivered leaves nothing behind: resuming it again gets 204.
  const again = await fetch(`${base}/mcp`, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': progress1.id! } });
  await again.text();
  assert.ok(again.status === 204 || again.status === 200);
});

let rawSessions = 0;

/**
 * A raw streamable session on 2025-06-18 that has listed tools (so list changes are news to it).
 * Its client capabilities are its own: no cached initialize answer fits them, so its upstream
 * sessions open at initialize (rec's newest session is this one's).
 */
async function rawSession(): Promise<{ headers: Record<string, string> }> {
  const capabilities = { experimental: { [`raw-${++rawSessions}`]: {} } };
  const init = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'raw', version: '1' } } }, {});
  const headers = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
  await postJson(`${base}/mcp`, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  assert.is((await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers)).status, 200);
  return { headers };
}

test('the standalone stream: what came before any GET waits for it; a dropped GET resumes after its Last-Event-ID', async () => {
  const { headers } = await rawSession();
  // rec's session for this client: the newest (the list cache's own watchers apart).
  const upstream = rec.sessions().filter((server) => server.getClientVersion()?.name !== WATCHER_CLIENT).at(-1)!;
  await upstream.sendToolListChanged();
  await new Promise((r) => setTimeout(r, 100));
  const first = await openSse(`${base}/mcp`, headers);
  const waited = await first.next();
  assert.equal(JSON.parse(waited.data), { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  assert.match(waited.id ?? '', /^g\.\d+$/);
  first.close();
  await new Promise((r) => setTimeout(r, 100));
  await upstream.sendToolListChanged(); // while no GET is connected
  await new Promise((r) => setTimeout(r, 100));
  const resumed = await openSse(`${base}/mcp`, { ...headers, 'last-event-id': waited.id! });
  const missed = await resumed.next();
  assert.equal(JSON.parse(missed.data).method, 'notifications/tools/list_changed');
  assert.is.not(missed.id, waited.id);
  resumed.close();
});

test('legacy SSE resume: an EventSource reconnecting with Last-Event-ID gets its session back and what it missed', async () => {
  const stream = await openSse(`${base}/mcp`, {});
  const endpoint = await stream.next();
  const post = (body: object) => postJson(`${base}${endpoint.data}`, body, { accept: '' });
  await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const init = await stream.next();
  stream.close();
  await new Promise((r) => setTimeout(r, 100));
  // The stream is gone, the session is not (grace period): the answer waits for the client.
  assert.is((await post({ jsonrpc: '2.0', id: 2, method: 'ping' })).status, 202);
  const back = await openSse(`${base}/mcp`, { 'last-event-id': init.id! });
  const again = await back.next();
  assert.equal([again.event, again.data], ['endpoint', endpoint.data]);
  assert.equal(JSON.parse((await back.next()).data), { jsonrpc: '2.0', id: 2, result: {} });
  back.close();
});

test('DELETE ends a streamable session: its GET stream ends, later requests get 404', async () => {
  const init = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, {});
  const sessionId = init.headers.get('mcp-session-id')!;
  const stream = await openSse(`${base}/mcp`, { 'mcp-session-id': sessionId });
  assert.is(stream.status, 200);
  assert.is((await fetch(`${base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } })).status, 200);
  await stream.ended;
  const after = await postJson(`${base}/mcp`, { jsonrpc: '2.0', id: 2, method: 'ping' }, { 'mcp-session-id': sessionId });
  assert.is(after.status, 404);
});

test.run();
