// The upstream connections 2026-07-28 clients' requests use. They have no session of their own, so:
// - a modern target gets one stateless connection per endpoint, shared by every request (each
//   request carries its client's `_meta`), and a request picks its endpoint round-robin;
// - a 2025 target gets pooled upstream sessions, keyed by target, principal (anonymous clients share
//   one pool per target) and the client capabilities the upstream is told of, opened with a
//   synthetic initialize and re-initialized by the session itself when the upstream forgets it.
// What upstreams send about a request in flight (progress, logs, their own requests) reaches that
// request through its sink, handed to the upstream request as its `relatedTo`.
import type { ClientCapabilities, InitializeRequestParams } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { MCPMUX_VERSION } from '../../shared/version.ts';
import type { UpstreamSource } from '../mux/context.ts';
import type { CompiledTarget, EndpointUrl } from '../routing/table.ts';
import type { Related, UpstreamConnection, UpstreamMessage, UpstreamOptions } from '../upstream/connection.ts';
import { ModernUpstream } from '../upstream/modern.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { UpstreamSession } from '../upstream/session.ts';
import { LegacySseUpstream } from '../upstream/legacy-sse.ts';

export interface ModernUpstreamsOptions {
  pool: UpstreamPool;
  logger: Logger;
  initializeTimeoutMs: number;
  /** A pooled 2025 session unused this long is closed. Default 5 min. */
  idleMs?: number;
  /** After a pooled session's handshake failed, requests wait this long before trying again. Default 5 s. */
  retryAfterMs?: number;
}

/** The version a synthetic initialize asks a 2025 upstream for. */
const BRIDGE_PROTOCOL_VERSION = '2025-11-25';

interface Pooled {
  ready: Promise<UpstreamConnection>;
  session: UpstreamConnection | undefined;
  endpoint: string;
  lastUsed: number;
  failedAt: number | undefined;
}

/**
 * The capabilities a 2025 upstream session opened for a 2026-07-28 client is told of: what the
 * request declared it may be asked (sampling, elicitation, roots), so the upstream asks only that,
 * as a 2026-07-28 server would. Requests that declare the same share a pooled session.
 */
export function bridgedCapabilities(capabilities: Readonly<Record<string, unknown>>): ClientCapabilities {
  const out: ClientCapabilities = {};
  if (capabilities.sampling !== undefined) out.sampling = {};
  if (capabilities.elicitation !== undefined) out.elicitation = capabilities.elicitation as ClientCapabilities['elicitation'];
  if (capabilities.roots !== undefined) out.roots = {};
  return out;
}

/** A request's view of the connections: one small object, no closure (it is made for every request). */
class RequestSource implements UpstreamSource {
  readonly #upstreams: ModernUpstreams;
  readonly #principal: string | undefined;
  readonly #capabilities: Readonly<Record<string, unknown>>;

  constructor(upstreams: ModernUpstreams, principal: string | undefined, capabilities: Readonly<Record<string, unknown>>) {
    this.#upstreams = upstreams;
    this.#principal = principal;
    this.#capabilities = capabilities;
  }

  get(target: CompiledTarget): Promise<UpstreamConnection> {
    return this.#upstreams.connection(target, this.#principal, this.#capabilities);
  }
}

function statelessKey(target: CompiledTarget, endpoint: EndpointUrl): string {
  return `${target.backend}\u0000${target.name}\u0000${endpoint.url}`;
}

export class ModernUpstreams {
  readonly #options: ModernUpstreamsOptions;
  readonly #stateless = new Map<string, ModernUpstream>();
  readonly #pooled = new Map<string, Pooled>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: ModernUpstreamsOptions) {
    this.#options = options;
    const idleMs = options.idleMs ?? 5 * 60_000;
    this.#sweeper = setInterval(() => this.#sweep(idleMs), Math.min(idleMs, 60_000));
    this.#sweeper.unref();
  }

  /** The connections one request of `principal` with these client capabilities uses. */
  source(principal: string | undefined, clientCapabilities: Readonly<Record<string, unknown>>): UpstreamSource {
    return new RequestSource(this, principal, clientCapabilities);
  }

  /** One target's connection for a request (RequestSource.get). */
  connection(target: CompiledTarget, principal: string | undefined, clientCapabilities: Readonly<Record<string, unknown>>): Promise<UpstreamConnection> {
    return this.#get(target, principal, clientCapabilities);
  }

  /** Pooled sessions open now (for tests and metrics). */
  get pooledSessions(): number {
    return this.#pooled.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const pooled = [...this.#pooled.values()];
    this.#pooled.clear();
    const stateless = [...this.#stateless.values()];
    this.#stateless.clear();
    await Promise.all([...pooled.map((p) => p.ready.then((s) => s.close(), () => undefined)), ...stateless.map((s) => s.close())]);
  }

  #get(target: CompiledTarget, principal: string | undefined, clientCapabilities: Readonly<Record<string, unknown>>): Promise<UpstreamConnection> {
    if (target.unavailable !== undefined) return Promise.reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${target.name} is unavailable: ${target.unavailable}`));
    const { pool } = this.#options;
    if (target.stdio || target.protocol === 'PROTOCOL_SSE' || target.protocolEra === 'legacy') return this.#pooledFor(target, principal, bridgedCapabilities(clientCapabilities));
    const endpoint = pool.pickEndpoint(target);
    if (!endpoint) return Promise.reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${target.name} has no ready endpoints`));
    // The hot path: the verdict and the connection are known, no await.
    const known = pool.eras.cached(target, endpoint);
    if (known?.era === 'modern') {
      const upstream = this.#stateless.get(statelessKey(target, endpoint));
      if (upstream && !upstream.closed && upstream.initializeResult) return Promise.resolve(upstream);
    }
    return this.#decide(target, endpoint, principal, clientCapabilities);
  }

  async #decide(target: CompiledTarget, endpoint: EndpointUrl, principal: string | undefined, clientCapabilities: Readonly<Record<string, unknown>>): Promise<UpstreamConnection> {
    const verdict = await this.#options.pool.eras.verdict(target, endpoint);
    return verdict.era === 'modern' ? this.#statelessFor(target, endpoint) : this.#pooledFor(target, principal, bridgedCapabilities(clientCapabilities));
  }

  async #statelessFor(target: CompiledTarget, endpoint: EndpointUrl): Promise<UpstreamConnection> {
    const key = statelessKey(target, endpoint);
    let upstream = this.#stateless.get(key);
    if (!upstream || upstream.closed) {
      // No listen stream of its own: listen streams are the clients' (ListenStreams).
      const created: ModernUpstream = new ModernUpstream({ ...this.#upstreamOptions(target, endpoint, () => created), listen: false, eras: this.#options.pool.eras, compiled: target });
      upstream = created;
      this.#stateless.set(key, created);
    }
    if (!upstream.initializeResult) await upstream.initialize({ protocolVersion: BRIDGE_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpmux', version: MCPMUX_VERSION } }, { timeoutMs: this.#options.initializeTimeoutMs });
    return upstream;
  }

  #pooledFor(target: CompiledTarget, principal: string | undefined, capabilities: ClientCapabilities): Promise<UpstreamConnection> {
    const key = `${target.backend}\u0000${target.name}\u0000${principal ?? ''}\u0000${JSON.stringify(capabilities)}`;
    const existing = this.#pooled.get(key);
    const now = Date.now();
    if (existing) {
      const stillServes = target.endpoints.some((e) => e.url === existing.endpoint) && !existing.session?.closed;
      if (existing.failedAt !== undefined && now - existing.failedAt < (this.#options.retryAfterMs ?? 5_000)) return existing.ready;
      if (stillServes && existing.failedAt === undefined) {
        existing.lastUsed = now;
        return existing.ready;
      }
      this.#pooled.delete(key);
      void existing.ready.then((s) => s.closeWhenIdle(), () => undefined);
    }
    const endpoint = this.#options.pool.pickEndpoint(target);
    if (!endpoint) return Promise.reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${target.name} has no ready endpoints`));
    // The upstream opens no GET stream for a pooled session: nobody listens there (yet).
    const options: UpstreamOptions = { ...this.#upstreamOptions(target, endpoint, () => session), listen: false };
    const session: UpstreamConnection = target.protocol === 'PROTOCOL_SSE' ? new LegacySseUpstream(options) : new UpstreamSession(options);
    const entry: Pooled = { session, endpoint: endpoint.url, lastUsed: now, failedAt: undefined, ready: Promise.resolve(session) };
    const params: InitializeRequestParams = {
      protocolVersion: BRIDGE_PROTOCOL_VERSION,
      capabilities,
      // Shared by many clients: it introduces itself as the gateway, not as whichever client came first.
      clientInfo: { name: 'mcpmux', version: MCPMUX_VERSION },
    };
    entry.ready = session.initialize(params, { timeoutMs: target.initializeTimeoutMs ?? this.#options.initializeTimeoutMs }).then(
      () => session,
      (error: unknown) => {
        entry.failedAt = Date.now();
        session.close().catch(() => undefined);
        throw error instanceof Error ? error : new Error(String(error));
      },
    );
    this.#pooled.set(key, entry);
    this.#options.logger.debug({ target: target.name, endpoint: endpoint.url, principal }, 'pooled 2025 session opened for 2026-07-28 clients');
    return entry.ready;
  }

  #upstreamOptions(target: CompiledTarget, endpoint: EndpointUrl, upstream: () => UpstreamConnection): UpstreamOptions {
    return {
      dispatcher: this.#options.pool.dispatcher,
      target: target.name,
      endpoint,
      logger: this.#options.logger,
      deadlines: this.#options.pool.deadlines,
      onMessage: (message: UpstreamMessage, relatedTo: Related | undefined) => {
        if (typeof relatedTo === 'object') {
          relatedTo.message(target.name, upstream(), message);
          return;
        }
        if ('id' in message) {
          // A request about no request in flight: nobody can answer it; the upstream must not wait.
          upstream()
            .respond({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: `mcpmux cannot route ${message.method} to a 2026-07-28 client outside a request` } })
            .catch((error: unknown) => this.#options.logger.debug({ target: target.name, err: errorMessage(error) }, 'could not refuse an upstream request'));
        }
      },
    };
  }

  #sweep(idleMs: number): void {
    const now = Date.now();
    for (const [key, pooled] of this.#pooled) {
      if (now - pooled.lastUsed < idleMs) continue;
      this.#pooled.delete(key);
      void pooled.ready.then((s) => s.closeWhenIdle(), () => undefined);
    }
  }
}
