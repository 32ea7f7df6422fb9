// OpenTelemetry traces, off unless an OTLP endpoint is given. The code everywhere else speaks only
// @opentelemetry/api; the SDK, the context manager and the OTLP exporter are imported here, on
// start, so a process without an endpoint never loads them. Hot paths test `tracingEnabled` before
// building a span or any attribute object: with tracing off they cost one boolean read.
import { context, diag, DiagLogLevel, propagation, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { McpmuxError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { MCPMUX_VERSION } from '../version.ts';

/**
 * True once startTracing() registered an SDK. An ES module binding: importers read it live.
 * Only startTracing() sets it.
 */
export let tracingEnabled = false;

let activeTracer: Tracer | undefined;

/** mcpmux's tracer: the SDK's once tracing started, the API's no-op one before. */
export function tracer(): Tracer {
  return (activeTracer ??= trace.getTracer('mcpmux', MCPMUX_VERSION));
}

/** `fn` with `span` as the active span (log lines and nested spans see it); `fn` as is without one. */
export function withSpan<T>(span: Span | undefined, fn: () => T, parent: Context = context.active()): T {
  return span ? context.with(trace.setSpan(parent, span), fn) : fn();
}

/** The W3C trace context headers (traceparent, tracestate) naming `span` as the parent. */
export function traceHeaders(span: Span, parent: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  return carrier;
}

/** The ids of the active span, for log lines; undefined without one (or with tracing off). */
export function activeSpanContext(): SpanContext | undefined {
  if (!tracingEnabled) return undefined;
  const span = trace.getSpan(context.active());
  const ids = span?.spanContext();
  return ids && trace.isSpanContextValid(ids) ? ids : undefined;
}

/**
 * Where traces go: `--otlp-endpoint` (a collector's base URL, `/v1/traces` appended unless given),
 * else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the traces URL as is), else OTEL_EXPORTER_OTLP_ENDPOINT
 * (a base URL), as the OpenTelemetry SDKs read them. Undefined: tracing stays off.
 */
export function otlpTracesUrl(flagValue: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const given = flagValue?.trim();
  if (given) return withTracesPath(checkedUrl(given, '--otlp-endpoint'));
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return checkedUrl(traces, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').href;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return withTracesPath(checkedUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT'));
  return undefined;
}

function checkedUrl(value: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new McpmuxError('MCPMUX_USAGE', `${where} must be an http(s) URL such as http://otel-collector:4318, not "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new McpmuxError('MCPMUX_USAGE', `${where} must be an http(s) URL (OTLP over HTTP), not ${url.protocol}`);
  return url;
}

function withTracesPath(url: URL): string {
  if (!/\/v1\/traces\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.href;
}

/** The URL as logs may show it: no credentials, no query. */
export function printableUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

export interface TracingOptions {
  /** service.name: mcpmux-proxy or mcpmux-control-plane. */
  serviceName: string;
  /** The OTLP/HTTP traces URL (otlpTracesUrl()). */
  endpoint: string;
  logger: Logger;
  /** More resource attributes, e.g. service.instance.id. */
  attributes?: Attributes;
}

/** Flushes what is left to the collector (bounded in time) and stops exporting. */
export type StopTracing = () => Promise<void>;

/** How long a shutdown waits for the last spans to reach the collector: a collector that is away must not hold the exit. */
const SHUTDOWN_FLUSH_MS = 5_000;
/** Export failures are logged at most this often (a collector that is down fails every batch). */
const EXPORT_WARNING_EVERY_MS = 60_000;

/**
 * Registers the OpenTelemetry SDK: W3C trace context propagation, an AsyncLocalStorage context
 * manager, a batching OTLP/HTTP (protobuf) exporter to `endpoint`, and a resource naming the
 * service and its version (OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME still apply). The
 * exporter reads the standard OTEL_EXPORTER_OTLP_HEADERS and certificate variables;
 * OTEL_BSP_SCHEDULE_DELAY sets the batch delay (default 5 s). Sampling follows the client's
 * sampled flag, and samples every request that comes without a trace context.
 */
export async function startTracing(options: TracingOptions): Promise<StopTracing> {
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const { logger } = options;
  let warnedAt = 0;
  const warn = (message: string): void => {
    const now = Date.now();
    if (now - warnedAt < EXPORT_WARNING_EVERY_MS) return;
    warnedAt = now;
    logger.warn({ endpoint: printableUrl(options.endpoint), error: message }, 'OpenTelemetry: could not export spans (said at most once a minute)');
  };
  diag.setLogger(
    {
      error: (message: string) => warn(message),
      warn: (message: string) => warn(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  const delay = Number(process.env.OTEL_BSP_SCHEDULE_DELAY);
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': MCPMUX_VERSION, ...options.attributes }))
    // The operator's OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME win over ours, as in every SDK.
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new TracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.endpoint }), ...(Number.isInteger(delay) && delay > 0 ? { scheduledDelayMillis: delay } : {}) })],
  });
  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  activeTracer = provider.getTracer('mcpmux', MCPMUX_VERSION);
  tracingEnabled = true;
  logger.info({ endpoint: printableUrl(options.endpoint), service: options.serviceName }, 'OpenTelemetry tracing on: spans go to this OTLP endpoint');
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SHUTDOWN_FLUSH_MS)));
    const outcome = await Promise.race([provider.shutdown().then(() => 'done' as const, (error: unknown) => String(error)), timeout]);
    clearTimeout(timer);
    if (outcome !== 'done') logger.warn({ endpoint: printableUrl(options.endpoint), outcome }, 'OpenTelemetry: the last spans may not have reached the collector');
  };
}
