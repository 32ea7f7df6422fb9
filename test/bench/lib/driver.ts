// The load driver: closed-loop sessions (each sends its next call when the last one answered),
// bounded by a call count or a stop condition, timing each call with the monotonic clock.
// Sides compared in one run (direct, mcpmux, peers) are measured in interleaved rounds, so drift
// of a shared machine spreads over all of them instead of favouring one.
import { Latencies } from './histogram.ts';
import type { BenchEndpoint, BenchSession } from './clients.ts';
import { preciseCpuMs } from './proc-stats.ts';

export interface LoadResult {
  latencies: Latencies;
  ok: number;
  failed: number;
  /** Error messages with how often each was seen (the first few kinds only). */
  errors: Map<string, number>;
  /** Wall time spent in measured rounds. */
  elapsedMs: number;
  /** Calls per second of each round. */
  roundRates: number[];
  /** CPU time (user + system, from /proc) the side's own process spent in measured rounds; 0 when no pid was given. */
  cpuMs: number;
}

/** CPU µs per successful call of a side's own process, over its measured rounds only. */
export function cpuPerCallUs(result: LoadResult): number {
  return (result.cpuMs * 1000) / Math.max(1, result.ok);
}

export function emptyResult(): LoadResult {
  return { latencies: new Latencies(), ok: 0, failed: 0, errors: new Map(), elapsedMs: 0, roundRates: [], cpuMs: 0 };
}

export interface LoadBound {
  /** Calls to make across all sessions. */
  calls?: number;
  /** Checked before each call; the run stops when it returns true. */
  stop?: () => boolean;
  /** Record into this result instead of a new one. */
  into?: LoadResult;
  /** Count but do not record latencies (warm-up). */
  warmup?: boolean;
}

const MAX_ERROR_KINDS = 10;

/** Runs every session in a closed loop until the bound is reached. */
export async function runLoad(sessions: readonly BenchSession[], bound: LoadBound): Promise<LoadResult> {
  if (bound.calls === undefined && bound.stop === undefined) throw new Error('runLoad needs a call count or a stop condition');
  const result = bound.into ?? emptyResult();
  let remaining = bound.calls ?? Number.POSITIVE_INFINITY;
  let done = 0;
  const started = process.hrtime.bigint();
  const worker = async (session: BenchSession): Promise<void> => {
    while (remaining > 0 && !bound.stop?.()) {
      remaining--;
      const t0 = process.hrtime.bigint();
      try {
        await session.call();
        if (!bound.warmup) result.latencies.recordNs(process.hrtime.bigint() - t0);
        result.ok++;
      } catch (error) {
        result.failed++;
        const message = error instanceof Error ? error.message : String(error);
        if (result.errors.has(message) || result.errors.size < MAX_ERROR_KINDS) result.errors.set(message, (result.errors.get(message) ?? 0) + 1);
      }
      done++;
    }
  };
  await Promise.all(sessions.map(worker));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (!bound.warmup) {
    result.elapsedMs += elapsedMs;
    result.roundRates.push((done / elapsedMs) * 1000);
  }
  return result;
}

/** Opens `count` sessions on an endpoint, a few at a time. */
export async function openSessions(endpoint: BenchEndpoint, count: number): Promise<BenchSession[]> {
  const sessions: BenchSession[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = Math.min(16, count - i);
    sessions.push(...(await Promise.all(Array.from({ length: batch }, () => endpoint.open()))));
  }
  return sessions;
}

export async function closeSessions(sessions: readonly BenchSession[]): Promise<void> {
  await Promise.allSettled(sessions.map((session) => session.close()));
}

export interface InterleaveOptions {
  /** Concurrent sessions per side. */
  sessions: number;
  rounds: number;
  callsPerRound: number;
  /** Calls per side before the first measured round (JIT, pools, caches). */
  warmupCalls: number;
  /** A side's round also ends after this long, so a slow side (a peer 100× slower) bounds the run. */
  maxRoundMs?: number;
  /**
   * The process to charge each side's CPU to (by endpoint name), sampled from /proc around that
   * side's measured rounds only, so what other sides cost the machine meanwhile is not counted.
   */
  cpuPids?: Readonly<Record<string, number>>;
}

/**
 * Measures several endpoints in the same run: round r runs `callsPerRound` calls on each side in
 * turn, starting with a different side each round.
 */
export async function interleave(endpoints: readonly BenchEndpoint[], options: InterleaveOptions): Promise<Map<string, LoadResult>> {
  const sides = [];
  for (const endpoint of endpoints) sides.push({ endpoint, sessions: await openSessions(endpoint, options.sessions), result: emptyResult() });
  try {
    for (const side of sides) {
      const deadline = options.maxRoundMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.maxRoundMs;
      const warm = await runLoad(side.sessions, { calls: options.warmupCalls, warmup: true, stop: () => Date.now() > deadline });
      if (warm.failed > 0) throw new Error(`${side.endpoint.name}: ${warm.failed} warm-up calls failed: ${[...warm.errors.keys()].join('; ')}`);
    }
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(round + i) % sides.length];
        if (!side) continue;
        const deadline = options.maxRoundMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.maxRoundMs;
        const pid = options.cpuPids?.[side.endpoint.name];
        const before = pid ? preciseCpuMs(pid) : 0;
        await runLoad(side.sessions, { calls: options.callsPerRound, into: side.result, stop: () => Date.now() > deadline });
        if (pid) side.result.cpuMs += preciseCpuMs(pid) - before;
      }
    }
  } finally {
    for (const side of sides) await closeSessions(side.sessions);
  }
  return new Map(sides.map((side) => [side.endpoint.name, side.result]));
}

/** The median of the per-round rates: robust to one round that a neighbour on the machine slowed. */
export function medianRate(result: LoadResult): number {
  const sorted = [...result.roundRates].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
