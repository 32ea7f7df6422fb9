// The 2026-07-28 side of a ProxyServer, made in one place: its upstream connections, the
// requestState codec, the subscriptions/listen streams, the held calls (a 2025 upstream's
// server→client request waiting for a 2026-07-28 client's retry) and the endpoint that serves
// requests of that era. In a fleet, or a pod of workers, a retry may land elsewhere: the holder is
// asked (over NATS, or the worker's Unix socket) and answers here through resumeHeld.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { ListCache } from '../mux/list-cache.ts';
import type { ResolvedProxyOptions } from '../server-options.ts';
import type { UpstreamResponse } from '../upstream/connection.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { SessionRouter } from '../workers/session-routing.ts';
import { ModernEndpoint } from './endpoint.ts';
import { HeldCalls, type Hold } from './held-calls.ts';
import { ListenStreams } from './listen.ts';
import { randomStateKey, RequestStateCodec, type RequestStateBinding } from './request-state.ts';
import { ModernUpstreams } from './upstreams.ts';

export interface ModernServing {
  upstreams: ModernUpstreams;
  requestState: RequestStateCodec;
  listen: ListenStreams;
  endpoint: ModernEndpoint;
}

/** A held call's retry, as one replica (or worker) asks the one holding it. */
interface HeldRetry {
  hold: Hold;
  binding: RequestStateBinding;
  inputResponses: unknown;
  capabilities: Record<string, unknown>;
}

export function createModernServing(options: ResolvedProxyOptions, parts: { pool: UpstreamPool; lists: ListCache; logger: Logger; fleet: Fleet | undefined; sessionRouter: SessionRouter | undefined }): ModernServing {
  const { pool, lists, logger, fleet, sessionRouter } = parts;
  const upstreams = new ModernUpstreams({ pool, logger, initializeTimeoutMs: options.initializeTimeoutMs });
  const requestState = new RequestStateCodec(options.requestStateKeys ?? { current: randomStateKey() });
  if (!options.requestStateKeys) {
    logger.info('requestState tokens use a random key of this replica until the control plane sends one: a 2026-07-28 client\'s retry must come back to this replica (or give every replica the same --request-state-key-file)');
  }
  const replicaId = options.replicaId ?? fleet?.replicaId ?? randomUUID();
  const listen = new ListenStreams({ pool, logger, initializeTimeoutMs: options.initializeTimeoutMs, ...(options.onLimit ? { onLimit: options.onLimit } : {}) });
  const asker = fleet ?? sessionRouter;
  const held = new HeldCalls({
    replicaId,
    logger,
    ...(options.heldCallMs === undefined ? {} : { holdMs: options.heldCallMs }),
    ...(options.onLimit ? { onLimit: options.onLimit } : {}),
    ...(asker
      ? {
          remote: async (hold: Hold, binding: RequestStateBinding, inputResponses: unknown, capabilities: Readonly<Record<string, unknown>>) =>
            (await asker.ask(hold.replica, 'held', { hold, binding, inputResponses, capabilities }, options.requestTimeoutMs)) as UpstreamResponse,
        }
      : {}),
  });
  const resumeHeld = async (payload: unknown): Promise<UpstreamResponse> => {
    const { hold, binding, inputResponses, capabilities } = payload as HeldRetry;
    return held.resume(hold, binding, inputResponses, { seal: (next) => requestState.seal(binding, { upstream: undefined, hold: next }), capabilities });
  };
  fleet?.serve('held', resumeHeld);
  sessionRouter?.serve('held', resumeHeld);
  const endpoint = new ModernEndpoint({
    upstreams,
    logger,
    serverInfo: options.serverInfo,
    requestTimeoutMs: options.requestTimeoutMs,
    requestState,
    listen,
    toolParams: pool.toolParams,
    held,
    metrics: options.metrics,
    listCache: lists,
  });
  return { upstreams, requestState, listen, endpoint };
}
