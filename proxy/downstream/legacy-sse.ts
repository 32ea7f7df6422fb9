// The legacy HTTP+SSE transport (protocol 2024-11-05; Claude Code `--transport sse`, OpenCode) at a
// route's MCP endpoint P: a GET with `Accept: text/event-stream` and no Mcp-Session-Id opens a
// session's stream, whose first event names `P/message?sessionId=<id>`; the client POSTs each
// message there, gets 202, and every answer arrives on the stream. A stream that drops is kept
// resumable for a grace period (EventSource reconnects with Last-Event-ID on its own).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/authenticator.ts';
import type { JSONRPCRequest, JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { MuxSession } from '../mux/session.ts';
import type { CompiledRoute } from '../routing/table.ts';
import { EventIdError, parseEventId } from './event-id.ts';
import { LegacyChannel } from './legacy-channel.ts';
import { admitSession, findSession, newSessionId, overInFlightLimit, sessionServes, type DownstreamOptions } from './options.ts';
import { header, readMessage, traceContext } from './read-message.ts';
import { refuse, sendAccepted, sendError } from './respond.ts';
import { errorResponse } from '../mux/jsonrpc-error.ts';

/** Where a route's legacy clients POST: `P/message` (`/message` for the root prefix). */
export function messagePath(route: CompiledRoute): string {
  return route.pathPrefix === '/' ? '/message' : `${route.pathPrefix}/message`;
}

export class LegacySseEndpoint {
  readonly #options: DownstreamOptions;
  /** Sessions whose stream dropped, closed unless the client is back in time. */
  readonly #grace = new Map<string, NodeJS.Timeout>();
  /** Sessions not initialized yet, closed unless they are in time (uninitializedSessionTtlMs). */
  readonly #initializeBy = new Map<string, NodeJS.Timeout>();
  /** Sessions whose initialize is under way now. */
  readonly #initializing = new Set<string>();

  constructor(options: DownstreamOptions) {
    this.#options = options;
    options.fleet?.useChannels('sse', (id, route) => this.#channel(id, route));
  }

  #channel(id: string, route: CompiledRoute): LegacyChannel {
    return new LegacyChannel({
      sessionId: id,
      endpoint: `${messagePath(route)}?sessionId=${id}`,
      store: this.#options.store,
      keepAliveMs: this.#options.keepAliveMs,
      maxBufferedBytes: this.#options.maxBufferedBytes,
      onSlowClient: () => this.#options.onLimit?.('slow-client'),
      onDisconnect: () => this.#startGrace(id),
      ...(this.#options.fleet ? { fleet: this.#options.fleet.link(id, 'sse') } : {}),
    });
  }

  /** GET at P without a session: a new session's stream, or with Last-Event-ID an old one's back. */
  async open(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal?: Principal): Promise<void> {
    req.resume();
    const resumed = await this.#resumable(res, route, principal, header(req, 'last-event-id'));
    if (resumed === 'refused') return;
    if (resumed) {
      clearTimeout(this.#grace.get(resumed.session.id));
      this.#grace.delete(resumed.session.id);
      await resumed.channel.attach(res, resumed.afterSeq);
      return;
    }
    const admitted = admitSession(this.#options, principal, req, res, null);
    if (!admitted) return;
    const id = newSessionId();
    const channel = this.#channel(id, route);
    let session: MuxSession;
    try {
      session = this.#options.createSession(id, route, channel, 'sse', principal?.id);
    } catch (error) {
      admitted.release();
      throw error;
    }
    this.#options.sessions.add(session);
    admitted.commit(id);
    // It exists before its initialize (the stream comes first): one never initialized is not kept.
    this.#initializeDeadline(session, this.#options.uninitializedSessionTtlMs);
    await this.#options.fleet?.started(session, 'sse');
    this.#options.logger.debug({ session: id, route: route.name }, 'legacy SSE session opened');
    await channel.attach(res);
  }

  /** POST at P/message?sessionId=…: 202 once the message is read; its answer goes on the stream. */
  async post(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, principal?: Principal): Promise<void> {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('sessionId');
    if (!id) {
      req.resume();
      sendError(res, refuse('MCPMUX_SESSION_REQUIRED', 'Bad Request: the sessionId query parameter is required'));
      return;
    }
    let session: MuxSession | undefined;
    try {
      session = await findSession(this.#options, id, 'sse', principal);
    } catch (error) {
      req.resume();
      if (!(error instanceof McpmuxError)) throw error;
      sendError(res, error);
      return;
    }
    if (!session || !sessionServes(session, route, principal) || !(session.channel instanceof LegacyChannel)) {
      req.resume();
      sendError(res, refuse('MCPMUX_SESSION_NOT_FOUND', 'Session not found: open a new SSE stream'));
      return;
    }
    if (session.channel.unreachable) {
      // Accepting it would lose its answer: the stream is on another replica and NATS is away.
      req.resume();
      sendError(res, refuse('MCPMUX_FLEET_UNAVAILABLE', 'this session\'s stream is held by another replica and NATS is unreachable; retry shortly'));
      return;
    }
    const incoming = await readMessage(req, res, this.#options);
    if (!incoming) return;
    sendAccepted(res);
    const channel = session.channel;
    switch (incoming.kind) {
      case 'request': {
        const overLimit = overInFlightLimit(this.#options, session);
        if (overLimit) {
          // Accepted already (202): the refusal goes on the stream, as the answer would have.
          channel.send(errorResponse(incoming.message.id, overLimit));
          return;
        }
        const response = await this.#answer(session, route, incoming.message, principal, traceContext(req));
        if (response) channel.send(response);
        return;
      }
      case 'notification':
        session.handleNotification(incoming.message);
        return;
      case 'response':
        session.handleResponse(incoming.message);
        return;
      default: {
        const never: never = incoming;
        throw new Error(`unhandled message ${String(never)}`);
      }
    }
  }

  /** Ends the grace and initialize timers (the registry closes the sessions). */
  close(): void {
    for (const timer of [...this.#grace.values(), ...this.#initializeBy.values()]) clearTimeout(timer);
    this.#grace.clear();
    this.#initializeBy.clear();
  }

  /** The answer to a request; undefined when the client cancelled it (a cancelled request gets none). */
  async #answer(
    session: MuxSession,
    route: CompiledRoute,
    request: JSONRPCRequest,
    principal: Principal | undefined,
    trace: Record<string, string> | undefined,
  ): Promise<JSONRPCResponse | undefined> {
    if (request.method === 'initialize') {
      this.#initializing.add(session.id);
      try {
        const response = await session.initialize(request, route.backend, trace);
        // Other replicas serve the client's next messages: they need the session's state first.
        if ('result' in response) await this.#options.fleet?.started(session, 'sse');
        return response;
      } finally {
        this.#initializing.delete(session.id);
      }
    }
    const abort = new AbortController();
    const response = await session.handleRequest(request, route.backend, abort, principal, trace);
    const reason: unknown = abort.signal.reason;
    return reason instanceof McpmuxError && reason.code === 'MCPMUX_REQUEST_CANCELLED' ? undefined : response;
  }

  /** The session a Last-Event-ID names, if it can be resumed here; 'refused' once a refusal is sent. */
  async #resumable(
    res: ServerResponse,
    route: CompiledRoute,
    principal: Principal | undefined,
    lastEventId: string | undefined,
  ): Promise<{ session: MuxSession; channel: LegacyChannel; afterSeq: number } | 'refused' | undefined> {
    const parsed = lastEventId ? parseEventId(lastEventId) : undefined;
    if (parsed === undefined || parsed instanceof EventIdError) return undefined;
    let session: MuxSession | undefined;
    try {
      session = await findSession(this.#options, parsed.streamKey, 'sse', principal);
    } catch (error) {
      if (!(error instanceof McpmuxError)) throw error;
      sendError(res, error);
      return 'refused';
    }
    if (!session || !sessionServes(session, route, principal) || !(session.channel instanceof LegacyChannel)) return undefined;
    return { session, channel: session.channel, afterSeq: parsed.seq };
  }

  /**
   * Closes the session (and its stream) if it is not initialized within `ms`. An initialize under
   * way is given its time (it has its own timeout); in a fleet, a session initialized through
   * another replica is caught up first, and one whose stream moved away is that replica's business.
   */
  #initializeDeadline(session: MuxSession, ms: number): void {
    clearTimeout(this.#initializeBy.get(session.id));
    const timer = setTimeout(() => {
      this.#initializeBy.delete(session.id);
      void this.#initializeDue(session).catch((error: unknown) => this.#options.logger.warn({ session: session.id, err: String(error) }, 'uninitialized session not checked'));
    }, ms);
    timer.unref();
    this.#initializeBy.set(session.id, timer);
  }

  async #initializeDue(session: MuxSession): Promise<void> {
    if (session.initialized || session.closed) return;
    const again = Math.min(this.#options.uninitializedSessionTtlMs, 5_000);
    if (this.#initializing.has(session.id)) {
      this.#initializeDeadline(session, again);
      return;
    }
    const fleet = this.#options.fleet;
    if (fleet) {
      if (!fleet.owns(session.id)) return;
      try {
        await fleet.catchUp(session);
      } catch {
        // NATS is away: whether it was initialized elsewhere cannot be told yet.
        this.#initializeDeadline(session, again);
        return;
      }
      if (session.initialized) return;
    }
    if (!this.#options.sessions.delete(session.id)) return;
    clearTimeout(this.#grace.get(session.id));
    this.#grace.delete(session.id);
    this.#options.onLimit?.('session-initialize-timeout');
    this.#options.logger.debug({ session: session.id, afterMs: this.#options.uninitializedSessionTtlMs }, 'legacy SSE session closed: not initialized in time');
  }

  #startGrace(id: string): void {
    clearTimeout(this.#grace.get(id));
    const timer = setTimeout(() => {
      this.#grace.delete(id);
      // In a fleet the client may have come back on another replica: that one owns the session now.
      if (this.#options.fleet && !this.#options.fleet.owns(id)) return;
      if (this.#options.sessions.delete(id)) this.#options.logger.debug({ session: id }, 'legacy SSE session closed: its stream did not come back');
    }, this.#options.legacyResumeGraceMs);
    timer.unref();
    this.#grace.set(id, timer);
  }
}
