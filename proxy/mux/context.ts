// What the multiplexer's method handlers share for one downstream session and one request.
import type { ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/log.ts';
import type { Access } from '../auth/access.ts';
import type { CompiledBackend, CompiledTarget } from '../routing/table.ts';
import type { UpstreamResponse } from '../upstream/session.ts';
import type { RequestSink, UpstreamConnection } from '../upstream/connection.ts';
import type { ListCache } from './list-cache.ts';
import type { AbortHooks } from '../request-abort.ts';
import type { UnopenedTarget } from './lazy-targets.ts';
import type { NameIndex } from './name-index.ts';
import { withProgressToken, type ProgressRoutes } from './correlation.ts';
import type { Outcome, ProxyMetrics } from '../metrics.ts';
import { McpmuxError } from '../../shared/errors.ts';
import { endSpan, inSpan, startClientSpan, upstreamTrace, withTraceMeta, type RequestSpan } from '../tracing.ts';

export interface RequestContext {
  /** The backend as the table this request started on has it. */
  backend: CompiledBackend;
  /** What the caller may use (the backend's authorization for its principal); undefined: everything. */
  access: Access | undefined;
  /** The upstream connection of each target: a 2025 session's own, or a 2026-07-28 request's (pooled or stateless). */
  connections: UpstreamSource;
  logger: Logger;
  /** Used when a target sets no request timeout. */
  requestTimeoutMs: number;
  /** Aborted when the client goes away or cancels the request. */
  signal: AbortSignal;
  /** The same cancellation as plain callbacks, when the transport made the request's controller a RequestAbort. */
  abortHooks?: AbortHooks | undefined;
  /** The client's id for this request: what upstreams say about it travels on its stream. */
  requestId: RequestId;
  /** The client's progress token; handlers that fan out clear it (interleaved counts mean nothing). */
  progressToken: ProgressToken | undefined;
  /** Our progress tokens for the client's (correlation.ts): the session's, or a 2026-07-28 request's own. */
  progress: ProgressRoutes;
  /** Who owns an unprefixed name (prefix mode never). */
  names: NameIndex;
  metrics?: ProxyMetrics | undefined;
  /** The client's W3C trace context, passed on to the upstream requests this request makes (tracing off). */
  trace?: Readonly<Record<string, string>> | undefined;
  /** With tracing on: the request's SERVER span, parent of one CLIENT span per upstream request (proxy/tracing.ts). */
  span?: RequestSpan | undefined;
  /** A 2026-07-28 client's request: where what upstreams say about it goes (handed to them as relatedTo). */
  sink?: RequestSink | undefined;
  /** A 2026-07-28 client's request: the `_meta` envelope modern upstreams get (see RequestOptions.meta). */
  upstreamMeta?: Readonly<Record<string, unknown>> | undefined;
  /** A 2026-07-28 client's request: what happens around each upstream request (requestState, held calls). */
  exchange?: UpstreamExchangeHooks | undefined;
  /**
   * A 2026-07-28 client's request: each upstream list page before it is merged (for its cache
   * hints, and what the gateway learns from tools); the callee may drop items from `result` in place.
   */
  onUpstreamList?: ((target: CompiledTarget, kind: string, result: Record<string, unknown>) => void) | undefined;
  /** Where upstream lists are cached, and what of this caller an upstream's list may depend on; undefined: nothing cached. */
  lists?: ListCacheScope | undefined;
}

/** A caller's view of the list cache (mux/list-cache.ts). */
export interface ListCacheScope {
  cache: ListCache;
  /** The client capabilities `upstream` is told of for this caller, as stable JSON (see stableJson). */
  clientCapabilities(upstream: UpstreamConnection): string;
  /** The caller's principal id (undefined: anonymous): the key of lists an upstream says are private. */
  principal: string | undefined;
  /** Whether merged lists may be answered as pre-encoded JSON text (the caller sends them unchanged; see encoded-lists.ts). */
  preEncoded?: boolean;
  /** A target the session was answered for from cache and has not opened (lazy-targets.ts): its lists may come from cache without opening it. */
  unopened?(target: CompiledTarget): UnopenedTarget | undefined;
}

/** Where a request's handlers get their upstream connections. */
export interface UpstreamSource {
  /** The ready connection of `target` (connecting if needed). Throws MCPMUX_TARGET_UNAVAILABLE & co. */
  get(target: CompiledTarget): Promise<UpstreamConnection>;
  /**
   * The connection of `target` if it is ready now, with no promise to wait on (the common case, on
   * every request's path); undefined sends the caller to get().
   */
  ready?(target: CompiledTarget): UpstreamConnection | undefined;
}

/**
 * Runs one upstream request for a 2026-07-28 client: the gateway's requestState is opened before
 * it (and checked against the target and name it is routed to) and sealed after it, and a 2025
 * upstream's server→client requests become `input_required`.
 */
export interface UpstreamExchangeHooks {
  run(
    target: CompiledTarget,
    upstream: UpstreamConnection,
    method: string,
    params: unknown,
    send: (params: unknown, headers?: Readonly<Record<string, string>>) => Promise<UpstreamResponse>,
  ): Promise<UpstreamResponse>;
}

/** The same request context for a fan-out to several targets: no progress reported. */
export function fanOut(ctx: RequestContext): RequestContext {
  return ctx.progressToken === undefined ? ctx : { ...ctx, progressToken: undefined };
}

/**
 * Sends one request to one target over the session's upstream session with it. The client's
 * progress token is replaced by one of ours for the time of the request (or removed on a fan-out).
 */
export function forward(ctx: RequestContext, target: CompiledTarget, method: string, params: unknown): Promise<UpstreamResponse> {
  // ctx.span is set only with tracing on: off, the request goes as it always did (no span, no attribute, no extra promise).
  return ctx.span ? traced(ctx, ctx.span, target, method, params) : sendUpstream(ctx, target, method, params, undefined);
}

/** forward() in a CLIENT span, whose context is the trace context the upstream gets (headers, and _meta where the client put it). */
async function traced(ctx: RequestContext, parent: RequestSpan, target: CompiledTarget, method: string, params: unknown): Promise<UpstreamResponse> {
  const client = startClientSpan(parent, target, method, params);
  try {
    const response = await inSpan(client, () => sendUpstream(ctx, target, method, params, client));
    endSpan(client, 'error' in response ? response : { result: response.result });
    return response;
  } catch (error) {
    endSpan(client, { thrown: error });
    throw error;
  }
}

/**
 * One upstream request: progress token swapped, requestState hooks (2026-07-28 clients), metrics.
 * With a CLIENT span, the upstream is told that span as its parent (tracing on); else the client's
 * own trace context, as it came.
 */
async function sendUpstream(ctx: RequestContext, target: CompiledTarget, method: string, original: unknown, client: RequestSpan | undefined): Promise<UpstreamResponse> {
  const upstream = ctx.connections.ready?.(target) ?? (await ctx.connections.get(target));
  let trace = ctx.trace;
  let params = original;
  if (client) {
    trace = upstreamTrace(client, upstream, target);
    params = withTraceMeta(original, trace);
  }
  const token = ctx.progressToken === undefined ? undefined : ctx.progress.register(target.name, ctx.progressToken, ctx.requestId);
  const started = ctx.metrics ? process.hrtime.bigint() : 0n;
  let outcome: Outcome = 'error';
  try {
    const options = { timeoutMs: target.requestTimeoutMs ?? ctx.requestTimeoutMs, signal: ctx.signal, abortHooks: ctx.abortHooks, relatedTo: ctx.sink ?? ctx.requestId, headers: trace, meta: ctx.upstreamMeta };
    const send = (sent: unknown, headers?: Readonly<Record<string, string>>): Promise<UpstreamResponse> =>
      upstream.request({ method, params: withProgressToken(sent, token) }, headers ? { ...options, headers: { ...options.headers, ...headers } } : options);
    const response = await (ctx.exchange ? ctx.exchange.run(target, upstream, method, params, send) : send(params));
    outcome = 'error' in response || (response.result as { isError?: unknown }).isError === true ? 'error' : 'ok';
    return response;
  } catch (error) {
    if (error instanceof McpmuxError && error.code === 'MCPMUX_REQUEST_CANCELLED') outcome = 'cancelled';
    throw error;
  } finally {
    if (token !== undefined) ctx.progress.release(token);
    // A sampled span is the duration's exemplar (the metric links to its trace).
    ctx.metrics?.upstream(target.name, method, outcome, Number(process.hrtime.bigint() - started) / 1e9, client?.span.isRecording() ? client.span.spanContext() : undefined);
  }
}
