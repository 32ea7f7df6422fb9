// The proxy's spans, after the OpenTelemetry MCP semantic conventions: one SERVER span per client
// request (named `{mcp.method.name} {tool or prompt}`), continuing the client's trace (from
// params._meta, where 2026-07-28 clients and semconv-instrumented ones put it, else the HTTP
// traceparent header), and one CLIENT span per upstream request under it, whose context is what the
// upstream is sent. Only names, ids, versions, codes and the upstream's URL (no query, no
// credentials: see routing/target-url.ts) are recorded: never an argument, a header value, a
// token, or an error message (upstream messages may echo arguments). Callers build spans only when
// `tracingEnabled` (shared/telemetry/tracing.ts), so with tracing off none of this runs.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import { McpmuxError } from '../shared/errors.ts';
import { tracer, traceHeaders } from '../shared/telemetry/tracing.ts';
import type { CompiledTarget, EndpointUrl } from './routing/table.ts';
import type { UpstreamConnection } from './upstream/connection.ts';

/** A span and the context it is the active span of (what children and the log mixin use). */
export interface RequestSpan {
  readonly span: Span;
  readonly context: Context;
}

/** What a request's span records of its answer: a JSON-RPC error, a tool's isError, or what was thrown. */
export type SpanOutcome = { error: { code: number } } | { result: Record<string, unknown> } | { thrown: unknown };

type Params = Record<string, unknown>;

/** Client-chosen names go into span names and attributes: a runaway one is cut. */
const MAX_NAME = 200;

function paramsOf(params: unknown): Params | undefined {
  return params !== null && typeof params === 'object' && !Array.isArray(params) ? (params as Params) : undefined;
}

function nameParam(params: Params | undefined): string | undefined {
  const name = params?.name;
  return typeof name === 'string' ? name.slice(0, MAX_NAME) : undefined;
}

/** The trace context keys of params._meta (SEP-414), or undefined when it carries no traceparent. */
function metaCarrier(params: Params | undefined): Record<string, string> | undefined {
  const meta = paramsOf(params?._meta);
  const traceparent = meta?.traceparent;
  if (typeof traceparent !== 'string') return undefined;
  const tracestate = meta?.tracestate;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}

/** The tool or prompt attributes of a request, and the name its span gets. */
function named(method: string, params: Params | undefined, attributes: Attributes): string {
  if (method === 'tools/call') {
    const tool = nameParam(params);
    attributes['gen_ai.operation.name'] = 'execute_tool';
    if (tool === undefined) return method;
    attributes['gen_ai.tool.name'] = tool;
    return `${method} ${tool}`;
  }
  if (method === 'prompts/get') {
    const prompt = nameParam(params);
    if (prompt === undefined) return method;
    attributes['gen_ai.prompt.name'] = prompt;
    return `${method} ${prompt}`;
  }
  return method;
}

export interface ServerSpanInfo {
  /** The negotiated version (a 2025 session's) or the request's (2026-07-28). */
  protocolVersion: string | undefined;
  /** A 2025 session's id; undefined for 2026-07-28 requests, which have none. */
  sessionId?: string | undefined;
  /** The route the request came in on. */
  route?: string | undefined;
  /** The W3C trace context of the HTTP request (read-message.ts traceContext). */
  headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * The SERVER span of one client request. Its parent is the trace context in params._meta, else the
 * one in the HTTP headers; with both, and different, the header's is linked (as semconv says).
 */
export function startServerSpan(request: { method: string; id: string | number; params?: unknown }, info: ServerSpanInfo): RequestSpan {
  const params = paramsOf(request.params);
  const fromMeta = metaCarrier(params);
  const carrier = fromMeta ?? info.headers;
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  let links: Link[] | undefined;
  if (fromMeta && info.headers) {
    const transport = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, info.headers));
    const meta = trace.getSpanContext(parent);
    if (transport && trace.isSpanContextValid(transport) && transport.spanId !== meta?.spanId) links = [{ context: transport }];
  }
  const attributes: Attributes = {
    'mcp.method.name': request.method,
    'jsonrpc.request.id': String(request.id),
    'network.transport': 'tcp',
    'network.protocol.name': 'http',
  };
  if (info.protocolVersion !== undefined) attributes['mcp.protocol.version'] = info.protocolVersion;
  if (info.sessionId !== undefined) attributes['mcp.session.id'] = info.sessionId;
  if (info.route !== undefined) attributes['mcpmux.route'] = info.route;
  const name = named(request.method, params, attributes);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER, attributes, ...(links ? { links } : {}) }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * The CLIENT span of one upstream request, child of the client request's span. Named for the tool
 * or prompt as the upstream knows it, else for the target.
 */
export function startClientSpan(parent: RequestSpan, target: CompiledTarget, method: string, params: unknown): RequestSpan {
  const attributes: Attributes = { 'mcp.method.name': method, 'mcpmux.target': target.name };
  const name = named(method, paramsOf(params), attributes);
  const span = tracer().startSpan(name === method ? `${method} ${target.name}` : name, { kind: SpanKind.CLIENT, attributes }, parent.context);
  return { span, context: trace.setSpan(parent.context, span) };
}

/**
 * Records where the upstream request goes (the connection is known once it is ready) and returns
 * the trace context headers to send it: the client span's, not the client's own.
 */
export function upstreamTrace(client: RequestSpan, upstream: UpstreamConnection, target: CompiledTarget): Record<string, string> {
  const { span } = client;
  const version = upstream.initializeResult?.protocolVersion;
  if (version !== undefined) span.setAttribute('mcp.protocol.version', version);
  span.setAttributes(target.stdio ? STDIO_ATTRIBUTES : endpointAttributes(upstream.endpoint));
  return traceHeaders(span, client.context);
}

const STDIO_ATTRIBUTES: Attributes = Object.freeze({ 'network.transport': 'pipe' });

/** An endpoint's HTTP attributes, parsed once per endpoint (a table's endpoints live as long as it is served). */
const ENDPOINT_ATTRIBUTES = new WeakMap<EndpointUrl, Attributes>();

function endpointAttributes(endpoint: EndpointUrl): Attributes {
  let attributes = ENDPOINT_ATTRIBUTES.get(endpoint);
  if (!attributes) {
    // endpoint.url is scheme://host:port/path: never a query or credentials (routing/target-url.ts).
    const url = new URL(endpoint.url);
    attributes = Object.freeze({
      'network.transport': 'tcp',
      'network.protocol.name': 'http',
      'http.request.method': 'POST',
      'server.address': url.hostname.replace(/^\[|\]$/g, ''),
      'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      'url.full': endpoint.url,
    });
    ENDPOINT_ATTRIBUTES.set(endpoint, attributes);
  }
  return attributes;
}

/**
 * `params` with the trace context in its _meta replaced by `headers`, when the client put one there
 * (a 2026-07-28 request's _meta travels upstream as it came): the upstream is then told the same
 * parent whichever it reads. Params without _meta trace context are returned as they are.
 */
export function withTraceMeta(params: unknown, headers: Readonly<Record<string, string>>): unknown {
  const object = paramsOf(params);
  const meta = paramsOf(object?._meta);
  if (!meta || typeof meta.traceparent !== 'string') return params;
  const { tracestate: _previous, ...rest } = meta;
  return { ...object, _meta: { ...rest, ...headers } };
}

/** Runs `fn` with the span active (nested spans and log lines see it). */
export function inSpan<T>(requestSpan: RequestSpan, fn: () => T): T {
  return context.with(requestSpan.context, fn);
}

/** Ends a span with its outcome: error.type, status ERROR and the JSON-RPC code when it failed. */
export function endSpan(requestSpan: RequestSpan, outcome: SpanOutcome): void {
  const { span } = requestSpan;
  if ('thrown' in outcome) {
    const error = outcome.thrown;
    // Our error codes say what went wrong; messages are left out, they may quote arguments.
    failed(span, error instanceof McpmuxError ? error.code : error instanceof Error ? error.name : '_OTHER');
  } else if ('error' in outcome) {
    const code = outcome.error.code;
    span.setAttribute('rpc.jsonrpc.error_code', code);
    span.setAttribute('rpc.response.status_code', String(code));
    failed(span, String(code));
  } else if (outcome.result.isError === true) {
    failed(span, 'tool_error');
  }
  span.end();
}

function failed(span: Span, type: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}
