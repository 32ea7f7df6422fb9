// Which id belongs to which request, for one downstream session: the one place that makes, finds
// and forgets them. How a request's ids travel: a client request keeps the client's id inside the
// gateway; the session registers it here with the controller that aborts it (begin), so the
// client's notifications/cancelled finds it. Upstreams never see that id: each upstream connection
// numbers its own requests (proxy/upstream/rpc-channel.ts and kin), and aborting the controller is
// what makes it send the upstream notifications/cancelled under its number. A progress token the
// client sent is swapped, for the time of one upstream request, for a number of ours (progress);
// the upstream's progress under it goes back under the client's token, on that request's stream.
// A request an upstream sends the client (sampling, elicitation, roots) goes out under an id of
// ours, `mcpmux-N[@replica]`, its own progress token swapped for the same id (ask); the client's
// answer, its progress on it and the upstream's cancel of it are found by that id. Each entry
// leaves by one door: a client request by end() (answered, failed or cancelled; the server→client
// requests it carried go with it), an upstream request's token by release() when that request
// settles, a server→client request by #settle() (answered, timed out, cancelled by either side, its
// target removed, its client request ended, the session closed), which clears its timer and always
// answers an upstream that still waits. close() empties everything.
import type { JSONRPCErrorResponse, JSONRPCRequest, JSONRPCResponse, ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import type { ClientChannel } from './channel.ts';
import { toJsonRpcError } from './jsonrpc-error.ts';

type Params = Record<string, unknown>;

interface ProgressRoute {
  target: string;
  clientToken: ProgressToken;
  relatedTo: RequestId;
}

/**
 * Our progress tokens → the client's. One per session (in Correlation), or one per 2026-07-28
 * request (which has no session). Whatever stream the upstream reports on (its response stream or
 * its GET stream), the token alone finds the request. A route lives exactly as long as the upstream
 * request: progress after the answer is dropped, as the spec wants.
 */
export class ProgressRoutes {
  readonly #routes = new Map<number, ProgressRoute>();
  #next = 1;

  /** The token to send `target` in place of the client's; release() it when the request ends. */
  register(target: string, clientToken: ProgressToken, relatedTo: RequestId): number {
    const token = this.#next++;
    this.#routes.set(token, { target, clientToken, relatedTo });
    return token;
  }

  release(token: number): void {
    this.#routes.delete(token);
  }

  /**
   * A progress notification from `target`, as the client must see it, and the request it belongs
   * to; undefined when it matches no request of this target in flight.
   */
  route(target: string, params: Params | undefined): { params: Params; relatedTo: RequestId } | undefined {
    const token = params?.progressToken;
    if (typeof token !== 'number') return undefined;
    const route = this.#routes.get(token);
    if (!route || route.target !== target) return undefined;
    return { params: { ...params, progressToken: route.clientToken }, relatedTo: route.relatedTo };
  }

  get size(): number {
    return this.#routes.size;
  }
}

/**
 * `params` with its `_meta.progressToken` replaced by `token`, or removed when `token` is
 * undefined (a request fanned out to several targets reports no progress: their counts would
 * interleave). Returns `params` itself when there is nothing to change.
 */
export function withProgressToken(params: unknown, token: number | undefined): unknown {
  if (params === null || typeof params !== 'object') return params;
  const meta = (params as { _meta?: unknown })._meta;
  if (meta === null || typeof meta !== 'object') {
    return token === undefined ? params : { ...params, _meta: { progressToken: token } };
  }
  const { progressToken: _client, ...rest } = meta as Record<string, unknown>;
  if (token === undefined && _client === undefined) return params;
  const newMeta = token === undefined ? rest : { ...rest, progressToken: token };
  return { ...params, _meta: newMeta };
}

/** The client's progress token in a request's params, if any. */
export function progressTokenOf(params: unknown): ProgressToken | undefined {
  const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

export interface CorrelationOptions {
  channel: ClientChannel;
  logger: Logger;
  /** How long the client has to answer a server→client request before its upstream gets an error; also the bound on relaying client progress. */
  timeoutMs: number;
  /**
   * Appended to our ids (`mcpmux-7@<replica>`): in a fleet the client's answer may reach another
   * replica, which finds by it the one that asked.
   */
  idSuffix?: string;
}

/** A request an upstream sent the client, under our id. */
interface ServerRequest {
  target: string;
  upstream: UpstreamConnection;
  upstreamId: RequestId;
  /** The client request it arose from (its stream carried it), if any. */
  relatedTo: RequestId | undefined;
  /** The upstream's own progress token, when the request carried one (the client sees our id). */
  upstreamToken: ProgressToken | undefined;
  timer: NodeJS.Timeout;
}

/** How a server→client request ends: the client's answer, an error of ours, or withdrawn. */
type Settlement =
  | { result: Params }
  | { upstreamError: JSONRPCErrorResponse['error'] }
  | { error: McpmuxError }
  | { cancelled: string };

/** Ids the client sees for our requests: a prefix no client request id of ours could be confused with. */
const ID_PREFIX = 'mcpmux-';

/** The replica that sent a server→client request, from its id (`mcpmux-7@replica-a`); undefined if none is named. */
export function replicaOfServerRequest(id: unknown): string | undefined {
  if (typeof id !== 'string' || !id.startsWith(ID_PREFIX)) return undefined;
  const at = id.indexOf('@');
  return at === -1 ? undefined : id.slice(at + 1);
}

export class Correlation {
  readonly #options: CorrelationOptions;
  /** Client requests in flight, by the client's id. */
  readonly #requests = new Map<RequestId, AbortController>();
  /** Our progress tokens of upstream requests in flight. */
  readonly progress = new ProgressRoutes();
  /** Server→client requests waiting for the client, by our id. */
  readonly #asked = new Map<string, ServerRequest>();
  #next = 1;

  constructor(options: CorrelationOptions) {
    this.#options = options;
  }

  /** Client requests being answered now. */
  get inFlight(): number {
    return this.#requests.size;
  }

  /** Server→client requests waiting for the client. */
  get asking(): number {
    return this.#asked.size;
  }

  // ---- client requests -------------------------------------------------------------------------

  /** Client request `id` runs now; `abort` cancels it. */
  begin(id: RequestId, abort: AbortController): void {
    this.#requests.set(id, abort);
  }

  /**
   * Client request `id` was answered (or failed, or was cancelled): it is forgotten, and the
   * server→client requests it carried are withdrawn (their upstream no longer waits). A client
   * reusing an id while the first is in flight does not unregister the newer one.
   */
  end(id: RequestId, abort: AbortController): void {
    if (this.#requests.get(id) === abort) this.#requests.delete(id);
    // Checked first so the common call (nothing asked) walks no map.
    if (this.#asked.size !== 0) this.#withdraw((asked) => asked.relatedTo === id, 'the request it belonged to has ended');
  }

  /** The client's notifications/cancelled: false when no request of that id runs here (it may run on another replica). */
  cancelledByClient(requestId: unknown): boolean {
    const abort = typeof requestId === 'string' || typeof requestId === 'number' ? this.#requests.get(requestId) : undefined;
    if (!abort) return false;
    // The handler's wait ends; the upstream connection tells the one upstream that owns the request.
    abort.abort(new McpmuxError('MCPMUX_REQUEST_CANCELLED', `request ${String(requestId)} was cancelled by the client`));
    return true;
  }

  /**
   * The session ends here: every client request is aborted with `reason`, and every upstream still
   * waiting on the client gets an error (resolves once those are sent).
   */
  async close(reason: McpmuxError): Promise<void> {
    for (const abort of this.#requests.values()) abort.abort(reason);
    this.#requests.clear();
    const error = new McpmuxError('MCPMUX_SESSION_NOT_FOUND', 'the client session was closed');
    await Promise.all([...this.#asked.keys()].map((id) => this.#settle(id, { error })));
  }

  // ---- server→client requests ------------------------------------------------------------------

  /** Sends the client `request` of `target` under an id of ours, on the stream of `relatedTo`. */
  ask(target: string, upstream: UpstreamConnection, request: JSONRPCRequest, relatedTo: RequestId | undefined): void {
    const id = `${ID_PREFIX}${this.#next++}${this.#options.idSuffix ?? ''}`;
    const params = (request.params ?? {}) as Params;
    const meta = params._meta as Params | undefined;
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
    this.#asked.set(id, { target, upstream, upstreamId: request.id, relatedTo, upstreamToken, timer });
    if (!this.#options.channel.send(outgoing, relatedTo)) {
      this.#settle(id, { error: new McpmuxError('MCPMUX_SESSION_NOT_FOUND', 'the client session is closed') });
    }
  }

  /** The client's answer to one of our requests, passed to its upstream; false if it answers nothing we asked. */
  answered(response: JSONRPCResponse): boolean {
    const id = response.id;
    if (typeof id !== 'string' || !this.#asked.has(id)) return false;
    this.#settle(id, 'error' in response ? { upstreamError: response.error } : { result: response.result as Params });
    return true;
  }

  /** Client progress on one of our requests, passed to its upstream under the upstream's token; false if not ours. */
  progressFromClient(params: Params | undefined): boolean {
    const token = params?.progressToken;
    const asked = typeof token === 'string' ? this.#asked.get(token) : undefined;
    if (!asked || asked.upstreamToken === undefined) return false;
    asked.upstream.notify('notifications/progress', { ...params, progressToken: asked.upstreamToken }, { timeoutMs: this.#options.timeoutMs }).catch((error: unknown) =>
      this.#options.logger.debug({ err: errorMessage(error) }, 'client progress not delivered'),
    );
    return true;
  }

  /** The upstream gave up on its request (notifications/cancelled): the client is told too. */
  cancelledByUpstream(target: string, upstreamId: unknown, reason: unknown): void {
    this.#withdraw((asked) => asked.target === target && asked.upstreamId === upstreamId, typeof reason === 'string' ? reason : 'cancelled by the server');
  }

  /** A target left the backend: its requests are withdrawn. */
  dropTarget(target: string): void {
    this.#withdraw((asked) => asked.target === target, `target ${target} was removed`);
  }

  #withdraw(matches: (asked: ServerRequest) => boolean, reason: string): void {
    for (const [id, asked] of this.#asked) {
      if (matches(asked)) void this.#settle(id, { cancelled: reason });
    }
  }

  /** The one way out of #asked. */
  #settle(id: string, outcome: Settlement): Promise<void> {
    const asked = this.#asked.get(id);
    if (!asked) return Promise.resolve();
    this.#asked.delete(id);
    clearTimeout(asked.timer);
    const { upstream, upstreamId, target } = asked;
    if ('cancelled' in outcome) {
      // Withdrawn on our side: the client stops working on it; the upstream no longer waits.
      this.#options.channel.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: outcome.cancelled } }, asked.relatedTo);
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
