// Workers (mcpmux proxy --workers N): throughput and CPU per call of one proxy pod with 1 and 2
// worker processes, pinned with taskset to one core and then to two. The machine the figures come
// from has two cores, so the load driver (this process) and the echo upstream cannot be kept off
// the proxy's cores entirely: they are pinned to core 0, the proxy to core 1 ("1 core") or to both
// ("2 cores", sharing core 0 with them).
//
// Three kinds of clients: "sticky" sessions each keep one connection of their own (what an MCP
// client does), so a session's calls reach the worker that holds it; "spread" sessions share one
// pool of connections (what a pooling client or a balancer without affinity does), so with two
// workers about half of the calls land on the other worker and are passed on over its Unix socket:
// "forwarded" sessions are each called on a connection held by the other worker, so every call is
// passed on: against "sticky" on the same pod, the cost of forwarding one request.
import { execFileSync } from 'node:child_process';
import { BenchCallError, callEcho, StreamableClient, streamableEndpoint, type BenchEndpoint, type BenchSession } from '../lib/clients.ts';
import { closeSessions, emptyResult, medianRate, openSessions, runLoad, type LoadResult } from '../lib/driver.ts';
import { treeCpuMs, treeRssBytes } from '../lib/proc-stats.ts';
import { check, ms, type Cell, type Check, type Scenario, type ScenarioResult } from '../lib/result.ts';
import { startEcho, startMcpmux, type McpmuxProcesses } from '../lib/stack.ts';

const SESSIONS = 64;
const CONFIGS = [
  { workers: 1, cores: '1' },
  { workers: 2, cores: '1' },
  { workers: 1, cores: '0,1' },
  { workers: 2, cores: '0,1' },
] as const;

/** Every session on a connection of its own: its calls go where its initialize went. */
function stickyEndpoint(url: string, tool: string): BenchEndpoint {
  const clients: StreamableClient[] = [];
  return {
    name: 'sticky',
    async open() {
      const client = new StreamableClient(url, 1);
      clients.push(client);
      const headers = await client.initialize();
      let nextId = 1;
      return { call: () => callEcho(client, headers, nextId++, tool), close: () => client.end(headers) };
    },
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

/**
 * Every call passed on: each session is opened on one connection and called on another that
 * landed on the other worker (found by opening, and ending, a probe session on it). Two workers only.
 */
function forwardedEndpoint(url: string, tool: string): BenchEndpoint {
  const clients: StreamableClient[] = [];
  const workerOf = (headers: Record<string, string>): string => (headers['mcp-session-id'] ?? '').slice(0, 3);
  // One session opens at a time: opened in lockstep, the connections of each would fall on the same
  // worker of the round-robin every time.
  let turn: Promise<unknown> = Promise.resolve();
  const open = async (): Promise<BenchSession> => {
    const home = new StreamableClient(url, 1);
    clients.push(home);
    const headers = await home.initialize();
    for (let attempt = 0; attempt < 16; attempt++) {
      const other = new StreamableClient(url, 1);
      const probe = await other.initialize();
      await other.end(probe);
      if (workerOf(probe) === workerOf(headers)) {
        await other.close();
        continue;
      }
      clients.push(other);
      let nextId = 1;
      return { call: () => callEcho(other, headers, nextId++, tool), close: () => home.end(headers) };
    }
    throw new BenchCallError('no connection landed on the other worker in 16 tries');
  };
  return {
    name: 'forwarded',
    open() {
      const opened = turn.then(open);
      turn = opened.catch(() => undefined);
      return opened;
    },
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

/** Pins a process (all its threads) to `cpus`. */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

async function forwarded(mcpmux: McpmuxProcesses): Promise<number> {
  const text = await (await fetch(`${mcpmux.proxyHttpUrl}/metrics`)).text();
  return [...text.matchAll(/^mcpmux_proxy_worker_forwarded_requests_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

interface Side {
  pod: { workers: number; cores: string; mcpmux: McpmuxProcesses };
  client: 'sticky' | 'spread' | 'forwarded';
  endpoint: BenchEndpoint;
  sessions: BenchSession[];
  result: LoadResult;
  cpuMs: number;
  forwarded: number;
}

export const workers: Scenario = async ({ quick }) => {
  const rounds = quick ? 3 : 5;
  const callsPerRound = quick ? 2000 : 4000;
  pin(process.pid, '0');
  const echo = await startEcho();
  pin(echo.process.child.pid!, '0');
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  const notes: string[] = [
    `${SESSIONS} sessions per side, closed loop, echo tools/call over streamable HTTP; ${rounds} interleaved rounds of ${callsPerRound} calls per side after ${callsPerRound} warm-up calls; calls/s is the median round's.`,
    'The pods take any number of anonymous sessions from loopback (--max-anonymous-sessions-per-address 0): every side opens 64.',
    'All four pods run at once (an idle pod costs nothing) and each round visits every side in turn, so drift of the shared machine spreads over all of them.',
    'The driver and the echo upstream are pinned to core 0; each pod (primary and workers) to the cores of its row. On "0,1" the pod shares core 0 with them.',
    'CPU µs per call: user + system time of every process of the pod (primary and workers, from /proc) while that side ran, divided by its calls.',
  ];
  const pods: Side['pod'][] = [];
  const sides: Side[] = [];
  try {
    for (const config of CONFIGS) pods.push({ ...config, mcpmux: await startMcpmux([{ name: 'echo', url: echo.url }], { workers: config.workers, proxyCpus: config.cores, proxyArgs: ['--max-anonymous-sessions-per-address', '0'] }) });
    for (const pod of pods) {
      const url = pod.mcpmux.mcpUrl;
      const clients = pod.workers === 2 ? (['sticky', 'spread', 'forwarded'] as const) : (['sticky', 'spread'] as const);
      for (const client of clients) {
        const endpoint =
          client === 'sticky' ? stickyEndpoint(url, 'echo_echo') : client === 'forwarded' ? forwardedEndpoint(url, 'echo_echo') : streamableEndpoint({ name: 'spread', url, tool: 'echo_echo', connections: SESSIONS });
        const side: Side = { pod, client, endpoint, sessions: await openSessions(endpoint, SESSIONS), result: emptyResult(), cpuMs: 0, forwarded: 0 };
        sides.push(side);
        const warm = await runLoad(side.sessions, { calls: callsPerRound, warmup: true });
        if (warm.failed > 0) throw new BenchCallError(`${pod.workers} worker(s) on ${pod.cores}, ${client}: ${warm.failed} warm-up calls failed: ${[...warm.errors.keys()].join('; ')}`);
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(round + i) % sides.length]!;
        const primary = side.pod.mcpmux.proxy.child.pid!;
        const [cpuBefore, forwardedBefore] = [treeCpuMs(primary), await forwarded(side.pod.mcpmux)];
        await runLoad(side.sessions, { calls: callsPerRound, into: side.result });
        side.cpuMs += treeCpuMs(primary) - cpuBefore;
        side.forwarded += (await forwarded(side.pod.mcpmux)) - forwardedBefore;
      }
    }
    for (const side of sides) {
      const { pod, client, result } = side;
      const s = result.latencies.summary();
      rows.push({
        workers: pod.workers,
        cores: pod.cores,
        client,
        calls: result.ok,
        failed: result.failed,
        'calls/s': Math.round(medianRate(result)),
        'CPU µs/call': Math.round((side.cpuMs * 1000) / Math.max(1, result.ok)),
        p50: ms(s.p50),
        p99: ms(s.p99),
        forwarded: `${Math.round((100 * side.forwarded) / Math.max(1, result.ok))}%`,
        'pod RSS MB': Math.round(treeRssBytes(pod.mcpmux.proxy.child.pid!) / 2 ** 20),
      });
      const what = `${pod.workers} worker(s) on ${pod.cores}, ${client}`;
      checks.push(check(`failed calls, ${what}`, '0', String(result.failed), result.failed === 0));
      if (client === 'forwarded') checks.push(check(`calls passed on, ${what}`, 'all', `${side.forwarded} of ${result.ok}`, side.forwarded >= result.ok));
      if (client === 'sticky') checks.push(check(`calls passed on, ${what}`, '0', String(side.forwarded), side.forwarded === 0));
    }
  } finally {
    for (const side of sides) {
      await closeSessions(side.sessions);
      await side.endpoint.close();
    }
    for (const pod of pods) await pod.mcpmux.stop();
    await echo.process.stop();
  }
  const rate = (workers: number, cores: string, client: string): number => Number(rows.find((r) => r.workers === workers && r.cores === cores && r.client === client)?.['calls/s'] ?? 0);
  const gain = rate(2, '0,1', 'sticky') / Math.max(1, rate(1, '0,1', 'sticky'));
  notes.push(`2 cores, sticky clients: 2 workers serve ${gain.toFixed(2)}× the calls/s of 1 worker.`);
  for (const cores of ['1', '0,1']) {
    const cpu = (client: string): number => Number(rows.find((r) => r.workers === 2 && r.cores === cores && r.client === client)?.['CPU µs/call'] ?? 0);
    notes.push(`2 workers on ${cores}: a forwarded call costs the pod ${cpu('forwarded') - cpu('sticky')} µs more CPU than one served where it lands.`);
  }
  return {
    id: 'workers',
    title: 'One proxy pod, several cores: --workers 1 vs 2, pinned to 1 and 2 cores, 64 sessions',
    columns: ['workers', 'cores', 'client', 'calls', 'failed', 'calls/s', 'CPU µs/call', 'p50', 'p99', 'forwarded', 'pod RSS MB'],
    rows,
    checks,
    notes,
  } satisfies ScenarioResult;
};

if (import.meta.main) console.log(JSON.stringify(await workers({ quick: process.argv.includes('--quick') }), null, 2));
