// Where replicas share what they know about MCP sessions (issue 8, DESIGN.md "Sessions across
// replicas"): one record per session, with a revision for compare-and-set, expiring after the idle
// TTL unless touched; and replica heartbeats the same way. Two implementations with one contract
// (test/session-store.test.ts runs it against both): in memory (one replica, the default) and a NATS
// JetStream KV bucket (nats-store.ts).

import type { InitializeRequestParams } from '@modelcontextprotocol/sdk/types.js';
import type { SharedUpstream } from '../mux/connections.ts';

/** What any replica needs to serve a session it did not open. */
export interface SessionRecord {
  id: string;
  /** The replica holding the session's streams now: `<replica id>@<its start time>`. */
  owner: string;
  /** Whom the session belongs to (proxy/auth); absent: anonymous. */
  principal?: string;
  routePrefix: string;
  /** The route's name (absent in records of replicas that predate it: the route at routePrefix). */
  routeName?: string;
  transport: 'streamable-http' | 'sse';
  protocolVersion?: string;
  /** What the client sent in initialize (capabilities, clientInfo): every upstream handshake repeats it. */
  initializeParams?: InitializeRequestParams;
  /** The snapshot version the session last ran on. */
  configVersion?: string;
  /** Per target: the upstream session id (if the upstream gave one), the endpoint it is pinned to, and the upstream's initialize answer. */
  upstreams: Record<string, SharedUpstream>;
  /** Per stream key: the last event id written, for Last-Event-ID resumption elsewhere. */
  lastEventIds?: Record<string, string>;
}

export interface Versioned<T> {
  value: T;
  /** Increases with every write; what update() compares. */
  revision: number;
}

/** A compare-and-set lost: someone wrote the record since it was read (or created it first). */
export class StoreConflict extends Error {
  constructor(id: string, detail: string) {
    super(`session ${id}: ${detail}`);
    this.name = 'StoreConflict';
  }
}

export interface ReplicaInfo {
  id: string;
  /** Where other replicas reach it (its subject or address). */
  address: string;
  startedAt: number;
}

export type SessionChange = { id: string; record: SessionRecord | undefined; revision?: number };

export interface SessionStore {
  get(id: string): Promise<Versioned<SessionRecord> | undefined>;
  /** Creates the record; StoreConflict when one exists. Returns its revision. */
  create(record: SessionRecord): Promise<number>;
  /** Replaces the record if it is still at `revision`; StoreConflict otherwise. Returns the new revision. */
  update(record: SessionRecord, revision: number): Promise<number>;
  /** Writes the record again as it is, restarting its idle TTL (activity; throttled by callers). */
  touch(id: string): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * Every later change (and expiry, as a deletion where the store reports it), until stopped;
   * with `initial`, first every live record as a change.
   */
  watch(onChange: (change: SessionChange) => void, options?: { initial?: boolean }): Promise<() => void>;
  /** Announces a replica alive; an announcement older than the heartbeat TTL means it is gone. */
  heartbeat(replica: ReplicaInfo): Promise<void>;
  /** A replica leaves cleanly: its announcement goes at once, so others need not wait for it to expire. */
  forgetReplica(id: string): Promise<void>;
  replicas(): Promise<ReplicaInfo[]>;
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** A record untouched this long is gone. */
  idleTtlMs: number;
  heartbeatTtlMs: number;
  now?: () => number;
}

/** One replica's store: the same contract, nothing shared. */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, { value: SessionRecord; revision: number; at: number }>();
  readonly #replicas = new Map<string, { value: ReplicaInfo; at: number }>();
  readonly #watchers = new Set<(change: SessionChange) => void>();
  readonly #options: MemoryStoreOptions;
  readonly #now: () => number;
  #revision = 0;

  constructor(options: MemoryStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async get(id: string): Promise<Versioned<SessionRecord> | undefined> {
    const entry = this.#live(id);
    return entry ? { value: structuredClone(entry.value), revision: entry.revision } : undefined;
  }

  async create(record: SessionRecord): Promise<number> {
    if (this.#live(record.id)) throw new StoreConflict(record.id, 'exists already');
    return this.#put(record);
  }

  async update(record: SessionRecord, revision: number): Promise<number> {
    const entry = this.#live(record.id);
    if (!entry) throw new StoreConflict(record.id, 'is gone');
    if (entry.revision !== revision) throw new StoreConflict(record.id, `is at revision ${entry.revision}, not ${revision}`);
    return this.#put(record);
  }

  async touch(id: string): Promise<void> {
    const entry = this.#live(id);
    if (entry) entry.at = this.#now();
  }

  async delete(id: string): Promise<void> {
    if (this.#records.delete(id)) this.#notify({ id, record: undefined });
  }

  async watch(onChange: (change: SessionChange) => void, options: { initial?: boolean } = {}): Promise<() => void> {
    if (options.initial) for (const id of [...this.#records.keys()]) {
      const entry = this.#live(id);
      if (entry) onChange({ id, record: structuredClone(entry.value), revision: entry.revision });
    }
    this.#watchers.add(onChange);
    return () => this.#watchers.delete(onChange);
  }

  async heartbeat(replica: ReplicaInfo): Promise<void> {
    this.#replicas.set(replica.id, { value: { ...replica }, at: this.#now() });
  }

  async forgetReplica(id: string): Promise<void> {
    this.#replicas.delete(id);
  }

  async replicas(): Promise<ReplicaInfo[]> {
    const now = this.#now();
    return [...this.#replicas.values()].filter((r) => now - r.at < this.#options.heartbeatTtlMs).map((r) => ({ ...r.value }));
  }

  async close(): Promise<void> {
    this.#watchers.clear();
  }

  #put(record: SessionRecord): number {
    const revision = ++this.#revision;
    this.#records.set(record.id, { value: structuredClone(record), revision, at: this.#now() });
    this.#notify({ id: record.id, record: structuredClone(record), revision });
    return revision;
  }

  /** The entry if not expired; an expired one is dropped (and reported) on the way. */
  #live(id: string): { value: SessionRecord; revision: number; at: number } | undefined {
    const entry = this.#records.get(id);
    if (!entry) return undefined;
    if (this.#now() - entry.at < this.#options.idleTtlMs) return entry;
    this.#records.delete(id);
    this.#notify({ id, record: undefined });
    return undefined;
  }

  #notify(change: SessionChange): void {
    for (const watcher of this.#watchers) watcher(change);
  }
}
