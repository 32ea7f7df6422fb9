// The health port of a pod of workers (mcpmux proxy --workers N): one /healthz, /readyz and
// /metrics for the pod, served by the primary, which holds no MCP traffic itself. /readyz is ready
// when every worker is (each tells the primary when its readiness changes); /metrics is every
// worker's series, each with a `worker` label (0..N-1), plus the primary's own, gathered over the
// cluster channel at each scrape. Exemplars (tracing) do not survive the gathering: with workers
// /metrics speaks Prometheus text.
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue, type PrometheusContentType } from 'prom-client';
import { startHealthServer } from '../../shared/ops/health-server.ts';
import { isWorkerMessage, type MetricsRequest } from './messages.ts';

/** What the primary knows of one worker slot. */
export interface WorkerSlot {
  index: number;
  /** The live process; undefined while it is being restarted. */
  worker: Worker | undefined;
  ready: boolean;
  reason: string | undefined;
}

/** A worker that does not answer a scrape within this is left out of it (the scrape still answers). */
const SCRAPE_TIMEOUT_MS = 2_000;

type Series = MetricObjectWithValues<MetricValue<string>>[];

/** /metrics of the pod: each worker's series labelled with its index, and the primary's own. */
class PodMetrics extends Registry<PrometheusContentType> {
  readonly #slots: () => readonly WorkerSlot[];
  readonly #own: Registry;
  #nextId = 0;

  constructor(slots: () => readonly WorkerSlot[], own: Registry) {
    super();
    this.#slots = slots;
    this.#own = own;
  }

  override async metrics(): Promise<string> {
    const perWorker = await Promise.all(this.#slots().map((slot) => this.#ask(slot)));
    const labelled = perWorker.map((series, index) => series.map((metric) => ({ ...metric, values: metric.values.map((v) => ({ ...v, labels: { ...v.labels, worker: String(index) } })) })));
    return AggregatorRegistry.aggregate<PrometheusContentType>([...labelled, await this.#own.getMetricsAsJSON()]).metrics();
  }

  #ask(slot: WorkerSlot): Promise<Series> {
    const worker = slot.worker;
    if (!worker?.isConnected()) return Promise.resolve([]);
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      const done = (series: Series): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(series);
      };
      const onMessage = (message: unknown): void => {
        if (isWorkerMessage(message) && message.mcpmux === 'metrics' && message.id === id) done(message.metrics);
      };
      const timer = setTimeout(() => done([]), SCRAPE_TIMEOUT_MS);
      worker.on('message', onMessage);
      const request: MetricsRequest = { mcpmux: 'metrics?', id };
      worker.send(request);
    });
  }
}

/** Why the pod is not ready, or undefined when every worker is. */
export function podUnready(slots: readonly WorkerSlot[]): string | undefined {
  const missing = slots.filter((slot) => !slot.worker).map((slot) => slot.index);
  if (missing.length > 0) return `worker ${missing.join(', ')} restarting`;
  const unready = slots.find((slot) => !slot.ready);
  return unready ? `worker ${unready.index}: ${unready.reason ?? 'starting'}` : undefined;
}

/** Serves the pod's health port from the primary. `own` holds the primary's metrics (restarts). */
export function startPodAdmin(options: { address: string; port: number; slots: () => readonly WorkerSlot[]; own: Registry }): ReturnType<typeof startHealthServer> {
  return startHealthServer({
    address: options.address,
    port: options.port,
    ready: () => {
      const reason = podUnready(options.slots());
      return reason === undefined ? { ready: true } : { ready: false, reason };
    },
    metrics: new PodMetrics(options.slots, options.own),
  });
}
