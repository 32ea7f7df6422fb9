// Server→client requests of one downstream session (sampling/createMessage, elicitation/create,
// roots/list, ...): one correlation map keyed by the id the client sees. Each upstream numbers its
// requests on its own, so ids are rewritten to ours on the way out and put back on the way in;
// a progress token in the request is rewritten the same way, so the client's progress reaches the
// right upstream. One cleanup path (#settle): answered, timed out, cancelled by either side, target
// removed or session closed, every entry ends there, its timer cleared, and an upstream that still
// waits always gets an answer. Nothing hangs when a stream dies.
import type { JSONRPCErrorResponse, JSONRPCRequest, JSONRPCResponse, ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import type { ClientChannel } from './channel.ts';
import { toJsonRpcError } from './jsonrpc-error.ts';

export interface ServerRequestsOptions {
  channel: ClientChannel;
  logger: Logger;
  /** How long the client has to answer before the upstream gets an error. */
  timeoutMs: number;
  /**
   * Appended to our ids (`mcpmux-7@<replica>`): in a fleet the client's answer may reach another
   * replica, which finds by it the one that asked.
   */
  idSuffix?: string;
}

interface Pending {
  target: string;
  upstream: UpstreamConnection;
  upstreamId: RequestId;
  /** The client request it arose from (its stream carried it), if any. */
  relatedTo: RequestId | undefined;
  /** The upstream's own progress token, when the request carried one (the client sees our id). */
  upstreamToken: ProgressToken | undefined;
  timer: NodeJS.Timeout;
}

/** Ids the client sees for our requests: a prefix no client request id of ours could be confused with. */
const ID_PREFIX = 'mcpmux-';

/** The replica that sent a server→client request, from its id (`mcpmux-7@replica-a`); undefined if none is named. */
export function replicaOfServerRequest(id: unknown): string | undefined {
  if (typeof id !== 'string' || !id.startsWith(ID_PREFIX)) return undefined;
  const at = id.indexOf('@');
  return at === -1 ? undefined : id.slice(at + 1);
}

export class ServerRequests {
  readonly #options: ServerRequestsOptions;
  readonly #pending = new Map<string, Pending>();
  #next = 1;

  constructor(options: ServerRequestsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Relays `request` from `target` to the client under an id of ours. */
  relay(target: string, upstream: UpstreamConnection, request: JSONRPCRequest, relatedTo: RequestId | undefined): void {
    const id = `${ID_PREFIX}${this.#next++}${this.#options.idSuffix ?? ''}`;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const meta = params._meta as Record<string, unknown> | undefined;
    const upstreamToken = meta?.progressToken as ProgressToken | undefined;
    const outgoing: JSONRPCRequest = {
      jsonrpc: '2.0',
      id,
      method: request.method,
      ...(request.params === undefined ? {} : { params: upstreamToken === undefined ? params : { ...params, _meta: { ...meta, progressToken: id } } }),
    };
    const timer = setTimeout(
      () => this.#settle(id, { error: new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', `the client did not answer ${request.method} within ${this.#options.timeoutMs} ms`) }),
      this.#options.timeoutMs,
    );
    timer.unref();
    this.#pending.set(id, { target, upstream, upstreamId: request.id, relatedTo, upstreamToken, timer });
    if (!this.#options.channel.send(outgoing, relatedTo)) {
      this.#settle(id, { error: new McpmuxError('MCPMUX_SESSION_NOT_FOUND', 'the client session is closed') });
    }
  }

  /** The client's answer to one of our requests; false if it answers nothing we asked. */
  resolve(response: JSONRPCResponse): boolean {
    const id = response.id;
    if (typeof id !== 'string' || !this.#pending.has(id)) return false;
    this.#settle(id, 'error' in response ? { upstreamError: response.error } : { result: response.result as Record<string, unknown> });
    return true;
  }

  /** Client progress on one of our requests, as its upstream must see it; undefined if not ours. */
  routeProgress(params: Record<string, unknown> | undefined): { upstream: UpstreamConnection; params: Record<string, unknown> } | undefined {
    const token = params?.progressToken;
    const pending = typeof token === 'string' ? this.#pending.get(token) : undefined;
    if (!pending || pending.upstreamToken === undefined) return undefined;
    return { upstream: pending.upstream, params: { ...params, progressToken: pending.upstreamToken } };
  }

  /** The upstream gave up on its request (notifications/cancelled): the client is told too. */
  cancelledByUpstream(target: string, upstreamId: unknown, reason: unknown): void {
    for (const [id, pending] of this.#pending) {
      if (pending.target === target && pending.upstreamId === upstreamId) this.#settle(id, { cancelled: typeof reason === 'string' ? reason : 'cancelled by the server' });
    }
  }

  /** The client request they arose from ended: its upstream no longer waits for them. */
  endRelated(relatedTo: RequestId): void {
    for (const [id, pending] of this.#pending) {
      if (pending.relatedTo === relatedTo) this.#settle(id, { cancelled: 'the request it belonged to has ended' });
    }
  }

  /** A target left the backend: its requests are withdrawn. */
  dropTarget(target: string): void {
    for (const [id, pending] of this.#pending) {
      if (pending.target === target) this.#settle(id, { cancelled: `target ${target} was removed` });
    }
  }

  /** The session ends: every upstream still waiting gets an error (resolves once they are sent). */
  async closeAll(): Promise<void> {
    const error = new McpmuxError('MCPMUX_SESSION_NOT_FOUND', 'the client session was closed');
    await Promise.all([...this.#pending.keys()].map((id) => this.#settle(id, { error })));
  }

  #settle(
    id: string,
    outcome:
      | { result: Record<string, unknown> }
      | { upstreamError: JSONRPCErrorResponse['error'] }
      | { error: McpmuxError }
      | { cancelled: string },
  ): Promise<void> {
    const pending = this.#pending.get(id);
    if (!pending) return Promise.resolve();
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const { upstream, upstreamId, target } = pending;
    if ('cancelled' in outcome) {
      // Withdrawn on our side: the client stops working on it; the upstream no longer waits.
      this.#options.channel.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: outcome.cancelled } }, pending.relatedTo);
      return Promise.resolve();
    }
    const answer =
      'result' in outcome
        ? { jsonrpc: '2.0' as const, id: upstreamId, result: outcome.result }
        : { jsonrpc: '2.0' as const, id: upstreamId, error: 'upstreamError' in outcome ? outcome.upstreamError : toJsonRpcError(outcome.error) };
    if (upstream.closed) return Promise.resolve();
    return upstream.respond(answer).catch((error: unknown) =>
      this.#options.logger.debug({ target, err: errorMessage(error) }, 'could not deliver the answer to a server request'),
    );
  }
}
