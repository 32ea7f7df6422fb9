// Lists from cache (issue 19 §2), end to end over real sockets: SDK clients and raw 2026-07-28
// requests through an in-process ProxyServer, with upstreams that count the tools/list requests
// they get and whose tools the test changes. A list is served from cache only while nothing could
// have changed it: never a stale list.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../shared/log.ts';
import { Cleanup, until } from '../shared/testing/processes.ts';
import { startServerEverything, type EverythingServer } from '../shared/testing/upstreams.ts';
import { compileRoutingTable, type RoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { modernMeta, postModern, MODERN } from './testing/modern.ts';
import { simpleSnapshot, target, BACKEND } from './testing/snapshots.ts';
import { startCountingUpstream, type CountingUpstream } from './testing/counting-upstream.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();

/** A stateful 2025 upstream whose tools the test sets, counting the tools/list requests it answers (proxy/testing/counting-upstream.ts). */
async function startCountingServer(listChanged: boolean, names: string[]): Promise<CountingUpstream> {
  const upstream = await startCountingUpstream({ listChanged, tools: names });
  cleanup.add(() => upstream.close());
  return upstream;
}

/** A 2026-07-28 upstream (stateless, hand-rolled) answering tools/list with these cache hints; it counts the lists. */
async function startModernServer(hints: { ttlMs: number; cacheScope: 'public' | 'private' }): Promise<{ url: string; lists: number; tools: string[] }> {
  const state = { url: '', lists: 0, tools: ['first'] };
  const http = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const message = JSON.parse(text) as { id: number; method: string };
      const reply = (result: Record<string, unknown>): void => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { resultType: 'complete', ...result } }));
      };
      if (message.method === 'server/discover') return reply({ supportedVersions: [MODERN], capabilities: { tools: {} }, ttlMs: 0, cacheScope: 'public' });
      if (message.method === 'tools/list') {
        state.lists++;
        return reply({ tools: state.tools.map((name) => ({ name, inputSchema: { type: 'object' } })), ...hints });
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  cleanup.add(() => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }));
  return state;
}

async function startProxy(table: RoutingTable, listCacheTtlMs?: number): Promise<{ proxy: ProxyServer; url: string }> {
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, ...(listCacheTtlMs ? { listCacheTtlMs } : {}) });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(table);
  return { proxy, url: `http://127.0.0.1:${proxy.port}/mcp` };
}

async function connect(url: string, capabilities: ClientCapabilities = {}): Promise<Client> {
  const client = new Client({ name: 'list-cache-test', version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => client.close());
  return client;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test.after(() => cleanup.run());

test('a second session\'s tools/list is served from cache: the upstream (listChanged) is asked once', async () => {
  const counted = await startCountingServer(true, ['a', 'b']);
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { counted: counted.url } })));
  const first = await connect(url);
  assert.equal(await toolNames(first), ['counted_a', 'counted_b']);
  const second = await connect(url);
  assert.equal(await toolNames(second), ['counted_a', 'counted_b']);
  assert.equal(await toolNames(first), ['counted_a', 'counted_b']);
  assert.is(counted.lists, 1, 'one tools/list reached the upstream for three lists of two sessions');
});

test('no stale list: list_changed drops the entry, and the next tools/list (any session) shows the change', async () => {
  const counted = await startCountingServer(true, ['a']);
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { counted: counted.url } })));
  const watcher = await connect(url);
  let told = 0;
  watcher.setNotificationHandler(ToolListChangedNotificationSchema, () => void told++);
  const other = await connect(url);
  assert.equal(await toolNames(watcher), ['counted_a']);
  assert.equal(await toolNames(other), ['counted_a']);
  assert.is(counted.lists, 1);
  counted.setTools(['a', 'c']);
  await counted.notifyChanged();
  await until(() => told > 0, 'the client heard list_changed');
  assert.equal(await toolNames(other), ['counted_a', 'counted_c'], 'the other session sees the change at once');
  assert.equal(await toolNames(watcher), ['counted_a', 'counted_c']);
  assert.is(counted.lists, 2, 'asked again once, then cached again');
});

test('an upstream without listChanged is asked every time by default', async () => {
  const plain = await startCountingServer(false, ['x']);
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { plain: plain.url } })));
  const client = await connect(url);
  await toolNames(client);
  await toolNames(client);
  assert.is(plain.lists, 2);
});

test('--list-cache-ttl: an upstream without listChanged is cached for the TTL, and the list after it shows the change', async () => {
  const plain = await startCountingServer(false, ['x']);
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { plain: plain.url } })), 400);
  const one = await connect(url);
  const two = await connect(url);
  assert.equal(await toolNames(one), ['plain_x']);
  assert.equal(await toolNames(two), ['plain_x']);
  assert.is(plain.lists, 1);
  plain.setTools(['y']);
  await sleep(450);
  assert.equal(await toolNames(two), ['plain_y'], 'the TTL is over: asked again');
  assert.is(plain.lists, 2);
});

test('a config push that changes the target drops its entry; one that does not keeps it', async () => {
  const counted = await startCountingServer(true, ['a']);
  const snapshot = (version: string, era: 'PROTOCOL_ERA_AUTO' | 'PROTOCOL_ERA_LEGACY') =>
    compileRoutingTable(simpleSnapshot({ version, targets: { counted: target(BACKEND, 'counted', counted.url, { protocolEra: era }) } }));
  const { proxy, url } = await startProxy(snapshot('v1', 'PROTOCOL_ERA_AUTO'));
  const client = await connect(url);
  await toolNames(client);
  assert.is(counted.lists, 1);
  proxy.apply(snapshot('v2', 'PROTOCOL_ERA_AUTO'));
  await toolNames(await connect(url));
  assert.is(counted.lists, 1, 'the same target: still cached');
  proxy.apply(snapshot('v3', 'PROTOCOL_ERA_LEGACY'));
  await toolNames(await connect(url));
  assert.is(counted.lists, 2, 'the target changed: its list is asked again');
});

let everything: EverythingServer;

test('server-everything: sessions declaring sampling and not do not share an entry', async () => {
  everything = await startServerEverything();
  cleanup.add(() => everything.stop());
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { everything: everything.url } })));
  const sampling = await connect(url, { sampling: {} });
  // The server registers its sampling tool once the session is initialized: wait for it.
  await until(async () => (await toolNames(sampling)).includes('everything_trigger-sampling-request'), 'the sampling tool is listed to the sampling client');
  const plain = await connect(url);
  const plainTools = await toolNames(plain);
  assert.ok(plainTools.includes('everything_echo'), plainTools.join(', '));
  assert.not.ok(plainTools.includes('everything_trigger-sampling-request'), 'a client without sampling does not get the sampling client\'s list');
  assert.ok((await toolNames(sampling)).includes('everything_trigger-sampling-request'));
  assert.not.ok((await toolNames(plain)).includes('everything_trigger-sampling-request'));
});

test('2026-07-28 upstream: its ttlMs is honoured, and the merged list carries what is left of it', async () => {
  const modern = await startModernServer({ ttlMs: 400, cacheScope: 'public' });
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { modern: modern.url } })));
  const list = async () => (await postModern(url, 'tools/list', { _meta: modernMeta() })).messages[0]!.result as { tools: Array<{ name: string }>; ttlMs: number; cacheScope: string };
  const first = await list();
  assert.equal(first.tools.map((t) => t.name), ['modern_first']);
  assert.ok(first.ttlMs > 0 && first.ttlMs <= 400, String(first.ttlMs));
  const second = await list();
  assert.is(modern.lists, 1, 'within ttlMs: served from cache');
  assert.ok(second.ttlMs <= first.ttlMs, `${second.ttlMs} <= ${first.ttlMs}`);
  assert.is(second.cacheScope, 'public');
  // A 2025 client's session shares the entry (same upstream, same capabilities told).
  modern.tools = ['second'];
  await sleep(450);
  const third = await list();
  assert.equal(third.tools.map((t) => t.name), ['modern_second'], 'past ttlMs: asked again');
  assert.is(modern.lists, 2);
});

test('2026-07-28 upstream listed by 2025 sessions: its ttlMs is honoured there too, and never shown to them', async () => {
  const modern = await startModernServer({ ttlMs: 400, cacheScope: 'public' });
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { modern: modern.url } })));
  const one = await connect(url);
  const two = await connect(url);
  const listed = await one.listTools();
  assert.equal(listed.tools.map((t) => t.name), ['modern_first']);
  assert.is((listed as Record<string, unknown>).ttlMs, undefined, 'a 2025 client sees no cache hints');
  assert.equal(await toolNames(two), ['modern_first']);
  assert.is(modern.lists, 1, 'within ttlMs: the second session is served from cache');
  modern.tools = ['second'];
  await sleep(450);
  assert.equal(await toolNames(two), ['modern_second'], 'past ttlMs: asked again');
  assert.is(modern.lists, 2);
});

test('2026-07-28 upstream: ttlMs 0 is never cached, nor a private answer for an anonymous caller', async () => {
  const none = await startModernServer({ ttlMs: 0, cacheScope: 'public' });
  const mine = await startModernServer({ ttlMs: 60_000, cacheScope: 'private' });
  const { url } = await startProxy(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { none: none.url, mine: mine.url } })));
  for (let i = 0; i < 2; i++) {
    const { messages } = await postModern(url, 'tools/list', { _meta: modernMeta() });
    assert.is(messages[0]!.result.ttlMs, 0, 'the merged list carries the most restrictive hint');
    assert.is(messages[0]!.result.cacheScope, 'private');
  }
  assert.is(none.lists, 2);
  assert.is(mine.lists, 2);
});

test.run();
