// What the proxy counts, as the multiplexer reports it: one small interface so the MCP code does not
// depend on prom-client, and one prom-client implementation registered with the proxy's /metrics.
// Label values are bounded: methods outside MCP's own are counted as `other`, targets are the
// snapshot's (a config, not client input).
import { Counter, Gauge, Histogram, type LabelValues, type Registry, type RegistryContentType } from 'prom-client';
import { TableCounter, TableHistogram } from './metric-tables.ts';

/** The ids of a sampled span (an OpenTelemetry SpanContext has them). */
export interface TraceIds {
  traceId: string;
  spanId: string;
}

/** `error`: a JSON-RPC error, or a tool result with isError. */
export type Outcome = 'ok' | 'error' | 'cancelled';

export interface ProxyMetrics {
  /** A client request answered (or abandoned), by method and outcome. */
  request(method: string, outcome: Outcome): void;
  /** One upstream request: target, method, outcome, duration; with tracing on, its span (the exemplar). */
  upstream(target: string, method: string, outcome: Outcome, seconds: number, span?: TraceIds): void;
  /** A session of a replica that is gone was adopted by this one. */
  adopted(): void;
  /** One client request, by the MCP era it was sent in (2025: a session's; 2026: stateless). */
  clientEra(era: 'legacy' | 'modern'): void;
  /** What a target's endpoint was found to speak (the probe's verdict, or the configured era). */
  upstreamEra(target: string, era: 'legacy' | 'modern'): void;
}

const METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
  'tasks/list',
  'tasks/update',
  'server/discover',
  'subscriptions/listen',
]);

function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

/**
 * `exemplars`: the upstream latency histogram keeps, per bucket, the trace and span id of a recent
 * request (prom-client shows exemplars only in OpenMetrics: the registry must be an OpenMetrics one).
 */
export function promProxyMetrics(registry: Registry<RegistryContentType>, options: { exemplars?: boolean } = {}): ProxyMetrics {
  const exemplars = options.exemplars === true;
  // Counted in tables on the request path, handed to prom-client when scraped (metric-tables.ts).
  const requests = new TableCounter(registry, { name: 'mcpmux_proxy_requests_total', help: 'Client requests answered, by MCP method and outcome (ok, error, cancelled)', labelNames: ['method', 'outcome'] });
  const upstreamRequests = new TableCounter(registry, {
    name: 'mcpmux_proxy_upstream_requests_total',
    help: 'Requests sent to upstream targets, by target, MCP method and outcome',
    labelNames: ['target', 'method', 'outcome'],
  });
  const latency = {
    name: 'mcpmux_proxy_upstream_request_duration_seconds',
    help: 'Time from sending a request to a target to its answer, by target and MCP method',
    labelNames: ['target', 'method'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  };
  // Exemplars (tracing on) need prom-client's own histogram; without them the table's is cheaper.
  const upstreamLatency = exemplars
    ? new Histogram({ ...latency, registers: [registry], enableExemplars: true })
    : new TableHistogram(registry, latency);
  const adoptions = new Counter({ name: 'mcpmux_proxy_fleet_adoptions_total', help: 'Sessions of replicas that are gone adopted by this one', registers: [registry] });
  const eraRequests = new TableCounter(registry, {
    name: 'mcpmux_proxy_client_requests_by_era_total',
    help: 'Client requests by MCP era: legacy (2025-11-25 and older, in a session) or modern (2026-07-28, stateless); when legacy stays at 0, 2025 support can go',
    labelNames: ['era'],
  });
  const upstreamEras = new Gauge({
    name: 'mcpmux_proxy_upstream_era',
    help: 'The MCP era each target speaks (1 on its era label): legacy (2025 sessions) or modern (2026-07-28)',
    labelNames: ['target', 'era'],
    registers: [registry],
  });
  return {
    clientEra(era) {
      eraRequests.inc([era]);
    },
    upstreamEra(target, era) {
      upstreamEras.set({ target, era }, 1);
      upstreamEras.set({ target, era: era === 'legacy' ? 'modern' : 'legacy' }, 0);
    },
    adopted() {
      adoptions.inc();
    },
    request(method, outcome) {
      requests.inc([methodLabel(method), outcome]);
    },
    upstream(target, method, outcome, seconds, span) {
      const label = methodLabel(method);
      upstreamRequests.inc([target, label, outcome]);
      if (upstreamLatency instanceof TableHistogram) {
        upstreamLatency.observe([target, label], seconds);
        return;
      }
      // With exemplars on, prom-client's observe takes one object (labels, value, exemplar labels).
      // (Its typings want the exemplar's labels to be the metric's own: they are not, hence the cast.)
      upstreamLatency.observe({ labels: { target, method: label }, value: seconds, exemplarLabels: (span ? { trace_id: span.traceId, span_id: span.spanId } : {}) as LabelValues<'target' | 'method'> });
    },
  };
}

/** Sessions held now, by transport; read when /metrics is scraped. */
export function sessionsGauge(registry: Registry<RegistryContentType>, count: () => Record<string, number>): void {
  new Gauge({
    name: 'mcpmux_proxy_sessions',
    help: 'Downstream MCP sessions this replica holds, by transport',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, n] of Object.entries(count())) this.set({ transport }, n);
    },
  });
}
