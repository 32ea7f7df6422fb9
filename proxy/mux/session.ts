// One downstream MCP session of the multiplexer: initialize fans out to every target of the
// backend, then each request goes where its method says: answered here (ping), federated over all
// targets (lists, logging/setLevel), or routed to the one target a name or URI names. Each request
// runs on the backend of the table it started with; the session itself outlives tables.
import type {
  ClientCapabilities,
  Implementation,
  InitializeRequestParams,
  JSONRPCErrorResponse,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResponse,
  RequestId,
  ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { buildInitializeResult, negotiateProtocolVersion } from '../federation/initialize.ts';
import { LIST_METHODS } from '../federation/lists.ts';
import type { CompiledBackend } from '../routing/table.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { TargetConnections } from './connections.ts';
import { forward, type RequestContext } from './context.ts';
import { errorResponse } from './jsonrpc-error.ts';
import { listFederated } from './lists.ts';
import { callTool, complete, forwardByUri, getPrompt } from './routed.ts';

export interface MuxSessionOptions {
  id: string;
  /** The route prefix the session was created on; it is only served there. */
  routePrefix: string;
  pool: UpstreamPool;
  logger: Logger;
  serverInfo: Implementation;
  requestTimeoutMs: number;
  initializeTimeoutMs: number;
  targetRetryMs: number;
}

type Params = Record<string, unknown> | undefined;
/** A response without its envelope: what a handler produces before the client's id is put back. */
type Outcome = { result: Record<string, unknown> } | { error: JSONRPCErrorResponse['error'] };

export class MuxSession {
  readonly id: string;
  readonly routePrefix: string;
  /** Date.now() of the last request; the registry evicts idle sessions by it. */
  lastActiveAt = Date.now();
  readonly #options: MuxSessionOptions;
  readonly #logger: Logger;
  readonly #connections: TargetConnections;
  /** Requests in flight by downstream id, so notifications/cancelled can abort them. */
  readonly #inFlight = new Map<RequestId, AbortController>();
  #protocolVersion: string | undefined;

  constructor(options: MuxSessionOptions) {
    this.id = options.id;
    this.routePrefix = options.routePrefix;
    this.#options = options;
    this.#logger = options.logger.child({ session: options.id });
    this.#connections = new TargetConnections({
      pool: options.pool,
      logger: this.#logger,
      initializeTimeoutMs: options.initializeTimeoutMs,
      retryAfterMs: options.targetRetryMs,
      // Relaying upstream notifications to the client needs SSE responses / the GET stream (issue 4).
      onNotification: (target, message) => this.#logger.debug({ target, method: message.method }, 'upstream notification not relayed'),
    });
  }

  /** The version negotiated with the client; undefined before initialize. */
  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  /**
   * Opens an upstream session with every target in parallel (each with its initialize timeout).
   * Fail-open: a failing target is left out with a warning; failure mode closed: the answer is an
   * error and the caller must not keep the session.
   */
  async initialize(request: JSONRPCRequest, backend: CompiledBackend): Promise<JSONRPCResponse> {
    const params = (request.params ?? {}) as Partial<InitializeRequestParams>;
    const protocolVersion = negotiateProtocolVersion(params.protocolVersion);
    this.#protocolVersion = protocolVersion;
    this.#connections.setInitializeParams({
      protocolVersion,
      capabilities: upstreamCapabilities(params.capabilities),
      clientInfo: params.clientInfo ?? { name: 'unknown', version: '0' },
    });
    const settled = await Promise.allSettled(backend.targets.map((target) => this.#connections.get(target)));
    const capabilities: ServerCapabilities[] = [];
    for (const [i, outcome] of settled.entries()) {
      const target = backend.targets[i]?.name;
      if (outcome.status === 'fulfilled') {
        capabilities.push(outcome.value.initializeResult?.capabilities ?? {});
      } else if (backend.failureMode === 'closed') {
        return errorResponse(request.id, outcome.reason);
      } else {
        this.#logger.warn({ target, err: errorMessage(outcome.reason) }, 'target left out of session (initialize failed)');
      }
    }
    const result = buildInitializeResult({ protocolVersion, serverInfo: this.#options.serverInfo, capabilities });
    return { jsonrpc: '2.0', id: request.id, result };
  }

  /** Answers one request; never throws (errors become JSON-RPC error responses). */
  async handleRequest(request: JSONRPCRequest, backend: CompiledBackend, abort: AbortController): Promise<JSONRPCResponse> {
    this.lastActiveAt = Date.now();
    this.#inFlight.set(request.id, abort);
    const ctx: RequestContext = {
      backend,
      connections: this.#connections,
      logger: this.#logger,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      signal: abort.signal,
    };
    try {
      const outcome = await this.#dispatch(ctx, request.method, request.params as Params);
      return 'error' in outcome
        ? { jsonrpc: '2.0', id: request.id, error: outcome.error }
        : { jsonrpc: '2.0', id: request.id, result: outcome.result };
    } catch (error) {
      if (!(error instanceof McpmuxError)) this.#logger.error({ err: error, method: request.method }, 'request failed');
      return errorResponse(request.id, error);
    } finally {
      if (this.#inFlight.get(request.id) === abort) this.#inFlight.delete(request.id);
    }
  }

  /** Client notifications: cancellation is routed; the rest have nothing to do here yet. */
  handleNotification(notification: JSONRPCNotification): void {
    this.lastActiveAt = Date.now();
    switch (notification.method) {
      case 'notifications/cancelled': {
        const requestId = (notification.params as Params)?.requestId as RequestId | undefined;
        const abort = requestId === undefined ? undefined : this.#inFlight.get(requestId);
        abort?.abort(new McpmuxError('MCPMUX_REQUEST_CANCELLED', `request ${String(requestId)} was cancelled by the client`));
        return;
      }
      case 'notifications/initialized':
        return; // each upstream got its own when its handshake completed
      default:
        this.#logger.debug({ method: notification.method }, 'client notification ignored');
    }
  }

  /** After a new table: drop upstream sessions of targets that left (all of them if the route went). */
  retain(backend: CompiledBackend | undefined): void {
    this.#connections.retain(new Set(backend ? backend.targets.map((t) => t.name) : []));
  }

  async close(): Promise<void> {
    for (const abort of this.#inFlight.values()) abort.abort(new McpmuxError('MCPMUX_SESSION_NOT_FOUND', `session ${this.id} was closed`));
    this.#inFlight.clear();
    await this.#connections.closeAll();
  }

  async #dispatch(ctx: RequestContext, method: string, params: Params): Promise<Outcome> {
    const listKind = LIST_METHODS[method];
    if (listKind !== undefined) return { result: await listFederated(ctx, method, listKind, params) };
    switch (method) {
      case 'ping':
        return { result: {} };
      case 'tools/call':
        return callTool(ctx, params);
      case 'prompts/get':
        return getPrompt(ctx, params);
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return forwardByUri(ctx, method, params);
      case 'completion/complete':
        return complete(ctx, params);
      case 'logging/setLevel':
        return { result: await this.#setLevel(ctx, params) };
      case 'initialize':
        throw new McpmuxError('MCPMUX_INVALID_REQUEST', 'the session is already initialized');
      default:
        throw new McpmuxError('MCPMUX_METHOD_NOT_FOUND', `Method not found: ${method}`);
    }
  }

  /** Sets the level on every target that does logging; fail-open unless failure mode closed. */
  async #setLevel(ctx: RequestContext, params: Params): Promise<Record<string, never>> {
    const settled = await Promise.allSettled(
      ctx.backend.targets.map(async (target) => {
        const upstream = await ctx.connections.get(target);
        if (!upstream.initializeResult?.capabilities.logging) return;
        const response = await forward(ctx, target, 'logging/setLevel', params);
        if ('error' in response) throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target.name}: ${response.error.message}`);
      }),
    );
    for (const [i, outcome] of settled.entries()) {
      if (outcome.status === 'fulfilled') continue;
      if (ctx.backend.failureMode === 'closed') throw outcome.reason;
      this.#logger.warn({ target: ctx.backend.targets[i]?.name, err: errorMessage(outcome.reason) }, 'logging/setLevel not applied');
    }
    return {};
  }
}

/**
 * The client's capabilities as upstreams see them: without the server→client features we do not
 * relay yet (roots, sampling, elicitation, tasks), so upstreams do not start what cannot finish.
 */
function upstreamCapabilities(capabilities: ClientCapabilities | undefined): ClientCapabilities {
  if (!capabilities) return {};
  const { roots: _roots, sampling: _sampling, elicitation: _elicitation, tasks: _tasks, ...rest } = capabilities;
  return rest;
}
