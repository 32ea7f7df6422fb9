// The streamable HTTP transport, server side, at a route's MCP endpoint. POST carries one JSON-RPC
// message: a request is answered as application/json, or as an SSE stream when the client accepts
// one and the request may produce related messages (progress, logging, server→client requests)
// before its answer. GET opens the session's standalone stream (or resumes a stream with
// Last-Event-ID); DELETE ends the session. Sessions are issued on initialize and required
// afterwards. Every bad input gets its own HTTP status and JSON-RPC error, and touches no other
// session.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/authenticator.ts';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { MuxSession } from '../mux/session.ts';
import type { CompiledRoute } from '../routing/table.ts';
import { DelayQueues } from '../delay-queue.ts';
import { responseMode } from './response-mode.ts';
import { RequestAbort } from '../request-abort.ts';
import { admitSession, findSession, heldSession, newSessionId, overInFlightLimit, sessionServes, type DownstreamOptions } from './options.ts';
import { header, readMessage, traceContext } from './read-message.ts';
import { refuse, sendAccepted, sendError, sendInternalError, sendJson } from './respond.ts';
import { StreamableChannel } from './streamable-channel.ts';
import { hasModernClaim, MODERN_PROTOCOL_VERSIONS } from '../modern/wire.ts';
import { isSupportedProtocolVersion } from '../federation/initialize.ts';

const ALLOW = 'GET, POST, DELETE, OPTIONS';

/** Lenient: anything that admits JSON (or SSE, which clients list beside it) will do. */
function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return true;
  return /application\/json|text\/event-stream|\*\/\*|application\/\*/i.test(accept);
}

function acceptsSse(accept: string | undefined): boolean {
  return accept !== undefined && /text\/event-stream/i.test(accept);
}

export class StreamableHttpEndpoint {
  readonly #options: DownstreamOptions;
  /** Requests held undecided between JSON and SSE, all sessions' on one timer. */
  readonly #holds = new DelayQueues();

  constructor(options: DownstreamOptions) {
    this.#options = options;
    options.fleet?.useChannels('streamable-http', (id) => this.#channel(id));
  }

  #channel(id: string): StreamableChannel {
    return new StreamableChannel({
      sessionId: id,
      store: this.#options.store,
      keepAliveMs: this.#options.keepAliveMs,
      maxBufferedBytes: this.#options.maxBufferedBytes,
      onSlowClient: () => this.#options.onLimit?.('slow-client'),
      holds: this.#holds,
      ...(this.#options.fleet ? { fleet: this.#options.fleet.link(id, 'streamable-http') } : {}),
    });
  }

  /** Serves one HTTP request at the route's MCP endpoint; never throws. */
  handle(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal?: Principal): void {
    switch (req.method) {
      case 'POST':
        this.#post(req, res, route, principal).catch((error: unknown) => this.#internalError(res, error));
        return;
      case 'GET':
        this.#get(req, res, route, principal).catch((error: unknown) => this.#internalError(res, error));
        return;
      case 'DELETE':
        this.#delete(req, res, route, principal).catch((error: unknown) => this.#internalError(res, error));
        return;
      default:
        req.resume();
        sendError(res, refuse('MCPMUX_METHOD_NOT_ALLOWED', `${req.method ?? 'This method'} is not allowed here; use POST, GET or DELETE`), null, { allow: ALLOW });
    }
  }

  async #post(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal: Principal | undefined): Promise<void> {
    const accept = header(req, 'accept');
    if (!acceptsJson(accept)) {
      req.resume();
      sendError(res, refuse('MCPMUX_NOT_ACCEPTABLE', 'Accept must allow application/json'));
      return;
    }
    const incoming = await readMessage(req, res, this.#options);
    if (!incoming) return;
    // The era is decided per request, body first: a protocolVersion claim in _meta is 2026-07-28,
    // answered without a session; everything else is a 2025 session's, as before.
    if (incoming.kind !== 'response' && hasModernClaim(incoming.message.params)) {
      if (incoming.kind === 'notification') {
        sendAccepted(res); // 2026-07-28 clients send none over HTTP (closing a stream cancels)
        return;
      }
      if (this.#options.modern) {
        await this.#options.modern.handle(req, res, route, principal, incoming.message, acceptsSse(accept));
        return;
      }
    }
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !isSupportedProtocolVersion(version)) {
      const id = incoming.kind === 'request' ? incoming.message.id : null;
      if (MODERN_PROTOCOL_VERSIONS.includes(version)) {
        // A 2026-07-28 header on a body without its _meta claim.
        const initialize = incoming.kind === 'request' && incoming.message.method === 'initialize';
        sendError(
          res,
          initialize
            ? refuse('MCPMUX_HEADER_MISMATCH', `MCP-Protocol-Version ${version} does not go with initialize: 2025 clients send a 2025 version (or none); ${version} clients send server/discover with _meta instead`)
            : refuse('MCPMUX_INVALID_ENVELOPE', `MCP-Protocol-Version ${version} needs params._meta with io.modelcontextprotocol/protocolVersion and io.modelcontextprotocol/clientCapabilities`),
          id,
        );
        return;
      }
      sendError(res, refuse('MCPMUX_UNSUPPORTED_PROTOCOL_VERSION', `Unsupported MCP-Protocol-Version: ${version}`), id);
      return;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (incoming.kind === 'request' && incoming.message.method === 'initialize') {
      if (sessionId !== undefined) {
        sendError(res, refuse('MCPMUX_INVALID_REQUEST', 'initialize must not carry an Mcp-Session-Id: the session is already initialized'), incoming.message.id);
        return;
      }
      await this.#initialize(req, res, route, incoming.message, principal);
      return;
    }
    const requestId = incoming.kind === 'request' ? incoming.message.id : null;
    // A session held here is found without waiting on a promise (the fleet's lookups are the slow path).
    const held = sessionId === undefined ? undefined : heldSession(this.#options, sessionId);
    const found = held ? this.#serving(res, route, principal, held, requestId) : await this.#session(res, route, principal, sessionId, requestId);
    if (!found) return;
    const { session, channel } = found;
    switch (incoming.kind) {
      case 'request':
        await this.#request(res, route, session, channel, incoming.message, acceptsSse(accept), principal, traceContext(req));
        return;
      case 'notification':
        session.handleNotification(incoming.message);
        sendAccepted(res);
        return;
      case 'response':
        if (!session.handleResponse(incoming.message)) this.#options.logger.debug({ session: session.id, id: incoming.message.id }, 'answer to no request of ours');
        sendAccepted(res);
        return;
      default: {
        const never: never = incoming;
        throw new Error(`unhandled message ${String(never)}`);
      }
    }
  }

  async #request(
    res: ServerResponse,
    route: CompiledRoute,
    session: MuxSession,
    channel: StreamableChannel,
    request: JSONRPCRequest,
    sse: boolean,
    principal: Principal | undefined,
    trace: Record<string, string> | undefined,
  ): Promise<void> {
    const overLimit = overInFlightLimit(this.#options, session);
    if (overLimit) {
      sendError(res, overLimit, request.id);
      return;
    }
    const abort = new RequestAbort();
    const abandon = (): void => abort.abort(refuse('MCPMUX_REQUEST_CANCELLED', 'the client closed the connection'));
    // JSON, SSE at once, or held between them: the table is in response-mode.ts.
    const mode = responseMode(sse, session.protocolVersion, request);
    if (mode === 'primed') {
      channel.openRequestStream(request.id, res, { prime: true, onAbandoned: abandon, sseAfterMs: 0 });
    } else if (mode === 'held') {
      channel.openRequestStream(request.id, res, { prime: false, onAbandoned: abandon });
    } else {
      channel.trackJsonRequest(request.id);
      // A client that hangs up abandons its request; the upstream is told (notifications/cancelled).
      res.once('close', () => {
        if (!res.writableFinished) abandon();
      });
    }
    const response = await session.handleRequest(request, route.backend, abort, principal, trace);
    const reason: unknown = abort.signal.reason;
    if (reason instanceof McpmuxError && reason.code === 'MCPMUX_REQUEST_CANCELLED' && channel.abandonRequest(request.id)) return;
    if (!channel.finishRequest(request.id, response) && !res.headersSent && !res.destroyed) sendJson(res, 200, response);
  }

  async #initialize(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, request: JSONRPCRequest, principal: Principal | undefined): Promise<void> {
    const admitted = admitSession(this.#options, principal, req, res, request.id);
    if (!admitted) return;
    let session: MuxSession;
    let response: Awaited<ReturnType<MuxSession['initialize']>>;
    try {
      const id = newSessionId();
      session = this.#options.createSession(id, route, this.#channel(id), 'streamable-http', principal?.id);
      response = await session.initialize(request, route.backend, traceContext(req));
    } catch (error) {
      admitted.release();
      throw error;
    }
    if ('error' in response) {
      admitted.release();
      await session.close();
      sendJson(res, 200, response);
      return;
    }
    this.#options.sessions.add(session);
    admitted.commit(session.id);
    await this.#options.fleet?.started(session, 'streamable-http');
    this.#options.logger.debug({ session: session.id, route: route.name }, 'session initialized');
    sendJson(res, 200, response, { 'mcp-session-id': session.id });
  }

  async #get(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal: Principal | undefined): Promise<void> {
    req.resume();
    if (!acceptsSse(header(req, 'accept'))) {
      sendError(res, refuse('MCPMUX_NOT_ACCEPTABLE', 'Accept must allow text/event-stream'));
      return;
    }
    const found = await this.#session(res, route, principal, header(req, 'mcp-session-id'), null);
    if (!found) return;
    const lastEventId = header(req, 'last-event-id');
    try {
      if (lastEventId !== undefined && lastEventId !== '') await found.channel.resume(res, lastEventId);
      else await found.channel.openStandalone(res);
    } catch (error) {
      if (error instanceof McpmuxError) sendError(res, error);
      else throw error;
    }
  }

  async #delete(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal: Principal | undefined): Promise<void> {
    req.resume();
    const found = await this.#session(res, route, principal, header(req, 'mcp-session-id'), null);
    if (!found) return;
    this.#options.sessions.delete(found.session.id);
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  }

  /** The session a request names, or undefined once the refusal is sent (400 none, 404 unknown). */
  async #session(
    res: ServerResponse,
    route: CompiledRoute,
    principal: Principal | undefined,
    id: string | undefined,
    requestId: JSONRPCRequest['id'] | null,
  ): Promise<{ session: MuxSession; channel: StreamableChannel } | undefined> {
    if (id === undefined || id === '') {
      sendError(res, refuse('MCPMUX_SESSION_REQUIRED', 'Bad Request: Mcp-Session-Id header is required'), requestId);
      return undefined;
    }
    let session: MuxSession | undefined;
    try {
      session = await findSession(this.#options, id, 'streamable-http', principal);
    } catch (error) {
      if (!(error instanceof McpmuxError)) throw error;
      sendError(res, error, requestId);
      return undefined;
    }
    return this.#serving(res, route, principal, session, requestId);
  }

  /** The session and its channel if it may serve this request, or undefined once the 404 is sent. */
  #serving(
    res: ServerResponse,
    route: CompiledRoute,
    principal: Principal | undefined,
    session: MuxSession | undefined,
    requestId: JSONRPCRequest['id'] | null,
  ): { session: MuxSession; channel: StreamableChannel } | undefined {
    // A session is served only on the route (and by the transport) it was created on, to its principal.
    if (!session || !sessionServes(session, route, principal) || !(session.channel instanceof StreamableChannel)) {
      sendError(res, refuse('MCPMUX_SESSION_NOT_FOUND', 'Session not found: initialize a new session'), requestId);
      return undefined;
    }
    return { session, channel: session.channel };
  }

  #internalError(res: ServerResponse, error: unknown): void {
    sendInternalError(res, this.#options.logger, error, 'unexpected error serving MCP request');
  }
}
