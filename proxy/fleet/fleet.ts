// This replica's membership of the proxy fleet (issue 8, DESIGN.md "Sessions across replicas"):
// one NATS connection carrying the session records (JetStream KV, cached here and kept current by
// a watch, so a known session costs no round trip), the replica heartbeats (a replica whose key
// expires is dead and its sessions are adopted), the per-session event buffer of resumable streams
// (event-log.ts) and replica-to-replica messages (a client's answer to a request another replica
// sent, a cancel of a request running elsewhere). Everything here may fail while NATS is away: it
// fails fast with MCPMUX_FLEET_UNAVAILABLE (retryable) and catches up when NATS is back.
import { connect, JSONCodec, type NatsConnection, type Subscription } from 'nats';
import type { JSONRPCNotification, JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { NatsSessionStore } from '../sessions/nats-store.ts';
import { StoreConflict, type ReplicaInfo, type SessionRecord, type Versioned } from '../sessions/store.ts';
import { JetStreamEventLog } from './event-log.ts';
import { formatOwnerToken, replicaIdsOf, type OwnerToken } from './ownership.ts';
import { natsConnectionOptions, type NatsAccess } from '../../shared/net/nats-connect.ts';

export interface FleetOptions extends NatsAccess {
  /** Names of the buckets, stream and subjects (several fleets may share a NATS). Default mcpmux. */
  prefix?: string;
  replicaId: string;
  /** A session untouched this long is gone (the records' max_age). */
  idleTtlMs: number;
  /** How often this replica says it is alive; default 1 s. A replica silent for 3 beats is dead. */
  heartbeatIntervalMs?: number;
  /** Budget of one NATS operation on a request's path; default 2 s. */
  operationTimeoutMs?: number;
  /** Events kept per resumable stream; default 256. */
  maxEventsPerStream?: number;
  /** Copies JetStream keeps of the buckets and the event stream (3 on a clustered NATS); default 1. */
  natsReplicas?: number;
  logger: Logger;
}

/** A client message that belongs to another replica, or a cancel every replica should see. */
export type FleetMessage =
  | { kind: 'client-message'; session: string; message: JSONRPCResponse | JSONRPCNotification }
  | { kind: 'cancel'; session: string; notification: JSONRPCNotification };

export type RecordChange = { id: string; record: SessionRecord | undefined; previous: SessionRecord | undefined };

const codec = JSONCodec<unknown>();

/** Waits for `work` until `deadline` (epoch ms) at most: 'late' when the deadline came first. */
async function within(work: Promise<unknown>, deadline: number): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => 'done' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
/** A replica whose heartbeat is this many intervals old is dead (the replicas bucket's max_age). */
const HEARTBEATS_PER_TTL = 3;

interface Cached {
  value: SessionRecord;
  revision: number;
  /** When a write of it was last seen (a touch is a write): older than the idle TTL means expired. */
  seenAt: number;
}

export class Fleet {
  readonly replicaId: string;
  /**
   * What session records name as their owner (ownership.ts): this replica's id and start time, so a
   * replica restarted under the same id (a StatefulSet pod) does not pass for the one that held the streams.
   */
  readonly owner: OwnerToken;
  readonly #startedAt = Date.now();
  readonly events: JetStreamEventLog;
  readonly #nc: NatsConnection;
  readonly #store: NatsSessionStore;
  readonly #options: Required<Omit<FleetOptions, keyof NatsAccess>>;
  readonly #logger: Logger;
  readonly #records = new Map<string, Cached>();
  readonly #touched = new Map<string, number>();
  /** Records written while NATS was away: written when it is back. */
  readonly #pending = new Map<string, SessionRecord>();
  readonly #changeListeners = new Set<(change: RecordChange) => void>();
  readonly #roundListeners = new Set<(alive: ReadonlySet<OwnerToken>) => void>();
  #messageHandler: ((message: FleetMessage) => boolean) | undefined;
  #subscriptions: Subscription[] = [];
  #stopWatch: (() => void) | undefined;
  #beat: NodeJS.Timeout | undefined;
  /** Owner tokens of the replicas alive at the last heartbeat round (this one included). */
  #alive = new Set<OwnerToken>();
  #connected = true;
  #closing = false;
  /** When this replica joined or NATS last came back: heartbeat rounds before then + 2 TTLs adopt nothing. */
  #settledFrom = Date.now();

  private constructor(nc: NatsConnection, store: NatsSessionStore, events: JetStreamEventLog, options: Required<Omit<FleetOptions, keyof NatsAccess>>) {
    this.#nc = nc;
    this.#store = store;
    this.events = events;
    this.#options = options;
    this.replicaId = options.replicaId;
    this.owner = formatOwnerToken(options.replicaId, this.#startedAt);
    this.#logger = options.logger.child({ replica: options.replicaId });
  }

  /** Connects and joins; throws (MCPMUX_FLEET_UNAVAILABLE) when NATS cannot be reached at all. */
  static async open(options: FleetOptions): Promise<Fleet> {
    const resolved = {
      prefix: options.prefix ?? 'mcpmux',
      replicaId: options.replicaId,
      idleTtlMs: options.idleTtlMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1_000,
      operationTimeoutMs: options.operationTimeoutMs ?? 2_000,
      maxEventsPerStream: options.maxEventsPerStream ?? 256,
      natsReplicas: options.natsReplicas ?? 1,
      logger: options.logger,
    };
    if (!/^[A-Za-z0-9_-]+$/.test(resolved.replicaId)) {
      throw new McpmuxError('MCPMUX_USAGE', `replica id ${JSON.stringify(resolved.replicaId)} must be letters, digits, - and _ (it names NATS subjects)`);
    }
    const connection = natsConnectionOptions(options, `mcpmux-proxy-${resolved.replicaId}`);
    let nc: NatsConnection;
    try {
      nc = await connect(connection);
    } catch (error) {
      throw new McpmuxError(
        'MCPMUX_FLEET_UNAVAILABLE',
        `cannot reach NATS at ${String(connection.servers)}: ${errorMessage(error)} (start one with JetStream, e.g. nats-server -js, or leave out --nats to keep sessions on this replica)`,
      );
    }
    try {
      const store = await NatsSessionStore.on(nc, { prefix: resolved.prefix, idleTtlMs: resolved.idleTtlMs, heartbeatTtlMs: resolved.heartbeatIntervalMs * HEARTBEATS_PER_TTL, replicas: resolved.natsReplicas });
      const events = await JetStreamEventLog.open(nc, { prefix: resolved.prefix, maxEventsPerStream: resolved.maxEventsPerStream, maxAgeMs: resolved.idleTtlMs, replicas: resolved.natsReplicas });
      const fleet = new Fleet(nc, store, events, resolved);
      await fleet.#join();
      return fleet;
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** Session records cached here (every live session of the fleet, as far as the watch told). */
  get cachedRecords(): number {
    return this.#records.size;
  }

  /** Whether NATS is reachable now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Record changes seen by the watch (any replica's writes, deletions). */
  onChange(listener: (change: RecordChange) => void): void {
    this.#changeListeners.add(listener);
  }

  /** After each heartbeat round, with the owner tokens alive now: sessions owned by others are orphans. */
  onHeartbeat(listener: (alive: ReadonlySet<OwnerToken>) => void): void {
    this.#roundListeners.add(listener);
  }

  /** The cached records whose owner is not among `alive` (it died or left). */
  orphans(alive: ReadonlySet<string>): SessionRecord[] {
    const found: SessionRecord[] = [];
    for (const id of this.#records.keys()) {
      const record = this.cached(id)?.value;
      if (record && !alive.has(record.owner)) found.push(record);
    }
    return found;
  }

  /** Messages sent to this replica or to all; the handler says whether it placed the message. */
  onMessage(handler: (message: FleetMessage) => boolean): void {
    this.#messageHandler = handler;
  }

  /** The record as last seen, if it has not expired since: no round trip. */
  cached(id: string): Versioned<SessionRecord> | undefined {
    const entry = this.#records.get(id);
    if (!entry) return undefined;
    if (Date.now() - entry.seenAt > this.#options.idleTtlMs) {
      // Expired in NATS (max_age reports no deletion): forgotten here too. orphans() passes every
      // record through here each heartbeat round, so nothing of an expired session stays behind.
      this.#records.delete(id);
      this.#touched.delete(id);
      return undefined;
    }
    return { value: entry.value, revision: entry.revision };
  }

  /** The record, from the cache or else from NATS (a session's first request on this replica). */
  async load(id: string, options: { fresh?: boolean } = {}): Promise<Versioned<SessionRecord> | undefined> {
    const cached = options.fresh ? undefined : this.cached(id);
    if (cached) return cached;
    const found = await this.#op(`load session ${id}`, () => this.#store.get(id));
    if (found) this.#remember(id, found.value, found.revision);
    return found;
  }

  /** Publishes a new session's record; while NATS is away it is kept and written on reconnect. */
  async create(record: SessionRecord): Promise<void> {
    if (!this.#connected) {
      this.#pending.set(record.id, record);
      return;
    }
    try {
      const revision = await this.#op(`create session ${record.id}`, () => this.#store.create(record));
      this.#remember(record.id, record, revision);
    } catch (error) {
      if (error instanceof McpmuxError && error.code === 'MCPMUX_FLEET_UNAVAILABLE') this.#pending.set(record.id, record);
      else throw error;
    }
  }

  /**
   * Compare-and-set: `change` gets the current record and returns the new one (undefined: leave it);
   * retried on conflict. Resolves with the record written, or undefined when there was none or
   * nothing to change.
   */
  async update(id: string, change: (record: SessionRecord) => SessionRecord | undefined): Promise<SessionRecord | undefined> {
    const pending = this.#pending.get(id);
    if (pending) {
      const next = change(pending);
      if (next) this.#pending.set(id, next);
      return next;
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = attempt === 0 ? this.cached(id) ?? (await this.load(id)) : await this.#op(`load session ${id}`, () => this.#store.get(id));
      if (!current) return undefined;
      const next = change(structuredClone(current.value));
      if (!next) return undefined;
      try {
        const revision = await this.#op(`update session ${id}`, () => this.#store.update(next, current.revision));
        this.#remember(id, next, revision);
        return next;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error;
      }
    }
    throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `session ${id}: its record kept changing under five updates; retry`);
  }

  /** The session was used: its record's idle TTL restarts (at most once per quarter TTL, off the request path). */
  touch(id: string): void {
    const now = Date.now();
    const last = this.#touched.get(id) ?? this.#records.get(id)?.seenAt ?? 0;
    if (now - last < this.#options.idleTtlMs / 4 || !this.#connected) return;
    this.#touched.set(id, now);
    this.#op(`touch session ${id}`, () => this.#store.touch(id)).catch((error: unknown) => this.#logger.debug({ session: id, err: errorMessage(error) }, 'session touch failed'));
  }

  /** Ends a session for every replica: its record and its buffered events. */
  async remove(id: string): Promise<void> {
    this.#pending.delete(id);
    this.#records.delete(id);
    this.#touched.delete(id);
    await this.#op(`delete session ${id}`, () => this.#store.delete(id));
    await this.events.dropSession(id).catch(() => undefined);
  }

  /** Sends a message to one replica; false when it is not there to take it (or did not place it). */
  async send(replica: string, message: FleetMessage): Promise<boolean> {
    if (replica === this.replicaId) return this.#messageHandler?.(message) ?? false;
    if (!this.#connected) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', 'NATS is unreachable: the replica that asked cannot be told; retry');
    try {
      const reply = await this.#nc.request(this.#subject(replica), codec.encode(message), { timeout: this.#options.operationTimeoutMs });
      return codec.decode(reply.data) === true;
    } catch (error) {
      this.#logger.debug({ replica, err: errorMessage(error) }, 'fleet message not delivered');
      return false;
    }
  }

  /**
   * Asks one replica something that takes an answer (`serve` on its side): the answer, or
   * MCPMUX_FLEET_UNAVAILABLE when NATS is unreachable or the replica does not answer in time.
   */
  async ask(replica: string, topic: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (!this.#connected) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', 'NATS is unreachable: the replica holding this cannot be asked; retry');
    try {
      const reply = await this.#nc.request(`${this.#subject(replica)}.${topic}`, codec.encode(payload), { timeout: timeoutMs });
      const answer = codec.decode(reply.data) as { ok: unknown } | { error: string };
      if ('error' in answer) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `replica ${replica} could not answer: ${answer.error}`);
      return answer.ok;
    } catch (error) {
      if (error instanceof McpmuxError) throw error;
      throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `replica ${replica} did not answer (${errorMessage(error)}): it may be gone`);
    }
  }

  /** Answers what other replicas `ask` this one about `topic`. */
  serve(topic: string, handler: (payload: unknown) => Promise<unknown>): void {
    this.#subscriptions.push(
      this.#nc.subscribe(`${this.#subject(this.replicaId)}.${topic}`, {
        callback: (_error, msg) => {
          handler(codec.decode(msg.data)).then(
            (ok) => msg.respond(codec.encode({ ok })),
            (error: unknown) => msg.respond(codec.encode({ error: errorMessage(error) })),
          );
        },
      }),
    );
  }

  /** Tells every replica (fire and forget). */
  broadcast(message: FleetMessage): void {
    if (!this.#connected) return;
    this.#nc.publish(`${this.#options.prefix}.fleet.all`, codec.encode(message));
  }

  /** The ids of the replicas alive at the last heartbeat round (this one included). */
  get replicas(): ReadonlySet<string> {
    return replicaIdsOf(this.#alive);
  }

  /** The owner tokens of the replicas alive at the last heartbeat round (this one included). */
  get aliveOwners(): ReadonlySet<OwnerToken> {
    return this.#alive;
  }

  /**
   * Stops announcing this replica and removes its announcement, so the others adopt its sessions at
   * their next heartbeat; the connection stays up for the requests still being answered.
   */
  async leave(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#beat);
    if (this.#connected) await this.#op('leave the fleet', () => this.#store.forgetReplica(this.replicaId)).catch(() => undefined);
  }

  /**
   * Leaves (if not done) and disconnects, within `timeoutMs` whatever NATS does. While NATS answers,
   * what is queued is flushed first (a drain); then, or at once when NATS is unreachable or the time
   * is up, the connection is closed. Never only drained: nats.js resolves a drain whose flush cannot
   * happen without closing the connection, which then goes on reconnecting and keeps the process
   * alive for good.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await within(this.leave(), deadline);
    this.#stopWatch?.();
    for (const sub of this.#subscriptions) sub.unsubscribe();
    await within(this.events.close().catch(() => undefined), deadline);
    if (this.#connected && !this.#nc.isClosed() && !this.#nc.isDraining()) {
      const drained = await within(this.#nc.drain().catch(() => undefined), deadline);
      if (drained === 'late') this.#logger.warn({ timeoutMs }, 'NATS did not take the last writes in time: connection closed without them');
    }
    await this.#nc.close().catch(() => undefined);
  }

  /** Whether the NATS connection is closed for good (after close()). */
  get closed(): boolean {
    return this.#nc.isClosed();
  }

  async #join(): Promise<void> {
    this.#stopWatch = await this.#store.watch(
      ({ id, record, revision }) => {
        const previous = this.#records.get(id)?.value;
        if (record) this.#remember(id, record, revision ?? 0);
        else {
          this.#records.delete(id);
          this.#touched.delete(id);
        }
        for (const listener of this.#changeListeners) listener({ id, record, previous });
      },
      { initial: true },
    );
    const deliver = (data: Uint8Array): boolean => {
      try {
        return this.#messageHandler?.(codec.decode(data) as FleetMessage) ?? false;
      } catch (error) {
        this.#logger.warn({ err: errorMessage(error) }, 'fleet message not handled');
        return false;
      }
    };
    this.#subscriptions = [
      this.#nc.subscribe(this.#subject(this.replicaId), { callback: (_error, msg) => msg.respond(codec.encode(deliver(msg.data))) }),
      this.#nc.subscribe(`${this.#options.prefix}.fleet.all`, { callback: (_error, msg) => void deliver(msg.data) }),
    ];
    await this.#heartbeat();
    this.#beat = setInterval(() => void this.#heartbeat(), this.#options.heartbeatIntervalMs);
    this.#beat.unref();
    void this.#followStatus();
  }

  async #heartbeat(): Promise<void> {
    if (this.#closing || !this.#connected) return;
    try {
      const info: ReplicaInfo = { id: this.replicaId, address: this.#subject(this.replicaId), startedAt: this.#startedAt };
      await this.#op('heartbeat', () => this.#store.heartbeat(info));
      const alive = await this.#op('list replicas', () => this.#store.replicas());
      this.#alive = new Set([...alive.map((r) => formatOwnerToken(r.id, r.startedAt)), this.owner]);
      // Right after joining or after an outage, the others' heartbeats may not be back yet: a
      // replica missing then is not dead, so nobody is adopted until a full TTL has passed.
      if (Date.now() - this.#settledFrom < this.#options.heartbeatIntervalMs * HEARTBEATS_PER_TTL * 2) return;
      for (const listener of this.#roundListeners) listener(this.#alive);
    } catch (error) {
      this.#logger.debug({ err: errorMessage(error) }, 'heartbeat failed');
    }
  }

  async #followStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') {
        if (this.#connected) this.#logger.warn({ server: status.data }, 'NATS unreachable: sessions of other replicas are unavailable until it is back');
        this.#connected = false;
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        this.#settledFrom = Date.now();
        this.#logger.info({ server: status.data }, 'NATS is back: catching up');
        await this.#catchUp();
      }
    }
  }

  /** After an outage: the records written meanwhile go out, and the heartbeat at once. */
  async #catchUp(): Promise<void> {
    for (const [id, record] of [...this.#pending]) {
      try {
        const revision = await this.#op(`create session ${id}`, () => this.#store.create(record));
        this.#remember(id, record, revision);
        this.#pending.delete(id);
      } catch (error) {
        if (error instanceof StoreConflict) this.#pending.delete(id);
        else this.#logger.warn({ session: id, err: errorMessage(error) }, 'session record still not written');
      }
    }
    await this.#heartbeat();
  }

  #remember(id: string, value: SessionRecord, revision: number): void {
    const entry = this.#records.get(id);
    if (entry && entry.revision > revision && revision !== 0) return;
    this.#records.set(id, { value, revision, seenAt: Date.now() });
  }

  #subject(replica: string): string {
    return `${this.#options.prefix}.fleet.replica.${replica}`;
  }

  /** One NATS operation within the budget; fails fast while NATS is away. */
  async #op<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (!this.#connected) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `NATS is unreachable (${what}); retry shortly`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `NATS did not answer within ${this.#options.operationTimeoutMs} ms (${what}); retry shortly`)), this.#options.operationTimeoutMs);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      if (error instanceof McpmuxError || error instanceof StoreConflict) throw error;
      throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `NATS failed (${what}): ${errorMessage(error)}; retry shortly`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
