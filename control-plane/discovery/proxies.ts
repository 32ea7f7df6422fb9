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
 * Per-proxy state, keyed by node id. A reconnecting proxy keeps its record. Every push and ACK
 * updates a record, so an update is O(1) and changes the record in place; sorting is left to
 * `list` (admin calls), whose order is kept until a new node id appears. Readers get copies.
 */
export class ProxyRegistry {
  readonly #proxies = new Map<string, ProxyState>();
  readonly #now: () => number;
  #sortedIds: string[] | undefined;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  connect(nodeId: string, group: string, metadata: Record<string, string>, ackedVersion: string): void {
    const previous = this.#proxies.get(nodeId);
    if (!previous) this.#sortedIds = undefined;
    this.#proxies.set(nodeId, {
      nodeId,
      group,
      connected: true,
      ackedVersion,
      sentVersion: previous?.sentVersion ?? '',
      lastNackVersion: previous?.lastNackVersion ?? '',
      lastNackError: previous?.lastNackError ?? '',
      lastSeen: this.#now(),
      metadata,
    });
  }

  update(nodeId: string, change: Partial<Omit<ProxyState, 'nodeId' | 'lastSeen'>>): void {
    const state = this.#proxies.get(nodeId);
    if (!state) return;
    Object.assign(state, change);
    state.lastSeen = this.#now();
  }

  /** Every proxy by node id, as copies. */
  list(): ProxyState[] {
    this.#sortedIds ??= [...this.#proxies.keys()].sort();
    return this.#sortedIds.map((id) => ({ ...this.#proxies.get(id)! }));
  }

  get(nodeId: string): ProxyState | undefined {
    const state = this.#proxies.get(nodeId);
    return state && { ...state };
  }
}
