// The streamable HTTP transport, server side, at a route's MCP endpoint: POST carries one JSON-RPC
// message (answered as application/json), DELETE ends a session, GET is refused until the GET
// stream exists (issue 4). Sessions are issued on initialize and required afterwards. Every bad
// input gets its own HTTP status and JSON-RPC error, and touches no other session.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { isSupportedProtocolVersion } from '../federation/initialize.ts';
import type { MuxSession } from '../mux/session.ts';
import type { CompiledRoute } from '../routing/table.ts';
import type { SessionRegistry } from '../sessions/registry.ts';
import { readBody } from './body.ts';
import { classifyMessage } from './jsonrpc.ts';
import { refuse, sendAccepted, sendError, sendJson } from './respond.ts';

export interface StreamableHttpOptions {
  sessions: SessionRegistry;
  logger: Logger;
  maxBodyBytes: number;
  /** A new, not yet initialized session on `route` with this id. */
  createSession: (id: string, route: CompiledRoute) => MuxSession;
}

const ALLOW = 'POST, DELETE';

/** ≥128 random bits, URL-safe, visible ASCII as the spec requires of session ids. */
function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Lenient: anything that admits JSON (or SSE, which clients list beside it) will do. */
function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return true;
  return /application\/json|text\/event-stream|\*\/\*|application\/\*/i.test(accept);
}

export class StreamableHttpEndpoint {
  readonly #options: StreamableHttpOptions;

  constructor(options: StreamableHttpOptions) {
    this.#options = options;
  }

  /** Serves one HTTP request at the route's MCP endpoint; never throws. */
  handle(req: IncomingMessage, res: ServerResponse, route: CompiledRoute): void {
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !isSupportedProtocolVersion(version)) {
      sendError(res, refuse('MCPMUX_UNSUPPORTED_PROTOCOL_VERSION', `Unsupported MCP-Protocol-Version: ${version}`));
      return;
    }
    switch (req.method) {
      case 'POST':
        this.#post(req, res, route).catch((error: unknown) => this.#internalError(res, error));
        return;
      case 'DELETE':
        this.#delete(req, res, route);
        return;
      default:
        // GET (the server-to-client stream) and legacy SSE come with issue 4.
        sendError(res, refuse('MCPMUX_METHOD_NOT_ALLOWED', `${req.method ?? 'This method'} is not allowed here; use POST or DELETE`), null, { allow: ALLOW });
    }
  }

  async #post(req: IncomingMessage, res: ServerResponse, route: CompiledRoute): Promise<void> {
    const contentType = header(req, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType.trim())) {
      req.resume();
      sendError(res, refuse('MCPMUX_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));
      return;
    }
    if (!acceptsJson(header(req, 'accept'))) {
      req.resume();
      sendError(res, refuse('MCPMUX_NOT_ACCEPTABLE', 'Accept must allow application/json'));
      return;
    }
    let parsed: unknown;
    try {
      const body = await readBody(req, this.#options.maxBodyBytes);
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      sendError(res, error instanceof McpmuxError ? error : refuse('MCPMUX_PARSE_ERROR', 'Parse error: the body is not valid JSON'));
      return;
    }
    if (Array.isArray(parsed)) {
      sendError(res, refuse('MCPMUX_INVALID_REQUEST', 'JSON-RPC batches are not supported; send one message per request'));
      return;
    }
    const incoming = classifyMessage(parsed);
    if (incoming.kind === 'invalid') {
      sendError(res, refuse('MCPMUX_INVALID_REQUEST', `Invalid request: ${incoming.reason}`), incoming.id);
      return;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (incoming.kind === 'request' && incoming.message.method === 'initialize') {
      if (sessionId !== undefined) {
        sendError(res, refuse('MCPMUX_INVALID_REQUEST', 'initialize must not carry an Mcp-Session-Id: the session is already initialized'), incoming.message.id);
        return;
      }
      await this.#initialize(res, route, incoming.message);
      return;
    }
    const session = this.#session(res, route, sessionId, incoming.kind === 'request' ? incoming.message.id : null);
    if (!session) return;
    switch (incoming.kind) {
      case 'request': {
        const abort = new AbortController();
        // A client that hangs up abandons its request; the upstream is told (notifications/cancelled).
        res.once('close', () => {
          if (!res.writableFinished) abort.abort(refuse('MCPMUX_REQUEST_CANCELLED', 'the client closed the connection'));
        });
        const response = await session.handleRequest(incoming.message, route.backend, abort);
        if (!res.destroyed) sendJson(res, 200, response);
        return;
      }
      case 'notification':
        session.handleNotification(incoming.message);
        sendAccepted(res);
        return;
      case 'response':
        // Answers to server→client requests: we send none yet (issue 4), so there is nothing to match.
        sendAccepted(res);
        return;
      default: {
        const never: never = incoming;
        throw new Error(`unhandled message ${String(never)}`);
      }
    }
  }

  async #initialize(res: ServerResponse, route: CompiledRoute, request: JSONRPCRequest): Promise<void> {
    const session = this.#options.createSession(newSessionId(), route);
    const response = await session.initialize(request, route.backend);
    if ('error' in response) {
      await session.close();
      sendJson(res, 200, response);
      return;
    }
    this.#options.sessions.add(session);
    this.#options.logger.debug({ session: session.id, route: route.name }, 'session initialized');
    sendJson(res, 200, response, { 'mcp-session-id': session.id });
  }

  #delete(req: IncomingMessage, res: ServerResponse, route: CompiledRoute): void {
    req.resume();
    const session = this.#session(res, route, header(req, 'mcp-session-id'), null);
    if (!session) return;
    this.#options.sessions.delete(session.id);
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  }

  /** The session a request names, or undefined once the refusal is sent (400 none, 404 unknown). */
  #session(res: ServerResponse, route: CompiledRoute, id: string | undefined, requestId: JSONRPCRequest['id'] | null): MuxSession | undefined {
    if (id === undefined || id === '') {
      sendError(res, refuse('MCPMUX_SESSION_REQUIRED', 'Bad Request: Mcp-Session-Id header is required'), requestId);
      return undefined;
    }
    const session = this.#options.sessions.get(id);
    // A session is served only on the route it was created on.
    if (!session || session.routePrefix !== route.pathPrefix) {
      sendError(res, refuse('MCPMUX_SESSION_NOT_FOUND', 'Session not found: initialize a new session'), requestId);
      return undefined;
    }
    return session;
  }

  #internalError(res: ServerResponse, error: unknown): void {
    this.#options.logger.error({ err: errorMessage(error) }, 'unexpected error serving MCP request');
    sendError(res, new McpmuxError('MCPMUX_INTERNAL', `Internal error: ${errorMessage(error)}`));
  }
}
