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

/** Per-proxy state, keyed by node id. A reconnecting proxy keeps its record. */
export class ProxyRegistry {
  readonly #proxies = new Map<string, ProxyState>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  connect(nodeId: string, group: string, metadata: Record<string, string>, ackedVersion: string): void {
    const previous = this.#proxies.get(nodeId);
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
    if (state) this.#proxies.set(nodeId, { ...state, ...change, lastSeen: this.#now() });
  }

  list(): ProxyState[] {
    return [...this.#proxies.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  get(nodeId: string): ProxyState | undefined {
    return this.#proxies.get(nodeId);
  }
}
