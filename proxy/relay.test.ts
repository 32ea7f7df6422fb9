// Routing, not broadcast: what upstreams say besides answers reaches the one client request (or
// session) it belongs to, rewritten to the client's view, and what the client says about a request
// reaches only the target that owns it. Real SDK clients through an in-process ProxyServer, with
// server-everything and recording fixtures that show what each target received.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  GetTaskPayloadResultSchema,
  GetTaskResultSchema,
  ListRootsRequestSchema,
  ListTasksResultSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type ClientCapabilities,
  type JSONRPCMessage,
  ToolListChangedNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLogger } from '../shared/log.ts';
import { Cleanup, until } from '../shared/testing/processes.ts';
import { startPagedServer, startRecordingServer, type LocalServer, type RecordingServer } from '../shared/testing/upstreams.ts';
import { compileRoutingTable, type RoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { EVERYTHING, firstText, startUpstreams, type Upstreams } from './testing/fixture.ts';
import { openSse, postJson } from './testing/raw-http.ts';
import { simpleSnapshot } from './testing/snapshots.ts';
import { WATCHER_CLIENT } from './mux/list-watchers.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
let up: Upstreams;
let rec: RecordingServer;
let rec2: RecordingServer;
let paged2: LocalServer;
let proxy: ProxyServer;
let url: string;

function table(version: string, withRec2 = true): RoutingTable {
  const targets: Record<string, string> = { [EVERYTHING]: up.everything.url, rec: rec.url, paged: up.paged.url, paged2: paged2.url };
  if (withRec2) targets.rec2 = rec2.url;
  return compileRoutingTable(simpleSnapshot({ version, targets }));
}

test.before(async () => {
  up = await startUpstreams(cleanup);
  [rec, rec2, paged2] = await Promise.all([
    startRecordingServer({ name: 'rec' }),
    startRecordingServer({ name: 'rec2' }),
    startPagedServer({ toolCount: 3, promptCount: 1, pageSize: 1 }),
  ]);
  cleanup.add(() => rec.close());
  cleanup.add(() => rec2.close());
  cleanup.add(() => paged2.close());
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(table('v1'));
  url = `http://127.0.0.1:${proxy.port}/mcp`;
});

test.after(() => cleanup.run());

async function connect(name: string, capabilities: ClientCapabilities = {}, setup?: (c: Client) => void): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  setup?.(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => client.close());
  return client;
}

function sessionIdOf(client: Client): string {
  return (client.transport as { sessionId?: string }).sessionId as string;
}

function idOf(message: JSONRPCMessage): unknown {
  return (message as { id?: unknown }).id;
}

test('progress reaches the client request whose token it carries (two concurrent calls, two targets)', async () => {
  const client = await connect('progress');
  const a: Progress[] = [];
  const b: Progress[] = [];
  const [ra, rb] = await Promise.all([
    client.callTool({ name: 'rec_slow', arguments: { ms: 300, steps: 3 } }, undefined, { onprogress: (p) => a.push(p) }),
    client.callTool({ name: `${EVERYTHING}_trigger-long-running-operation`, arguments: { duration: 0.4, steps: 2 } }, undefined, { onprogress: (p) => b.push(p) }),
  ]);
  assert.is(firstText(ra), 'rec: slept 300 ms');
  assert.match(firstText(rb), /Long running operation completed/);
  assert.equal(a.map((p) => [p.progress, p.total]), [[1, 3], [2, 3], [3, 3]]);
  assert.equal(b.map((p) => [p.progress, p.total]), [[1, 2], [2, 2]]);
});

test('notifications/cancelled reaches only the target that owns the request, and ends our wait', async () => {
  const client = await connect('canceller');
  const before = { rec: rec.receivedOf('notifications/cancelled').length, rec2: rec2.receivedOf('notifications/cancelled').length };
  const abort = new AbortController();
  const call = client.callTool({ name: 'rec_slow', arguments: { ms: 10_000 } }, undefined, { signal: abort.signal });
  await until(() => rec.receivedOf('tools/call').some((m) => JSON.stringify(m).includes('"ms":10000')), 'rec got the call');
  const upstreamId = idOf(rec.receivedOf('tools/call').filter((m) => JSON.stringify(m).includes('"ms":10000')).at(-1)!);
  abort.abort('changed my mind');
  await call.then(() => assert.unreachable('the call should be cancelled'), () => undefined);
  await until(() => rec.receivedOf('notifications/cancelled').length === before.rec + 1, 'rec told');
  const cancelled = rec.receivedOf('notifications/cancelled').at(-1);
  assert.is(cancelled?.params?.requestId, upstreamId, 'the upstream id, not the client one');
  // server-everything's long operation: cancelled there, nobody else hears of it.
  const abort2 = new AbortController();
  const long = client.callTool({ name: `${EVERYTHING}_trigger-long-running-operation`, arguments: { duration: 10, steps: 2 } }, undefined, { signal: abort2.signal });
  await new Promise((r) => setTimeout(r, 200));
  abort2.abort();
  await long.then(() => assert.unreachable(), () => undefined);
  await new Promise((r) => setTimeout(r, 200));
  assert.is(rec2.receivedOf('notifications/cancelled').length, before.rec2);
  assert.is(rec.receivedOf('notifications/cancelled').length, before.rec + 1);
  assert.is(firstText(await client.callTool({ name: 'rec_echo', arguments: { text: 'after' } })), 'rec: after');
});

test('a cancelled request on the wire: its SSE stream ends at once, with no answer', async () => {
  const client = await connect('raw-cancel');
  const headers = { 'mcp-session-id': sessionIdOf(client), 'mcp-protocol-version': '2025-11-25' };
  const started = Date.now();
  const stream = await openSse(url, headers, { jsonrpc: '2.0', id: 'long-1', method: 'tools/call', params: { name: 'rec_slow', arguments: { ms: 10_000 } } });
  await until(() => rec.receivedOf('tools/call').some((m) => JSON.stringify(m).includes('"ms":10000') && rec.received.length > 0), 'call reached rec');
  const cancel = await postJson(url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'long-1' } }, headers);
  assert.is(cancel.status, 202);
  await stream.ended;
  assert.ok(Date.now() - started < 3_000, 'our wait ended well before the upstream would have answered');
});

test('logging from a target reaches the client, saying which target logged', async () => {
  const logs: unknown[] = [];
  const client = await connect('logs', {}, (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params)));
  assert.is(firstText(await client.callTool({ name: 'rec_log', arguments: { message: 'hello' } })), 'rec: logged');
  await until(() => logs.length > 0, 'a log message');
  assert.equal(logs[0], { level: 'info', logger: 'rec/fixture', data: 'hello' });
});

test('resources/subscribe routes by URI; resources/updated comes back with the URI wrapped', async () => {
  const updates: string[] = [];
  const client = await connect('subscriber', {}, (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri)));
  const uri = `${EVERYTHING}+demo://resource/static/document/architecture.md`;
  assert.equal(await client.subscribeResource({ uri }), {});
  await client.callTool({ name: `${EVERYTHING}_toggle-subscriber-updates`, arguments: {} });
  await until(() => updates.length > 0, 'a resource update', 8_000);
  assert.is(updates[0], uri);
  await client.unsubscribeResource({ uri });
  await client.callTool({ name: `${EVERYTHING}_toggle-subscriber-updates`, arguments: {} });
});

test('sampling: server→client requests get our ids and their answers go back to the right upstream', async () => {
  const asked: string[] = [];
  const client = await connect('sampler', { sampling: {} }, (c) =>
    c.setRequestHandler(CreateMessageRequestSchema, (request) => {
      asked.push(JSON.stringify(request.params.messages[0]?.content));
      return { role: 'assistant', content: { type: 'text', text: 'sampled!' }, model: 'test-model' };
    }),
  );
  const [fromRec, fromRec2] = await Promise.all([
    client.callTool({ name: 'rec_ask', arguments: { prompt: 'one' } }),
    client.callTool({ name: 'rec2_ask', arguments: { prompt: 'two' } }),
  ]);
  assert.is(firstText(fromRec), 'rec was told: sampled!');
  assert.is(firstText(fromRec2), 'rec2 was told: sampled!');
  const everything = await client.callTool({ name: `${EVERYTHING}_trigger-sampling-request`, arguments: { prompt: 'three' } });
  assert.match(firstText(everything), /sampled!/);
  assert.is(asked.length, 3);
  // Each upstream got exactly one answer, under its own request id.
  for (const server of [rec, rec2]) {
    const answers = server.received.filter((r) => 'result' in r.message && JSON.stringify(r.message).includes('sampled!'));
    assert.is(answers.length, 1, server.name);
  }
});

test('elicitation and roots are relayed too (capabilities reach the upstream)', async () => {
  const client = await connect('eliciter', { elicitation: {}, roots: { listChanged: true } }, (c) => {
    c.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
    c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///tmp/mcpmux-root', name: 'root' }] }));
  });
  const elicited = await client.callTool({ name: `${EVERYTHING}_trigger-elicitation-request`, arguments: {} });
  assert.match(JSON.stringify(elicited.content), /declin/i);
  // server-everything asks for roots on its GET stream shortly after initialized.
  await until(async () => JSON.stringify((await client.callTool({ name: `${EVERYTHING}_get-roots-list`, arguments: {} })).content).includes('mcpmux-root'), 'roots synced', 5_000);
});

test('a server→client request never hangs: closing the client answers the upstream with an error', async () => {
  const client = await connect('silent', { sampling: {} }, (c) => c.setRequestHandler(CreateMessageRequestSchema, () => new Promise(() => undefined)));
  const errorsBefore = rec.received.filter((r) => 'error' in r.message).length;
  void client.callTool({ name: 'rec_ask', arguments: { prompt: 'never answered' } }).catch(() => undefined);
  await until(() => rec.receivedOf('tools/call').some((m) => JSON.stringify(m).includes('never answered')), 'rec got the call');
  await new Promise((r) => setTimeout(r, 200));
  await (client.transport as StreamableHTTPClientTransport).terminateSession();
  await until(() => rec.received.filter((r) => 'error' in r.message).length === errorsBefore + 1, 'rec got an error answer');
});

test("a target's own list_changed is relayed to sessions that listed tools, and only to its own sessions", async () => {
  const counts = { lister: 0, quiet: 0 };
  // Capabilities of their own: no cached initialize answer fits them, so both open their upstream
  // sessions at initialize, and neither is served lists another session fetched.
  const lister = await connect('lister', { experimental: { lister: {} } }, (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void counts.lister++));
  const quiet = await connect('quiet', { experimental: { quiet: {} } }, (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void counts.quiet++));
  await lister.listTools();
  await quiet.listTools();
  // rec2 holds one upstream session per downstream session, in the order they initialized (and the
  // list cache's watchers, left out): the newest two are these clients'.
  const [forLister] = rec2.sessions().filter((server) => server.getClientVersion()?.name !== WATCHER_CLIENT).slice(-2);
  await forLister!.sendToolListChanged();
  await until(() => counts.lister === 1, 'the lister heard it');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(counts, { lister: 1, quiet: 0 });
});

test('tools/list across two paging targets: every tool exactly once, following cursors', async () => {
  const client = await connect('pager');
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  assert.equal(names.filter((n) => n.startsWith('paged_')), ['paged_tool-1', 'paged_tool-2', 'paged_tool-3', 'paged_tool-4', 'paged_tool-5']);
  assert.equal(names.filter((n) => n.startsWith('paged2_')), ['paged2_tool-1', 'paged2_tool-2', 'paged2_tool-3']);
  assert.is(new Set(names).size, names.length, 'no tool twice');
  assert.is(pages, 3);
  assert.ok(names.includes('rec_echo') && names.includes('rec2_echo') && names.includes(`${EVERYTHING}_echo`));
});

test('tasks: created through us with a task id that routes back; get, list and result', async () => {
  const client = await connect('tasker', { elicitation: {} });
  const created = await client.request(
    { method: 'tools/call', params: { name: `${EVERYTHING}_simulate-research-query`, arguments: { topic: 'federation' }, task: { ttl: 60_000 } } },
    CreateTaskResultSchema,
  );
  const taskId = created.task.taskId;
  assert.ok(taskId.startsWith(`${EVERYTHING}:`), taskId);
  const got = await client.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema);
  assert.is(got.taskId, taskId);
  const listed = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
  assert.ok(listed.tasks.some((t) => t.taskId === taskId), JSON.stringify(listed.tasks));
  const result = await client.request({ method: 'tasks/result', params: { taskId } }, GetTaskPayloadResultSchema, { timeout: 20_000 });
  assert.match(JSON.stringify(result), /Research Report: federation/);
  try {
    await client.request({ method: 'tasks/get', params: { taskId: 'nosuch:1' } }, GetTaskResultSchema);
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /Unknown task: nosuch:1/);
  }
});

test('logging/setLevel is fanned out and re-applied to targets that join later', async () => {
  proxy.apply(table('v2', false));
  const client = await connect('leveller');
  assert.equal(await client.setLoggingLevel('error'), {});
  const levels = (s: RecordingServer) => s.receivedOf('logging/setLevel').map((m) => m.params?.level);
  // rec's answer was cached: the session opens it on first use, and the level goes first.
  await client.callTool({ name: 'rec_echo', arguments: { text: 'level' } });
  await until(() => levels(rec).includes('error'), 'rec got the level');
  const rec2Before = levels(rec2).length;
  proxy.apply(table('v3'));
  assert.is(firstText(await client.callTool({ name: 'rec2_echo', arguments: { text: 'joined' } })), 'rec2: joined');
  assert.equal(levels(rec2).slice(rec2Before), ['error']);
  // ... before the call that first used it.
  const sequence = rec2.received.map((r) => ('method' in r.message ? r.message.method : 'answer'));
  assert.ok(sequence.lastIndexOf('logging/setLevel') < sequence.lastIndexOf('tools/call'));
});

test('the client\'s W3C trace context reaches the upstream of its request, and only that request', async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const traced = new Client({ name: 'traced', version: '1.0.0' });
  await traced.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { traceparent, tracestate: 'vendor=1' } } }));
  cleanup.add(() => traced.close());
  await traced.callTool({ name: 'rec_echo', arguments: { text: 'traced' } });
  const call = rec.received.find((r) => (r.message as { params?: { arguments?: { text?: string } } }).params?.arguments?.text === 'traced');
  assert.is(call?.traceparent, traceparent, 'the tools/call reached rec with the client\'s traceparent');
  const plain = await connect('untraced');
  await plain.callTool({ name: 'rec_echo', arguments: { text: 'untraced' } });
  const untraced = rec.received.find((r) => (r.message as { params?: { arguments?: { text?: string } } }).params?.arguments?.text === 'untraced');
  assert.ok(untraced, 'the second call arrived');
  assert.is(untraced?.traceparent, undefined, 'no trace context leaks into another client\'s request');
});

test.run();
