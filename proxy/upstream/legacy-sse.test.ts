// The legacy HTTP+SSE upstream client against server-everything's own `sse` transport, alone and
// federated through a ProxyServer next to a streamable HTTP target.
import { test } from 'uvu';
import { relatedId } from './connection.ts';
import * as assert from 'uvu/assert';
import { CreateMessageRequestSchema, type Progress, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpmuxError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { Cleanup, until } from '../../shared/testing/processes.ts';
import { startRecordingServer, startServerEverything, type EverythingServer, type RecordingServer } from '../../shared/testing/upstreams.ts';
import { compileRoutingTable } from '../routing/table.ts';
import { endpointUrl, type EndpointUrl } from '../routing/target-url.ts';
import { ProxyServer } from '../server.ts';
import { BACKEND, simpleSnapshot, target } from '../testing/snapshots.ts';
import type { UpstreamMessage } from './connection.ts';
import { LegacySseUpstream } from './legacy-sse.ts';
import { UpstreamPool } from './pool.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
const pool = new UpstreamPool();
let sse: EverythingServer;
let rec: RecordingServer;
const INIT = { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'test', version: '1' } };
const T = { timeoutMs: 10_000 };

function endpoint(url: string): EndpointUrl {
  const u = new URL(url);
  const built = endpointUrl('http', u.hostname, Number(u.port), u.pathname);
  if (!('ok' in built)) throw new Error(built.error);
  return built.ok;
}

function text(response: unknown): string {
  return ((response as { result: { content: Array<{ text: string }> } }).result.content[0] as { text: string }).text;
}

test.before(async () => {
  [sse, rec] = await Promise.all([startServerEverything({ transport: 'sse' }), startRecordingServer({ name: 'rec' })]);
  cleanup.add(() => sse.stop());
  cleanup.add(() => rec.close());
  cleanup.add(() => pool.close());
});
test.after(() => cleanup.run());

test('initialize, list and call over the endpoint the stream names; progress on the stream, tagged with the one request in flight', async () => {
  const seen: Array<[UpstreamMessage, RequestId | undefined]> = [];
  const s = new LegacySseUpstream({ dispatcher: pool.dispatcher, target: 'old', endpoint: endpoint(sse.url), logger, onMessage: (m, r) => seen.push([m, relatedId(r)]) });
  cleanup.add(() => s.close());
  const init = await s.initialize(INIT, T);
  assert.is(init.serverInfo.name, 'mcp-servers/everything');
  const list = await s.request({ method: 'tools/list' }, T);
  assert.ok(JSON.stringify(list).includes('"get-sum"'));
  assert.is(text(await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'old' } } }, T)), 'Echo: old');
  const long = await s.request(
    { method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: 5 } } },
    { ...T, relatedTo: 'client-1' },
  );
  assert.match(text(long), /completed/);
  const progress = seen.filter(([m]) => m.method === 'notifications/progress');
  assert.equal(progress.map(([m, r]) => [(m.params as { progress: number }).progress, r]), [[1, 'client-1'], [2, 'client-1']]);
});

test('a timeout rejects with MCPMUX_UPSTREAM_TIMEOUT and the session goes on', async () => {
  const s = new LegacySseUpstream({ dispatcher: pool.dispatcher, target: 'old', endpoint: endpoint(sse.url), logger });
  cleanup.add(() => s.close());
  await s.initialize(INIT, T);
  try {
    await s.request({ method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 3, steps: 1 } } }, { timeoutMs: 200 });
    assert.unreachable();
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_UPSTREAM_TIMEOUT');
  }
  assert.is(text(await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'on' } } }, T)), 'Echo: on');
});

test('the upstream restarted: pending requests fail, the next one opens a new session (reported as a re-initialization)', async () => {
  let reinitialized = 0;
  const s = new LegacySseUpstream({ dispatcher: pool.dispatcher, target: 'old', endpoint: endpoint(sse.url), logger, onReinitialized: () => void reinitialized++ });
  cleanup.add(() => s.close());
  await s.initialize(INIT, T);
  const pending = s.request({ method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 1 } } }, T).then(
    () => undefined,
    (error: unknown) => error,
  );
  await new Promise((r) => setTimeout(r, 100));
  await sse.restart();
  assert.is(((await pending) as McpmuxError | undefined)?.code, 'MCPMUX_TARGET_UNAVAILABLE');
  assert.is(text(await s.request({ method: 'tools/call', params: { name: 'echo', arguments: { message: 'again' } } }, T)), 'Echo: again');
  assert.is(reinitialized, 1);
});

test('federated: a legacy SSE target next to a streamable one, through the proxy; sampling relayed', async () => {
  const snapshot = simpleSnapshot({ version: 'v1', targets: { rec: rec.url } });
  snapshot.targets.push(target(BACKEND, 'old', sse.url, { protocol: 'PROTOCOL_SSE' }));
  snapshot.backends[0]!.targets = ['old', 'rec'];
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(compileRoutingTable(snapshot));
  const client = new Client({ name: 'c', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, () => ({ role: 'assistant', content: { type: 'text', text: 'from the client' }, model: 'm' }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxy.port}/mcp`)));
  cleanup.add(() => client.close());
  const names = (await client.listTools()).tools.map((t) => t.name);
  assert.ok(names.includes('old_echo') && names.includes('rec_echo'), names.join(', '));
  const echo = await client.callTool({ name: 'old_echo', arguments: { message: 'via sse' } });
  assert.is((echo.content as Array<{ text: string }>)[0]!.text, 'Echo: via sse');
  const progress: Progress[] = [];
  await client.callTool({ name: 'old_trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 } }, undefined, { onprogress: (p) => progress.push(p) });
  assert.equal(progress.map((p) => p.progress), [1, 2]);
  await until(async () => (await client.listTools()).tools.some((t) => t.name === 'old_trigger-sampling-request'), 'conditional tools registered');
  const sampled = await client.callTool({ name: 'old_trigger-sampling-request', arguments: { prompt: 'p' } });
  assert.match(JSON.stringify(sampled.content), /from the client/);
});

test.run();
