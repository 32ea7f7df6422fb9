// What the multiplexer's method handlers share for one downstream session and one request.
import type { Logger } from '../../shared/log.ts';
import type { CompiledBackend, CompiledTarget } from '../routing/table.ts';
import type { UpstreamResponse } from '../upstream/session.ts';
import type { TargetConnections } from './connections.ts';

export interface RequestContext {
  /** The backend as the table this request started on has it. */
  backend: CompiledBackend;
  connections: TargetConnections;
  logger: Logger;
  /** Used when a target sets no request timeout. */
  requestTimeoutMs: number;
  /** Aborted when the client goes away or cancels the request. */
  signal: AbortSignal;
}

/** Sends one request to one target over the session's upstream session with it. */
export async function forward(
  ctx: RequestContext,
  target: CompiledTarget,
  method: string,
  params: unknown,
): Promise<UpstreamResponse> {
  const upstream = await ctx.connections.get(target);
  return upstream.request(
    { method, params },
    { timeoutMs: target.requestTimeoutMs ?? ctx.requestTimeoutMs, signal: ctx.signal },
  );
}
