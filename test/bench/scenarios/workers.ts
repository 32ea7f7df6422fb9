// Workers (mcpmux proxy --workers N): throughput and CPU per call of one proxy pod with 1 and 2
// worker processes, pinned with taskset to one core and then to two. The machine the figures come
// from has two cores, so the load driver (this process) and the echo upstream cannot be kept off
// the proxy's cores entirely: they are pinned to core 0, the proxy to core 1 ("1 core") or to both
// ("2 cores", sharing core 0 with them).
//
// Two kinds of clients: "sticky" sessions each keep one connection of their own (what an MCP
// client does), so a session's calls reach the worker that holds it; "spread" sessions share one
// pool of connections (what a pooling client or a balancer without affinity does), so with two
// workers about half of the calls land on the other worker and are passed on over its Unix socket:
// the difference is the cost of that forwarding.
import { execFileSync } from 'node:child_process';
import { BenchCallError, callEcho, StreamableClient, streamableEndpoint, type BenchEndpoint } from '../lib/clients.ts';
import { closeSessions, emptyResult, medianRate, openSessions, runLoad } from '../lib/driver.ts';
import { descendants, sampleProcess, treeRssBytes } from '../lib/proc-stats.ts';
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

/** Pins a process (all its threads) to `cpus`. */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** User + system CPU ms of the proxy pod: the primary and every worker. */
function podCpuMs(primary: number): number {
  let total = 0;
  for (const pid of [primary, ...descendants(primary)]) {
    try {
      total += sampleProcess(pid).cpuMs;
    } catch {
      // exited in between
    }
  }
  return total;
}

async function forwarded(mcpmux: McpmuxProcesses): Promise<number> {
  const text = await (await fetch(`${mcpmux.proxyHttpUrl}/metrics`)).text();
  return [...text.matchAll(/^mcpmux_proxy_worker_forwarded_requests_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

export const workers: Scenario = async ({ quick }) => {
  const rounds = quick ? 3 : 5;
  const callsPerRound = quick ? 3000 : 6000;
  pin(process.pid, '0');
  const echo = await startEcho();
  pin(echo.process.child.pid!, '0');
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  const notes: string[] = [
    `${SESSIONS} sessions, closed loop, echo tools/call over streamable HTTP; ${rounds} rounds of ${callsPerRound} calls after ${callsPerRound} warm-up calls; calls/s is the median round's.`,
    'The driver and the echo upstream are pinned to core 0; the proxy (primary and workers) to the cores of the row. On "0,1" the proxy shares core 0 with them.',
    'CPU µs per call: user + system time of every process of the proxy pod (primary and workers, from /proc) over the measured rounds, divided by the calls answered.',
  ];
  const rate = new Map<string, number>();
  try {
    for (const config of CONFIGS) {
      const mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }], { workers: config.workers, proxyCpus: config.cores });
      try {
        const primary = mcpmux.proxy.child.pid!;
        for (const client of ['sticky', 'spread'] as const) {
          const endpoint = client === 'sticky' ? stickyEndpoint(mcpmux.mcpUrl, 'echo_echo') : streamableEndpoint({ name: 'spread', url: mcpmux.mcpUrl, tool: 'echo_echo', connections: SESSIONS });
          const sessions = await openSessions(endpoint, SESSIONS);
          try {
            const warm = await runLoad(sessions, { calls: callsPerRound, warmup: true });
            if (warm.failed > 0) throw new BenchCallError(`warm-up: ${warm.failed} calls failed: ${[...warm.errors.keys()].join('; ')}`);
            const result = emptyResult();
            const [cpuBefore, forwardedBefore] = [podCpuMs(primary), await forwarded(mcpmux)];
            for (let round = 0; round < rounds; round++) await runLoad(sessions, { calls: callsPerRound, into: result });
            const [cpuMs, forwardedCalls] = [podCpuMs(primary) - cpuBefore, (await forwarded(mcpmux)) - forwardedBefore];
            const s = result.latencies.summary();
            const callsPerSecond = Math.round(medianRate(result));
            rate.set(`${config.workers}/${config.cores}/${client}`, callsPerSecond);
            rows.push({
              workers: config.workers,
              cores: config.cores,
              client,
              calls: result.ok,
              failed: result.failed,
              'calls/s': callsPerSecond,
              'CPU µs/call': Math.round((cpuMs * 1000) / Math.max(1, result.ok)),
              p50: ms(s.p50),
              p99: ms(s.p99),
              forwarded: `${Math.round((100 * forwardedCalls) / Math.max(1, result.ok))}%`,
              'pod RSS MB': Math.round(treeRssBytes(primary) / 2 ** 20),
            });
            checks.push(check(`failed calls, ${config.workers} worker(s) on ${config.cores}, ${client}`, '0', String(result.failed), result.failed === 0));
            if (client === 'sticky') checks.push(check(`forwarded calls, ${config.workers} worker(s) on ${config.cores}, sticky`, '0', String(forwardedCalls), forwardedCalls === 0));
          } finally {
            await closeSessions(sessions);
            await endpoint.close();
          }
        }
      } finally {
        await mcpmux.stop();
      }
    }
  } finally {
    await echo.process.stop();
  }
  const gain = (rate.get('2/0,1/sticky') ?? 0) / Math.max(1, rate.get('1/0,1/sticky') ?? 0);
  notes.push(`2 cores, sticky clients: 2 workers serve ${gain.toFixed(2)}× the calls/s of 1 worker.`);
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
