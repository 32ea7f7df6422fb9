// How this replica's sessions take part in the fleet: every session it initializes gets a shared
// record before the client hears of it; a request for a session it does not hold is served from
// the record (the same upstream sessions, no handshake); the replica holding a session's stream
// owns it (listens to its upstreams, tells the client of list changes) and a stream opened here
// claims it; sessions of a replica that stopped beating are adopted; client messages that belong
// to another replica (answers to its server→client requests, progress on them, cancels of requests
// running there) are sent to it; a session ended anywhere is let go of everywhere. Who owns what,
// and who may change it, is ownership.ts: every read and move of ownership here goes through it.
import type { JSONRPCNotification, JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { fleetRequestStreamKey, formatEventId, legacyStreamKey, parseRequestStreamKey, STANDALONE_KEY } from '../downstream/event-id.ts';
import type { DownstreamFleet, TransportKind } from '../downstream/options.ts';
import type { ClientChannel } from '../mux/channel.ts';
import { replicaOfServerRequest } from '../mux/correlation.ts';
import type { MuxSession, SessionFleetHooks } from '../mux/session.ts';
import type { CompiledRoute } from '../routing/table.ts';
import type { SessionRegistry } from '../sessions/registry.ts';
import { StoreConflict, type SessionRecord } from '../sessions/store.ts';
import type { Fleet, FleetMessage, RecordChange } from './fleet.ts';
import { SessionOwnership, type OwnerToken } from './ownership.ts';
import { SharedStream, type FleetStreamLink } from './shared-stream.ts';

export interface FleetSessionsOptions {
  fleet: Fleet;
  registry: SessionRegistry;
  logger: Logger;
  /** The route of the table served now for a session's route name and path prefix (hosts.ts routeFor). */
  route: (name: string | undefined, prefix: string) => CompiledRoute | undefined;
  /** A new, not initialized session (as ProxyServer makes them, with this fleet's hooks). */
  createSession: (id: string, route: CompiledRoute, channel: ClientChannel, transport: TransportKind, principal: string | undefined) => MuxSession;
  /** This replica adopted a session of a replica that is gone (for the metric). */
  onAdopted?: () => void;
}

type Channel = ClientChannel & { released?: () => void };

export class FleetSessions implements DownstreamFleet {
  readonly #options: FleetSessionsOptions;
  readonly #fleet: Fleet;
  readonly #logger: Logger;
  readonly #channels = new Map<TransportKind, (id: string, route: CompiledRoute) => Channel>();
  /** Who owns each session, as this replica sees it (ownership.ts): read and moved only there. */
  readonly #ownership: SessionOwnership;
  /** Sessions being made from their records: concurrent requests share one. */
  readonly #resolving = new Map<string, Promise<MuxSession | undefined>>();
  /** Pending record writes of upstream changes, one per session per turn. */
  readonly #upstreamWrites = new Set<string>();
  /** The transport of each session held here (a streamable id is no legacy session, and back). */
  readonly #transports = new Map<string, TransportKind>();

  constructor(options: FleetSessionsOptions) {
    this.#options = options;
    this.#fleet = options.fleet;
    this.#logger = options.logger.child({ replica: options.fleet.replicaId });
    this.#ownership = new SessionOwnership({ me: this.#fleet.owner, ownerOf: (id) => this.#fleet.cached(id)?.value.owner, alive: () => this.#fleet.aliveOwners });
    this.#fleet.onChange((change) => this.#changed(change));
    this.#fleet.onMessage((message) => this.#deliver(message));
    this.#fleet.onHeartbeat((alive) => this.#adoptOrphans(alive));
  }

  get replicaId(): string {
    return this.#fleet.replicaId;
  }

  useChannels(transport: TransportKind, make: (id: string, route: CompiledRoute) => ClientChannel): void {
    this.#channels.set(transport, make);
  }

  /** The hooks a session of this replica runs with. */
  hooks(id: string): SessionFleetHooks {
    return {
      replicaId: this.#fleet.replicaId,
      isOwner: () => this.owns(id),
      forward: (message) => this.#forward(id, message),
      upstreamsChanged: () => this.#upstreamsChanged(id),
    };
  }

  owns(id: string): boolean {
    return this.#ownership.owns(id);
  }

  link(sessionId: string, transport: TransportKind): FleetStreamLink {
    // The stream's token in the buffer's subjects (and the record's lastEventIds), and in its event ids.
    const key = transport === 'sse' ? 'l' : STANDALONE_KEY;
    const streamKey = transport === 'sse' ? legacyStreamKey(sessionId) : STANDALONE_KEY;
    const stream = new SharedStream({
      events: this.#fleet.events,
      sessionId,
      key,
      idOf: (seq) => formatEventId(streamKey, seq),
      logger: this.#logger,
      // Where a stream opened later without Last-Event-ID starts, on whatever replica.
      onDetached: (seq) => {
        if (seq === 0 || Number(this.#fleet.cached(sessionId)?.value.lastEventIds?.[key] ?? 0) >= seq) return;
        this.#fleet
          .update(sessionId, (record) => (Number(record.lastEventIds?.[key] ?? 0) >= seq ? undefined : { ...record, lastEventIds: { ...record.lastEventIds, [key]: String(seq) } }))
          .catch((error: unknown) => this.#logger.debug({ session: sessionId, err: errorMessage(error) }, 'last delivered event not recorded'));
      },
    });
    return {
      stream,
      claim: () => this.#claim(sessionId),
      lastDelivered: () => Number(this.#fleet.cached(sessionId)?.value.lastEventIds?.[key] ?? 0),
      unreachable: () => !this.#fleet.connected && !stream.attached,
      requestStreamKey: (n, requestId) => fleetRequestStreamKey(n, requestId, this.#fleet.replicaId),
      foreignRequest: (streamKey) => {
        const parsed = parseRequestStreamKey(streamKey);
        if (!parsed || parsed.replica === this.#fleet.replicaId) return undefined;
        return { ...parsed, alive: this.#fleet.replicas.has(parsed.replica) };
      },
    };
  }

  async started(session: MuxSession, transport: TransportKind): Promise<void> {
    const state = session.state();
    const record: SessionRecord = {
      id: session.id,
      owner: this.#fleet.owner,
      routePrefix: session.routePrefix,
      ...(session.routeName === undefined ? {} : { routeName: session.routeName }),
      transport,
      upstreams: state?.upstreams ?? {},
      ...(session.principal === undefined ? {} : { principal: session.principal }),
      ...(state ? { protocolVersion: state.protocolVersion, initializeParams: state.initializeParams } : {}),
    };
    this.#transports.set(session.id, transport);
    // A legacy session is initialized by a POST, which may reach any replica: its record exists.
    if (this.#ownership.move(session.id, 'create', 'this replica').ok) {
      try {
        await this.#fleet.create(record);
        return;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error;
      }
    }
    await this.#fleet.update(session.id, (current) => ({ ...current, ...record, owner: current.owner }));
  }

  async resolve(id: string, transport: TransportKind, principal: string | undefined): Promise<MuxSession | undefined> {
    let pending = this.#resolving.get(id);
    if (!pending) {
      pending = this.#materialize(id).finally(() => this.#resolving.delete(id));
      this.#resolving.set(id, pending);
    }
    const session = await pending;
    // Another principal's id, another transport's: unknown to this caller (the endpoint answers 404).
    if (!session || session.principal !== principal || this.#transports.get(id) !== transport) return undefined;
    return session;
  }

  async catchUp(session: MuxSession): Promise<void> {
    const record = (await this.#fleet.load(session.id, { fresh: true }))?.value;
    const route = record ? this.#options.route(record.routeName, record.routePrefix) : undefined;
    if (!record || !route || session.initialized || record.protocolVersion === undefined || record.initializeParams === undefined) return;
    session.restore({ protocolVersion: record.protocolVersion, initializeParams: record.initializeParams, upstreams: record.upstreams }, route.backend);
  }

  /** The session from its record, held here from now on; undefined when there is no record or route. */
  async #materialize(id: string): Promise<MuxSession | undefined> {
    const held = this.#options.registry.get(id);
    if (held) return held;
    let record = (await this.#fleet.load(id))?.value;
    // The watch may not have brought the initialize made elsewhere a moment ago: ask NATS itself.
    if (record && record.protocolVersion === undefined) record = (await this.#fleet.load(id, { fresh: true }))?.value;
    if (!record) return undefined;
    const route = this.#options.route(record.routeName, record.routePrefix);
    const make = this.#channels.get(record.transport);
    if (!route || !make) return undefined;
    const again = this.#options.registry.get(id);
    if (again) return again;
    const session = this.#options.createSession(id, route, make(id, route), record.transport, record.principal);
    if (record.protocolVersion !== undefined && record.initializeParams !== undefined) {
      session.restore({ protocolVersion: record.protocolVersion, initializeParams: record.initializeParams, upstreams: record.upstreams }, route.backend);
    }
    this.#transports.set(id, record.transport);
    this.#options.registry.add(session);
    this.#logger.debug({ session: id, owner: record.owner }, 'serving a session of the fleet');
    return session;
  }

  /** The registry ended a session (client DELETE, a legacy stream that never came back): for every replica. */
  ended(id: string): void {
    this.#ownership.forget(id);
    this.#transports.delete(id);
    this.#fleet.remove(id).catch((error: unknown) => this.#logger.warn({ session: id, err: errorMessage(error) }, 'session record not deleted (it will expire)'));
  }

  /** A session left this replica's registry: nothing of it is kept here. */
  removed(id: string): void {
    this.#ownership.forget(id);
    this.#transports.delete(id);
  }

  /** Whether an idle session is still used by another replica (then it is detached here, not ended). */
  usedElsewhere(id: string): boolean {
    return this.#fleet.cached(id) !== undefined;
  }

  async #claim(id: string): Promise<void> {
    if (this.#ownership.state(id) !== 'owned') {
      try {
        await this.#fleet.update(id, (record) => this.#ownership.takeOver(record, 'claim'));
      } catch (error) {
        // The client is here whatever the record says: serve it, and say why others may not know.
        this.#logger.warn({ session: id, err: errorMessage(error) }, 'could not record this replica as the session owner');
      }
    }
    this.#options.registry.get(id)?.ownerChanged(true);
  }

  #changed({ id, record, previous }: RecordChange): void {
    const session = this.#options.registry.get(id);
    if (!record) {
      this.#ownership.forget(id);
      this.#transports.delete(id);
      // Ended on another replica (which closed the upstream sessions): let go of it here.
      if (session) this.#options.registry.detach(id);
      return;
    }
    if (!session) return;
    const moved = this.#ownership.ownerMoved(previous?.owner, record.owner);
    if (moved) {
      session.ownerChanged(moved.mine);
      if (!moved.mine) (session.channel as Channel).released?.();
    }
    // Every change arrives as a new object: refreshUpstreams itself adopts only session ids that differ.
    session.refreshUpstreams(record.upstreams);
  }

  #deliver(message: FleetMessage): boolean {
    const session = this.#options.registry.get(message.session);
    if (!session) return false;
    if (message.kind === 'cancel') {
      session.handleNotification(message.notification, true);
      return true;
    }
    const inner = message.message;
    if ('method' in inner) {
      session.handleNotification(inner, true);
      return true;
    }
    return session.handleResponse(inner, true);
  }

  #forward(session: string, message: JSONRPCResponse | JSONRPCNotification): void {
    if ('method' in message && message.method === 'notifications/cancelled') {
      this.#fleet.broadcast({ kind: 'cancel', session, notification: message });
      return;
    }
    const id = 'method' in message ? (message.params as { progressToken?: unknown } | undefined)?.progressToken : message.id;
    const replica = replicaOfServerRequest(id);
    if (replica === undefined || replica === this.#fleet.replicaId) {
      this.#logger.debug({ session, id }, 'client message for no request of ours: dropped');
      return;
    }
    this.#fleet
      .send(replica, { kind: 'client-message', session, message })
      .then((placed) => {
        if (!placed) this.#logger.info({ session, id, replica }, 'client message not placed: the replica that asked is gone or no longer waits');
      })
      .catch((error: unknown) => this.#logger.warn({ session, id, replica, err: errorMessage(error) }, 'client message not forwarded'));
  }

  /** Upstream sessions opened or re-opened here: the record says so (once per turn). */
  #upstreamsChanged(id: string): void {
    if (this.#upstreamWrites.has(id)) return;
    this.#upstreamWrites.add(id);
    setImmediate(() => {
      this.#upstreamWrites.delete(id);
      const upstreams = this.#options.registry.get(id)?.state()?.upstreams;
      if (!upstreams) return;
      this.#fleet
        .update(id, (record) => ({ ...record, upstreams: { ...record.upstreams, ...upstreams } }))
        .catch((error: unknown) => this.#logger.warn({ session: id, err: errorMessage(error) }, 'session record not updated with new upstream sessions'));
    });
  }

  /** Sessions whose owner stopped beating: this replica takes them (compare-and-set: one survivor wins each). */
  #adoptOrphans(alive: ReadonlySet<OwnerToken>): void {
    for (const orphan of this.#fleet.orphans(alive)) {
      // Refused while an adoption of it is in flight already.
      if (!this.#ownership.move(orphan.id, 'adopt', 'heartbeat').ok) continue;
      this.#fleet
        .update(orphan.id, (record) => this.#ownership.takeOver(record, 'adopt', alive))
        .then(async (adopted) => {
          if (!adopted) return;
          this.#logger.info({ session: orphan.id, from: orphan.owner }, 'adopted the session of a replica that is gone');
          this.#options.onAdopted?.();
          const session = await this.#materialize(orphan.id);
          session?.ownerChanged(true);
        })
        .catch((error: unknown) => this.#logger.debug({ session: orphan.id, err: errorMessage(error) }, 'adoption failed (another replica may have won)'))
        .finally(() => this.#ownership.adoptionSettled(orphan.id));
    }
  }
}
