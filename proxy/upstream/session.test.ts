// The upstream client against real servers: server-everything (stateful, SSE responses) and the
// tutorial's website fetcher (stateless, JSON responses).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'undici';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { startWebsiteFetcher, type WebsiteFetcher } from '../../deploy/examples/website-fetcher/server.ts';
import { endpointUrl, type EndpointUrl } from '../routing/target-url.ts';
import { Cleanup, freePort } from '../../shared/testing/processes.ts';
import { startServerEverything, startWebsite, type EverythingServer, type LocalServer } from '../../shared/testing/upstreams.ts';
import { UpstreamPool } from './pool.ts';
import { UpstreamSession, type UpstreamMessage } from './session.ts';
import { relatedId, type Related } from './connection.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
const pool = new UpstreamPool();
let everything: EverythingServer;
let fetcher: WebsiteFetcher;
let website: LocalServer;

const INIT = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } };
const T = { timeoutMs: 10_000 };

function endpoint(url: string): EndpointUrl {
  const u = new URL(url);
  const built = endpointUrl('http', u.hostname, Number(u.port), u.pathname);
  if (!('ok' in built)) throw new Error(built.error);
  return built.ok;
}

function session(url: string, onMessage?: (m: UpstreamMessage, relatedTo: RequestId | undefined) => void): UpstreamSession {
  const s = new UpstreamSession({ dispatcher: pool.dispatcher, target: 'tgt', endpoint: endpoint(url), logger, ...(onMessage ? { onMessage: (m: UpstreamMessage, r: Related | undefined) => onMessage(m, relatedId(r)) } : {}) });
  cleanup.add(() => s.close());
  return s;
}

function text(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0] as { text: string }).text;
}

/** DELETEs an upstream session behind the client's back. */
async function deleteUpstreamSession(url: string, sessionId: string): Promise<void> {
  const { statusCode, body } = await request(url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
  await body.dump();
  assert.is(statusCode, 200);
}

test.before(async () => {
  [everything, fetcher, website] = await Promise.all([startServerEverything(), startWebsiteFetcher({ port: 0 }), startWebsite('hello from the website')]);
  cleanup.add(() => everything.stop());
  cleanup.add(() => fetcher.close());
  cleanup.add(() => website.close());
});

test.after(async () => {
  await cleanup.run();
  await pool.close();
});

test('server-everything: initialize captures a session id; list and call over SSE responses', async () => {
  const s = session(everything.url);
  const init = await s.initialize(INIT, T);
  assert.is(init.protocolVersion, '2025-06-18');
  assert.is(init.serverInfo.name, 'mcp-servers/everything');
  assert.ok(s.sessionId, 'stateful upstream issues a session id');
  const list = await s.request({ method: 'tools/list' }, T);
  assert.ok('result' in list);
  const names = (list as unknown as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
  assert.ok(names.includes('echo') && names.includes('get-sum'), names.join(','));
  const echo = await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }, T);
  assert.is(text((echo as { result: unknown }).result), 'Echo: hi');
});

test('fetcher: stateless (no session id), JSON responses, fetch returns the body', async () => {
  const s = session(fetcher.url);
  await s.initialize(INIT, T);
  assert.is(s.sessionId, undefined);
  const response = await s.request({ method: 'tools/call', params: { name: 'fetch', arguments: { url: website.url } } }, T);
  assert.is(text((response as { result: unknown }).result), 'hello from the website');
  const redirected = await s.request({ method: 'tools/call', params: { name: 'fetch', arguments: { url: `${website.url}redirect` } } }, T);
  assert.is(text((redirected as { result: unknown }).result), 'hello from the website');
  const missing = await s.request({ method: 'tools/call', params: { name: 'fetch', arguments: { url: `${website.url}missing` } } }, T);
  assert.is((missing as { result: { isError?: boolean } }).result.isError, true);
  assert.match(text((missing as { result: unknown }).result), /404/);
});

test('an upstream JSON-RPC error comes back as a response, not a throw', async () => {
  const s = session(everything.url);
  await s.initialize(INIT, T);
  const response = await s.request({ method: 'no/such-method' }, T);
  assert.ok('error' in response);
  assert.is((response as { error: { code: number } }).error.code, -32601);
});

test('upstream session deleted behind our back: re-initialized transparently, the call works', async () => {
  const s = session(everything.url);
  await s.initialize(INIT, T);
  const before = s.sessionId!;
  await deleteUpstreamSession(everything.url, before);
  const echo = await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'again' } } }, T);
  assert.is(text((echo as { result: unknown }).result), 'Echo: again');
  assert.ok(s.sessionId && s.sessionId !== before, 'a new upstream session');
});

test('concurrent requests on an expired session share one re-initialization', async () => {
  const s = session(everything.url);
  await s.initialize(INIT, T);
  await deleteUpstreamSession(everything.url, s.sessionId!);
  const results = await Promise.all(
    ['a', 'b', 'c'].map((m) => s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: m } } }, T)),
  );
  assert.equal(results.map((r) => text((r as { result: unknown }).result)), ['Echo: a', 'Echo: b', 'Echo: c']);
});

test('progress notifications on the response stream reach onMessage, tagged with the request', async () => {
  const seen: Array<[UpstreamMessage, RequestId | undefined]> = [];
  const s = session(everything.url, (m, relatedTo) => {
    if (m.method === 'notifications/progress') seen.push([m, relatedTo]);
  });
  await s.initialize(INIT, T);
  const response = await s.request(
    { method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: 'p1' } } },
    { ...T, relatedTo: 'client-7' },
  );
  assert.match(text((response as { result: unknown }).result), /Long running operation completed/);
  assert.equal(
    seen.map(([n, relatedTo]) => [n.method, (n.params as { progress: number }).progress, relatedTo]),
    [['notifications/progress', 1, 'client-7'], ['notifications/progress', 2, 'client-7']],
  );
});

test('the GET stream is open before notifications/initialized: what the upstream says then arrives', async () => {
  const seen: Array<[string, RequestId | undefined]> = [];
  const s = session(everything.url, (m, relatedTo) => seen.push([m.method, relatedTo]));
  // With the sampling capability, server-everything registers more tools on notifications/initialized
  // and says so on its GET stream.
  await s.initialize({ ...INIT, capabilities: { sampling: {} } }, T);
  const deadline = Date.now() + 5_000;
  while (!seen.some(([m]) => m === 'notifications/tools/list_changed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen.some(([m, relatedTo]) => m === 'notifications/tools/list_changed' && relatedTo === undefined), JSON.stringify(seen));
});

test('a server→client request is refused upstream when nobody handles it', async () => {
  const s = session(everything.url);
  await s.initialize({ ...INIT, capabilities: { sampling: {} } }, T);
  const response = await s.request({ method: 'tools/call', params: { name: 'trigger-sampling-request', arguments: { prompt: 'hi' } } }, T);
  assert.ok('result' in response || 'error' in response);
  // server-everything reports the refusal as a tool error or a JSON-RPC error; either way it did not hang
  assert.match(JSON.stringify(response), /cannot be relayed|-32601/);
});

test('a request past its timeout fails with MCPMUX_UPSTREAM_TIMEOUT; the session still works', async () => {
  const s = session(everything.url);
  await s.initialize(INIT, T);
  try {
    await s.request({ method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 3, steps: 1 } } }, { timeoutMs: 200 });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, McpmuxError);
    assert.is((error as McpmuxError).code, 'MCPMUX_UPSTREAM_TIMEOUT');
    assert.match((error as Error).message, /target tgt did not answer within 200 ms/);
  }
  const echo = await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'still here' } } }, T);
  assert.is(text((echo as { result: unknown }).result), 'Echo: still here');
});

test('the caller aborting rejects with its reason', async () => {
  const s = session(everything.url);
  await s.initialize(INIT, T);
  const abort = new AbortController();
  const pending = s.request({ method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 3, steps: 1 } } }, { timeoutMs: 10_000, signal: abort.signal });
  setTimeout(() => abort.abort(new McpmuxError('MCPMUX_REQUEST_CANCELLED', 'gone')), 50);
  try {
    await pending;
    assert.unreachable();
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_REQUEST_CANCELLED');
  }
});

test('a target that is down fails with MCPMUX_TARGET_UNAVAILABLE naming it', async () => {
  const port = await freePort();
  const s = session(`http://127.0.0.1:${port}/mcp`);
  try {
    await s.initialize(INIT, T);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, McpmuxError);
    assert.is((error as McpmuxError).code, 'MCPMUX_TARGET_UNAVAILABLE');
    assert.match((error as Error).message, /target tgt is unavailable at http:\/\/127\.0\.0\.1:\d+\/mcp: .*ECONNREFUSED/);
  }
});

test('a path that is not MCP fails with MCPMUX_UPSTREAM_PROTOCOL', async () => {
  const s = session(`http://127.0.0.1:${fetcher.port}/not-mcp`);
  try {
    await s.initialize(INIT, T);
    assert.unreachable();
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_UPSTREAM_PROTOCOL');
    // the fetcher's 404 carries a JSON-RPC error, which is what we report
    assert.match((error as Error).message, /target tgt refused initialize: Not Found/);
  }
});

test('close() DELETEs the upstream session; later requests are refused locally', async () => {
  const s = new UpstreamSession({ dispatcher: pool.dispatcher, target: 'tgt', endpoint: endpoint(everything.url), logger });
  await s.initialize(INIT, T);
  const id = s.sessionId!;
  await s.close();
  const { statusCode, body } = await request(everything.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': id },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  await body.dump();
  assert.is(statusCode, 400, 'server-everything no longer knows the session');
  try {
    await s.request({ method: 'ping' }, T);
    assert.unreachable();
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_TARGET_UNAVAILABLE');
  }
});

// Last: it restarts the shared server-everything.
test('upstream restarted (every session gone): re-initialized transparently', async () => {
  const s = session(everything.url);
  await s.initialize(INIT, T);
  const before = s.sessionId;
  await everything.restart();
  const echo = await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'after restart' } } }, T);
  assert.is(text((echo as { result: unknown }).result), 'Echo: after restart');
  assert.is.not(s.sessionId, before);
});

test.run();
