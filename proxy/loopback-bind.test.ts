// Issue 16: the docs say http://localhost:8080/mcp, and many resolvers answer `localhost` with ::1
// first. A loopback bind serves both loopback families on its one port; the Host guard takes every
// name a local client may use.
import { createServer, type Server } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, request } from 'undici';
import { createLogger } from '../shared/log.ts';
import { compileRoutingTable } from './routing/table.ts';
import { boundAddresses, ProxyServer } from './server.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'loopback', version: '1' } } });
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A client whose resolver answers `localhost` with ::1 only, and which does not fall back to IPv4. */
const ipv6FirstResolver = new Agent({
  connect: {
    autoSelectFamily: false,
    lookup: ((hostname: string, options: { all?: boolean }, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      assert.is(hostname, 'localhost');
      if (options.all) callback(null, [{ address: '::1', family: 6 }]);
      else callback(null, '::1', 6);
    }) as never,
  },
});

async function initialize(url: string, dispatcher?: Agent): Promise<{ status: number; session: string | undefined; body: string }> {
  const answer = await request(url, { method: 'POST', headers: HEADERS, body: INIT, ...(dispatcher ? { dispatcher } : {}) });
  const session = answer.headers['mcp-session-id'];
  return { status: answer.statusCode, session: typeof session === 'string' ? session : undefined, body: await answer.body.text() };
}

async function startProxy(address: string, port = 0): Promise<ProxyServer> {
  const proxy = new ProxyServer({ address, port, logger });
  await proxy.start();
  // One target nobody listens on (failure mode open): initialize is answered without it.
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { down: 'http://127.0.0.1:9/mcp' } })));
  return proxy;
}

test('boundAddresses: a loopback bind is both families, the given one first; others are as given', () => {
  assert.equal(boundAddresses('127.0.0.1'), ['127.0.0.1', '::1']);
  assert.equal(boundAddresses('localhost'), ['127.0.0.1', '::1']);
  assert.equal(boundAddresses('::1'), ['::1', '127.0.0.1']);
  assert.equal(boundAddresses('[::1]'), ['::1', '127.0.0.1']);
  assert.equal(boundAddresses('0.0.0.0'), ['0.0.0.0']);
  assert.equal(boundAddresses('::'), ['::']);
  assert.equal(boundAddresses('10.1.2.3'), ['10.1.2.3']);
});

test('bound to 127.0.0.1: clients reach /mcp at localhost (IPv6 first or not), [::1] and 127.0.0.1', async () => {
  const proxy = await startProxy('127.0.0.1');
  try {
    assert.equal(proxy.addresses.sort(), ['127.0.0.1', '::1']);
    const port = proxy.port;
    for (const [url, dispatcher] of [
      [`http://localhost:${port}/mcp`, ipv6FirstResolver],
      [`http://localhost:${port}/mcp`, undefined],
      [`http://[::1]:${port}/mcp`, undefined],
      [`http://127.0.0.1:${port}/mcp`, undefined],
    ] as const) {
      const answer = await initialize(url, dispatcher);
      assert.is(answer.status, 200, `${url}${dispatcher ? ' (::1 first)' : ''}: ${answer.body}`);
      assert.ok(answer.session, `${url}: a session`);
      assert.match(answer.body, /"protocolVersion"/);
    }
    // A session opened over one family is the same session over the other.
    const opened = await initialize(`http://[::1]:${port}/mcp`);
    const ping = await request(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': opened.session!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });
    assert.is(ping.statusCode, 200, await ping.body.text());
  } finally {
    await proxy.close();
  }
});

test('bound to ::1: 127.0.0.1 is served too', async () => {
  const proxy = await startProxy('::1');
  try {
    assert.is((await initialize(`http://127.0.0.1:${proxy.port}/mcp`)).status, 200);
    assert.is((await initialize(`http://localhost:${proxy.port}/mcp`, ipv6FirstResolver)).status, 200);
  } finally {
    await proxy.close();
  }
});

test('a port free on 127.0.0.1 but taken on ::1: the start fails saying so (a client would reach the other program)', async () => {
  const squatter: Server = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '::1', resolve));
  const port = (squatter.address() as { port: number }).port;
  try {
    const proxy = new ProxyServer({ address: '127.0.0.1', port, logger });
    try {
      await proxy.start();
      assert.unreachable('started although [::1]:port is taken');
    } catch (error) {
      assert.match((error as Error).message, /taken on ::1/);
    } finally {
      await proxy.close();
    }
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
});

test('stopping closes both listeners', async () => {
  const proxy = await startProxy('127.0.0.1');
  const port = proxy.port;
  await proxy.close();
  for (const url of [`http://127.0.0.1:${port}/mcp`, `http://[::1]:${port}/mcp`]) {
    const refused = await initialize(url).then(
      () => false,
      (error: Error & { code?: string; cause?: { code?: string } }) => /ECONNREFUSED/.test(`${error.code} ${error.cause?.code} ${error.message}`),
    );
    assert.ok(refused, `${url} still answers`);
  }
});

test.run();
