// The session store on NATS JetStream KV (issue 8): bucket `mcpmux-sessions` (one key per session,
// max_age = the idle TTL, history 1: compare-and-set on the key's revision) and bucket
// `mcpmux-replicas` (one key per replica, max_age = the heartbeat TTL). Records are JSON.
import { connect, JSONCodec, KvWatchInclude, type KV, type KvEntry, type NatsConnection } from 'nats';
import { StoreConflict, type ReplicaInfo, type SessionChange, type SessionRecord, type SessionStore, type Versioned } from './store.ts';

export interface NatsStoreOptions {
  /** nats://host:port, comma-separated for several. */
  servers: string;
  idleTtlMs: number;
  heartbeatTtlMs: number;
  /** Bucket name prefix (tests run several fleets on one server). Default mcpmux. */
  prefix?: string;
  /** Copies JetStream keeps of each bucket (3 on a clustered NATS). Default 1. */
  replicas?: number;
}

const codec = JSONCodec<unknown>();

/** JetStream's answer to a create over an existing key, or an update at another revision. */
function isWrongRevision(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /wrong last sequence|key exists/i.test(text);
}

export class NatsSessionStore implements SessionStore {
  readonly #nc: NatsConnection;
  readonly #sessions: KV;
  readonly #replicas: KV;

  private constructor(nc: NatsConnection, sessions: KV, replicas: KV) {
    this.#nc = nc;
    this.#sessions = sessions;
    this.#replicas = replicas;
  }

  /** Connects (a connection of its own, closed by close()). */
  static async open(options: NatsStoreOptions): Promise<NatsSessionStore> {
    const nc = await connect({ servers: options.servers.split(',').map((s) => s.trim()), name: 'mcpmux-proxy', maxReconnectAttempts: -1 });
    try {
      return await NatsSessionStore.on(nc, options);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** On a connection the caller holds (close() then drains it too). */
  static async on(nc: NatsConnection, options: Omit<NatsStoreOptions, 'servers'>): Promise<NatsSessionStore> {
    const js = nc.jetstream();
    const prefix = options.prefix ?? 'mcpmux';
    const copies = options.replicas ?? 1;
    const sessions = await js.views.kv(`${prefix}-sessions`, { ttl: options.idleTtlMs, history: 1, replicas: copies });
    const replicas = await js.views.kv(`${prefix}-replicas`, { ttl: options.heartbeatTtlMs, history: 1, replicas: copies });
    return new NatsSessionStore(nc, sessions, replicas);
  }

  async get(id: string): Promise<Versioned<SessionRecord> | undefined> {
    const entry = await this.#sessions.get(id);
    return live(entry) ? { value: codec.decode(entry.value) as SessionRecord, revision: entry.revision } : undefined;
  }

  async create(record: SessionRecord): Promise<number> {
    try {
      return await this.#sessions.create(record.id, codec.encode(record));
    } catch (error) {
      if (isWrongRevision(error)) throw new StoreConflict(record.id, 'exists already');
      throw error;
    }
  }

  async update(record: SessionRecord, revision: number): Promise<number> {
    try {
      return await this.#sessions.update(record.id, codec.encode(record), revision);
    } catch (error) {
      if (isWrongRevision(error)) throw new StoreConflict(record.id, `is no longer at revision ${revision}`);
      throw error;
    }
  }

  async touch(id: string): Promise<void> {
    const current = await this.#sessions.get(id);
    if (!live(current)) return;
    // Writing the same bytes again restarts max_age; a concurrent writer's newer value wins.
    await this.#sessions.update(id, current.value, current.revision).catch((error: unknown) => {
      if (!isWrongRevision(error)) throw error;
    });
  }

  async delete(id: string): Promise<void> {
    await this.#sessions.delete(id);
  }

  async watch(onChange: (change: SessionChange) => void, options: { initial?: boolean } = {}): Promise<() => void> {
    const iterator = await this.#sessions.watch({ include: options.initial ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const entry of iterator) {
        onChange({ id: entry.key, record: live(entry) ? (codec.decode(entry.value) as SessionRecord) : undefined, revision: entry.revision });
      }
    })();
    return () => iterator.stop();
  }

  async heartbeat(replica: ReplicaInfo): Promise<void> {
    await this.#replicas.put(replica.id, codec.encode(replica));
  }

  /** A replica says goodbye (clean shutdown): the others adopt its sessions at once. */
  async forgetReplica(id: string): Promise<void> {
    await this.#replicas.delete(id);
  }

  async replicas(): Promise<ReplicaInfo[]> {
    // The keys first: awaiting a get() inside the keys() iteration ends it early.
    const keys: string[] = [];
    for await (const key of await this.#replicas.keys()) keys.push(key);
    const found: ReplicaInfo[] = [];
    for (const key of keys) {
      const entry = await this.#replicas.get(key);
      if (live(entry)) found.push(codec.decode(entry.value) as ReplicaInfo);
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async close(): Promise<void> {
    await this.#nc.drain();
  }
}

/** An entry that holds a value (not a deletion marker). */
function live(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && entry.operation === 'PUT';
}
