// Both MCP eras through one proxy, in-process, over real sockets: server-everything (2025 sessions)
// and the modern demo (2026-07-28 only) federated; the SDK 2.x client pinned to 2026-07-28 and the
// SDK 1.x client (2025) each list and call both; progress, log levels, MRTR both ways, and the
// gateway's own requestState checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../../shared/log.ts';
import { Cleanup } from '../../shared/testing/processes.ts';
import { startServerEverything, type EverythingServer } from '../../shared/testing/upstreams.ts';
import { startModernDemo, type ModernDemo } from '../../deploy/examples/modern-demo/server.ts';
import { compileRoutingTable } from '../routing/table.ts';
import { ProxyServer } from '../server.ts';
import { connectClient, firstText } from '../testing/fixture.ts';
import { simpleSnapshot } from '../testing/snapshots.ts';
import { eventually, MODERN, modernMeta, openListen, postModern } from '../testing/modern.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
let everything: EverythingServer;
let demo: ModernDemo;
let proxy: ProxyServer;
let url: string;

const meta = modernMeta;
const post = (method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) => postModern(url, method, params, headers);

async function modernClient(onElicit?: () => Record<string, unknown>): Promise<ModernClient> {
  const client = new ModernClient({ name: 'modern-test', version: '1.0.0' }, { capabilities: onElicit ? { elicitation: { form: {} } } : {}, versionNegotiation: { mode: { pin: MODERN } } });
  if (onElicit) client.setRequestHandler('elicitation/create', async () => onElicit() as never);
  await client.connect(new ModernTransport(new URL(url)));
  cleanup.add(() => client.close());
  return client;
}

test.before(async () => {
  [everything, demo] = await Promise.all([startServerEverything(), startModernDemo()]);
  cleanup.add(() => everything.stop());
  cleanup.add(() => demo.close());
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, heldCallMs: 5_000 });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { everything: everything.url, modern: demo.url } })));
  url = `http://127.0.0.1:${proxy.port}/mcp`;
});

test.after(() => cleanup.run());

test('a 2026-07-28 client (SDK 2.x, pinned) discovers the gateway, lists and calls tools of both eras', async () => {
  const client = await modernClient();
  assert.is(client.getNegotiatedProtocolVersion(), MODERN);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  assert.ok(tools.includes('everything_echo'), tools.join(', '));
  assert.ok(tools.includes('modern_greet'), tools.join(', '));
  assert.is(firstText(await client.callTool({ name: 'modern_greet', arguments: { name: 'Ada' } })), 'Hello, Ada!');
  assert.match(firstText(await client.callTool({ name: 'everything_echo', arguments: { message: 'hi' } })), /hi/);
});

test('a 2025 client (SDK 1.x session) calls a 2026-07-28-only upstream through the gateway', async () => {
  const client = await connectClient(url, cleanup);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  assert.ok(tools.includes('modern_word-count') && tools.includes('everything_echo'), tools.join(', '));
  assert.is(firstText(await client.callTool({ name: 'modern_word-count', arguments: { text: 'one two three' } })), '3');
});

test('server/discover is the gateway\'s own: both eras, merged capabilities, our serverInfo', async () => {
  const { status, messages } = await post('server/discover', { _meta: meta() });
  assert.is(status, 200);
  const result = messages[0]!.result;
  assert.equal(result.supportedVersions.slice(0, 2), [MODERN, '2025-11-25']);
  assert.ok(result.capabilities.tools.listChanged);
  assert.is(result.resultType, 'complete');
  assert.is(result._meta['io.modelcontextprotocol/serverInfo'].name, 'mcpmux');
  assert.is(typeof result.ttlMs, 'number');
  assert.match(result.instructions, /## modern/);
});

test('the header and envelope rules: -32602, -32020 before -32022, 404 for removed methods', async () => {
  const noMeta = await post('tools/list', {});
  // No claim, but a modern header: refused as a bad envelope.
  assert.is(noMeta.status, 400);
  assert.is(noMeta.messages[0]!.error.code, -32602);
  const mismatch = await post('tools/list', { _meta: { ...meta(), 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } });
  assert.is(mismatch.status, 400);
  assert.is(mismatch.messages[0]!.error.code, -32020);
  const unsupported = await post('tools/list', { _meta: { ...meta(), 'io.modelcontextprotocol/protocolVersion': 'v999.0.0' } }, { 'mcp-protocol-version': 'v999.0.0' });
  assert.is(unsupported.status, 400);
  assert.is(unsupported.messages[0]!.error.code, -32022);
  assert.equal(unsupported.messages[0]!.error.data.supported, [MODERN]);
  const wrongName = await post('tools/call', { _meta: meta(), name: 'modern_greet', arguments: { name: 'x' } }, { 'mcp-name': 'modern_other' });
  assert.is(wrongName.status, 400);
  assert.is(wrongName.messages[0]!.error.code, -32020);
  const removed = await post('ping', { _meta: meta() });
  assert.is(removed.status, 404);
  assert.is(removed.messages[0]!.error.code, -32601);
  assert.is(removed.messages[0]!.id, 7);
});

test('lists carry resultType and cache hints; an unknown prefix is an in-band -32602', async () => {
  const list = await post('tools/list', { _meta: meta() });
  assert.is(list.messages[0]!.result.resultType, 'complete');
  assert.is(list.messages[0]!.result.ttlMs, 0); // a 2025 target contributes: 0
  assert.is(list.messages[0]!.result.cacheScope, 'private'); // the modern upstream says its list is private
  const unknown = await post('tools/call', { _meta: meta(), name: 'nowhere_tool', arguments: {} });
  assert.is(unknown.status, 200);
  assert.is(unknown.messages[0]!.error.code, -32602);
});

test('progress of a modern upstream reaches a modern client on its request\'s stream', async () => {
  const { messages } = await post('tools/call', { _meta: meta({}, { progressToken: 'p-1' }), name: 'modern_countdown', arguments: { steps: 3 } });
  const progress = messages.filter((m) => m.method === 'notifications/progress');
  assert.is(progress.length, 3);
  assert.ok(progress.every((m) => m.params.progressToken === 'p-1'));
  assert.is(messages.at(-1)!.result.content[0].text, 'counted down from 3');
});

test('MRTR through the gateway: the modern upstream\'s state is sealed, the retry completes, a tampered token is refused', async () => {
  const first = await post('tools/call', { _meta: meta({ elicitation: {} }), name: 'modern_confirm-action', arguments: { action: 'deploy' } });
  const result = first.messages[0]!.result;
  assert.is(result.resultType, 'input_required');
  assert.ok(result.inputRequests.confirm);
  assert.is(result.ttlMs, undefined);
  const retry = { _meta: meta({ elicitation: {} }), name: 'modern_confirm-action', arguments: { action: 'deploy' }, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } };
  const done = await post('tools/call', { ...retry, requestState: result.requestState });
  assert.is(done.messages[0]!.result.content[0].text, 'confirmed: deploy');
  const tampered = await post('tools/call', { ...retry, requestState: `${result.requestState}-TAMPERED` });
  assert.is(tampered.messages[0]!.error.code, -32602);
  const redirected = await post('tools/call', { ...retry, name: 'modern_greet', arguments: { name: 'x' }, requestState: result.requestState });
  assert.is(redirected.messages[0]!.error.code, -32602);
  assert.match(redirected.messages[0]!.error.message, /another/);
});

test('the SDK 2.x client answers a modern upstream\'s elicitation (MRTR) through the gateway', async () => {
  const client = await modernClient(() => ({ action: 'accept', content: { confirm: true } }));
  const result = await client.callTool({ name: 'modern_confirm-action', arguments: { action: 'ship' } });
  assert.is(firstText(result), 'confirmed: ship');
});

test('a 2025 client is asked the modern upstream\'s question as a real elicitation request', async () => {
  const client = await connectClient(url, cleanup);
  // connectClient's SDK 1.x client declares no elicitation: the gateway says so in the result.
  const refused = await client.callTool({ name: 'modern_confirm-action', arguments: { action: 'x' } });
  assert.ok(refused.isError);
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const asking = new Client({ name: 'legacy-elicit', version: '1' }, { capabilities: { elicitation: {} } });
  asking.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { confirm: true } }));
  await asking.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => asking.close());
  assert.is(firstText(await asking.callTool({ name: 'modern_confirm-action', arguments: { action: 'ship' } })), 'confirmed: ship');
});

test('a 2025 upstream\'s elicitation during a call reaches a modern client as input_required, and the retry completes the held call', async () => {
  const client = await modernClient(() => ({ action: 'accept', content: { color: 'blue', number: 3, pets: ['cat'] } }));
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const elicit = tools.find((t) => /everything_trigger-elicitation/.test(t));
  assert.ok(elicit, tools.join(', '));
  const result = await client.callTool({ name: elicit!, arguments: {} });
  assert.not.ok(result.isError, JSON.stringify(result));
  assert.match(JSON.stringify(result.content), /accept/);
});

const listen = (notifications: Record<string, unknown>) => openListen(url, notifications);
const until = (check: () => boolean, ms = 2_000) => eventually(check, 'the expected frames', ms);

test('subscriptions/listen: acknowledged first, then the gateway\'s own list_changed after a config push, tagged, filtered', async () => {
  const tools = await listen({ toolsListChanged: true });
  const prompts = await listen({ promptsListChanged: true });
  assert.is(tools.status, 200);
  await until(() => tools.frames.length >= 1 && prompts.frames.length >= 1);
  assert.is(tools.frames[0]!.method, 'notifications/subscriptions/acknowledged');
  assert.equal(tools.frames[0]!.params.notifications, { toolsListChanged: true });
  // A target leaves the backend: both kinds of list changed for whoever asked.
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v2', targets: { everything: everything.url } })));
  await until(() => tools.frames.some((f) => f.method === 'notifications/tools/list_changed'));
  await until(() => prompts.frames.some((f) => f.method === 'notifications/prompts/list_changed'));
  assert.ok(tools.frames.every((f) => f.params._meta['io.modelcontextprotocol/subscriptionId'] === 'sub-1'));
  assert.not.ok(prompts.frames.some((f) => f.method === 'notifications/tools/list_changed'), 'a prompts-only stream hears no tool changes');
  tools.close();
  prompts.close();
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v3', targets: { everything: everything.url, modern: demo.url } })));
});

test('a 2025 upstream\'s -32042 (URL elicitation required) reaches a modern client as input_required with a URL-mode elicitation', async () => {
  const caps = { elicitation: { form: {}, url: {} } };
  const params = { _meta: meta(caps), name: 'everything_trigger-url-elicitation', arguments: { url: 'https://example.com/consent', errorPath: true } };
  const first = await post('tools/call', params);
  const result = first.messages.at(-1)!.result;
  assert.is(result?.resultType, 'input_required', JSON.stringify(first.messages));
  const [request] = Object.values(result.inputRequests as Record<string, { method: string; params: Record<string, unknown> }>);
  assert.is(request!.method, 'elicitation/create');
  assert.is(request!.params.mode, 'url');
  assert.match(String(request!.params.url), /^https:\/\//);
  assert.is(request!.params.elicitationId, undefined, 'the 2025 elicitationId does not travel');
  // The retry (the user went there) runs the call again: it goes on, no token problem.
  const key = Object.keys(result.inputRequests)[0]!;
  const retry = await post('tools/call', { ...params, inputResponses: { [key]: { action: 'accept' } }, requestState: result.requestState });
  assert.not.ok(retry.messages.at(-1)!.error, JSON.stringify(retry.messages));
});

/** A 2026-07-28 upstream with the tasks extension, hand-rolled: one tool that runs as a task. */
async function startTaskServer(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const message = JSON.parse(body) as { id: number; method: string; params: Record<string, any> };
      seen.push(`${message.method} ${req.headers['mcp-name'] ?? ''}`.trim());
      const reply = (result: Record<string, unknown>): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { resultType: 'complete', ...result } }));
      };
      const task = { taskId: 't-1', createdAt: '2026-12-06T00:00:00Z', lastUpdatedAt: '2026-12-06T00:00:00Z', ttlMs: 60_000, pollIntervalMs: 100 };
      switch (message.method) {
        case 'server/discover':
          return reply({ supportedVersions: [MODERN], capabilities: { tools: {}, extensions: { 'io.modelcontextprotocol/tasks': {} } }, ttlMs: 0, cacheScope: 'public' });
        case 'tools/list':
          return reply({ tools: [{ name: 'slow', inputSchema: { type: 'object' } }], ttlMs: 0, cacheScope: 'public' });
        case 'tools/call':
          return reply({ ...task, resultType: 'task', status: 'working' });
        case 'tasks/get':
          return reply({ ...task, status: 'completed', result: { content: [{ type: 'text', text: 'done' }] } });
        case 'subscriptions/listen':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: message.params.notifications } })}\n\n`);
          setTimeout(() => res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tasks/status', params: { ...task, status: 'completed' } })}\n\n`), 50);
          return;
        default:
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/mcp`, seen, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

test('the tasks extension: task ids wrapped per target, tasks/get routed by them (Mcp-Name rewritten), status on a listen stream', async () => {
  const tasks = await startTaskServer();
  cleanup.add(() => tasks.close());
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'tasks', targets: { everything: everything.url, modern: demo.url, tasky: tasks.url } })));
  try {
    const withTasks = meta({ extensions: { 'io.modelcontextprotocol/tasks': {} } });
    const discovered = await post('server/discover', { _meta: withTasks });
    assert.ok(discovered.messages[0]!.result.capabilities.extensions['io.modelcontextprotocol/tasks'], 'the extension is routable end to end');
    const created = await post('tools/call', { _meta: withTasks, name: 'tasky_slow', arguments: {} });
    assert.is(created.messages[0]!.result.resultType, 'task');
    assert.is(created.messages[0]!.result.taskId, 'tasky:t-1');
    const undeclared = await post('tasks/get', { _meta: meta(), taskId: 'tasky:t-1' }, { 'mcp-name': 'tasky:t-1' });
    assert.is(undeclared.status, 400);
    assert.is(undeclared.messages[0]!.error.code, -32021);
    const got = await post('tasks/get', { _meta: withTasks, taskId: 'tasky:t-1' }, { 'mcp-name': 'tasky:t-1' });
    assert.is(got.messages[0]!.result.status, 'completed');
    assert.is(got.messages[0]!.result.taskId, 'tasky:t-1');
    assert.ok(tasks.seen.includes('tasks/get t-1'), tasks.seen.join(', '));
    const stream = await listen({ taskIds: ['tasky:t-1'] });
    await until(() => stream.frames.some((f) => f.method === 'notifications/tasks/status'));
    const status = stream.frames.find((f) => f.method === 'notifications/tasks/status')!;
    assert.is(status.params.taskId, 'tasky:t-1');
    assert.is(status.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub-1');
    stream.close();
  } finally {
    proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v4', targets: { everything: everything.url, modern: demo.url } })));
  }
});

test.run();
