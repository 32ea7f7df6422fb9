// One downstream MCP session of the multiplexer: initialize fans out to every target of the
// backend (a target whose answer is cached is opened on first use instead: lazy-targets.ts), then
// each request goes where its method says: answered here (ping), federated over all targets
// (lists, logging/setLevel), or routed to the one target a name, URI or task id names.
// Each request runs on the backend of the table it started with; the session itself outlives
// tables (retain() follows the cluster and tells the client when its lists changed). Which id
// belongs to which request (client requests, progress tokens, server→client requests) is kept by
// one Correlation (correlation.ts); what upstreams send besides answers is relayed by UpstreamRelay.
import type {
  Implementation,
  InitializeRequestParams,
  JSONRPCErrorResponse,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResponse,
} from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Principal } from '../auth/authenticator.ts';
import type { Logger } from '../../shared/log.ts';
import { negotiateProtocolVersion } from '../federation/initialize.ts';
import { LIST_METHODS } from '../federation/lists.ts';
import { namesArePrefixed } from '../federation/names.ts';
import type { CompiledBackend } from '../routing/table.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { ClientChannel } from './channel.ts';
import { TargetConnections, type SharedUpstream } from './connections.ts';
import { RequestAbort } from '../request-abort.ts';
import type { ListCacheScope, RequestContext } from './context.ts';
import { errorResponse, newErrorId } from './jsonrpc-error.ts';
import { completeOwners, listFederated } from './lists.ts';
import { stableJson, type ListCache } from './list-cache.ts';
import { NameIndex } from './name-index.ts';
import { Correlation, progressTokenOf } from './correlation.ts';
import { callTool, complete, forwardByUri, forwardTask, getPrompt, subscription } from './routed.ts';
import { setLevelEverywhere } from './set-level.ts';
import { initializeTargets, upstreamInitializeParams } from './initialize-fanout.ts';
import { LazyTargets } from './lazy-targets.ts';
import { ALL_LIST_KINDS, ListChanges } from './list-changes.ts';
import { UpstreamRelay } from './upstream-relay.ts';
import { UpstreamState } from './upstream-state.ts';
import type { ProxyMetrics } from '../metrics.ts';
import { tracingEnabled } from '../../shared/telemetry/tracing.ts';
import { endSpan, inSpan, startServerSpan, type RequestSpan } from '../tracing.ts';

export interface MuxSessionOptions {
  id: string;
  /** The route prefix the session was created on; it is only served there. */
  routePrefix: string;
  /** The name of the route it was created on (listeners of one Gateway may serve one prefix with different routes); undefined: any route at its prefix. */
  routeName?: string;
  /** Who opened it (an authenticated principal's id); only that principal may use it. Undefined: anonymous. */
  principal?: string;
  /** Where server→client messages go (the downstream transport's streams). */
  channel: ClientChannel;
  pool: UpstreamPool;
  logger: Logger;
  /** Our serverInfo, for backends that configure none. */
  serverInfo: Implementation;
  requestTimeoutMs: number;
  initializeTimeoutMs: number;
  targetRetryMs: number;
  /** What a client asking for a version we do not know is offered (legacy SSE: 2024-11-05). */
  fallbackProtocolVersion?: string;
  /** The downstream transport (for metrics and logs). Default streamable-http. */
  transport?: 'streamable-http' | 'sse';
  /** Set when replicas share sessions (NATS): this replica's part in it. */
  fleet?: SessionFleetHooks;
  metrics?: ProxyMetrics | undefined;
  /** The server's upstream list cache; undefined: every list is asked of the upstreams. */
  listCache?: ListCache | undefined;
}

/** What a session needs from the fleet when several replicas serve it (proxy/fleet). */
export interface SessionFleetHooks {
  /** This replica's id: suffix of our server→client request ids, so answers find their way back. */
  replicaId: string;
  /** Whether this replica owns the session now: it listens to upstreams and tells the client of list changes. */
  isOwner(): boolean;
  /** A client message this replica cannot place (an answer or progress for another replica's request, a cancel of a request running elsewhere). */
  forward(message: JSONRPCResponse | JSONRPCNotification): void;
  /** Upstream sessions were opened or re-opened here: the session record should say so. */
  upstreamsChanged(): void;
}

/** What another replica needs to serve this session (see SessionRecord). */
export interface SessionState {
  protocolVersion: string;
  initializeParams: InitializeRequestParams;
  upstreams: Record<string, SharedUpstream>;
}

type Params = Record<string, unknown> | undefined;
/** A response without its envelope: what a handler produces before the client's id is put back. */
type Outcome = { result: Record<string, unknown> } | { error: JSONRPCErrorResponse['error'] };

export class MuxSession {
  readonly id: string;
  readonly routePrefix: string;
  /** The route it is served on: its name in the table applied last (the proxy follows renames, server.ts apply()). */
  routeName: string | undefined;
  readonly principal: string | undefined;
  readonly channel: ClientChannel;
  readonly transport: 'streamable-http' | 'sse';
  /** Date.now() of the last request; the registry evicts idle sessions by it. */
  lastActiveAt = Date.now();
  readonly #options: MuxSessionOptions;
  readonly #logger: Logger;
  readonly #connections: TargetConnections;
  readonly #names = new NameIndex(completeOwners);
  /** The session's ids and tokens: requests in flight, progress routes, server→client requests. */
  readonly #correlation: Correlation;
  readonly #relay: UpstreamRelay;

  /** Client requests being answered now. */
  get inFlight(): number {
    return this.#correlation.inFlight;
  }
  /** What the client hears of list changes (of the kinds it has listed). */
  readonly #listChanges: ListChanges;
  #protocolVersion: string | undefined;
  #initialized = false;
  #closed = false;
  /** The backend as the last table had it, and what of it decides the lists the client sees. */
  #backend: CompiledBackend | undefined;
  #visibility = '';
  /** What upstreams keep for this session (logging level, subscriptions), restored when they forget. */
  readonly #state: UpstreamState;
  /** This session's view of the list cache, once the capabilities its upstreams are told are known. */
  #lists: ListCacheScope | undefined;
  /** Targets answered from cached initialize answers and opened on first use (none in a fleet). */
  #lazy: LazyTargets | undefined;

  constructor(options: MuxSessionOptions) {
    this.id = options.id;
    this.routePrefix = options.routePrefix;
    this.routeName = options.routeName;
    this.principal = options.principal;
    this.channel = options.channel;
    this.transport = options.transport ?? 'streamable-http';
    this.#options = options;
    this.#logger = options.logger.child({ session: options.id });
    this.#state = new UpstreamState({ logger: this.#logger, requestTimeoutMs: options.requestTimeoutMs });
    this.#listChanges = new ListChanges({
      channel: options.channel,
      logger: this.#logger,
      names: this.#names,
      listCache: options.listCache,
      backend: () => this.#backend?.name,
      // Every replica serving the session sees the same change: its owner alone tells the client.
      mayTell: () => this.#initialized && !this.#closed && (!options.fleet || options.fleet.isOwner()),
    });
    this.#correlation = new Correlation({
      channel: options.channel,
      logger: this.#logger,
      timeoutMs: options.requestTimeoutMs,
      ...(options.fleet ? { idSuffix: `@${options.fleet.replicaId}` } : {}),
    });
    this.#relay = new UpstreamRelay({
      channel: options.channel,
      correlation: this.#correlation,
      logger: this.#logger,
      urisArePrefixed: () => (this.#backend ? namesArePrefixed(this.#backend.prefixMode, this.#backend.targets.length) : true),
      onListChanged: (target, kind) => this.#listChanges.targetChanged(target, kind),
    });
    this.#connections = new TargetConnections({
      pool: options.pool,
      logger: this.#logger,
      initializeTimeoutMs: options.initializeTimeoutMs,
      retryAfterMs: options.targetRetryMs,
      onMessage: (target, upstream, message, relatedTo) => this.#relay.relay(target, upstream, message, relatedTo),
      // The upstream polls (SEP-1699): the client's stream for that request may poll too.
      onStreamPaused: (_target, relatedTo, retryMs) => {
        if (relatedTo !== undefined) this.channel.pauseRequest?.(relatedTo, retryMs);
      },
      onReinitialized: (target) => {
        this.#logger.info({ target }, 'target re-initialized; telling the client its lists may have changed');
        this.#listChanges.forgetTarget(target);
        // The upstream forgot the session's state: restore what we know of it.
        const compiled = this.#backend?.targetsByName.get(target);
        const upstream = this.#connections.connected(target);
        if (compiled && upstream) void this.#state.reinitialized(compiled, upstream);
        this.#listChanges.tell(ALL_LIST_KINDS);
        this.#options.fleet?.upstreamsChanged();
      },
      afterConnect: async (target, upstream) => {
        this.#lazy?.record(target, upstream);
        await this.#state.connected(target, upstream);
        if (this.#initialized) this.#options.fleet?.upstreamsChanged();
      },
      ...(options.fleet ? { listening: () => options.fleet?.isOwner() === true } : {}),
    });
  }

  /** What another replica needs to serve this session; undefined before initialize. */
  state(): SessionState | undefined {
    const initializeParams = this.#connections.initializeParams;
    if (!this.#initialized || this.#protocolVersion === undefined || !initializeParams) return undefined;
    return { protocolVersion: this.#protocolVersion, initializeParams, upstreams: this.#connections.shared() };
  }

  /**
   * Serves a session another replica initialized: no handshake with the client or the upstreams;
   * the upstream sessions it opened are used as they are (targets whose endpoint is gone, stdio and
   * legacy SSE targets get sessions of their own on first use).
   */
  restore(state: SessionState, backend: CompiledBackend): void {
    this.#protocolVersion = state.protocolVersion;
    this.#backend = backend;
    this.#visibility = backend.fingerprint;
    this.#connections.setInitializeParams(state.initializeParams);
    this.#useListCache(state.initializeParams);
    // Lists may have been asked for elsewhere: any list change is news.
    this.#listChanges.listedAll();
    for (const target of backend.targets) {
      const shared = state.upstreams[target.name];
      if (shared) this.#connections.adopt(target, shared);
    }
    this.#initialized = true;
  }

  /** Upstream sessions another replica opened or re-opened since: used from now on. */
  refreshUpstreams(upstreams: Record<string, SharedUpstream>): void {
    const current = this.#connections.shared();
    for (const target of this.#backend?.targets ?? []) {
      const shared = upstreams[target.name];
      if (shared && shared.sessionId !== current[target.name]?.sessionId) this.#connections.adopt(target, shared);
    }
  }

  /** This replica became (or stopped being) the session's owner: upstream GET streams follow. */
  ownerChanged(owner: boolean): void {
    this.#connections.setListening(owner);
  }

  /** The version negotiated with the client; undefined before initialize. */
  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  get initialized(): boolean {
    return this.#initialized;
  }

  /**
   * Opens an upstream session with every target in parallel (each with its initialize timeout),
   * but for targets whose answer is cached (opened on first use: lazy-targets.ts). Fail-open: a
   * failing target is left out with a warning; failure mode closed: the answer is an error and the
   * caller must not keep the session.
   */
  initialize(request: JSONRPCRequest, backend: CompiledBackend, trace?: Readonly<Record<string, string>>): Promise<JSONRPCResponse> {
    if (!tracingEnabled) return this.#initialize(request, backend);
    const span = startServerSpan(request, { protocolVersion: undefined, sessionId: this.id, route: this.routeName, headers: trace });
    return inSpan(span, async () => {
      try {
        const response = await this.#initialize(request, backend);
        if (this.#protocolVersion !== undefined) span.span.setAttribute('mcp.protocol.version', this.#protocolVersion);
        endSpan(span, 'error' in response ? response : { result: response.result });
        return response;
      } catch (error) {
        endSpan(span, { thrown: error });
        throw error;
      }
    });
  }

  async #initialize(request: JSONRPCRequest, backend: CompiledBackend): Promise<JSONRPCResponse> {
    if (this.#initialized) return errorResponse(request.id, new McpmuxError('MCPMUX_INVALID_REQUEST', 'the session is already initialized'));
    const params = (request.params ?? {}) as Partial<InitializeRequestParams>;
    const protocolVersion = negotiateProtocolVersion(params.protocolVersion, this.#options.fallbackProtocolVersion);
    this.#protocolVersion = protocolVersion;
    this.#backend = backend;
    this.#visibility = backend.fingerprint;
    const upstreamParams = upstreamInitializeParams(params, protocolVersion);
    this.#connections.setInitializeParams(upstreamParams);
    this.#useListCache(upstreamParams);
    // Targets with a cached answer are not reached now (lazy-targets.ts); the others are opened in parallel.
    const opened = await initializeTargets(backend, (target) => this.#lazy?.answer(target) ?? this.#connections.get(target), {
      protocolVersion,
      serverInfo: this.#options.serverInfo,
      logger: this.#logger,
    });
    if ('failed' in opened) return errorResponse(request.id, opened.failed);
    this.#initialized = true;
    this.#options.metrics?.request('initialize', 'ok');
    return { jsonrpc: '2.0', id: request.id, result: opened.result };
  }

  /** Answers one request; never throws (errors become JSON-RPC error responses). */
  handleRequest(
    request: JSONRPCRequest,
    backend: CompiledBackend,
    abort: AbortController,
    identity?: Principal,
    trace?: Readonly<Record<string, string>>,
  ): Promise<JSONRPCResponse> {
    // With tracing on, the request runs in its SERVER span (its log lines carry the trace id); off, one boolean read.
    if (!tracingEnabled) return this.#answer(request, backend, abort, identity, trace, undefined);
    const span = startServerSpan(request, { protocolVersion: this.#protocolVersion, sessionId: this.id, route: this.routeName, headers: trace });
    return inSpan(span, () => this.#answer(request, backend, abort, identity, trace, span));
  }

  async #answer(
    request: JSONRPCRequest,
    backend: CompiledBackend,
    abort: AbortController,
    identity: Principal | undefined,
    trace: Readonly<Record<string, string>> | undefined,
    span: RequestSpan | undefined,
  ): Promise<JSONRPCResponse> {
    const started = process.hrtime.bigint();
    this.lastActiveAt = Date.now();
    this.#options.metrics?.clientEra('legacy');
    this.#correlation.begin(request.id, abort);
    const ctx: RequestContext = {
      backend,
      // Decided per request, from the claims this request carried (a refreshed token's groups count).
      access: backend.access?.for(identity),
      connections: this.#connections,
      logger: this.#logger,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      signal: abort.signal,
      abortHooks: abort instanceof RequestAbort ? abort : undefined,
      requestId: request.id,
      progressToken: progressTokenOf(request.params),
      progress: this.#correlation.progress,
      names: this.#names,
      metrics: this.#options.metrics,
      trace,
      span,
      lists: this.#lists,
    };
    let response: JSONRPCResponse | undefined;
    try {
      const outcome = await this.#dispatch(ctx, request.method, request.params as Params);
      // A tool result with isError is a failed call too, though a JSON-RPC success.
      this.#options.metrics?.request(request.method, 'error' in outcome || outcome.result.isError === true ? 'error' : 'ok');
      response = 'error' in outcome
        ? { jsonrpc: '2.0', id: request.id, error: outcome.error }
        : { jsonrpc: '2.0', id: request.id, result: outcome.result };
      return response;
    } catch (error) {
      const errorId = error instanceof McpmuxError ? undefined : newErrorId();
      if (errorId !== undefined) this.#logger.error({ err: error, errorId, method: request.method }, 'request failed');
      this.#options.metrics?.request(request.method, abort.signal.aborted ? 'cancelled' : 'error');
      response = errorResponse(request.id, error, errorId);
      return response;
    } finally {
      if (span) endSpan(span, response ?? { thrown: undefined });
      this.#correlation.end(request.id, abort);
      // One line per request at debug level: the session id is on this logger, the request's here.
      if (this.#logger.isLevelEnabled('debug')) {
        this.#logger.debug({ request: request.id, method: request.method, ms: Number(process.hrtime.bigint() - started) / 1e6, traceparent: trace?.traceparent }, 'request answered');
      }
    }
  }

  /** Client notifications: cancellation and progress are routed, roots changes fanned out. */
  handleNotification(notification: JSONRPCNotification, fromFleet = false): void {
    this.lastActiveAt = Date.now();
    const fleet = fromFleet ? undefined : this.#options.fleet;
    const params = notification.params as Params;
    switch (notification.method) {
      case 'notifications/cancelled':
        // Not running here: it may run on another replica.
        if (!this.#correlation.cancelledByClient(params?.requestId)) fleet?.forward(notification);
        return;
      case 'notifications/progress':
        // On a server→client request another replica asked, if not one of ours.
        if (!this.#correlation.progressFromClient(params)) fleet?.forward(notification);
        return;
      case 'notifications/roots/list_changed':
        for (const [target, upstream] of this.#connections.established()) {
          upstream.notify(notification.method, params, { timeoutMs: this.#options.requestTimeoutMs }).catch((error: unknown) =>
            this.#logger.debug({ target, err: errorMessage(error) }, 'roots/list_changed not delivered'),
          );
        }
        return;
      case 'notifications/initialized':
        return; // each upstream got its own when its handshake completed
      default:
        this.#logger.debug({ method: notification.method }, 'client notification ignored');
    }
  }

  /** The client's answer to a server→client request; false when it answers nothing we asked. */
  handleResponse(response: JSONRPCResponse, fromFleet = false): boolean {
    this.lastActiveAt = Date.now();
    if (this.#correlation.answered(response)) return true;
    if (!this.#options.fleet || fromFleet) return false;
    this.#options.fleet.forward(response); // asked by another replica
    return true;
  }

  /**
   * After a new table: targets that left are dropped (their upstream sessions closed once idle,
   * their server→client requests withdrawn), new ones are met on first use, and the client hears
   * that its lists changed when the targets it can see changed.
   */
  retain(backend: CompiledBackend | undefined): void {
    const names = new Set(backend ? backend.targets.map((t) => t.name) : []);
    for (const target of this.#backend?.targets ?? []) {
      if (names.has(target.name)) continue;
      this.#correlation.dropTarget(target.name);
      this.#state.forget(target.name);
    }
    this.#connections.retain(names);
    const visibility = backend ? backend.fingerprint : '';
    this.#backend = backend;
    if (visibility === this.#visibility) return;
    this.#visibility = visibility;
    this.#listChanges.tell(ALL_LIST_KINDS);
  }

  /**
   * Ends the session on this replica only: the fleet keeps it (another replica serves it next),
   * so upstream sessions are left open and nothing is sent to them.
   */
  async detach(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lazy?.close();
    await this.#correlation.close(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `session ${this.id} moved to another replica; retry`));
    this.channel.close();
    await this.#connections.detachAll();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lazy?.close();
    // Upstreams waiting on the client hear it is gone before their sessions close.
    await this.#correlation.close(new McpmuxError('MCPMUX_SESSION_NOT_FOUND', `session ${this.id} was closed`));
    this.channel.close();
    await this.#connections.closeAll();
  }

  async #dispatch(ctx: RequestContext, method: string, params: Params): Promise<Outcome> {
    if (method === 'ping') return { result: {} };
    if (!this.#initialized) throw new McpmuxError('MCPMUX_NOT_INITIALIZED', `${method}: the session is not initialized yet (send initialize first)`);
    const listKind = LIST_METHODS[method];
    if (listKind !== undefined) {
      this.#listChanges.listed(listKind);
      return { result: await listFederated(ctx, method, listKind, params) };
    }
    switch (method) {
      case 'tools/call':
        return callTool(ctx, params);
      case 'prompts/get':
        return getPrompt(ctx, params);
      case 'resources/read':
        return forwardByUri(ctx, method, params);
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const { response, target, uri } = await subscription(ctx, method, params);
        if ('result' in response) this.#state.noteSubscription(target, uri, method === 'resources/subscribe');
        return response;
      }
      case 'completion/complete':
        return complete(ctx, params);
      case 'tasks/get':
      case 'tasks/result':
      case 'tasks/cancel':
        return forwardTask(ctx, method, params);
      case 'logging/setLevel':
        this.#state.setLogLevel(params?.level);
        return { result: await setLevelEverywhere(ctx, params, (target) => this.#lazy?.isUnopened(target) === true) };
      case 'initialize':
        throw new McpmuxError('MCPMUX_INVALID_REQUEST', 'the session is already initialized');
      default:
        throw new McpmuxError('MCPMUX_METHOD_NOT_FOUND', `Method not found: ${method}`);
    }
  }

  /**
   * The session's upstreams are told these capabilities whatever their era (a modern upstream gets
   * them in every request's _meta): they are what its lists may depend on besides the target.
   */
  #useListCache(params: InitializeRequestParams): void {
    const cache = this.#options.listCache;
    if (!cache) return;
    const capabilities = stableJson(params.capabilities);
    // Not in a fleet: a replica that restores the session knows nothing of what this one has not opened.
    const lazy = this.#options.fleet ? undefined : new LazyTargets({ cache, connections: this.#connections, params, clientCapabilities: capabilities, backend: () => this.#backend?.name, onListChanged: (target, kind) => this.#listChanges.targetChanged(target, kind, false) });
    this.#lazy = lazy;
    // The upstream is told nothing of the principal: sessions of different principals share lists (authorization filters after).
    this.#lists = { cache, clientCapabilities: () => capabilities, principal: this.principal, preEncoded: true, ...(lazy ? { unopened: (target) => lazy.unopened(target) } : {}) };
  }
}

