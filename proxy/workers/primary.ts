// The primary of `mcpmux proxy --workers N`: it forks N workers (each a whole proxy: its own
// control-plane stream as replica `<id>-w<k>`, upstream pools, list caches and sessions), keeps
// them running, serves the pod's health port, and stops them on SIGTERM/SIGINT. It serves no MCP
// request itself: node:cluster's primary holds the listening sockets and hands each accepted
// connection to the workers in turn (round-robin, the default on Linux), so one port spreads over
// every core. A worker that dies is forked again after a backoff; its sessions die with it (without
// NATS) and their ids are then unknown (404), as on a restarted single proxy.
import cluster, { type Worker } from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../../shared/log.ts';
import { waitForShutdown } from '../../shared/cli/signals.ts';
import { startPodAdmin, type WorkerSlot } from './admin.ts';
import { isWorkerMessage, WORKER_ENV } from './messages.ts';

export interface PrimaryOptions {
  workers: number;
  /** The pod's replica id; worker k is `<it>-w<k>`. */
  replicaId: string;
  /** The health port (--address, --http-port). */
  address: string;
  httpPort: number;
  /** How long the workers' drain may take (--drain-timeout): a worker still running after it (and a grace) is killed. */
  drainTimeoutMs: number;
  logger: Logger;
}

/** First restart delay of a worker that died; doubled on each death in a row, up to MAX. */
const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 10_000;
/** A worker that lived this long before dying starts the backoff afresh. */
const HEALTHY_RUN_MS = 30_000;
/**
 * A worker that dies this many times in a row without ever having been ready cannot start (a port
 * taken, a bad flag, a missing file): the pod stops, exit code 1, rather than restart it forever
 * while unready, so the error shows as a failing pod and its log says why.
 */
const START_ATTEMPTS = 3;
/** After the drain timeout, what the workers get to exit before they are killed. */
const STOP_GRACE_MS = 2_000;

interface Slot extends WorkerSlot {
  /** Deaths in a row, each after a short life (the backoff's exponent). */
  failures: number;
  /** Whether this slot's worker was ever ready (in any of its lives). */
  wasReady: boolean;
  startedAt: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/** Runs the pod until a signal stops it; the exit code. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger } = options;
  // mkdtemp makes it 0700: only this user reaches the workers' sockets.
  const socketDir = mkdtempSync(join(tmpdir(), 'mcpmux-workers-'));
  const own = new Registry();
  const restarts = new Counter({ name: 'mcpmux_proxy_worker_restarts_total', help: 'Workers of this pod that died and were started again', registers: [own] });
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({ index, worker: undefined, ready: false, reason: 'starting', failures: 0, wasReady: false, startedAt: 0, restartTimer: undefined }));
  new Gauge({
    name: 'mcpmux_proxy_workers',
    help: 'Workers of this pod, by state (running: a live process, ready: it serves)',
    labelNames: ['state'],
    registers: [own],
    collect() {
      this.set({ state: 'running' }, slots.filter((s) => s.worker).length);
      this.set({ state: 'ready' }, slots.filter((s) => s.worker && s.ready).length);
    },
  });
  let stopping = false;
  let giveUp!: (reason: string) => void;
  const gaveUp = new Promise<string>((resolve) => (giveUp = resolve));

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    slot.ready = false;
    slot.reason = 'starting';
    slot.startedAt = Date.now();
    const worker = cluster.fork({
      [WORKER_ENV.index]: String(slot.index),
      [WORKER_ENV.count]: String(options.workers),
      [WORKER_ENV.socketDir]: socketDir,
      [WORKER_ENV.replicaId]: options.replicaId,
    });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message) || message.mcpmux !== 'ready') return;
      slot.ready = message.ready;
      slot.reason = message.reason;
      if (message.ready) slot.wasReady = true;
    });
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
    // A message to a worker that is going away fails here (a scrape racing its death): said, not fatal.
    worker.on('error', (error: Error) => logger.debug({ worker: slot.index, err: error.message }, 'worker channel error'));
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    if (stopping) return;
    slot.failures = Date.now() - slot.startedAt >= HEALTHY_RUN_MS ? 1 : slot.failures + 1;
    if (!slot.wasReady && slot.failures >= START_ATTEMPTS) {
      logger.error({ worker: slot.index, code, signal, attempts: slot.failures }, `worker ${slot.index} died ${slot.failures} times without ever being ready: stopping the pod (its log above says why)`);
      giveUp(`worker ${slot.index} cannot start`);
      return;
    }
    restarts.inc();
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (slot.failures - 1));
    logger.warn({ worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died: its sessions are gone (without NATS); starting it again');
    slot.restartTimer = setTimeout(() => fork(slot), delay);
  };

  const admin = await startPodAdmin({ address: options.address, port: options.httpPort, slots: () => slots, own });
  for (const slot of slots) fork(slot);
  logger.info({ workers: options.workers, pid: process.pid, http: `${options.address}:${admin.port}`, replica: options.replicaId }, 'proxy primary started its workers');

  const stop = await Promise.race([waitForShutdown(logger).then((signal) => ({ signal, failed: false })), gaveUp.then(() => ({ signal: 'SIGTERM', failed: true }))]);
  const signal = stop.signal;
  stopping = true;
  for (const slot of slots) clearTimeout(slot.restartTimer);
  const running = slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
  const exited = Promise.all(running.map((worker) => (worker.isDead() ? Promise.resolve() : new Promise<void>((resolve) => worker.once('exit', () => resolve())))));
  // Each worker drains (readiness false, requests in flight answered, sessions handed on or ended).
  for (const worker of running) worker.process.kill(signal as NodeJS.Signals);
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<'overdue'>((resolve) => (timer = setTimeout(() => resolve('overdue'), options.drainTimeoutMs + STOP_GRACE_MS)));
  if ((await Promise.race([exited, overdue])) === 'overdue') {
    const left = running.filter((worker) => !worker.isDead());
    logger.warn({ workers: left.map((w) => w.process.pid) }, 'workers still running past --drain-timeout: killing them');
    for (const worker of left) worker.process.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
  await admin.close();
  rmSync(socketDir, { recursive: true, force: true });
  logger.info('all workers stopped');
  return stop.failed ? 1 : 0;
}
