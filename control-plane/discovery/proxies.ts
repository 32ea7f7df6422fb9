/** What the control plane knows of each proxy: kept beside the snapshots, never inside them. */
export interface ProxyState {
  nodeId: string;
  group: string;
  connected: boolean;
  ackedVersion: string;
  sentVersion: string;
  lastNackVersion: string;
  lastNackError: string;
  lastSeen: number;
  metadata: Record<string, string>;
}

/**
 * How long a disconnected proxy stays in the registry (ListProxies shows it with connected false)
 * before it is forgotten: long enough to see a proxy that restarts or reconnects come back, short
 * enough that a fleet's churn (pods replaced at every rollout, each a new node id) does not
 * accumulate for the life of the control plane. Documented in docs/grpcurl.md (ListProxies).
 */
export const DISCONNECTED_PROXY_TTL_MS = 10 * 60_000;

/**
 * A discovery stream's hold on its proxy's record, from `connect`. A proxy may open a new stream
 * before the control plane has seen its old one end (a half-dead connection the proxy gave up on):
 * only the newest stream of a node id changes the record, so the old stream's end (or a late ACK on
 * it) never marks a live proxy disconnected or moves its versions.
 */
export interface ProxyStream {
  readonly nodeId: string;
  readonly id: number;
}

type ProxyChange = Partial<Omit<ProxyState, 'nodeId' | 'lastSeen' | 'connected'>>;

interface ProxyRecord extends ProxyState {
  /** The id of the stream that holds the record (the newest one of the node id). */
  stream: number;
}

/** Per group: connected proxies, and how many of them ACKed each version. */
interface GroupCounts {
  connected: number;
  acked: Map<string, number>;
}

/**
 * Per-proxy state, keyed by node id. A reconnecting proxy keeps its record. Every push and ACK
 * updates a record, so an update is O(1) and changes the record in place; per group it keeps how
 * many proxies are connected and how many of those ACKed each version, so "has every connected
 * proxy of this Gateway ACKed this version?" (`converged`) is O(1) too, not a pass over the fleet.
 * Sorting is left to `list` (admin calls), whose order is kept until a node id appears or goes.
 * Disconnected records are forgotten after `disconnectedTtlMs`. Readers get copies.
 */
export class ProxyRegistry {
  readonly #proxies = new Map<string, ProxyRecord>();
  /** Disconnected node ids → when, oldest first (a reconnect takes its id out). */
  readonly #disconnected = new Map<string, number>();
  readonly #groups = new Map<string, GroupCounts>();
  readonly #now: () => number;
  readonly #ttlMs: number;
  #sortedIds: string[] | undefined;
  #nextStream = 0;

  readonly #onChange: ((nodeId: string) => void) | undefined;

  /** `onChange`: a record was made, changed or forgotten (a fleet view publishes it: fleet-proxies.ts). */
  constructor(options: { now?: () => number; disconnectedTtlMs?: number; onChange?: (nodeId: string) => void } = {}) {
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.disconnectedTtlMs ?? DISCONNECTED_PROXY_TTL_MS;
    this.#onChange = options.onChange;
  }

  get disconnectedTtlMs(): number {
    return this.#ttlMs;
  }

  /** A stream of `nodeId` begins: it holds the record from now on (a previous stream no longer does). */
  connect(nodeId: string, group: string, metadata: Record<string, string>, ackedVersion: string): ProxyStream {
    this.#expire();
    const stream = { nodeId, id: ++this.#nextStream };
    const previous = this.#proxies.get(nodeId);
    if (previous) {
      this.#count(previous, -1);
    } else {
      this.#sortedIds = undefined;
    }
    this.#disconnected.delete(nodeId);
    const record: ProxyRecord = {
      nodeId,
      group,
      connected: true,
      ackedVersion,
      sentVersion: previous?.sentVersion ?? '',
      lastNackVersion: previous?.lastNackVersion ?? '',
      lastNackError: previous?.lastNackError ?? '',
      lastSeen: this.#now(),
      metadata,
      stream: stream.id,
    };
    this.#proxies.set(nodeId, record);
    this.#count(record, 1);
    this.#onChange?.(nodeId);
    return stream;
  }

  /** Changes the record, if `stream` still holds it. */
  update(stream: ProxyStream, change: ProxyChange): void {
    const record = this.#held(stream);
    if (!record) return;
    const counted = record.connected && ('group' in change || 'ackedVersion' in change);
    if (counted) this.#count(record, -1);
    Object.assign(record, change);
    record.lastSeen = this.#now();
    if (counted) this.#count(record, 1);
    this.#onChange?.(record.nodeId);
  }

  /** The stream ended: its proxy is disconnected (true), unless a newer stream holds the record (false). */
  disconnect(stream: ProxyStream): boolean {
    const record = this.#held(stream);
    if (!record || !record.connected) return false;
    this.#count(record, -1);
    record.connected = false;
    record.lastSeen = this.#now();
    this.#disconnected.set(record.nodeId, record.lastSeen);
    this.#onChange?.(record.nodeId);
    this.#expire();
    return true;
  }

  /** Whether `group` has connected proxies and every one of them ACKed `version`. O(1). */
  converged(group: string, version: string): boolean {
    const counts = this.#groups.get(group);
    return counts !== undefined && counts.connected > 0 && counts.acked.get(version) === counts.connected;
  }

  /** Every proxy by node id, as copies. */
  list(): ProxyState[] {
    this.#expire();
    this.#sortedIds ??= [...this.#proxies.keys()].sort();
    return this.#sortedIds.map((id) => copy(this.#proxies.get(id)!));
  }

  get(nodeId: string): ProxyState | undefined {
    this.#expire();
    const record = this.#proxies.get(nodeId);
    return record && copy(record);
  }

  #held(stream: ProxyStream): ProxyRecord | undefined {
    const record = this.#proxies.get(stream.nodeId);
    return record?.stream === stream.id ? record : undefined;
  }

  /** Adds (1) or removes (-1) a connected record's part of its group's counts. */
  #count(record: ProxyRecord, sign: 1 | -1): void {
    if (!record.connected) return;
    let counts = this.#groups.get(record.group);
    if (!counts) this.#groups.set(record.group, (counts = { connected: 0, acked: new Map() }));
    counts.connected += sign;
    const acked = (counts.acked.get(record.ackedVersion) ?? 0) + sign;
    if (acked === 0) counts.acked.delete(record.ackedVersion);
    else counts.acked.set(record.ackedVersion, acked);
    if (counts.connected === 0) this.#groups.delete(record.group);
  }

  /** Forgets records disconnected for longer than the TTL (also on each read and change). */
  expire(): void {
    this.#expire();
  }

  /** Forgets records disconnected for longer than the TTL; oldest first, so it stops at the first one kept. */
  #expire(): void {
    if (this.#disconnected.size === 0) return;
    const now = this.#now();
    for (const [nodeId, at] of this.#disconnected) {
      if (now - at < this.#ttlMs) break;
      this.#disconnected.delete(nodeId);
      this.#proxies.delete(nodeId);
      this.#sortedIds = undefined;
      this.#onChange?.(nodeId);
    }
  }
}

function copy(record: ProxyRecord): ProxyState {
  const { stream: _stream, ...state } = record;
  return state;
}
