// A worker's side of the pod (mcpmux proxy --workers N): where it sits (from the environment the
// primary started it with), and what it tells the primary, which serves the pod's health port:
// its readiness when it changes, its metrics when asked.
import type { Registry, RegistryContentType } from 'prom-client';
import { McpmuxError } from '../../shared/errors.ts';
import { isMetricsRequest, WORKER_ENV, type MetricsAnswer, type ReadyMessage } from './messages.ts';
import type { WorkerPlace } from './session-routing.ts';

/** How often a worker looks at its readiness (a change is sent at once, so /readyz lags at most this). */
const READY_CHECK_MS = 200;

/** This worker's place in its pod, from the environment the primary gave it. */
export function workerPlaceFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerPlace {
  const index = Number(env[WORKER_ENV.index]);
  const count = Number(env[WORKER_ENV.count]);
  const socketDir = env[WORKER_ENV.socketDir];
  const replicaId = env[WORKER_ENV.replicaId];
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count || !socketDir || !replicaId) {
    throw new McpmuxError('MCPMUX_USAGE', `mcpmux proxy: a worker needs ${Object.values(WORKER_ENV).join(', ')} from its primary; run mcpmux proxy --workers N instead of starting a worker by hand`);
  }
  return { index, count, socketDir, podReplicaId: replicaId };
}

/** Reports to the primary until the returned function is called. */
export function linkToPrimary(proxy: { ready(): { ready: boolean; reason?: string }; metrics: Registry<RegistryContentType> }): () => void {
  const send = (message: ReadyMessage | MetricsAnswer): void => {
    if (process.connected) process.send?.(message);
  };
  let last = '';
  const report = (): void => {
    const { ready, reason } = proxy.ready();
    const said = `${ready}:${reason ?? ''}`;
    if (said === last) return;
    last = said;
    send({ mcpmux: 'ready', ready, ...(reason ? { reason } : {}) });
  };
  report();
  const timer = setInterval(report, READY_CHECK_MS);
  timer.unref();
  const onMessage = (message: unknown): void => {
    if (!isMetricsRequest(message)) return;
    proxy.metrics.getMetricsAsJSON().then(
      (metrics) => send({ mcpmux: 'metrics', id: message.id, metrics }),
      () => send({ mcpmux: 'metrics', id: message.id, metrics: [] }),
    );
  };
  process.on('message', onMessage);
  return () => {
    clearInterval(timer);
    report();
    process.off('message', onMessage);
  };
}
