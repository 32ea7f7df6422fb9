// mcpmux proxy --workers 2 (issue 19 §1): one port, two worker processes behind a node:cluster
// primary. Real processes and sockets: a control plane, a stateful echo upstream and the proxy.
// Every call below goes on a fresh TCP connection (its own undici pool), so the primary's
// round-robin lands calls of one session on both workers: the worker without the session must pass
// them to the one holding it.
import { Client } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { callEcho, StreamableClient } from './bench/lib/clients.ts';
import { legacySseEndpoint } from './bench/lib/legacy-sse-client.ts';
import { descendants } from './bench/lib/proc-stats.ts';
import { startEcho, startMcpmux, type EchoProcess, type McpmuxProcesses } from './bench/lib/stack.ts';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startNode, until } from '../shared/testing/processes.ts';

const CLI = fileURLToPath(new URL('../shared/cli/mcpmux.ts', import.meta.url));

let echo: EchoProcess;
let mcpmux: McpmuxProcesses;

test.before(async () => {
  echo = await startEcho({ stateful: true });
  mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }], { workers: 2, proxyEnv: { MCPMUX_LOG_LEVEL: 'info' } });
});

test.after(async () => {
  await mcpmux?.stop();
  await echo?.process.stop();
});

/** Every sample of a metric on the pod's /metrics, as [labels, value]. */
async function samples(name: string): Promise<Array<[Record<string, string>, number]>> {
  const text = await (await fetch(`${mcpmux.proxyHttpUrl}/metrics`)).text();
  const found: Array<[Record<string, string>, number]> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = Object.fromEntries([...(/\{(.*)\}/.exec(line)?.[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    found.push([labels, Number(line.slice(line.lastIndexOf(' ') + 1))]);
  }
  return found;
}

async function total(name: string, where: Record<string, string> = {}): Promise<number> {
  return (await samples(name)).filter(([labels]) => Object.entries(where).every(([k, v]) => labels[k] === v)).reduce((sum, [, value]) => sum + value, 0);
}

/** A session opened on one connection, then `calls` calls each on a connection of its own. */
async function sessionOverManyConnections(calls: number): Promise<string> {
  const opener = new StreamableClient(mcpmux.mcpUrl, 1);
  const headers = await opener.initialize();
  await opener.close();
  for (let id = 1; id <= calls; id++) {
    const client = new StreamableClient(mcpmux.mcpUrl, 1);
    try {
      await callEcho(client, headers, id, 'echo_echo');
    } finally {
      await client.close();
    }
  }
  return headers['mcp-session-id']!;
}

test('streamable sessions: calls on one session over many connections all reach it, on both workers', async () => {
  const forwardedBefore = await total('mcpmux_proxy_worker_forwarded_requests_total');
  const ids = await Promise.all(Array.from({ length: 8 }, () => sessionOverManyConnections(6)));
  assert.is(new Set(ids).size, 8);
  // Ids name their worker: both hold sessions.
  assert.equal(new Set(ids.map((id) => id.slice(0, 3))), new Set(['w0_', 'w1_']), `session ids: ${ids.join(' ')}`);
  for (const worker of ['0', '1']) {
    assert.ok((await total('mcpmux_proxy_requests_total', { method: 'tools/call', outcome: 'ok', worker })) > 0, `worker ${worker} served calls`);
  }
  assert.is(await total('mcpmux_proxy_requests_total', { method: 'tools/call', outcome: 'ok' }), 48, 'every call answered once, by its session\'s worker');
  assert.ok((await total('mcpmux_proxy_worker_forwarded_requests_total')) - forwardedBefore > 0, 'calls that landed on the other worker were passed on');
  // A client cannot pose as a worker asking the owner a question: the headers between workers are never taken from it.
  for (let i = 0; i < 2; i++) {
    const client = new StreamableClient(mcpmux.mcpUrl, 1);
    const answer = await client.post({ 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': ids[1]!, 'x-mcpmux-worker-ask': 'held', 'x-mcpmux-worker-gateway-port': '9' }, { jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} });
    await client.close();
    assert.is(answer.status, 200, answer.body);
    assert.match(answer.body, /"tools"/);
  }
  // A DELETE on another connection reaches the session too: it is gone afterwards.
  const client = new StreamableClient(mcpmux.mcpUrl, 1);
  const headers = { 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': ids[0]! };
  await client.end(headers);
  for (let i = 0; i < 3; i++) {
    const after = new StreamableClient(mcpmux.mcpUrl, 1);
    const answer = await after.post(headers, { jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} });
    await after.close();
    assert.is(answer.status, 404, 'the deleted session is unknown on whichever worker the request lands');
  }
  await client.close();
});

test("a session's GET stream opened on either worker's connections is the owner's, streamed back at once", async () => {
  const opener = new StreamableClient(mcpmux.mcpUrl, 1);
  const headers = await opener.initialize();
  await opener.close();
  const forwardedBefore = await total('mcpmux_proxy_worker_forwarded_requests_total');
  // Consecutive connections alternate between the workers: one of the two GETs is passed on.
  for (let i = 0; i < 2; i++) {
    await until(
      async () => {
        const client = new Client(new URL(mcpmux.mcpUrl).origin);
        try {
          const response = await client.request({ path: '/mcp', method: 'GET', headers: { ...headers, accept: 'text/event-stream' } });
          const status = response.statusCode;
          const type = String(response.headers['content-type']);
          response.body.destroy();
          if (status === 409) return false; // the previous stream's close has not reached the owner yet
          assert.is(status, 200);
          assert.match(type, /text\/event-stream/);
          return true;
        } finally {
          await client.destroy();
        }
      },
      'the GET stream opened',
      5_000,
    );
  }
  assert.ok((await total('mcpmux_proxy_worker_forwarded_requests_total')) > forwardedBefore, 'one GET was passed to the owner');
});

test('a session id naming no worker of the pod is unknown: 404', async () => {
  const client = new StreamableClient(mcpmux.mcpUrl, 1);
  const answer = await client.post({ 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': 'w7_nosuchsessionatall00000' }, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
  await client.close();
  assert.is(answer.status, 404);
});

test('legacy SSE: the stream and its POSTs on different connections (so different workers) meet', async () => {
  const forwardedBefore = await total('mcpmux_proxy_worker_forwarded_requests_total');
  // The stream holds one connection; POSTs go on another pool: the next connection, the other worker.
  const endpoint = legacySseEndpoint({ name: 'legacy', url: mcpmux.mcpUrl, tool: 'echo_echo', connections: 1 });
  try {
    const session = await endpoint.open();
    for (let i = 0; i < 5; i++) await session.call();
    await session.close();
  } finally {
    await endpoint.close();
  }
  assert.ok((await total('mcpmux_proxy_worker_forwarded_requests_total')) - forwardedBefore > 0, 'the POSTs were passed to the stream\'s worker');
});

test('a worker that dies is started again; new sessions work; /readyz follows', async () => {
  const primary = mcpmux.proxy.child.pid!;
  const workers = descendants(primary);
  assert.is(workers.length, 2, `two workers under the primary: ${workers.join(' ')}`);
  process.kill(workers[0]!, 'SIGKILL');
  await until(async () => (await total('mcpmux_proxy_worker_restarts_total')) === 1, 'the restart counted', 10_000);
  await until(async () => (await fetch(`${mcpmux.proxyHttpUrl}/readyz`)).status === 200 && (await total('mcpmux_proxy_workers', { state: 'ready' })) === 2, 'both workers ready again', 20_000);
  const now = descendants(primary);
  assert.is(now.length, 2);
  assert.ok(!now.includes(workers[0]!), 'a new process took the dead one\'s place');
  const ids = await Promise.all(Array.from({ length: 4 }, () => sessionOverManyConnections(3)));
  assert.is(new Set(ids.map((id) => id.slice(0, 3))).size, 2, 'both workers hold new sessions');
  assert.match(mcpmux.proxy.output(), /worker died/);
});

test('SIGTERM: every worker drains and the pod exits 0, leaving no process behind', async () => {
  const primary = mcpmux.proxy.child.pid!;
  const workers = descendants(primary);
  const code = await mcpmux.proxy.stop('SIGTERM');
  assert.is(code, 0, mcpmux.proxy.output().slice(-2000));
  const alive = workers.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.equal(alive, []);
  const output = mcpmux.proxy.output();
  assert.is(output.match(/"msg":"drained"/g)?.length, 2, 'both workers drained');
  assert.match(output, /all workers stopped/);
});

test('workers that cannot start (their port is taken) stop the pod: exit 1, saying why', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as AddressInfo).port;
    const pod = startNode('proxy-port-taken', [CLI, 'proxy', '--workers', '2', '--port', String(port), '--http-port', '0', '--control-plane', '127.0.0.1:1']);
    const code = await new Promise<number | null>((resolve) => pod.child.once('exit', resolve));
    assert.is(code, 1, pod.output().slice(-2000));
    assert.match(pod.output(), /EADDRINUSE/);
    assert.match(pod.output(), /died 3 times without ever being ready: stopping the pod/);
  } finally {
    taken.close();
  }
});

test.run();
