// Initialize from cached answers and lazy upstream sessions (issue 19 §2), end to end over real
// sockets: SDK clients through an in-process ProxyServer to upstreams that count the handshakes,
// lists and calls they answer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../shared/log.ts';
import { Cleanup, until } from '../shared/testing/processes.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { startCountingUpstream, type CountingUpstream } from './testing/counting-upstream.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
test.after(() => cleanup.run());

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function upstreams(n: number, listChanged: boolean): Promise<CountingUpstream[]> {
  const gauge = { now: 0, max: 0 };
  const ups = await Promise.all(Array.from({ length: n }, (_, i) => startCountingUpstream({ listChanged, tools: [`a${i}`], gauge })));
  for (const u of ups) cleanup.add(() => u.close());
  return ups;
}

async function startProxy(ups: CountingUpstream[], options: { ttlMs?: number; failureMode?: 'FAILURE_MODE_CLOSED' } = {}): Promise<string> {
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, ...(options.ttlMs ? { listCacheTtlMs: options.ttlMs } : {}) });
  await proxy.start();
  cleanup.add(() => proxy.close());
  const backend = options.failureMode ? { backend: { name: 'default/mcp', failureMode: options.failureMode } } : {};
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: Object.fromEntries(ups.map((u, i) => [`t${i}`, u.url])), ...backend })));
  return `http://127.0.0.1:${proxy.port}/mcp`;
}

async function connect(url: string, capabilities: ClientCapabilities = {}): Promise<Client> {
  const client = new Client({ name: 'lazy-targets-test', version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => client.close());
  return client;
}

/** Ends the client's session at the gateway (DELETE), which closes its upstream sessions. */
async function end(client: Client): Promise<void> {
  await (client.transport as StreamableHTTPClientTransport).terminateSession();
  await client.close();
}

const initializes = (ups: CountingUpstream[]): number[] => ups.map((u) => u.initializes);
const toolNames = async (client: Client): Promise<string[]> => (await client.listTools()).tools.map((t) => t.name).sort();

test('a second session\'s initialize reaches no upstream, and is answered as the first was', async () => {
  const ups = await upstreams(3, true);
  const url = await startProxy(ups);
  const first = await connect(url);
  assert.equal(initializes(ups), [1, 1, 1]);
  const second = await connect(url);
  assert.equal(initializes(ups), [1, 1, 1], 'answered from cached initialize answers');
  assert.equal(second.getServerCapabilities(), first.getServerCapabilities());
  assert.equal(second.getInstructions(), first.getInstructions());
  assert.equal(second.getServerVersion(), first.getServerVersion());
  // Other client capabilities are another scope: that session's initialize reaches the upstreams.
  await connect(url, { sampling: {} });
  assert.equal(initializes(ups), [2, 2, 2]);
});

test('a tools/call on a lazily opened target works and opens exactly that target', async () => {
  const ups = await upstreams(3, true);
  const url = await startProxy(ups);
  await toolNames(await connect(url));
  const lazy = await connect(url);
  const result = await lazy.callTool({ name: 't1_a1', arguments: {} });
  assert.equal(result.content, [{ type: 'text', text: 'called a1' }]);
  assert.equal(initializes(ups), [1, 2, 1], 'only t1 was opened');
  await lazy.callTool({ name: 't1_a1', arguments: {} });
  assert.equal(initializes(ups), [1, 2, 1], 'opened once');
  assert.equal(await toolNames(lazy), ['t0_a0', 't1_a1', 't2_a2'], 'lists of the others still come from cache');
  assert.equal(initializes(ups), [1, 2, 1]);
});

test('a fan-out list that needs unopened targets opens them in parallel', async () => {
  // Without listChanged nor a TTL nothing is cached: the list needs every target.
  const ups = await upstreams(3, false);
  const url = await startProxy(ups);
  await connect(url);
  const lazy = await connect(url);
  assert.equal(initializes(ups), [1, 1, 1]);
  for (const u of ups) u.initializeDelayMs = 300;
  const gauge = ups[0]!.gauge;
  gauge.max = 0;
  assert.equal(await toolNames(lazy), ['t0_a0', 't1_a1', 't2_a2']);
  assert.equal(initializes(ups), [2, 2, 2]);
  assert.is(gauge.max, 3, 'the three handshakes overlapped');
});

test('list_changed heard by another session: the next list shows the change, on a session that never opened the target and on an old one', async () => {
  const ups = await upstreams(2, true);
  const url = await startProxy(ups);
  const old = await connect(url);
  assert.equal(await toolNames(old), ['t0_a0', 't1_a1']);
  const fresh = await connect(url);
  let told = 0;
  fresh.setNotificationHandler(ToolListChangedNotificationSchema, () => void told++);
  assert.equal(await toolNames(fresh), ['t0_a0', 't1_a1']);
  assert.equal(initializes(ups), [1, 1], 'served from cache: the fresh session opened nothing');
  assert.equal(ups.map((u) => u.lists), [1, 1]);
  ups[1]!.setTools(['a1', 'b1']);
  await ups[1]!.notifyChanged();
  await until(() => told > 0, 'the fresh session\'s client is told its list changed');
  assert.equal(await toolNames(fresh), ['t0_a0', 't1_a1', 't1_b1']);
  assert.equal(initializes(ups), [1, 2], 'the fresh session opened the changed target only');
  assert.equal(await toolNames(old), ['t0_a0', 't1_a1', 't1_b1']);
  assert.equal(await toolNames(await connect(url)), ['t0_a0', 't1_a1', 't1_b1']);
});

test('the list cache\'s watcher keeps a list valid after every session that opened the target is gone, and hears its list_changed', async () => {
  const ups = await upstreams(1, true);
  const url = await startProxy(ups);
  const first = await connect(url);
  assert.equal(await toolNames(first), ['t0_a0']);
  await until(() => ups[0]!.watchers === 1, 'the cache opened its watcher of t0');
  await sleep(200); // its GET stream
  await end(first);
  // The entry leaned on the first session only: the next list fetches again, under the watcher.
  const second = await connect(url);
  assert.equal(await toolNames(second), ['t0_a0']);
  assert.is(ups[0]!.lists, 2);
  await end(second);
  const third = await connect(url);
  assert.equal(await toolNames(third), ['t0_a0']);
  assert.is(ups[0]!.lists, 2, 'no session has t0 open: served from cache, kept valid by the watcher');
  assert.is(ups[0]!.initializes, 2, 'the third session opened nothing');
  ups[0]!.setTools(['a0', 'b0']);
  await ups[0]!.notifyChanged(); // only the watcher hears it (and the third session was served t0 from cache: told)
  await until(async () => (await toolNames(third)).includes('t0_b0'), 'the change is listed');
  assert.equal(await toolNames(await connect(url)), ['t0_a0', 't0_b0']);
});

test('--list-cache-ttl: an upstream without listChanged is listed from cache for the TTL, then asked again', async () => {
  const ups = await upstreams(2, false);
  const url = await startProxy(ups, { ttlMs: 400 });
  assert.equal(await toolNames(await connect(url)), ['t0_a0', 't1_a1']);
  const lazy = await connect(url);
  assert.equal(await toolNames(lazy), ['t0_a0', 't1_a1']);
  assert.equal(initializes(ups), [1, 1]);
  assert.equal(ups.map((u) => u.lists), [1, 1]);
  ups[0]!.setTools(['z0']);
  await sleep(450);
  assert.equal(await toolNames(lazy), ['t0_z0', 't1_a1'], 'past the TTL: asked again');
  assert.equal(initializes(ups), [2, 2], 'which opened the targets');
});

test('failure mode closed: a target that fails to open fails the request that needs it, with the error initialize would have failed with', async () => {
  const ups = await upstreams(2, true);
  const url = await startProxy(ups, { failureMode: 'FAILURE_MODE_CLOSED' });
  await toolNames(await connect(url));
  ups[1]!.refuseInitialize = true;
  const lazy = await connect(url);
  assert.equal(await toolNames(lazy), ['t0_a0', 't1_a1'], 'lists from cache need no upstream session');
  const initializeError = await connect(url, { roots: {} }).then(
    () => undefined,
    (error: unknown) => (error as Error).message,
  );
  assert.ok(initializeError, 'without a cached answer the initialize fails');
  const callError = await lazy.callTool({ name: 't1_a1', arguments: {} }).then(
    () => undefined,
    (error: unknown) => (error as Error).message,
  );
  assert.ok(callError, 'the call needing t1 fails');
  const code = (message: string): string => /MCPMUX_[A-Z_]+|-3\d{4}/.exec(message)?.[0] ?? message;
  assert.is(code(callError), code(initializeError), `${callError} / ${initializeError}`);
  // t0 still works for it.
  assert.equal((await lazy.callTool({ name: 't0_a0', arguments: {} })).content, [{ type: 'text', text: 'called a0' }]);
});

test.run();
