// What the multiplexer's method handlers share for one downstream session and one request.
import type { ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/log.ts';
import type { Access } from '../auth/access.ts';
import type { CompiledBackend, CompiledTarget } from '../routing/table.ts';
import type { UpstreamResponse } from '../upstream/session.ts';
import type { TargetConnections } from './connections.ts';
import type { NameIndex } from './name-index.ts';
import { withProgressToken, type ProgressRoutes } from './progress.ts';
import type { Outcome, ProxyMetrics } from '../metrics.ts';
import { McpmuxError } from '../../shared/errors.ts';

export interface RequestContext {
  /** The backend as the table this request started on has it. */
  backend: CompiledBackend;
  /** What the caller may use (the backend's authorization for its principal); undefined: everything. */
  access: Access | undefined;
  connections: TargetConnections;
  logger: Logger;
  /** Used when a target sets no request timeout. */
  requestTimeoutMs: number;
  /** Aborted when the client goes away or cancels the request. */
  signal: AbortSignal;
  /** The client's id for this request: what upstreams say about it travels on its stream. */
  requestId: RequestId;
  /** The client's progress token; handlers that fan out clear it (interleaved counts mean nothing). */
  progressToken: ProgressToken | undefined;
  progress: ProgressRoutes;
  /** Who owns an unprefixed name (prefix mode never). */
  names: NameIndex;
  metrics?: ProxyMetrics | undefined;
  /** The client's W3C trace context, passed on to the upstream requests this request makes. */
  trace?: Readonly<Record<string, string>> | undefined;
}

/** The same request context for a fan-out to several targets: no progress reported. */
export function fanOut(ctx: RequestContext): RequestContext {
  return ctx.progressToken === undefined ? ctx : { ...ctx, progressToken: undefined };
}

/**
 * Sends one request to one target over the session's upstream session with it. The client's
 * progress token is replaced by one of ours for the time of the request (or removed on a fan-out).
 */
export async function forward(ctx: RequestContext, target: CompiledTarget, method: string, params: unknown): Promise<UpstreamResponse> {
  const upstream = await ctx.connections.get(target);
  const token = ctx.progressToken === undefined ? undefined : ctx.progress.register(target.name, ctx.progressToken, ctx.requestId);
  const started = ctx.metrics ? process.hrtime.bigint() : 0n;
  let outcome: Outcome = 'error';
  try {
    const response = await upstream.request(
      { method, params: withProgressToken(params, token) },
      { timeoutMs: target.requestTimeoutMs ?? ctx.requestTimeoutMs, signal: ctx.signal, relatedTo: ctx.requestId, headers: ctx.trace },
    );
    outcome = 'error' in response || (response.result as { isError?: unknown }).isError === true ? 'error' : 'ok';
    return response;
  } catch (error) {
    if (error instanceof McpmuxError && error.code === 'MCPMUX_REQUEST_CANCELLED') outcome = 'cancelled';
    throw error;
  } finally {
    if (token !== undefined) ctx.progress.release(token);
    ctx.metrics?.upstream(target.name, method, outcome, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
