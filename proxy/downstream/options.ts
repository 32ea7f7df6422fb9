// What both downstream transports need: the session registry, the event store for resumable
// streams, stream limits, and how to make a multiplexer session for a route.
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/authenticator.ts';
import type { Logger } from '../../shared/log.ts';
import type { ClientChannel } from '../mux/channel.ts';
import type { MuxSession } from '../mux/session.ts';
import type { CompiledRoute } from '../routing/table.ts';
import type { SessionRegistry } from '../sessions/registry.ts';
import type { EventStore } from './event-store.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { refuse, sendError } from './respond.ts';
import { McpmuxError } from '../../shared/errors.ts';
import type { Admitted, SessionAdmission } from './session-admission.ts';
import type { FleetStreamLink } from '../fleet/shared-stream.ts';
import type { ModernEndpoint } from '../modern/endpoint.ts';
import { sessionIdPrefix } from '../workers/session-owner.ts';

export type TransportKind = 'streamable-http' | 'sse';

export interface DownstreamOptions {
  sessions: SessionRegistry;
  logger: Logger;
  maxBodyBytes: number;
  store: EventStore;
  /** Comment lines on idle SSE streams, so intermediaries keep them open. */
  keepAliveMs: number;
  /** What a slow client may leave unread on one stream before it is cut. */
  maxBufferedBytes: number;
  /** A legacy SSE session whose stream dropped is kept this long for the client to come back. */
  legacyResumeGraceMs: number;
  /** A new, not yet initialized session on `route` with this id, sending through `channel`, owned by `principal`. */
  createSession: (id: string, route: CompiledRoute, channel: ClientChannel, transport: TransportKind, principal: string | undefined) => MuxSession;
  /** Deepest JSON nesting accepted in a client message. */
  maxJsonDepth: number;
  /** Whether a new session may be created (sessions per replica, per principal, per anonymous client address). */
  admission: SessionAdmission;
  /** A legacy SSE session (it exists from its GET, before initialize) not initialized this long after is closed. */
  uninitializedSessionTtlMs: number;
  /** Requests one session may have in flight at once (each may hold an SSE stream). */
  maxInFlightPerSession: number;
  /**
   * A limit was hit (for the metric): body-bytes, json-depth, sessions-per-replica,
   * sessions-per-principal, anonymous-sessions-per-address, session-initialize-timeout,
   * in-flight-per-session, slow-client.
   */
  onLimit?: (limit: string) => void;
  /** Set when replicas share sessions (proxy/fleet). */
  fleet?: DownstreamFleet;
  /** Serves 2026-07-28 requests (a protocolVersion claim in _meta), statelessly. */
  modern?: ModernEndpoint;
}

/** What the transports ask of the fleet (proxy/fleet/sessions.ts). */
export interface DownstreamFleet {
  /** The stream link of a new session's channel. */
  link(sessionId: string, transport: TransportKind): FleetStreamLink;
  /**
   * A session this replica does not hold, made from its shared record; undefined if there is none
   * (or it is another principal's, or another transport's). Throws MCPMUX_FLEET_UNAVAILABLE.
   */
  resolve(id: string, transport: TransportKind, principal: string | undefined): Promise<MuxSession | undefined>;
  /** A session held here but not initialized: initialized elsewhere meanwhile? Then it is restored from its record. */
  catchUp(session: MuxSession): Promise<void>;
  /** How each transport makes the channel of a session it serves (for sessions made from records). */
  useChannels(transport: TransportKind, make: (id: string, route: CompiledRoute) => ClientChannel): void;
  /** A session was created (or initialized) here: its record is published before the client hears of it. */
  started(session: MuxSession, transport: TransportKind): Promise<void>;
  /** Whether this replica still owns the session (its stream may have moved to another). */
  owns(id: string): boolean;
}

/**
 * The session named `id`: held here, or (in a fleet) made from its shared record. Undefined when
 * unknown; throws MCPMUX_FLEET_UNAVAILABLE when the fleet cannot be asked.
 */
export async function findSession(options: DownstreamOptions, id: string, transport: TransportKind, principal: Principal | undefined): Promise<MuxSession | undefined> {
  return heldSession(options, id) ?? findSessionSlowly(options, id, transport, principal);
}

/** The session named `id` when this replica holds it ready, with no promise to wait on (the common case); undefined: ask findSession. */
export function heldSession(options: DownstreamOptions, id: string): MuxSession | undefined {
  const held = options.sessions.get(id);
  return held && (held.initialized || !options.fleet) ? held : undefined;
}

async function findSessionSlowly(options: DownstreamOptions, id: string, transport: TransportKind, principal: Principal | undefined): Promise<MuxSession | undefined> {
  const held = options.sessions.get(id);
  if (!held) return options.fleet?.resolve(id, transport, principal?.id);
  // A legacy session is initialized by a POST that may have reached another replica.
  if (!held.initialized && options.fleet) await options.fleet.catchUp(held);
  return held;
}

/**
 * ≥128 random bits, URL-safe, visible ASCII as the spec requires of session ids (never a `.`); in
 * a worker of `mcpmux proxy --workers N` (without NATS) led by the worker's tag (workers/session-owner.ts).
 */
export function newSessionId(): string {
  return sessionIdPrefix() + randomBytes(18).toString('base64url');
}

/**
 * A place for a new session of `principal` (anonymous: counted by the client's address), or
 * undefined once the refusal is sent (429): this replica, the principal or the address holds the
 * most sessions it may. The caller commits the place once the session is in the registry, or
 * releases it.
 */
export function admitSession(options: DownstreamOptions, principal: Principal | undefined, req: IncomingMessage, res: ServerResponse, requestId: RequestId | null): Admitted | undefined {
  const admitted = options.admission.admit(principal?.id, req.socket.remoteAddress);
  if (admitted instanceof McpmuxError) {
    sendError(res, admitted, requestId);
    return undefined;
  }
  return admitted;
}

/**
 * The refusal of a request over the session's in-flight limit (counted), or undefined under it. The
 * transports deliver it their way: 429 on a streamable POST, an error event on the legacy stream.
 */
export function overInFlightLimit(options: DownstreamOptions, session: MuxSession): McpmuxError | undefined {
  if (session.inFlight < options.maxInFlightPerSession) return undefined;
  options.onLimit?.('in-flight-per-session');
  return refuse('MCPMUX_LIMIT_EXCEEDED', `this session already has ${options.maxInFlightPerSession} requests in flight; wait for answers`);
}

/**
 * Whether a session may serve this request: created on this route, by this principal. Another
 * principal's session is answered as unknown (404), never as forbidden: its existence is not told.
 * The route is the one the session was created on (by name: two listeners, or two hostnames, may
 * serve one prefix with different backends), at its prefix.
 */
export function sessionServes(session: MuxSession, route: CompiledRoute, principal: Principal | undefined): boolean {
  return session.routePrefix === route.pathPrefix && (session.routeName === undefined || session.routeName === route.name) && session.principal === principal?.id;
}
