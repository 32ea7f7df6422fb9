// The upstream sessions of one downstream session: at most one per target, pinned to one endpoint
// (for a stdio target: its command, run as one process per session), opened at initialize or on
// first use (a target added by a new snapshot), replaced when its endpoint left the target's ready
// set (the command changed), closed when the target left the backend. A target whose
// handshake failed is not retried for `retryAfterMs`, so a dead target costs one attempt per
// window instead of one per request.
import type { InitializeRequestParams, InitializeResult, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { relatedId, type Related, type UpstreamConnection, type UpstreamMessage, type UpstreamOptions } from '../upstream/connection.ts';
import { LegacySseUpstream } from '../upstream/legacy-sse.ts';
import { UpstreamSession, type RestoredUpstream } from '../upstream/session.ts';
import { StdioUpstream } from '../upstream/stdio.ts';
import { ModernUpstream } from '../upstream/modern.ts';

export interface TargetConnectionsOptions {
  pool: UpstreamPool;
  logger: Logger;
  /** Used when the target sets no initialize timeout. */
  initializeTimeoutMs: number;
  retryAfterMs: number;
  /** What upstreams send besides answers (see UpstreamOptions.onMessage). */
  onMessage?: (target: string, upstream: UpstreamConnection, message: UpstreamMessage, relatedTo: RequestId | undefined) => void;
  /** A connected target re-initialized its upstream session (it had lost it). */
  onReinitialized?: (target: string) => void;
  /** An upstream ended a request's SSE stream before answering (see UpstreamOptions.onStreamPaused). */
  onStreamPaused?: (target: string, relatedTo: RequestId | undefined, retryMs: number) => void;
  /** Runs after each new handshake, before the connection is used (re-applies session state). */
  afterConnect?: (target: CompiledTarget, session: UpstreamConnection) => Promise<void>;
  /**
   * Whether new upstream sessions open their GET stream. Default yes; in a fleet only the
   * session's owner replica listens (an upstream allows one GET stream per session).
   */
  listening?: () => boolean;
}

/** An upstream session other replicas can use: streamable HTTP, pinned to one endpoint. */
export interface SharedUpstream {
  sessionId?: string;
  endpoint: string;
  initializeResult: InitializeResult;
}

interface Connection {
  /** Undefined while the endpoint's era is being found out (the kind of connection depends on it). */
  session: UpstreamConnection | undefined;
  /** The endpoint it is pinned to. */
  endpoint: string;
  /** Resolves once the handshake is done; every user of the connection awaits it. */
  ready: Promise<UpstreamConnection>;
  /** The compiled target this connection was last checked against (skips re-checks per table). */
  checked: CompiledTarget;
  /** `ready` has resolved (handshake and afterConnect done): the session may be used without waiting. */
  usable: boolean;
}

export class TargetConnections {
  readonly #options: TargetConnectionsOptions;
  readonly #connections = new Map<string, Connection>();
  readonly #failures = new Map<string, { at: number; error: Error }>();
  #initParams: InitializeRequestParams | undefined;

  constructor(options: TargetConnectionsOptions) {
    this.#options = options;
  }

  /** What every upstream handshake sends; set once by the downstream initialize. */
  setInitializeParams(params: InitializeRequestParams): void {
    this.#initParams = params;
  }

  /** The initialize parameters every upstream handshake sends (undefined before the downstream initialize). */
  get initializeParams(): InitializeRequestParams | undefined {
    return this.#initParams;
  }

  /**
   * Uses an upstream session another replica opened (same session id and endpoint): no handshake.
   * False when the endpoint is no longer one of the target's ready ones (a new session is opened
   * on first use instead) or the target is not streamable HTTP.
   */
  adopt(target: CompiledTarget, shared: SharedUpstream): boolean {
    const params = this.#initParams;
    if (!params || target.stdio || target.protocol === 'PROTOCOL_SSE' || target.unavailable !== undefined) return false;
    const endpoint = target.endpoints.find((e) => e.url === shared.endpoint);
    if (!endpoint) return false;
    const session: UpstreamSession = new UpstreamSession(this.#upstreamOptions(target, endpoint, () => session));
    const restored: RestoredUpstream = { sessionId: shared.sessionId, initializeResult: shared.initializeResult, initParams: params };
    session.restore(restored, this.#options.listening?.() ?? true);
    const previous = this.#connections.get(target.name);
    if (previous) closeWhenIdle(previous);
    this.#connections.set(target.name, { session, endpoint: endpoint.url, ready: Promise.resolve(session), checked: target, usable: true });
    return true;
  }

  /** The upstream sessions other replicas can share, by target (streamable HTTP ones, handshake done). */
  shared(): Record<string, SharedUpstream> {
    const out: Record<string, SharedUpstream> = {};
    for (const [name, connection] of this.#connections) {
      const session = connection.session;
      if (!(session instanceof UpstreamSession) || !session.initializeResult || session.closed) continue;
      out[name] = { ...(session.sessionId === undefined ? {} : { sessionId: session.sessionId }), endpoint: session.endpoint.url, initializeResult: session.initializeResult };
    }
    return out;
  }

  /** Opens or closes the GET streams of the upstream sessions (the fleet moved the session's owner). */
  setListening(listen: boolean): void {
    for (const connection of this.#connections.values()) {
      if (connection.session instanceof UpstreamSession || connection.session instanceof ModernUpstream) connection.session.setListening(listen);
    }
  }

  /** The ready upstream session of `target`, connecting if needed. Throws MCPMUX_TARGET_UNAVAILABLE & co. */
  get(target: CompiledTarget): Promise<UpstreamConnection> {
    const existing = this.#connections.get(target.name);
    if (existing) {
      if (existing.checked === target || stillServes(existing.endpoint, target)) {
        existing.checked = target;
        return existing.ready;
      }
      this.#drop(target.name, 'its endpoint is no longer ready');
    }
    if (target.unavailable !== undefined) {
      return Promise.reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${target.name} is unavailable: ${target.unavailable}`));
    }
    const failure = this.#failures.get(target.name);
    if (failure && Date.now() - failure.at < this.#options.retryAfterMs) return Promise.reject(failure.error);
    return this.#connect(target);
  }

  /** The upstream session of `target` if it is ready and still serves it (what get() would resolve to at once); never connects. */
  ready(target: CompiledTarget): UpstreamConnection | undefined {
    const existing = this.#connections.get(target.name);
    // Another table's target: get() checks the endpoint again.
    if (!existing?.usable || existing.checked !== target) return undefined;
    return existing.session;
  }

  /** The upstream session of a target if its handshake completed; never connects. */
  connected(name: string): UpstreamConnection | undefined {
    const connection = this.#connections.get(name);
    return connection?.session?.initializeResult ? connection.session : undefined;
  }

  /** The targets whose handshake completed, with their upstream sessions. */
  established(): Array<[string, UpstreamConnection]> {
    const out: Array<[string, UpstreamConnection]> = [];
    for (const [name, connection] of this.#connections) {
      if (connection.session?.initializeResult && !connection.session.closed) out.push([name, connection.session]);
    }
    return out;
  }

  /** Closes the connections of targets not in `names` (they left the backend). */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.#connections.keys()) {
      if (!names.has(name)) this.#drop(name, 'the target was removed');
    }
    for (const name of this.#failures.keys()) if (!names.has(name)) this.#failures.delete(name);
  }

  /** Lets go of every upstream session: shared ones are left open for the fleet, the others closed. */
  async detachAll(): Promise<void> {
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map(async (c) => {
      const s = await settledSession(c);
      if (s instanceof UpstreamSession) s.detach();
      else await s?.close();
    }));
  }

  async closeAll(): Promise<void> {
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map(async (c) => (await settledSession(c))?.close()));
  }

  #connect(target: CompiledTarget): Promise<UpstreamConnection> {
    const params = this.#initParams;
    if (!params) return Promise.reject(new McpmuxError('MCPMUX_INVALID_REQUEST', 'the session is not initialized'));
    const endpoint = this.#options.pool.pickEndpoint(target);
    if (!endpoint) return Promise.reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${target.name} has no ready endpoints`));
    const { afterConnect } = this.#options;
    const timeoutMs = target.initializeTimeoutMs ?? this.#options.initializeTimeoutMs;
    const connection: Connection = { session: undefined, endpoint: endpoint.url, ready: Promise.resolve(undefined as never), checked: target, usable: false };
    connection.ready = (async (): Promise<UpstreamConnection> => {
      // The era decides the kind of connection: a 2026-07-28 upstream gets no session of its own.
      const era = target.stdio || target.protocol === 'PROTOCOL_SSE' ? 'legacy' : (await this.#options.pool.eras.verdict(target, endpoint)).era;
      // `session` is read when a message arrives, long after it is assigned.
      const session: UpstreamConnection =
        era === 'modern'
          ? new ModernUpstream({ ...this.#upstreamOptions(target, endpoint, () => session), eras: this.#options.pool.eras, toolParams: this.#options.pool.toolParams, compiled: target })
          : connectionFor(target, this.#upstreamOptions(target, endpoint, () => session));
      connection.session = session;
      try {
        await session.initialize(params, { timeoutMs });
      } catch (error) {
        session.close().catch(() => undefined);
        throw error;
      }
      return session;
    })().then(
      async (session) => {
        this.#failures.delete(target.name);
        await afterConnect?.(target, session);
        connection.usable = true;
        return session;
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        // Remembered only while this is still the target's connection (not dropped meanwhile).
        if (this.#connections.get(target.name) === connection) {
          this.#connections.delete(target.name);
          this.#failures.set(target.name, { at: Date.now(), error: failure });
        }
        throw failure;
      },
    );
    this.#connections.set(target.name, connection);
    return connection.ready;
  }

  #upstreamOptions(target: CompiledTarget, endpoint: UpstreamOptions['endpoint'], session: () => UpstreamConnection): UpstreamOptions {
    const { onMessage, onReinitialized, onStreamPaused, listening } = this.#options;
    return {
      dispatcher: this.#options.pool.dispatcher,
      target: target.name,
      endpoint,
      logger: this.#options.logger,
      deadlines: this.#options.pool.deadlines,
      ...(onMessage ? { onMessage: (message: UpstreamMessage, relatedTo: Related | undefined) => onMessage(target.name, session(), message, relatedId(relatedTo)) } : {}),
      ...(onReinitialized ? { onReinitialized: () => onReinitialized(target.name) } : {}),
      ...(onStreamPaused ? { onStreamPaused: (relatedTo: Related | undefined, retryMs: number) => onStreamPaused(target.name, relatedId(relatedTo), retryMs) } : {}),
      ...(listening && !target.stdio ? { listen: listening() } : {}),
    };
  }

  #drop(name: string, why: string): void {
    const connection = this.#connections.get(name);
    if (!connection) return;
    this.#connections.delete(name);
    this.#options.logger.debug({ target: name, why }, 'closing upstream session once idle');
    closeWhenIdle(connection);
  }
}

/** The connection's session once its handshake settled (undefined if it failed). */
function settledSession(connection: Connection): Promise<UpstreamConnection | undefined> {
  return connection.ready.then(
    (session) => session,
    () => undefined,
  );
}

function closeWhenIdle(connection: Connection): void {
  if (connection.session) connection.session.closeWhenIdle();
  else void settledSession(connection).then((session) => session?.closeWhenIdle());
}

/** The transport of the target's protocol; a stdio target's process starts with initialize. */
function connectionFor(target: CompiledTarget, options: UpstreamOptions): UpstreamConnection {
  if (target.stdio) return new StdioUpstream({ ...options, command: target.stdio });
  return target.protocol === 'PROTOCOL_SSE' ? new LegacySseUpstream(options) : new UpstreamSession(options);
}

/** Whether the connection's endpoint (a stdio target's: its command) is still one of the target's. */
function stillServes(endpoint: string, target: CompiledTarget): boolean {
  if (target.unavailable !== undefined) return false;
  return target.endpoints.some((e) => e.url === endpoint);
}
