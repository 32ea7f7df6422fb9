// Eras: what one tools/call costs through mcpmux in each MCP era, in interleaved rounds of the same
// run. A 2025 client in its session calls a 2025 echo upstream (the session path: session lookup,
// upstream session); a 2026-07-28 client calls a 2026-07-28 echo upstream (the stateless path: the
// envelope and headers checked, the name rewritten, a forward). Each is compared with calling its
// upstream directly; the modern call must add no more than the 2025 one.
import { modernEndpoint, streamableEndpoint, type BenchEndpoint } from '../lib/clients.ts';
import { interleave, medianRate } from '../lib/driver.ts';
import { cpuDuring } from '../lib/proc-stats.ts';
import { check, ms, type Cell, type Check, type Scenario, type ScenarioResult } from '../lib/result.ts';
import { startEcho, startMcpmux } from '../lib/stack.ts';

const FULL = [
  { sessions: 1, rounds: 16, callsPerRound: 600 },
  { sessions: 8, rounds: 8, callsPerRound: 2000 },
];
const QUICK = [
  { sessions: 1, rounds: 8, callsPerRound: 300 },
  { sessions: 8, rounds: 4, callsPerRound: 1000 },
];
/** Timer noise between two interleaved sides of one run. */
const NOISE_MS = 0.02;

export const eras: Scenario = async ({ quick }) => {
  const legacy = await startEcho({ name: 'echo-2025' });
  const modern = await startEcho({ name: 'echo-2026', modern: true });
  const mcpmux = await startMcpmux([
    { name: 'legacy', url: legacy.url },
    { name: 'modern', url: modern.url },
  ]);
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];
  try {
    for (const level of quick ? QUICK : FULL) {
      const endpoints: BenchEndpoint[] = [
        streamableEndpoint({ name: '2025 direct', url: legacy.url, tool: 'echo', connections: level.sessions }),
        streamableEndpoint({ name: '2025 through mcpmux', url: mcpmux.mcpUrl, tool: 'legacy_echo', connections: level.sessions }),
        modernEndpoint({ name: '2026 direct', url: modern.url, tool: 'echo', connections: level.sessions }),
        modernEndpoint({ name: '2026 through mcpmux', url: mcpmux.mcpUrl, tool: 'modern_echo', connections: level.sessions }),
      ];
      const { value: results, cpuMs } = await cpuDuring([mcpmux.proxy.child.pid ?? 0], () =>
        interleave(endpoints, { sessions: level.sessions, rounds: level.rounds, callsPerRound: level.callsPerRound, warmupCalls: Math.min(2000, level.callsPerRound) }),
      );
      await Promise.all(endpoints.map((endpoint) => endpoint.close()));
      const get = (name: string) => {
        const result = results.get(name);
        if (!result) throw new Error(`eras: ${name} did not run`);
        return result;
      };
      const added: Record<string, number> = {};
      for (const [era, direct, through] of [
        ['2025', get('2025 direct'), get('2025 through mcpmux')],
        ['2026', get('2026 direct'), get('2026 through mcpmux')],
      ] as const) {
        const d = direct.latencies.summary();
        const t = through.latencies.summary();
        added[era] = t.p50 - d.p50;
        for (const [side, result] of [['direct', direct], ['through mcpmux', through]] as const) {
          const s = result.latencies.summary();
          rows.push({ sessions: level.sessions, era, side, calls: s.count, failed: result.failed, p50: ms(s.p50), p99: ms(s.p99), 'added p50': side === 'direct' ? '' : ms(t.p50 - d.p50), 'calls/s': Math.round(medianRate(result)) });
        }
        checks.push(check(`failed calls, ${era} era, ${level.sessions} sessions`, '0', String(direct.failed + through.failed), direct.failed + through.failed === 0));
      }
      const calls = get('2025 through mcpmux').ok + get('2026 through mcpmux').ok;
      notes.push(`${level.sessions} sessions: mcpmux proxy CPU ${(((cpuMs[0] ?? 0) * 1000) / Math.max(1, calls)).toFixed(0)} µs per call, both eras together.`);
      checks.push(check(`added p50, 2026 vs 2025 call, ${level.sessions} sessions`, `≤ 2025's (+${NOISE_MS} ms noise)`, `${ms(added['2026']!)} vs ${ms(added['2025']!)}`, added['2026']! <= added['2025']! + NOISE_MS));
    }
  } finally {
    await mcpmux.stop();
    await legacy.process.stop();
    await modern.process.stop();
  }
  return {
    id: 'eras',
    title: 'Both MCP eras: a 2026-07-28 tools/call (stateless) vs a 2025 session call, each against its own echo upstream (interleaved rounds)',
    columns: ['sessions', 'era', 'side', 'calls', 'failed', 'p50', 'p99', 'added p50', 'calls/s'],
    rows,
    checks,
    notes,
  } satisfies ScenarioResult;
};

if (import.meta.main) console.log(JSON.stringify(await eras({ quick: process.argv.includes('--quick') }), null, 2));
