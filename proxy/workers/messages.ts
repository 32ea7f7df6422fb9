// What the primary and the workers of one pod say to each other over the cluster IPC channel. Every
// message carries `mcpmux` (its kind), so messages of other libraries on the channel are left alone.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** A worker's readiness, sent when it changes (the primary's /readyz answers from the last one). */
export interface ReadyMessage {
  mcpmux: 'ready';
  ready: boolean;
  reason?: string;
}

/** The primary asks a worker for its metrics (a /metrics scrape of the pod). */
export interface MetricsRequest {
  mcpmux: 'metrics?';
  id: number;
}

/** A worker's metrics, as prom-client's getMetricsAsJSON() gives them. */
export interface MetricsAnswer {
  mcpmux: 'metrics';
  id: number;
  metrics: MetricObjectWithValues<MetricValue<string>>[];
}

export type WorkerMessage = ReadyMessage | MetricsAnswer;

function kindOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { mcpmux?: unknown }).mcpmux : undefined;
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const kind = kindOf(message);
  return kind === 'ready' || kind === 'metrics';
}

export function isMetricsRequest(message: unknown): message is MetricsRequest {
  return kindOf(message) === 'metrics?';
}

/** The environment a worker is started with: where it sits in the pod. */
export const WORKER_ENV = {
  index: 'MCPMUX_WORKER_INDEX',
  count: 'MCPMUX_WORKER_COUNT',
  socketDir: 'MCPMUX_WORKER_SOCKETS',
  /** The pod's replica id (each worker is `<it>-w<index>`): the primary's default one, so all workers share it. */
  replicaId: 'MCPMUX_WORKER_REPLICA_ID',
} as const;
