// Issue 8, acceptance 3: kill -9 the replica that owns 50 open sessions. Every session continues
// on the survivors, which adopt them; a notification emitted just before the kill (and never
// delivered) is replayed from the JetStream buffer to the reconnected stream; tool calls that were
// in flight on the dead replica fail, and no call is executed twice (a counting website behind the
// tutorial's fetcher sees each URL at most once).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NatsSessionStore } from '../proxy/sessions/nats-store.ts';
import { openSse, postJson } from '../proxy/testing/raw-http.ts';
import { startFleet, type FleetHarness } from './support/fleet.ts';
import { until } from './support/processes.ts';

const EVERYTHING = 'mcp-server-everything-3001';
const FETCHER = 'mcp-website-fetcher-80';
const SESSIONS = 50;

let fleet: FleetHarness;
let website: Server;
let websiteUrl: string;
const hits = new Map<string, number>();

test.before(async () => {
  // Counts every fetch by path; `/slow-…` answers after 3 s, so calls are in flight at the kill.
  website = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`page ${path}`);
    };
    if (path.startsWith('/slow-')) setTimeout(answer, 3_000);
    else answer();
  });
  await new Promise<void>((resolve) => website.listen(0, '127.0.0.1', resolve));
  websiteUrl = `http://127.0.0.1:${(website.address() as AddressInfo).port}`;
  fleet = await startFleet({ replicas: 3, fetcher: true });
});

test.after(async () => {
  await fleet?.stop();
  website?.close();
});

const HEADERS = { 'mcp-protocol-version': '2025-11-25' };

test('kill -9 of the replica owning 50 sessions: all continue on the survivors, the unsent notification is replayed, nothing runs twice', async () => {
  const started = Date.now();
  // Everything opens on replica 0: it owns the sessions and holds their streams.
  fleet.balancer.setEnabled(1, false);
  fleet.balancer.setEnabled(2, false);
  const clients: Client[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const client = new Client({ name: `c${i}`, version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(fleet.mcpUrl), { reconnectionOptions: { initialReconnectionDelay: 300, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1.5, maxRetries: 20 } }));
    clients.push(client);
  }
  // One more session read by hand, to see the event ids of its stream.
  const init = await postJson(fleet.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, {});
  const sessionId = init.headers.get('mcp-session-id') ?? '';
  assert.ok(sessionId, 'the raw session has an id');
  await postJson(fleet.mcpUrl, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...HEADERS, 'mcp-session-id': sessionId });
  const stream = await openSse(fleet.mcpUrl, { ...HEADERS, accept: 'text/event-stream', 'mcp-session-id': sessionId });
  assert.is(stream.status, 200);
  // Sessions that never open a stream: nobody reconnects them, so a survivor must adopt them.
  const quiet: string[] = [];
  for (let i = 0; i < 5; i++) {
    const answer = await postJson(fleet.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `quiet-${i}`, version: '1' } } }, {});
    quiet.push(answer.headers.get('mcp-session-id') ?? '');
  }
  fleet.balancer.setEnabled(1, true);
  fleet.balancer.setEnabled(2, true);

  // A first notification reaches the stream live: the client's cursor.
  const jsonOnly = { ...HEADERS, accept: 'application/json', 'mcp-session-id': sessionId };
  const call = (token: string, url = fleet.mcpUrl) =>
    postJson(url, { jsonrpc: '2.0', id: token, method: 'tools/call', params: { name: `${EVERYTHING}_trigger-long-running-operation`, arguments: { duration: 0.2, steps: 1 }, _meta: { progressToken: token } } }, jsonOnly);
  assert.is((await call('before')).status, 200);
  const live = await stream.next(5_000);
  assert.match(live.data, /"progressToken":"before"/, 'progress of a JSON-answered call goes to the GET stream');
  const cursor = live.id ?? '';
  assert.ok(cursor.startsWith('g.'), `the event has a resumable id: ${cursor}`);

  // Calls in flight when the owner dies: some run on it, some on the survivors.
  const inFlight = clients.slice(0, 12).map((client, i) =>
    client.callTool({ name: `${FETCHER}_fetch`, arguments: { url: `${websiteUrl}/slow-${i}` } }).then(
      (result): { ok: boolean; error?: string } => ({ ok: !(result as CallToolResult).isError }),
      (error: unknown) => ({ ok: false, error: String(error) }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));

  // Replica 0 freezes, a notification is emitted for its stream (by replica 1, into the buffer), then it is killed.
  const owner = fleet.replicas[0]?.process?.child;
  owner?.kill('SIGSTOP');
  assert.is((await call('at-the-kill', fleet.replicas[1]?.url)).status, 200);
  await fleet.kill(0);
  const killedAt = Date.now();
  stream.close();

  // The client reconnects its stream where it left off, through the balancer: the notification is replayed.
  const resumed = await openSse(fleet.mcpUrl, { ...HEADERS, accept: 'text/event-stream', 'mcp-session-id': sessionId, 'last-event-id': cursor });
  assert.is(resumed.status, 200, 'a survivor serves the stream of the dead replica session');
  const replayed = await resumed.next(5_000);
  assert.match(replayed.data, /"progressToken":"at-the-kill"/, 'the notification emitted at the kill is replayed');
  resumed.close();

  // Every session goes on.
  const answers = await Promise.all(clients.map((client, i) => client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: `after-${i}` } })));
  answers.forEach((answer, i) => assert.is(((answer as CallToolResult).content[0] as { text: string }).text, `Echo: after-${i}`));

  // The calls in flight on the dead replica failed; none ran twice.
  const outcomes = await Promise.all(inFlight);
  const failed = outcomes.filter((o) => !o.ok).length;
  for (const outcome of outcomes.filter((o) => !o.ok)) assert.match(outcome.error ?? '', /stopped before answering; it may or may not have completed, retry/, 'a lost call fails with the retryable error');
  assert.ok(failed > 0 && failed < outcomes.length, `some in-flight calls were on the dead replica (${failed} of ${outcomes.length} failed)`);
  for (const [path, count] of hits) assert.ok(count <= 1, `${path} was fetched ${count} times`);

  // The survivors adopted the dead replica's sessions (compare-and-set on their records).
  const store = await NatsSessionStore.open({ servers: fleet.nats?.url ?? '', idleTtlMs: 30 * 60_000, heartbeatTtlMs: 3_000 });
  try {
    await until(
      async () => {
        const transport = clients[SESSIONS - 1]?.transport as StreamableHTTPClientTransport;
        const record = await store.get(transport.sessionId ?? '');
        return record !== undefined && !record.value.owner.startsWith('proxy-0@');
      },
      'a survivor owns the sessions of proxy-0',
      10_000,
    );
  } finally {
    await store.close();
  }
  // Sessions whose client reconnected its stream first were claimed by that replica; the rest were
  // adopted, each by one survivor only (compare-and-set), and /metrics counts them.
  const adoptions = async (): Promise<number> => {
    let total = 0;
    for (const replica of fleet.replicas.slice(1)) {
      const text = await (await fetch(`http://127.0.0.1:${replica.httpPort}/metrics`)).text();
      total += Number(/^mcpmux_proxy_fleet_adoptions_total (\d+)/m.exec(text)?.[1] ?? 0);
    }
    return total;
  };
  await until(async () => (await adoptions()) >= quiet.length, 'the stream-less sessions adopted', 10_000);
  const adopted = await adoptions();
  assert.ok(adopted >= quiet.length && adopted <= SESSIONS + 1 + quiet.length, `the stream-less sessions at least were adopted, none twice: ${adopted}`);
  const check = await NatsSessionStore.open({ servers: fleet.nats?.url ?? '', idleTtlMs: 30 * 60_000, heartbeatTtlMs: 3_000 });
  try {
    const ids = [sessionId, ...quiet, ...clients.map((c) => (c.transport as StreamableHTTPClientTransport).sessionId ?? '')];
    const owners = await Promise.all(ids.map(async (id) => (await check.get(id))?.value.owner ?? 'none'));
    const orphaned = owners.filter((o) => o === 'none' || o.startsWith('proxy-0@'));
    assert.is(orphaned.length, 0, `every session has a living owner: ${orphaned.join(', ')}`);
  } finally {
    await check.close();
  }
  console.log(`failover: ${SESSIONS + 1} sessions continued, ${failed}/${outcomes.length} in-flight calls failed cleanly, adopted within ${Date.now() - killedAt} ms of the kill (${adopted} by adoption, the rest claimed by a reconnecting stream) (test ran ${Date.now() - started} ms)`);
  await Promise.all(clients.map((c) => c.close()));
});

test.run();
