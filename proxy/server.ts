// The proxy's data plane: a bound port per Gateway listener port (proxy/downstream/port-binding.ts:
// plain HTTP, or HTTPS terminated with the certificate SNI picks), the routing table it currently
// serves (swapped atomically by apply()), the downstream sessions (streamable HTTP and legacy SSE
// at each route's prefix) and the upstream connection pool. A request reaches the listener of its
// port that takes its Host (proxy/routing/hosts.ts), and only that listener's routes; Host and
// Origin are checked before anything else.
//
// Where each Gateway port is served is the operator's choice (listenerPorts: `mcpmux proxy
// --listener-ports 80=8080,443=8443`; the provisioner maps each to itself in a cluster). Without
// it the proxy serves the Gateway's lowest listener port on its one --port, as the tutorial's
// single HTTP listener on 80 is served on 8080.
import { ListCache } from './mux/list-cache.ts';
import { ListWatchers } from './mux/list-watchers.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { McpmuxError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { MemoryEventStore } from './downstream/event-store.ts';
import { HttpGuard } from './downstream/http-guard.ts';
import { LegacySseEndpoint } from './downstream/legacy-sse.ts';
import type { DownstreamOptions } from './downstream/options.ts';
import { SessionAdmission } from './downstream/session-admission.ts';
import { header } from './downstream/read-message.ts';
import { refuse, sendError, sendInternalError } from './downstream/respond.ts';
import { StreamableHttpEndpoint } from './downstream/streamable-http.ts';
import { isSupportedProtocolVersion, LATEST_PROTOCOL_VERSION, LEGACY_SSE_PROTOCOL_VERSION } from './federation/initialize.ts';
import { MuxSession } from './mux/session.ts';
import { matchRoute, type RouteMatch } from './routing/match.ts';
import { listenerIndex, routeFor, routeView, selectListener, type ListenerPort, type ServedListener } from './routing/hosts.ts';
import { PortBinding } from './downstream/port-binding.ts';
import { requestHostname } from '../shared/net/hostnames.ts';
import { RESOURCE_METADATA_PATH, sendUnauthorized, serveResourceMetadata } from './auth/resource-metadata.ts';
import type { Principal } from './auth/authenticator.ts';
import type { RoutingTable } from './routing/table.ts';
import { SessionRegistry } from './sessions/registry.ts';
import { UpstreamPool } from './upstream/pool.ts';
import { FleetSessions } from './fleet/sessions.ts';
import type { ClientChannel } from './mux/channel.ts';
import type { CompiledRoute } from './routing/table.ts';
import type { TransportKind } from './downstream/options.ts';
import { createModernServing } from './modern/serving.ts';
import type { RequestStateCodec, RequestStateKeys } from './modern/request-state.ts';
import type { ModernUpstreams } from './modern/upstreams.ts';
import type { ListenStreams } from './modern/listen.ts';
import { resolveProxyOptions, type ProxyServerOptions, type ResolvedProxyOptions } from './server-options.ts';

export type { ProxyServerOptions } from './server-options.ts';
export { boundAddresses } from './downstream/port-binding.ts';

/** A drain waits this long after the last request: pooled connections of a balancer go idle by then. */
const DRAIN_QUIET_MS = 1_000;


export class ProxyServer {
  readonly #options: ResolvedProxyOptions;
  readonly #logger: Logger;
  readonly #pool: UpstreamPool;
  readonly #sessions: SessionRegistry;
  readonly #guard: HttpGuard;
  readonly #streamable: StreamableHttpEndpoint;
  readonly #legacy: LegacySseEndpoint;
  readonly #fleetSessions: FleetSessions | undefined;
  readonly #modernUpstreams: ModernUpstreams;
  readonly #requestState: RequestStateCodec;
  readonly #listen: ListenStreams;
  /** The upstream lists every session and modern request of this server shares (mux/list-cache.ts). */
  readonly #lists: ListCache;
  readonly #eraListeners: Array<(target: string, era: 'legacy' | 'modern') => void> = [];
  #table: RoutingTable | undefined;
  /** One per bound port. */
  readonly #bindings: PortBinding[];
  /** Requests being answered now, streams of the session excepted (what a drain waits for). */
  #inFlight = 0;
  #lastRequestAt = 0;
  #draining = false;

  constructor(options: ProxyServerOptions) {
    this.#options = resolveProxyOptions(options);
    this.#logger = options.logger;
    this.#lists = new ListCache({ legacyTtlMs: this.#options.listCacheTtlMs ?? 0 });
    this.#pool = new UpstreamPool({
      keepAliveTimeoutMs: this.#options.upstreamKeepAliveMs,
      logger: this.#logger,
      onEra: (target: string, era: 'legacy' | 'modern') => {
        options.metrics?.upstreamEra(target, era);
        for (const listener of this.#eraListeners) listener(target, era);
      },
    });
    // The list cache listens to the targets whose lists it keeps until their list_changed.
    const { initializeTimeoutMs, targetRetryMs: retryAfterMs } = this.#options;
    this.#lists.watchers = new ListWatchers({ pool: this.#pool, logger: this.#logger, initializeTimeoutMs, retryAfterMs, invalidate: (...args) => this.#lists.invalidate(...args) });
    const fleet = options.fleet;
    this.#sessions = new SessionRegistry({
      logger: this.#logger,
      idleTtlMs: this.#options.sessionIdleTtlMs,
      onRemoved: (id: string) => {
        admission.removed(id);
        this.#fleetSessions?.removed(id);
      },
      ...(fleet
        ? {
            onActive: (id: string) => fleet.touch(id),
            usedElsewhere: (id: string) => this.#fleetSessions?.usedElsewhere(id) === true,
            onDeleted: (id: string) => this.#fleetSessions?.ended(id),
          }
        : {}),
    });
    const admission = new SessionAdmission({
      sessions: this.#sessions,
      maxSessions: this.#options.maxSessions,
      maxSessionsPerPrincipal: this.#options.maxSessionsPerPrincipal,
      maxAnonymousSessionsPerAddress: this.#options.maxAnonymousSessionsPerAddress,
      onLimit: options.onLimit,
    });
    this.#guard = new HttpGuard({ allowedOrigins: options.allowedOrigins, allowedHosts: options.allowedHosts, bindAddress: options.address });
    const createSession = (id: string, route: CompiledRoute, channel: ClientChannel, transport: TransportKind, principal: string | undefined): MuxSession =>
      new MuxSession({
        id,
        routePrefix: route.pathPrefix,
        routeName: route.name,
        principal,
        channel,
        pool: this.#pool,
        logger: this.#logger,
        serverInfo: this.#options.serverInfo,
        requestTimeoutMs: this.#options.requestTimeoutMs,
        initializeTimeoutMs: this.#options.initializeTimeoutMs,
        targetRetryMs: this.#options.targetRetryMs,
        fallbackProtocolVersion: transport === 'sse' ? LEGACY_SSE_PROTOCOL_VERSION : LATEST_PROTOCOL_VERSION,
        transport,
        ...(this.#fleetSessions ? { fleet: this.#fleetSessions.hooks(id) } : {}),
        metrics: options.metrics,
        listCache: this.#lists,
      });
    this.#fleetSessions = fleet
      ? new FleetSessions({
          fleet,
          registry: this.#sessions,
          logger: this.#logger,
          route: (name, prefix) => (this.#table ? routeFor(this.#table, name, prefix) : undefined),
          createSession,
          onAdopted: () => options.metrics?.adopted(),
        })
      : undefined;
    const downstream: DownstreamOptions = {
      sessions: this.#sessions,
      logger: this.#logger,
      maxBodyBytes: this.#options.maxBodyBytes,
      store: options.eventStore ?? new MemoryEventStore({ maxEventsPerSession: 256, maxBytesPerSession: 512 * 1024 }),
      keepAliveMs: this.#options.sseKeepAliveMs,
      maxBufferedBytes: this.#options.slowClientBufferBytes,
      maxJsonDepth: this.#options.maxJsonDepth,
      admission,
      uninitializedSessionTtlMs: this.#options.sessionInitializeTimeoutMs,
      maxInFlightPerSession: this.#options.maxInFlightPerSession,
      onLimit: options.onLimit,
      legacyResumeGraceMs: this.#options.legacyResumeGraceMs,
      createSession,
      ...(this.#fleetSessions ? { fleet: this.#fleetSessions } : {}),
    };
    const modern = createModernServing(this.#options, { pool: this.#pool, lists: this.#lists, logger: this.#logger, fleet, sessionRouter: options.sessionRouter });
    ({ upstreams: this.#modernUpstreams, requestState: this.#requestState, listen: this.#listen } = modern);
    downstream.modern = modern.endpoint;
    this.#streamable = new StreamableHttpEndpoint(downstream);
    this.#legacy = new LegacySseEndpoint(downstream);
    const onRequest = (req: IncomingMessage, res: ServerResponse, binding: PortBinding): void => this.#onRequest(req, res, binding);
    const bind = (gatewayPort: number | undefined, port: number): PortBinding =>
      new PortBinding({ address: options.address, port, gatewayPort, current: () => this.#portOf(gatewayPort), onRequest, logger: this.#logger });
    const mapped = options.listenerPorts ? [...options.listenerPorts] : [];
    const bindPorts = mapped.map(([, port]) => port).filter((port) => port !== 0);
    if (new Set(bindPorts).size !== bindPorts.length) throw new McpmuxError('MCPMUX_USAGE', 'listenerPorts binds one port for two Gateway ports');
    this.#bindings = mapped.length > 0 ? mapped.map(([gatewayPort, port]) => bind(gatewayPort, port)) : [bind(undefined, options.port)];
  }

  /** The listeners of a Gateway port in the current table (undefined gatewayPort: its lowest). */
  #portOf(gatewayPort: number | undefined, table = this.#table): ListenerPort | undefined {
    if (!table) return undefined;
    const index = listenerIndex(table);
    return gatewayPort === undefined ? index.firstPort : index.ports.get(gatewayPort);
  }

  /**
   * Binds the ports. MCP requests get 503 until the first apply(). A loopback bind (127.0.0.1, ::1,
   * localhost) serves both loopback families on each port, since `localhost` resolves to ::1 first
   * for many clients; without IPv6 on the machine it says so and serves IPv4 alone.
   */
  async start(): Promise<void> {
    try {
      for (const binding of this.#bindings) await binding.start();
    } catch (error) {
      await Promise.all(this.#bindings.map((binding) => binding.stopListening()));
      throw error;
    }
    this.#sessions.start();
    this.#logger.debug({ addresses: this.addresses, ports: this.#bindings.map((b) => `${b.gatewayPort ?? 'first'}=${b.port}`) }, 'MCP ports bound');
  }

  async #stopListening(): Promise<void> {
    await Promise.all(this.#bindings.map((binding) => binding.stopListening()));
  }

  /** The addresses MCP is served on (after start()). */
  get addresses(): string[] {
    return [...new Set(this.#bindings.flatMap((binding) => binding.addresses))];
  }

  /** The first bound port (after start()): the only one unless listenerPorts maps several. */
  get port(): number {
    return this.#bindings[0]!.port;
  }

  /** Where a Gateway listener port is served (after start()); undefined when it is not. */
  portOf(gatewayPort: number): number | undefined {
    return this.#bindings.find((binding) => binding.gatewayPort === gatewayPort)?.port;
  }

  /** Downstream sessions open now (both transports). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Sessions held now, by transport. */
  sessionsByTransport(): Record<string, number> {
    const counts: Record<string, number> = { 'streamable-http': 0, sse: 0 };
    for (const session of this.#sessions.values()) counts[session.transport] = (counts[session.transport] ?? 0) + 1;
    return counts;
  }

  /** The version of the applied table; undefined before the first apply(). */
  get version(): string | undefined {
    return this.#table?.version;
  }

  /**
   * Serves `table` from now on. Requests in flight finish on the table they started with; open
   * sessions keep working, losing the targets that left their backend (their upstream sessions
   * are closed) and meeting new ones on first use. No connection is dropped.
   */
  apply(table: RoutingTable): void {
    const previous = this.#table;
    this.#table = table;
    // Before any request runs on it: lists of targets that changed or left are not served again.
    this.#lists.retain(table.routes);
    for (const binding of this.#bindings) binding.applied();
    for (const session of this.#sessions.values()) {
      const route = routeFor(table, session.routeName, session.routePrefix);
      if (route) session.routeName = route.name;
      session.retain(route?.backend);
    }
    this.#listen.applied(table);
    this.#logger.info({ version: table.version, routes: table.routes.length }, 'routing table applied');
    this.#sayUnserved(table, previous);
  }

  /** Listeners of the table on ports this proxy does not serve: said when that changes, not on every table. */
  #sayUnserved(table: RoutingTable, previous: RoutingTable | undefined): void {
    const unserved = (t: RoutingTable | undefined): string[] =>
      (t?.listeners ?? []).filter((l) => !this.#bindings.some((b) => this.#portOf(b.gatewayPort, t) === listenerIndex(t!).ports.get(l.port))).map((l) => `${l.name} (port ${l.port})`);
    const now = unserved(table);
    if (now.length === 0 || now.join() === unserved(previous).join()) return;
    const hint = this.#options.listenerPorts ? 'add it to --listener-ports' : 'serve each listener port with --listener-ports GATEWAY_PORT=PORT,...';
    this.#logger.warn({ listeners: now }, `listeners not served by this proxy: ${hint}`);
  }

  /** Told each upstream era verdict (target name, era), e.g. to report it to the control plane. */
  onUpstreamEra(listener: (target: string, era: 'legacy' | 'modern') => void): void {
    this.#eraListeners.push(listener);
  }

  /** New requestState keys (from the control plane, or a rotated key file): the previous one still opens its tokens. */
  setRequestStateKeys(keys: RequestStateKeys): void {
    this.#requestState.setKeys(keys);
  }

  /** Whether a drain has begun (readiness says not ready). */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Graceful shutdown: stops accepting connections (and tells clients on open ones to reconnect
   * elsewhere), hands this replica's sessions to the fleet (its heartbeat goes, survivors adopt
   * them, streams held here end so their clients resume on another replica), waits for the requests
   * in flight to be answered (at most `timeoutMs`), then closes. Without a fleet the sessions end.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    // Idle keep-alive connections are not closed now: a client (a balancer) may be writing a request
    // on one at this very moment, and it would be reset. Answers from now on say Connection: close,
    // and the quiet period below outlasts a balancer's idle timeout; what is left is closed at the end.
    // http.Server#close() would also close idle connections (Node ≥ 19): net.Server's only stops listening.
    const closed = this.#stopListening();
    // Everything below, NATS included, is done by the deadline whatever NATS does (it may be away).
    const deadline = Date.now() + timeoutMs;
    const fleet = this.#options.fleet;
    if (fleet) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([fleet.leave(), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      for (const session of this.#sessions.values()) {
        // Upstream GET streams and client streams move to the replica that adopts the session.
        session.ownerChanged(false);
        (session.channel as ClientChannel & { released?: () => void }).released?.();
      }
    }
    // Answered, and quiet long enough for a balancer's pooled connections to us to have gone idle.
    const busy = (): boolean => this.#inFlight > 0 || [...this.#sessions.values()].some((s) => s.inFlight > 0);
    while (Date.now() < deadline && (busy() || Date.now() - this.#lastRequestAt < DRAIN_QUIET_MS)) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (this.#inFlight > 0) this.#logger.warn({ inFlight: this.#inFlight }, 'drain timed out with requests in flight');
    this.#legacy.close();
    this.#listen.closeAll();
    if (fleet) await this.#sessions.detachAll();
    else await this.#sessions.closeAll();
    for (const binding of this.#bindings) binding.closeAllConnections();
    await closed;
    await this.#modernUpstreams.close();
    await this.#lists.watchers?.close();
    await this.#pool.close();
    // The last writes to NATS get what is left of the time (at least a moment); then the connection is closed.
    if (fleet) await fleet.close(Math.max(250, deadline - Date.now()));
    this.#logger.info('drained');
  }

  /** Stops listening, ends every session (DELETE upstream where there is a session id), closes the pool. */
  async close(): Promise<void> {
    if (this.#options.fleet) {
      // Sessions are the fleet's: a replica that stops lets go of them (drain() without waiting).
      await this.drain(0);
      return;
    }
    const closed = this.#stopListening();
    for (const binding of this.#bindings) binding.closeIdleConnections();
    this.#legacy.close();
    this.#listen.closeAll();
    await this.#sessions.closeAll();
    for (const binding of this.#bindings) binding.closeAllConnections();
    await closed;
    await this.#modernUpstreams.close();
    await this.#lists.watchers?.close();
    await this.#pool.close();
  }

  /** A request another worker of the pod passed on (its session is held here), as if it had come to the binding of `gatewayPort`. */
  serveForwarded(req: IncomingMessage, res: ServerResponse, gatewayPort: number | undefined): void {
    const binding = this.#bindings.find((b) => b.gatewayPort === gatewayPort) ?? this.#bindings[0]!;
    this.#onRequest(req, res, binding, true);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, binding: PortBinding, forwarded = false): void {
    // Read once: the whole request runs on the table it started with.
    const table = this.#table;
    this.#lastRequestAt = Date.now();
    // Session streams stay open until the drain ends them; everything else is waited for.
    if (req.method !== 'GET') {
      this.#inFlight++;
      res.once('close', () => {
        this.#inFlight--;
        this.#lastRequestAt = Date.now();
      });
    }
    if (this.#draining) res.setHeader('connection', 'close');
    try {
      if (!table) {
        this.#guard.check(req, res);
        req.resume();
        sendError(res, new McpmuxError('MCPMUX_NO_SNAPSHOT', 'mcpmux has no configuration yet; retry shortly'), null, { 'retry-after': '1' });
        return;
      }
      const { served, hostname } = this.#listenerOf(req, table, binding);
      // A listener with hostnames took this Host by name: the default Host allow-list (localhost
      // names on a loopback bind) is for listeners without any; one given explicitly holds everywhere.
      this.#guard.check(req, res, served.listener.hostnames.length === 0 || this.#guard.hostsConfigured);
      // Checked here (Host, Origin, TLS name) and again by the owner, which serves it on the table it has.
      const owner = forwarded ? undefined : this.#options.sessionRouter?.ownerElsewhere(req);
      if (owner !== undefined) {
        this.#options.sessionRouter!.forward(req, res, owner, binding.gatewayPort);
        return;
      }
      const view = routeView(served, hostname);
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const pathname = query === -1 ? url : url.slice(0, query);
      if (pathname.startsWith(RESOURCE_METADATA_PATH)) {
        req.resume();
        serveResourceMetadata(req, res, view, pathname);
        return;
      }
      const match = matchRoute(view, pathname);
      if (!match || match.endpoint === undefined) {
        req.resume();
        sendError(res, new McpmuxError('MCPMUX_ROUTE_NOT_FOUND', `No MCP endpoint at ${pathname}`));
        return;
      }
      if (req.method === 'OPTIONS') {
        this.#guard.preflight(req, res);
        return;
      }
      const authenticator = match.route.backend.authenticator;
      if (authenticator) {
        authenticator
          .authenticate(header(req, 'authorization'), header(req, 'x-api-key'))
          .then((outcome) => {
            if (!outcome.ok) {
              req.resume();
              sendUnauthorized(req, res, match.route, outcome);
              return;
            }
            this.#dispatch(req, res, match, outcome.principal);
          })
          .catch((error: unknown) => this.#internalError(res, error));
        return;
      }
      this.#dispatch(req, res, match, undefined);
    } catch (error) {
      this.#internalError(res, error);
    }
  }

  /**
   * The listener of the request's port that takes its Host (hosts.ts), or a refusal (thrown, and
   * answered as such): no listener of this Gateway on this port, or none that takes the Host (404,
   * as Gateway API says); on TLS, a Host another listener than the SNI's takes (421: the client
   * reused a connection for a name its certificate was not chosen for).
   */
  #listenerOf(req: IncomingMessage, table: RoutingTable, binding: PortBinding): { served: ServedListener; hostname: string } {
    const port = this.#portOf(binding.gatewayPort, table);
    if (!port) throw new McpmuxError('MCPMUX_ROUTE_NOT_FOUND', 'No listener of this Gateway is served on this port');
    const hostname = requestHostname(req.headers.host ?? '');
    const listener = selectListener(port, hostname || undefined);
    const socket = req.socket as Partial<TLSSocket>;
    if (socket.encrypted) {
      const sni = typeof socket.servername === 'string' ? socket.servername.toLowerCase() : undefined;
      const chosen = selectListener(port, sni);
      if (listener && chosen && listener !== chosen) {
        throw new McpmuxError('MCPMUX_MISDIRECTED', `Host ${hostname} is not served on this TLS connection (its certificate is for ${sni ?? 'clients without SNI'}): open a connection for ${hostname}`);
      }
    }
    if (!listener) throw new McpmuxError('MCPMUX_ROUTE_NOT_FOUND', `No listener of this Gateway takes host ${JSON.stringify(hostname)} on this port`);
    return { served: listenerIndex(table).listeners.get(listener.name)!, hostname };
  }

  /** Serves an MCP request on its route, as `principal` (undefined: anonymous). */
  #dispatch(req: IncomingMessage, res: ServerResponse, match: RouteMatch, principal: Principal | undefined): void {
    try {
      if (this.#draining && req.method === 'GET') {
        // A stream opened now would end with the drain: the client opens it on another replica.
        req.resume();
        sendError(res, refuse('MCPMUX_FLEET_UNAVAILABLE', 'this replica is shutting down: open the stream again (another replica serves it)'));
        return;
      }
      // A POST's era is decided by its body (streamable-http.ts): its version header is checked there.
      const version = header(req, 'mcp-protocol-version');
      const streamablePost = req.method === 'POST' && match.endpoint !== 'legacy-message';
      if (version !== undefined && !streamablePost && !isSupportedProtocolVersion(version)) {
        req.resume();
        sendError(res, refuse('MCPMUX_UNSUPPORTED_PROTOCOL_VERSION', `Unsupported MCP-Protocol-Version: ${version}`));
        return;
      }
      if (match.endpoint === 'legacy-message') {
        if (req.method === 'POST') {
          this.#legacy.post(req, res, match.route, principal).catch((error: unknown) => this.#internalError(res, error));
        } else {
          req.resume();
          sendError(res, refuse('MCPMUX_METHOD_NOT_ALLOWED', `${req.method ?? 'This method'} is not allowed here; POST messages`), null, { allow: 'POST, OPTIONS' });
        }
        return;
      }
      // A GET without a session is the legacy transport's stream; everything else is streamable HTTP.
      if (req.method === 'GET' && header(req, 'mcp-session-id') === undefined) {
        if (!/text\/event-stream/i.test(header(req, 'accept') ?? '')) {
          req.resume();
          sendError(res, refuse('MCPMUX_NOT_ACCEPTABLE', 'GET opens an event stream: Accept must allow text/event-stream'));
          return;
        }
        this.#legacy.open(req, res, match.route, principal).catch((error: unknown) => this.#internalError(res, error));
        return;
      }
      this.#streamable.handle(req, res, match.route, principal);
    } catch (error) {
      this.#internalError(res, error);
    }
  }

  #internalError(res: ServerResponse, error: unknown): void {
    sendInternalError(res, this.#logger, error, 'unexpected error routing request');
  }
}
