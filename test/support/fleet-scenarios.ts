// The fleet scenarios of issue 8, shared by the e2e tests (which assert on what they return, with
// small counts) and `npm run bench:fleet` (which prints it, with the full counts): config
// pushes under load, a NATS outage under load, a rolling restart under load. Each runs on a fleet
// from fleet.ts and leaves it as it found it (all replicas up, NATS up).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '../../shared/admin/client.ts';
import type { FleetHarness } from './fleet.ts';
import { startRateLoad, type RateLoadReport } from './fleet-load.ts';
import { endpointSlice, federatedService } from './stack.ts';

export const ECHO_TOOL = 'mcp-server-everything-3001_echo';
/** The load: 2 sessions × 50 requests/s, streams open. */
const LOAD = { sessions: 2, ratePerSession: 50, tool: ECHO_TOOL };

/** A second federated Service (the same server-everything under another name), present or not. */
function extraTarget(fleet: FleetHarness, present: boolean): void {
  const file = join(fleet.dir, 'extra.yaml');
  if (!present) {
    rmSync(file, { force: true });
    return;
  }
  const port = Number(new URL(fleet.everythingUrl).port);
  writeFileSync(
    file,
    federatedService('mcp-extra', 3002) + endpointSlice('mcp-extra', '127.0.0.1', port),
  );
}

/** Waits until every replica ACKed a version other than `previous`; returns the new one. */
async function allAcked(admin: AdminClient, replicas: number, previous: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const proxies = (await admin.listProxies()).filter((p) => p.nodeId.startsWith('proxy-'));
    const versions = new Set(proxies.map((p) => p.ackedVersion));
    if (proxies.length === replicas && versions.size === 1 && !versions.has(previous) && !versions.has('')) return [...versions][0] as string;
    if (Date.now() > deadline) throw new Error(`the replicas did not all ACK a new version: ${JSON.stringify(proxies)}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export interface PushesOutcome {
  pushes: number;
  elapsedMs: number;
  load: RateLoadReport;
}

/** `count` pushes, alternating the target set, each ACKed by every replica before the next, under load. */
export async function pushesUnderLoad(fleet: FleetHarness, count: number): Promise<PushesOutcome> {
  const admin = new AdminClient(fleet.grpcAddress);
  const load = await startRateLoad({ url: fleet.mcpUrl, ...LOAD });
  try {
    let version = (await admin.listProxies()).find((p) => p.nodeId === 'proxy-0')?.ackedVersion ?? '';
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      extraTarget(fleet, i % 2 === 0);
      version = await allAcked(admin, fleet.replicas.length, version);
    }
    const elapsedMs = Date.now() - started;
    extraTarget(fleet, false);
    await allAcked(admin, fleet.replicas.length, version).catch(() => undefined);
    return { pushes: count, elapsedMs, load: await load.stop() };
  } finally {
    admin.close();
  }
}

export interface OutageOutcome {
  downMs: number;
  /** The load while NATS was down, then the whole run. */
  during: RateLoadReport;
  load: RateLoadReport;
  /** Statuses (and Retry-After) answered to sessions no replica held, while NATS was down. */
  unknownSessionAnswers: Array<{ status: number; retryAfter: string }>;
  /** A new session after NATS came back, served by every replica. */
  recovered: RateLoadReport;
}

/** NATS stopped for `outageMs` under load, then started again. */
export async function natsOutageUnderLoad(fleet: FleetHarness, outageMs: number): Promise<OutageOutcome> {
  const nats = fleet.nats;
  if (!nats) throw new Error('the fleet runs without NATS');
  const load = await startRateLoad({ url: fleet.mcpUrl, ...LOAD });
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // every replica has served both sessions
  await nats.stop();
  const down = Date.now();
  const unknownSessionAnswers: OutageOutcome['unknownSessionAnswers'] = [];
  while (Date.now() - down < outageMs) {
    const res = await fetch(fleet.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-session-id': `unknown-${Date.now()}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    await res.text();
    unknownSessionAnswers.push({ status: res.status, retryAfter: res.headers.get('retry-after') ?? '' });
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const snapshot = load.report();
  const during: RateLoadReport = { ...snapshot, errors: new Map(snapshot.errors) };
  await nats.restart();
  const downMs = Date.now() - down;
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const report = await load.stop();
  const after = await startRateLoad({ url: fleet.mcpUrl, sessions: 1, ratePerSession: 30, tool: ECHO_TOOL, streams: false });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return { downMs, during, load: report, unknownSessionAnswers, recovered: await after.stop() };
}

export interface RollingOutcome {
  /** Per replica: drain time, exit code, time until ready again. */
  replicas: Array<{ id: string; drainMs: number; exitCode: number | null; readyMs: number }>;
  load: RateLoadReport;
}

/** Every replica in turn: SIGTERM (drain), wait for the exit, start again, under load. */
export async function rollingRestartUnderLoad(fleet: FleetHarness): Promise<RollingOutcome> {
  const load = await startRateLoad({ url: fleet.mcpUrl, ...LOAD });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const replicas: RollingOutcome['replicas'] = [];
  for (let i = 0; i < fleet.replicas.length; i++) {
    const t0 = Date.now();
    const exitCode = await fleet.drain(i);
    const drained = Date.now();
    await fleet.start(i);
    replicas.push({ id: fleet.replicas[i]?.id ?? `proxy-${i}`, drainMs: drained - t0, exitCode, readyMs: Date.now() - drained });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { replicas, load: await load.stop() };
}
