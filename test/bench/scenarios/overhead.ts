// Overhead: the same echo tool called directly on the upstream and through one mcpmux proxy, in
// interleaved rounds of the same run, at 1, 8 and 64 concurrent sessions. The figures that matter
// are differences (added latency) and ratios (throughput through vs direct), not absolute times.
// A bare Node forwarder (fixtures/bare-forwarder.ts) runs alongside as the floor: what any extra
// HTTP hop written on Node costs on this machine.
import { streamableEndpoint, type BenchEndpoint } from '../lib/clients.ts';
import { cpuPerCallUs, interleave, medianRate, type LoadResult } from '../lib/driver.ts';
import { cpuDuring } from '../lib/proc-stats.ts';
import { check, ms, type Cell, type Check, type Scenario, type ScenarioResult } from '../lib/result.ts';
import { startEcho, startForwarder, startMcpmux } from '../lib/stack.ts';

interface Level {
  sessions: number;
  rounds: number;
  callsPerRound: number;
}

const FULL: Level[] = [
  { sessions: 1, rounds: 20, callsPerRound: 600 },
  { sessions: 8, rounds: 10, callsPerRound: 2000 },
  { sessions: 64, rounds: 10, callsPerRound: 4000 },
];
const QUICK: Level[] = [
  { sessions: 1, rounds: 10, callsPerRound: 300 },
  { sessions: 8, rounds: 6, callsPerRound: 1000 },
  { sessions: 64, rounds: 6, callsPerRound: 2000 },
];

export function sideRow(level: number, name: string, result: LoadResult, direct: LoadResult | undefined): Record<string, Cell> {
  const s = result.latencies.summary();
  const d = direct?.latencies.summary();
  return {
    sessions: level,
    side: name,
    calls: s.count,
    failed: result.failed,
    p50: ms(s.p50),
    p90: ms(s.p90),
    p99: ms(s.p99),
    'added p50': d && direct !== result ? ms(s.p50 - d.p50) : '',
    'added p99': d && direct !== result ? ms(s.p99 - d.p99) : '',
    'calls/s': Math.round(medianRate(result)),
  };
}

export const COLUMNS = ['sessions', 'side', 'calls', 'failed', 'p50', 'p90', 'p99', 'added p50', 'added p99', 'calls/s'];

export const overhead: Scenario = async ({ quick }) => {
  const echo = await startEcho();
  const forwarder = await startForwarder(echo.url);
  const mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }]);
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];
  try {
    for (const level of quick ? QUICK : FULL) {
      const endpoints: BenchEndpoint[] = [
        streamableEndpoint({ name: 'direct', url: echo.url, tool: 'echo', connections: level.sessions }),
        streamableEndpoint({ name: 'bare forwarder', url: forwarder.url, tool: 'echo', connections: level.sessions }),
        streamableEndpoint({ name: 'mcpmux', url: mcpmux.mcpUrl, tool: 'echo_echo', connections: level.sessions }),
      ];
      const cpuPids = { mcpmux: mcpmux.proxy.child.pid ?? 0, 'bare forwarder': forwarder.process.child.pid ?? 0 };
      const { value: results, cpuMs } = await cpuDuring([echo.process.child.pid ?? 0], () =>
        interleave(endpoints, { sessions: level.sessions, rounds: level.rounds, callsPerRound: level.callsPerRound, warmupCalls: Math.min(2000, level.callsPerRound), cpuPids }),
      );
      await Promise.all(endpoints.map((endpoint) => endpoint.close()));
      const direct = results.get('direct');
      const bare = results.get('bare forwarder');
      const through = results.get('mcpmux');
      if (!direct || !bare || !through) throw new Error('overhead: a side did not run');
      rows.push(sideRow(level.sessions, 'direct', direct, direct), sideRow(level.sessions, 'bare forwarder', bare, direct), sideRow(level.sessions, 'mcpmux', through, direct));
      const failed = direct.failed + bare.failed + through.failed;
      checks.push(check(`failed calls at ${level.sessions} sessions`, '0', String(failed), failed === 0));
      for (const [message, count] of [...direct.errors, ...bare.errors, ...through.errors]) notes.push(`${count}× ${message}`);
      // CPU per call of each proxy over its own measured rounds (/proc); the upstream's over the whole run, warm-ups included.
      const proxyUs = cpuPerCallUs(through);
      const forwarderUs = cpuPerCallUs(bare);
      const upstreamUs = ((cpuMs[0] ?? 0) * 1000) / Math.max(1, direct.ok + bare.ok + through.ok);
      notes.push(`${level.sessions} sessions, CPU per call: mcpmux proxy ${proxyUs.toFixed(0)} µs, bare forwarder ${forwarderUs.toFixed(0)} µs (×${(proxyUs / forwarderUs).toFixed(2)}), echo upstream ${upstreamUs.toFixed(0)} µs.`);
      const d = direct.latencies.summary();
      const t = through.latencies.summary();
      const beyondHop = t.p50 - bare.latencies.percentile(50);
      notes.push(`${level.sessions} sessions: mcpmux p50 − bare forwarder p50 = ${ms(beyondHop)} (what mcpmux costs beyond the hop itself).`);
      // Issue 19's aims against the floor: shown as checks, so a run says where it stands.
      checks.push(check(`CPU per call / bare forwarder, ${level.sessions} sessions`, '≤ 1.15', (proxyUs / forwarderUs).toFixed(2), proxyUs / forwarderUs <= 1.15));
      if (level.sessions === 1) checks.push(check('p50 beyond the bare forwarder, 1 session', '≤ 0.05 ms', ms(beyondHop), beyondHop <= 0.05));
      else {
        const share = beyondHop / bare.latencies.percentile(50);
        checks.push(check(`p50 beyond the bare forwarder, ${level.sessions} sessions`, '≤ 10 %', `${(100 * share).toFixed(0)} %`, share <= 0.1));
      }
      if (level.sessions === 1) {
        checks.push(check('added p50, 1 session', '≤ 0.25 ms', ms(t.p50 - d.p50), t.p50 - d.p50 <= 0.25));
        checks.push(check('added p99, 1 session', '≤ 1 ms', ms(t.p99 - d.p99), t.p99 - d.p99 <= 1));
      }
      if (level.sessions === 64) {
        const ratio = medianRate(through) / medianRate(direct);
        checks.push(check('throughput through / direct, 64 sessions', '≥ 0.8', ratio.toFixed(2), ratio >= 0.8));
        const floor = medianRate(through) / medianRate(bare);
        checks.push(check('throughput / bare forwarder, 64 sessions', '≥ 0.95', floor.toFixed(2), floor >= 0.95));
      }
    }
  } finally {
    await mcpmux.stop();
    await forwarder.process.stop();
    await echo.process.stop();
  }
  return {
    id: 'overhead',
    title: 'Added latency and throughput: echo upstream direct vs through one proxy (interleaved rounds)',
    columns: COLUMNS,
    rows,
    checks,
    notes,
  } satisfies ScenarioResult;
};

if (import.meta.main) console.log(JSON.stringify(await overhead({ quick: process.argv.includes('--quick') }), null, 2));
