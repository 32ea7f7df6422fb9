// Config convergence (DESIGN.md, "Performance targets"): time from a change in the watched folder
// to the last proxy's ACK, with 10, 100 and 1000 discovery clients. Targets: p99 ≤ 100 ms with 100
// clients, ≤ 1 s with 1000.
//
// The control plane runs as its own process (`mcpmux control-plane --dir …`), so its CPU time and
// RSS are read from /proc. The clients are real gRPC streams held by this process, one HTTP/2
// connection each; every one ACKs every snapshot as a proxy does (fleet.ts). A change rewrites one
// YAML file in the folder (a Service's mcpmux.dev/url port), so the snapshot version changes; it is
// timed from just before the write to the send of the last client's ACK. Changes are sequential,
// each after the previous one converged and a short pause.
//
//   node test/bench/scenarios/convergence.ts [--quick]     prints the result as JSON
//   MCPMUX_BENCH_CPU_PROF=DIR …                            also writes the control plane's CPU profile
//   MCPMUX_BENCH_VERBOSE=1 …                               prints every change's timing on stderr
//   MCPMUX_BENCH_CLIENT_THREADS=N, MCPMUX_BENCH_DECODE=full  see fleets.ts and fleet.ts
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Cleanup, startNode } from '../../../shared/testing/processes.ts';
import { check, ms, type Cell, type Check, type Scenario, type ScenarioResult } from '../lib/result.ts';
import type { DecodeMode } from './convergence/fleet.ts';
import { startFleets } from './convergence/fleets.ts';
import { CHANGING_FILE, changingManifest, writeManifestFolder } from './convergence/manifests.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'shared/cli/mcpmux.ts');

/** Labelled Services besides the tutorial's two: the snapshot has this many targets plus three. */
const EXTRA_SERVICES = 50;
/** Unmeasured changes first, so the JIT and the connections are warm. */
const WARMUP_CHANGES = 3;
const CHANGE_TIMEOUT_MS = 15_000;

interface Run {
  clients: number;
  changes: number;
}

interface Measured {
  clients: number;
  latencies: number[];
  firstAck: number[];
  cpuMs: number;
  rssMb: number;
  peakRssMb: number;
  snapshotBytes: number;
  threads: number;
}

/** Client threads for a fleet: about one per 50 clients, at most one per core. MCPMUX_BENCH_CLIENT_THREADS overrides. */
function clientThreads(clients: number): number {
  const forced = Number(process.env.MCPMUX_BENCH_CLIENT_THREADS);
  if (forced > 0) return forced;
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(clients / 50)));
}

export const convergence: Scenario = async ({ quick }) => {
  const runs: Run[] = quick
    ? [{ clients: 10, changes: 10 }, { clients: 100, changes: 10 }, { clients: 1000, changes: 6 }]
    : // 100 changes at 100 clients, so its p99 is not simply the worst change (the 1000-client target has room).
      [{ clients: 10, changes: 40 }, { clients: 100, changes: 100 }, { clients: 1000, changes: 30 }];
  const decode: DecodeMode = process.env.MCPMUX_BENCH_DECODE === 'full' ? 'full' : 'light';
  const loadBefore = loadavg()[0]!;
  const measured: Measured[] = [];
  const failures: Check[] = [];
  for (const run of runs) {
    try {
      measured.push(await measure(run, decode));
    } catch (error) {
      // One client count failing (a timeout, a NACK) still reports the others.
      failures.push(check(`convergence at ${run.clients} clients`, 'every change converges', error instanceof Error ? error.message : String(error), false));
    }
  }

  const columns = ['clients', 'changes', 'p50', 'p99', 'max', 'first ACK p50', 'CP CPU ms/change', 'CP RSS MB'];
  const rows: Record<string, Cell>[] = measured.map((m) => ({
    clients: m.clients,
    changes: m.latencies.length,
    p50: ms(percentile(m.latencies, 50)),
    p99: ms(percentile(m.latencies, 99)),
    max: ms(Math.max(...m.latencies)),
    'first ACK p50': ms(percentile(m.firstAck, 50)),
    'CP CPU ms/change': Number((m.cpuMs / m.latencies.length).toFixed(1)),
    'CP RSS MB': Number(m.rssMb.toFixed(1)),
  }));
  const checks: Check[] = [...failures];
  const target = (clients: number, limitMs: number): void => {
    const m = measured.find((x) => x.clients === clients);
    if (!m) return;
    const p99 = percentile(m.latencies, 99);
    checks.push(check(`convergence p99 at ${clients} clients`, `≤ ${limitMs} ms`, ms(p99), p99 <= limitMs));
  };
  target(100, 100);
  target(1000, 1000);

  const snapshotKb = (Math.max(0, ...measured.map((m) => m.snapshotBytes)) / 1024).toFixed(1);
  const notes = [
    `Watched folder: the tutorial's manifests and local EndpointSlices plus ${EXTRA_SERVICES} labelled Services (snapshot ≈ ${snapshotKb} KB encoded); a change rewrites ${CHANGING_FILE} (one Service's mcpmux.dev/url port), timed from just before the write to the last client's ACK send.`,
    `Clients: real gRPC discovery streams in the bench process (worker threads: ${measured.map((m) => `${m.clients}: ${m.threads}`).join(', ')}), one HTTP/2 connection each, ACKing every snapshot (a snapshot whose version does not match version_info is NACKed and fails the run; decode: ${decode}${decode === 'light' ? ' — version_info, nonce and the snapshot version are read, the snapshot object is not built, since real proxies decode in parallel on their own machines; MCPMUX_BENCH_DECODE=full decodes like the proxy' : ''}).`,
    `Changes are sequential with a 50–150 ms pause between them, after ${WARMUP_CHANGES} unmeasured warm-up changes; a fresh control plane per client count. Each change is isolated (≥ 50 ms after the last rebuild), so it is rebuilt at once; changes closer together are coalesced (50 ms quiet, 1 s at most).`,
    `CP CPU = user+system time of the control plane process (/proc/<pid>/stat, 10 ms ticks) over the measured changes and their pauses, per change; CP RSS = VmRSS after the last change (peak VmHWM: ${measured.map((m) => `${m.clients}: ${m.peakRssMb.toFixed(1)} MB`).join(', ')}).`,
    `first ACK p50 = time to the first client ACK: file watch + the files source's quiet period (10 ms) + rescan + translate + the push loop; the rest is the fan-out (the control plane's writes and the clients' receive-and-ACK).`,
    `Machine: ${availableParallelism()} CPUs, shared by the control plane and the clients; 1-minute load average ${loadBefore.toFixed(1)} before the run, ${loadavg()[0]!.toFixed(1)} after (anything else running shows in the tail).`,
    'Only the files source is measured: the kubernetes source (an apiserver object changed) does not exist yet; add it here once the Kubernetes issue lands.',
  ];
  const result: ScenarioResult = { id: 'convergence', title: 'Config convergence: folder change → last proxy ACK', columns, rows, checks, notes };
  return result;
};

async function measure(run: Run, decode: DecodeMode): Promise<Measured> {
  const cleanup = new Cleanup();
  try {
    const dir = writeManifestFolder(EXTRA_SERVICES);
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const profileDir = process.env.MCPMUX_BENCH_CPU_PROF;
    const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `control-plane-${run.clients}.cpuprofile`] : [];
    const controlPlane = startNode(
      `control-plane(${run.clients})`,
      // Port 0: the control plane binds what is free and logs it, so no other process can take a port between a probe and the bind.
      [...nodeArgs, CLI, 'control-plane', '--dir', dir, '--grpc-port', '0', '--http-port', '0'],
      { MCPMUX_LOG_LEVEL: 'info' },
      ROOT,
    );
    cleanup.add(() => controlPlane.stop('SIGINT'));
    const ready = await controlPlane.waitFor(/"grpc":"[^"]*:(\d+)"[^\n]*"msg":"control plane ready"/, 30_000);
    const grpcPort = Number(ready[1]);
    const pid = controlPlane.child.pid!;

    const fleet = await startFleets(`127.0.0.1:${grpcPort}`, run.clients, { threads: clientThreads(run.clients), decode, timeoutMs: 60_000 });
    cleanup.add(() => fleet.close());
    const snapshotBytes = await snapshotSize(grpcPort);

    const latencies: number[] = [];
    const firstAck: number[] = [];
    const random = seeded(run.clients);
    let version = fleet.initialVersion;
    let change = 0;
    let cpuBefore = 0;
    for (let i = 0; i < WARMUP_CHANGES + run.changes; i++) {
      if (i === WARMUP_CHANGES) cpuBefore = cpuMs(pid);
      await sleep(50 + random() * 100);
      const converged = fleet.converged(version, CHANGE_TIMEOUT_MS);
      const started = performance.now();
      writeFileSync(join(dir, CHANGING_FILE), changingManifest(++change));
      const result = await converged;
      version = result.version;
      if (i < WARMUP_CHANGES) continue;
      latencies.push(result.lastAckAt - started);
      firstAck.push(result.firstAckAt - started);
      if (process.env.MCPMUX_BENCH_VERBOSE) process.stderr.write(`[convergence] ${run.clients} clients, change ${change}: first ACK ${ms(result.firstAckAt - started)}, last ${ms(result.lastAckAt - started)}\n`);
    }
    const cpu = cpuMs(pid) - cpuBefore;
    const memory = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(memory)?.[1] ?? 0);
    return { clients: run.clients, threads: fleet.threads, latencies, firstAck, cpuMs: cpu, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, snapshotBytes };
  } finally {
    await cleanup.run();
  }
}

/** Encoded size of the current snapshot, asked of the admin API. */
async function snapshotSize(grpcPort: number): Promise<number> {
  const grpc = await import('@grpc/grpc-js');
  const { serviceDefinition } = await import('../../../shared/proto/load.ts');
  const method = serviceDefinition('AdminService').GetSnapshot!;
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(method.path, method.requestSerialize, (bytes: Buffer) => bytes.length, { group: '', version: '' }, (error, size) =>
        error ? reject(error) : resolve(size ?? 0),
      );
    });
  } finally {
    client.close();
  }
}

/** User + system CPU time of a process, in ms (Linux /proc; USER_HZ ticks). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A small deterministic generator (mulberry32), so pauses are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (msec: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, msec));

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await convergence({ quick: process.argv.includes('--quick') });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
