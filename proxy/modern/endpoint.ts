// A 2026-07-28 request at a route's MCP endpoint, answered statelessly: no session is looked up and
// nothing leaves this replica but the upstream requests themselves. The envelope and the standard
// headers are checked first (in the spec's order), then the request runs through the same
// federation handlers as a 2025 session's (names, URIs, cursors, authorization), on connections
// made for requests without a session (ModernUpstreams), and its result is given what the modern
// wire requires (resultType, cache hints, our serverInfo).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Implementation, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { Principal } from '../auth/authenticator.ts';
import { header, traceContext } from '../downstream/read-message.ts';
import { sendError, sendInternalError } from '../downstream/respond.ts';
import { cursorScope, withCursorScope, type ListKind } from '../federation/cursor.ts';
import { LIST_METHODS } from '../federation/lists.ts';
import { wrapUri } from '../federation/resource-uris.ts';
import { namesArePrefixed } from '../federation/names.ts';
import type { ProxyMetrics } from '../metrics.ts';
import { tracingEnabled } from '../../shared/telemetry/tracing.ts';
import { endSpan, inSpan, startServerSpan, type RequestSpan } from '../tracing.ts';
import type { ListCacheScope, RequestContext } from '../mux/context.ts';
import { stableJson, type ListCache } from '../mux/list-cache.ts';
import { ModernUpstream } from '../upstream/modern.ts';
import { errorResponse, newErrorId } from '../mux/jsonrpc-error.ts';
import { completeOwners, listFederated } from '../mux/lists.ts';
import { NameIndex } from '../mux/name-index.ts';
import { ProgressRoutes } from '../mux/correlation.ts';
import { callTool, complete, forwardByUri, forwardTask, getPrompt } from '../mux/routed.ts';
import type { CompiledRoute } from '../routing/table.ts';
import type { RequestSink, UpstreamConnection, UpstreamMessage } from '../upstream/connection.ts';
import { CacheHints } from './cache-hints.ts';
import { discover } from './discover.ts';
import { buildUpstreamMeta, checkModernRequest, traceMeta, type ModernEnvelope } from './envelope.ts';
import { ModernExchange } from './exchange.ts';
import type { HeldCalls } from './held-calls.ts';
import { readListenFilter, type ListenStreams } from './listen.ts';
import { mcpParamDeclarations } from './mcp-param.ts';
import type { ToolParams } from './tool-params.ts';
import type { RequestStateCodec } from './request-state.ts';
import { ModernResponse } from './respond.ts';
import { bridgedCapabilities, type ModernUpstreams } from './upstreams.ts';
import { LOG_LEVELS, META_KEYS, MODERN_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSIONS, TASKS_EXTENSION } from './wire.ts';
import { RequestAbort } from '../request-abort.ts';

export interface ModernEndpointOptions {
  upstreams: ModernUpstreams;
  logger: Logger;
  serverInfo: Implementation;
  requestTimeoutMs: number;
  /** Seals and opens the gateway's requestState tokens. */
  requestState: RequestStateCodec;
  /** Calls to 2025 upstreams waiting for a modern client's input. */
  held: HeldCalls;
  /** The open subscriptions/listen streams. */
  listen: ListenStreams;
  /** What each target's tools declare with x-mcp-header. */
  toolParams: ToolParams;
  metrics?: ProxyMetrics | undefined;
  /** The server's upstream list cache; undefined: every list is asked of the upstreams. */
  listCache?: ListCache | undefined;
}

type Params = Record<string, unknown>;
type Outcome = { result: Params } | { error: { code: number; message: string; data?: unknown } };

/** Shared by requests that never register a progress token or look a name up (no state is kept in them then). */
const UNUSED_PROGRESS = new ProgressRoutes();
const UNUSED_NAMES = new NameIndex(completeOwners);
const UNUSED_HINTS = new CacheHints(true);

const LIST_METHOD_NAMES = new Set(Object.keys(LIST_METHODS));

/** Methods whose complete results carry cache hints. */
const CACHED_METHODS = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);


export class ModernEndpoint {
  readonly #options: ModernEndpointOptions;

  constructor(options: ModernEndpointOptions) {
    this.#options = options;
  }

  /** Answers one modern request (its body already read); never throws. */
  async handle(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal: Principal | undefined, request: JSONRPCRequest, sse: boolean): Promise<void> {
    let envelope: ModernEnvelope;
    try {
      envelope = checkModernRequest({ method: request.method, params: request.params as Params | undefined }, (name) => header(req, name), MODERN_PROTOCOL_VERSIONS).envelope;
    } catch (error) {
      if (error instanceof McpmuxError) sendError(res, error, request.id);
      else sendInternalError(res, this.#options.logger, error, 'checking a 2026-07-28 request failed', request.id);
      return;
    }
    this.#options.metrics?.clientEra('modern');
    if (request.method === 'subscriptions/listen') {
      await this.#listen(req, res, route, principal, request, envelope);
      return;
    }
    const response = new ModernResponse(res, sse);
    const abort = new RequestAbort();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new McpmuxError('MCPMUX_REQUEST_CANCELLED', 'the client closed the request stream'));
    });
    const trace = traceContext(req);
    // With tracing on, the request runs in its SERVER span (its log lines carry the trace id); off, one boolean read.
    const span = tracingEnabled ? startServerSpan(request, { protocolVersion: envelope.protocolVersion, route: route.name, headers: trace }) : undefined;
    const outcome = span
      ? await inSpan(span, () => this.#run(req, route, principal, request, envelope, response, abort, trace, span))
      : await this.#run(req, route, principal, request, envelope, response, abort, trace, undefined);
    if (span) endSpan(span, outcome);
    if ('error' in outcome) {
      // -32021 and -32020 (Mcp-Param-* headers) go with 400, as the spec's servers send them; every other handler error stays in band.
      response.finish({ jsonrpc: '2.0', id: request.id, error: outcome.error }, outcome.error.code === -32021 || outcome.error.code === -32020 ? 400 : 200);
      return;
    }
    response.finish({ jsonrpc: '2.0', id: request.id, result: outcome.result });
  }

  /** Opens a listen stream (its own answer: an SSE stream that lasts until the client closes it). */
  async #listen(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal: Principal | undefined, request: JSONRPCRequest, envelope: ModernEnvelope): Promise<void> {
    try {
      const filter = readListenFilter(request.params as Params | undefined);
      const holder = holderOf(req, principal);
      const meta = buildUpstreamMeta({ protocolVersion: MODERN_PROTOCOL_VERSION, clientCapabilities: envelope.clientCapabilities, clientInfo: envelope.clientInfo, extra: traceMeta(envelope.meta) });
      await this.#options.listen.open(res, request.id, holder, route, filter, meta);
      this.#options.metrics?.request('subscriptions/listen', 'ok');
    } catch (error) {
      this.#options.metrics?.request('subscriptions/listen', 'error');
      if (!(error instanceof McpmuxError)) sendInternalError(res, this.#options.logger, error, 'opening a subscriptions/listen stream failed', request.id);
      else if (error.code === 'MCPMUX_LIMIT_EXCEEDED') sendError(res, error, request.id);
      else new ModernResponse(res, false).finish(errorResponse(request.id, error));
    }
  }

  async #run(
    req: IncomingMessage,
    route: CompiledRoute,
    principal: Principal | undefined,
    request: JSONRPCRequest,
    envelope: ModernEnvelope,
    response: ModernResponse,
    abort: RequestAbort,
    trace: Record<string, string> | undefined,
    span: RequestSpan | undefined,
  ): Promise<Outcome> {
    const { upstreams, logger, metrics } = this.#options;
    const backend = route.backend;
    const method = request.method;
    const cached = CACHED_METHODS.has(method);
    // Progress routes and a name index cost a Map each: made only for the requests that use them.
    const progress = envelope.progressToken === undefined ? UNUSED_PROGRESS : new ProgressRoutes();
    const exchange = new ModernExchange({
      codec: this.#options.requestState,
      principal: principal?.id,
      held: this.#options.held,
      header: (name) => header(req, name),
      toolParams: this.#options.toolParams,
      timeoutMs: this.#options.requestTimeoutMs,
      capabilities: envelope.clientCapabilities,
      holder: holderOf(req, principal),
    });
    // What upstreams say about this request comes back to it through this sink (their relatedTo).
    const sink: RequestSink = { message: (target, upstream, message) => this.#upstreamMessage(target, upstream, message, envelope, progress, response, exchange, backend) };
    const hints = cached ? new CacheHints(principal !== undefined || backend.access !== undefined) : UNUSED_HINTS;
    const ctx: RequestContext = {
      backend,
      access: backend.access?.for(principal),
      connections: upstreams.source(principal?.id, envelope.clientCapabilities),
      logger,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      signal: abort.signal,
      abortHooks: abort,
      requestId: request.id,
      sink,
      progressToken: envelope.progressToken,
      progress,
      names: backend.prefixMode === 'never' ? new NameIndex(completeOwners) : UNUSED_NAMES,
      metrics,
      trace,
      span,
      // A modern upstream gets the client's own envelope: its version is ours (checked), and its
      // per-request capabilities, info, log level and trace context go on unchanged. The client's
      // progress token is replaced by ours in the params' own _meta, which wins.
      upstreamMeta: envelope.meta,
      exchange,
      onUpstreamList: !cached ? undefined : (target, kind, result) => {
        hints.add(result);
        if (kind !== 'tools' || !Array.isArray(result.tools)) return;
        this.#options.toolParams.learn(target, result.tools);
        // A tool whose x-mcp-header declarations are invalid must be dropped by clients: not listed.
        result.tools = result.tools.filter((tool: unknown) => 'ok' in mcpParamDeclarations((tool as { inputSchema?: unknown } | null)?.inputSchema));
      },
      lists: LIST_METHOD_NAMES.has(method) ? this.#listScope(envelope, principal) : undefined,
    };
    const started = process.hrtime.bigint();
    try {
      const outcome = await this.#dispatch(ctx, method, request.params as Params | undefined, envelope, hints);
      metrics?.request(method, 'error' in outcome || outcome.result.isError === true ? 'error' : 'ok');
      if ('error' in outcome) return { error: modernError(outcome.error) };
      return { result: this.#decorate(method, outcome.result, hints) };
    } catch (error) {
      const errorId = error instanceof McpmuxError ? undefined : newErrorId();
      if (errorId !== undefined) logger.error({ err: error, errorId, method }, 'modern request failed');
      metrics?.request(method, abort.signal.aborted ? 'cancelled' : 'error');
      return { error: errorResponse(request.id, error, errorId).error };
    } finally {
      // One line per request at debug level, as a 2025 session's requests get.
      if (logger.isLevelEnabled('debug')) {
        logger.debug({ era: 'modern', request: request.id, method, ms: Number(process.hrtime.bigint() - started) / 1e6, traceparent: trace?.traceparent }, 'request answered');
      }
    }
  }

  /**
   * A list request's view of the list cache: a modern upstream is told the request's whole client
   * capabilities (in its _meta), a pooled 2025 session only the bridged ones (upstreams.ts).
   */
  #listScope(envelope: ModernEnvelope, principal: Principal | undefined): ListCacheScope | undefined {
    const cache = this.#options.listCache;
    if (!cache) return undefined;
    let modern: string | undefined;
    let bridged: string | undefined;
    return {
      cache,
      clientCapabilities: (upstream) =>
        upstream instanceof ModernUpstream
          ? (modern ??= stableJson(envelope.clientCapabilities))
          : (bridged ??= stableJson(bridgedCapabilities(envelope.clientCapabilities))),
      principal: principal?.id,
    };
  }

  async #dispatch(ctx: RequestContext, method: string, params: Params | undefined, envelope: ModernEnvelope, hints: CacheHints): Promise<Outcome> {
    const listKind: ListKind | undefined = LIST_METHODS[method];
    if (listKind !== undefined) {
      // One cacheScope on every page of a composite cursor: the first page's, carried in the cursor.
      hints.inherit(cursorScope(params?.cursor));
      const result = await listFederated(ctx, method, listKind, params);
      if (typeof result.nextCursor === 'string') result.nextCursor = withCursorScope(listKind, result.nextCursor, hints.scope);
      return { result };
    }
    switch (method) {
      case 'server/discover':
        return { result: await discover(ctx) };
      case 'tools/call':
        return callTool(ctx, params);
      case 'prompts/get':
        return getPrompt(ctx, params);
      case 'resources/read':
        return forwardByUri(ctx, method, params);
      case 'completion/complete':
        return complete(ctx, params);
      case 'tasks/get':
      case 'tasks/update':
      case 'tasks/cancel': {
        const extensions = envelope.clientCapabilities.extensions as Params | undefined;
        if (!extensions || extensions[TASKS_EXTENSION] === undefined) {
          throw new McpmuxError('MCPMUX_MISSING_CAPABILITY', `${method} belongs to the ${TASKS_EXTENSION} extension: declare it in ${META_KEYS.clientCapabilities}.extensions`, {
            data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
          });
        }
        return forwardTask(ctx, method, params);
      }
      default:
        throw new McpmuxError('MCPMUX_REMOVED_METHOD', `Method not found: ${method}`);
    }
  }

  /**
   * What every modern result carries: resultType, our serverInfo, and cache hints where the spec
   * wants them. In place: the result is freshly parsed from an upstream answer, or built here.
   */
  #decorate(method: string, result: Params, hints: CacheHints): Params {
    if (result.resultType === undefined) result.resultType = 'complete';
    if (result.resultType === 'complete' && CACHED_METHODS.has(method)) {
      if (method === 'resources/read') hints.add(result);
      result.ttlMs = hints.ttlMs;
      result.cacheScope = hints.scope;
    } else if (result.ttlMs !== undefined || result.cacheScope !== undefined) {
      delete result.ttlMs;
      delete result.cacheScope;
    }
    const meta = result._meta;
    if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) (meta as Params)[META_KEYS.serverInfo] = this.#options.serverInfo;
    else result._meta = { [META_KEYS.serverInfo]: this.#options.serverInfo };
    return result;
  }

  /** What an upstream said about this request while it was in flight. */
  #upstreamMessage(
    target: string,
    upstream: UpstreamConnection,
    message: UpstreamMessage,
    envelope: ModernEnvelope,
    progress: ProgressRoutes,
    response: ModernResponse,
    exchange: ModernExchange,
    backend: CompiledRoute['backend'],
  ): void {
    if ('id' in message) {
      // A 2025 upstream asks the client something: it becomes input_required (the held call).
      exchange.serverRequest(target, upstream, message);
      return;
    }
    const params = message.params as Params | undefined;
    switch (message.method) {
      case 'notifications/progress': {
        const routed = progress.route(target, params);
        if (routed) response.notify({ jsonrpc: '2.0', method: message.method, params: routed.params });
        return;
      }
      case 'notifications/message': {
        // Without a logLevel in the request, no log line may be sent for it.
        if (envelope.logLevel === undefined || !atLeast(params?.level, envelope.logLevel)) return;
        const logger = typeof params?.logger === 'string' ? `${target}/${params.logger}` : target;
        response.notify({ jsonrpc: '2.0', method: message.method, params: { ...params, logger } });
        return;
      }
      case 'notifications/resources/updated': {
        if (typeof params?.uri !== 'string') return;
        const prefixed = namesArePrefixed(backend.prefixMode, backend.targets.length);
        response.notify({ jsonrpc: '2.0', method: message.method, params: { ...params, uri: wrapUri(prefixed, target, params.uri) } });
        return;
      }
      default:
        // List changes and the rest belong on a subscriptions/listen stream, not on a request's.
        return;
    }
  }
}

/** Who a request's held calls and listen streams are counted for: its principal, else its client's address. */
function holderOf(req: IncomingMessage, principal: Principal | undefined): string {
  return principal ? `principal ${principal.id}` : `client ${req.socket.remoteAddress ?? 'unknown'}`;
}


/** Upstream errors as a 2026-07-28 client must see them: -32002 (resource not found) became -32602 with the URI. */
function modernError(error: { code: number; message: string; data?: unknown }): { code: number; message: string; data?: unknown } {
  if (error.code !== -32002) return error;
  const data = error.data !== null && typeof error.data === 'object' ? (error.data as Params) : {};
  return { ...error, code: -32602, data };
}

/** Whether a log line's level is at or above the level the client asked for. */
function atLeast(level: unknown, wanted: string): boolean {
  const at = typeof level === 'string' ? LOG_LEVELS.indexOf(level) : -1;
  return at === -1 || at >= LOG_LEVELS.indexOf(wanted);
}

export type { RequestId };
