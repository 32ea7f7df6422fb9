// One broken target never fails the session: server-everything is killed mid-session (a real
// process), calls to the other target go on and lists return the rest; when it comes back on the
// same port its tools return to the open session, which hears list_changed, without reconnecting.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLogger } from '../shared/log.ts';
import { Cleanup, until } from '../shared/testing/processes.ts';
import { startRecordingServer, startServerEverything, type EverythingServer, type RecordingServer } from '../shared/testing/upstreams.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { connectClient, EVERYTHING, firstText } from './testing/fixture.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
let everything: EverythingServer;
let rec: RecordingServer;
let proxy: ProxyServer;
let client: Client;
let changes = 0;

test.before(async () => {
  [everything, rec] = await Promise.all([startServerEverything(), startRecordingServer({ name: 'rec' })]);
  cleanup.add(() => everything.stop());
  cleanup.add(() => rec.close());
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, requestTimeoutMs: 5_000, targetRetryMs: 1_000 });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { [EVERYTHING]: everything.url, rec: rec.url } })));
  client = await connectClient(`http://127.0.0.1:${proxy.port}/mcp`, cleanup);
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
});

test.after(() => cleanup.run());

async function toolNames(): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

test('a target killed mid-session: the other still answers, lists return the rest; back again, its tools return with list_changed', async () => {
  const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId;
  assert.ok((await toolNames()).includes(`${EVERYTHING}_echo`));

  await everything.stop();
  assert.is(firstText(await client.callTool({ name: 'rec_echo', arguments: { text: 'alive' } })), 'rec: alive');
  const during = await toolNames();
  assert.ok(during.includes('rec_echo'), during.join(', '));
  assert.not.ok(during.some((n) => n.startsWith(`${EVERYTHING}_`)), during.join(', '));
  try {
    await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'x' } });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, McpError);
    assert.match((error as Error).message, new RegExp(`target ${EVERYTHING} is unavailable`));
  }
  assert.is(firstText(await client.callTool({ name: 'rec_echo', arguments: { text: 'still' } })), 'rec: still');

  const before = changes;
  const restartedAt = Date.now();
  await everything.restart();
  // Nobody asks anything: the upstream GET stream notices the target is back, re-initializes,
  // and the client hears its lists changed.
  await until(() => changes > before, 'list_changed after the target came back', 10_000);
  console.log(`target back → list_changed in ${Date.now() - restartedAt} ms`);
  const after = await toolNames();
  assert.ok(after.includes(`${EVERYTHING}_echo`) && after.includes('rec_echo'), after.join(', '));
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'back' } })), 'Echo: back');
  assert.is((client.transport as StreamableHTTPClientTransport).sessionId, sessionId, 'the same session throughout');
});

test('a target that restarted gets back what the session had set: its resource subscriptions', async () => {
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
  const uri = `${EVERYTHING}+demo://resource/static/document/architecture.md`;
  await client.subscribeResource({ uri });
  const before = changes;
  await everything.restart();
  await until(() => changes > before, 're-initialized after the restart', 10_000);
  // The new server-everything process knows nothing of the subscription but what we restored.
  await until(async () => {
    await client.callTool({ name: `${EVERYTHING}_toggle-subscriber-updates`, arguments: {} }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    return updates.length > 0;
  }, 'a resource update after the restart', 10_000);
  assert.is(updates[0], uri);
});

test('a target that fails its handshake is left out at initialize and tried again later', async () => {
  await everything.stop();
  const late = await connectClient(`http://127.0.0.1:${proxy.port}/mcp`, cleanup, 'late');
  const names = (await late.listTools()).tools.map((t) => t.name);
  assert.ok(names.includes('rec_echo'));
  assert.not.ok(names.some((n) => n.startsWith(`${EVERYTHING}_`)));
  await everything.restart();
  // The session tries it again once its retry window (targetRetryMs) has passed.
  await until(async () => (await late.listTools()).tools.some((t) => t.name === `${EVERYTHING}_echo`), 'tools back after the retry window', 12_000);
});

test.run();
