// Issue 16: sessions are bounded for everyone. At most so many per replica, per authenticated
// principal, and per client address for anonymous callers; a legacy SSE session (it exists from
// its GET, before initialize) that is not initialized in time is closed. Each refusal is counted
// in mcpmux_proxy_limit_hits_total{limit}.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../shared/log.ts';
import { startProxy } from '../proxy.ts';
import { compileRoutingTable } from '../routing/table.ts';
import { ProxyServer, type ProxyServerOptions } from '../server.ts';
import { freePort } from '../../shared/testing/processes.ts';
import { simpleSnapshot } from '../testing/snapshots.ts';
import { openSse, postJson, type SseReader } from '../testing/raw-http.ts';
import { clientAddressKey } from './session-admission.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'limits', version: '1' } } };
// One target nobody listens on (failure mode open): initialize is answered without it, at once.
const TABLE = (): ReturnType<typeof compileRoutingTable> => compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { down: 'http://127.0.0.1:9/mcp' } }));

async function withProxy(options: Partial<ProxyServerOptions>, run: (url: string, hits: string[], proxy: ProxyServer) => Promise<void>): Promise<void> {
  const hits: string[] = [];
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, onLimit: (limit) => hits.push(limit), ...options });
  await proxy.start();
  proxy.apply(TABLE());
  try {
    await run(`http://127.0.0.1:${proxy.port}/mcp`, hits, proxy);
  } finally {
    await proxy.close();
  }
}

const initialize = (url: string) => postJson(url, INIT, {});
const end = (url: string, session: string) => fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': session } }).then((r) => r.status);

test('clientAddressKey: IPv4 as is, IPv4-mapped as IPv4, loopback as one, IPv6 by its /64', () => {
  assert.is(clientAddressKey('203.0.113.9'), '203.0.113.9');
  assert.is(clientAddressKey('::ffff:203.0.113.9'), '203.0.113.9');
  assert.is(clientAddressKey('127.0.0.1'), 'loopback');
  assert.is(clientAddressKey('::1'), 'loopback');
  assert.is(clientAddressKey('::ffff:127.0.0.1'), 'loopback');
  assert.is(clientAddressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.is(clientAddressKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.is(clientAddressKey('2001:db8::7'), '2001:db8:0:0::/64');
  assert.is(clientAddressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.is(clientAddressKey('::ffff:0:10.0.0.1'), '0:0:0:0::/64');
  assert.is(clientAddressKey(undefined), 'unknown');
});

test('anonymous callers: so many sessions per client address, both transports; 429 and counted; a DELETE frees a place', async () => {
  await withProxy({ maxAnonymousSessionsPerAddress: 3 }, async (url, hits) => {
    const first = await initialize(url);
    const second = await initialize(url);
    assert.equal([first.status, second.status], [200, 200]);
    // A legacy SSE session takes a place from its GET on.
    const legacy = await openSse(url, {});
    assert.is(legacy.status, 200);
    const refused = await initialize(url);
    assert.is(refused.status, 429, refused.text);
    assert.match(refused.text, /anonymous clients at loopback already hold 3 sessions/);
    assert.is(refused.json<{ id: number }>().id, 1);
    const refusedStream = await openSse(url, {});
    assert.is(refusedStream.status, 429);
    refusedStream.close();
    assert.equal(hits, ['anonymous-sessions-per-address', 'anonymous-sessions-per-address']);
    assert.is(await end(url, first.headers.get('mcp-session-id')!), 200);
    assert.is((await initialize(url)).status, 200);
    legacy.close();
  });
});

test('anonymous per-address limit 0: no limit', async () => {
  await withProxy({ maxAnonymousSessionsPerAddress: 0 }, async (url, hits) => {
    for (let i = 0; i < 5; i++) assert.is((await initialize(url)).status, 200);
    assert.equal(hits, []);
  });
});

test('per replica: so many sessions whoever asks, concurrent initializes included; 429 and counted', async () => {
  await withProxy({ maxSessions: 3, maxAnonymousSessionsPerAddress: 0 }, async (url, hits, proxy) => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => initialize(url)));
    assert.is(answers.filter((a) => a.status === 200).length, 3, answers.map((a) => a.status).join(' '));
    const refused = answers.filter((a) => a.status === 429);
    assert.is(refused.length, 5);
    assert.match(refused[0]!.text, /holds the most sessions it may \(3\)/);
    assert.is(proxy.sessionCount, 3);
    assert.equal(hits, Array(5).fill('sessions-per-replica'));
    const opened = answers.find((a) => a.status === 200)!.headers.get('mcp-session-id')!;
    assert.is(await end(url, opened), 200);
    assert.is((await initialize(url)).status, 200);
  });
});

test('a failed initialize gives its place back', async () => {
  const closed = compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { down: 'http://127.0.0.1:9/mcp' }, backend: { failureMode: 'FAILURE_MODE_CLOSED' } }));
  await withProxy({ maxSessions: 1, maxAnonymousSessionsPerAddress: 1 }, async (url, hits, proxy) => {
    proxy.apply(closed);
    for (let i = 0; i < 3; i++) {
      const failed = await initialize(url);
      assert.match(failed.text, /"error"/);
      assert.not.match(failed.text, /most sessions|already hold/);
    }
    proxy.apply(TABLE());
    assert.is((await initialize(url)).status, 200);
    assert.equal(hits, []);
  });
});

async function ended(stream: SseReader, withinMs: number): Promise<boolean> {
  return Promise.race([stream.ended.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), withinMs))]);
}

test('a legacy SSE session not initialized in time is closed (its place freed, counted); one initialized in time stays', async () => {
  await withProxy({ sessionInitializeTimeoutMs: 300, maxAnonymousSessionsPerAddress: 1 }, async (url, hits, proxy) => {
    const idle = await openSse(url, {});
    assert.is((await idle.next()).event, 'endpoint');
    assert.is(proxy.sessionCount, 1);
    assert.ok(await ended(idle, 3_000), 'the stream of a session never initialized ends');
    assert.is(proxy.sessionCount, 0);
    assert.equal(hits, ['session-initialize-timeout']);

    const active = await openSse(url, {});
    const endpoint = (await active.next()).data;
    const post = await postJson(new URL(endpoint, url).href, INIT, {});
    assert.is(post.status, 202);
    const answer = await active.next();
    assert.match(answer.data, /"protocolVersion"/);
    assert.not.ok(await ended(active, 900), 'an initialized session is kept past the initialize timeout');
    assert.is(proxy.sessionCount, 1);
    assert.equal(hits, ['session-initialize-timeout']);
    active.close();
  });
});

test('mcpmux proxy: the limits are counted in mcpmux_proxy_limit_hits_total{limit}', async () => {
  const running = await startProxy({
    controlPlane: `127.0.0.1:${await freePort()}`,
    gateway: '',
    address: '127.0.0.1',
    port: 0,
    httpPort: 0,
    replicaId: 'limits-test',
    logger,
    limits: { maxSessions: 2, maxAnonymousSessionsPerAddress: 1, sessionInitializeTimeoutMs: 200 },
  });
  try {
    running.server.apply(TABLE());
    const url = `http://127.0.0.1:${running.port}/mcp`;
    assert.is((await initialize(url)).status, 200);
    assert.is((await initialize(url)).status, 429);
    const metrics = await (await fetch(`http://127.0.0.1:${running.httpPort}/metrics`)).text();
    assert.match(metrics, /mcpmux_proxy_limit_hits_total\{limit="anonymous-sessions-per-address"\} 1/);
  } finally {
    await running.close();
  }
});

test.run();
