// Every replica's proxies, seen from any replica (`--event-log nats`): each replica publishes the
// records of its own discovery streams (connected, versions sent and ACKed, last NACK) to a NATS KV
// bucket, `<stream>_proxies`, one key per replica and node id, and watches the bucket. So
// ListProxies on any replica shows every proxy of the fleet once, and the leader measures
// convergence to the last ACK of the whole fleet, not of its own streams.
//
// A replica refreshes its keys every `refreshMs`; the bucket forgets a key not written for `ttlMs`
// (its max age), so the proxies of a replica that died leave every view by themselves. A proxy that
// moved to another replica may have two keys for a while (the old one until it expires, or
// disconnected): the view shows the connected one, else the one seen last.
import type { KV, KvEntry } from 'nats';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { ProxyRegistry, ProxyState } from './proxies.ts';

interface Published {
  replica: string;
  state: ProxyState;
  /** When the owning replica last wrote it (ms since the epoch). */
  updatedAt: number;
}

export interface FleetProxiesOptions {
  kv: KV;
  /** This replica's identity (the leader election's). */
  replica: string;
  local: ProxyRegistry;
  logger: Logger;
  /** How often this replica rewrites its keys (default 10 s); the bucket's max age should be about three times it. */
  refreshMs?: number;
  /** The bucket's max age: a key older than this is gone from every view (default 30 s). */
  ttlMs?: number;
  now?: () => number;
  /** A record of the fleet changed (the leader checks convergence). */
  onUpdate?: (state: ProxyState) => void;
}

const token = (text: string): string => Buffer.from(text).toString('base64url');
/** How long writes of changed records are gathered before they go out together. */
const FLUSH_MS = 20;

export class FleetProxies {
  readonly #options: FleetProxiesOptions;
  readonly #now: () => number;
  readonly #ttlMs: number;
  /** node id → (bucket key → what it says). */
  readonly #byNode = new Map<string, Map<string, Published>>();
  readonly #dirty = new Set<string>();
  #flushTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #watch: { stop(): void } | undefined;
  #stopped = false;

  constructor(options: FleetProxiesOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? 30_000;
  }

  /** Reads the bucket, then follows it; resolves once what it held is in the view. */
  async start(): Promise<void> {
    const watch = await this.#options.kv.watch({ key: '>' });
    this.#watch = watch;
    let resolveLoaded!: () => void;
    const loaded = new Promise<void>((resolve) => (resolveLoaded = resolve));
    void (async () => {
      for await (const entry of watch) {
        this.#take(entry);
        if (entry.delta === 0) resolveLoaded();
      }
    })().catch((error: unknown) => {
      if (!this.#stopped) this.#options.logger.error({ err: errorMessage(error) }, 'fleet proxies: watching the bucket failed; ListProxies shows this replica\'s proxies and what it saw before');
    });
    // An empty bucket delivers nothing: the watch is then caught up at once.
    const status = await this.#options.kv.status();
    if (status.values === 0) resolveLoaded();
    await loaded;
    const every = this.#options.refreshMs ?? 10_000;
    this.#refreshTimer = setInterval(() => this.#refreshAll(), every);
    this.#refreshTimer.unref();
    this.#refreshAll();
  }

  /** The local registry changed this node id's record: published shortly. */
  changed(nodeId: string): void {
    if (this.#stopped) return;
    this.#dirty.add(nodeId);
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  /** Every proxy of the fleet once, by node id. */
  list(): ProxyState[] {
    this.#options.local.expire();
    const now = this.#now();
    const proxies: ProxyState[] = [];
    for (const [nodeId, entries] of this.#byNode) {
      const best = this.#best(entries, now);
      if (best) proxies.push(best.state);
      else if (entries.size === 0) this.#byNode.delete(nodeId);
    }
    return proxies.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  get(nodeId: string): ProxyState | undefined {
    const entries = this.#byNode.get(nodeId);
    return entries && this.#best(entries, this.#now())?.state;
  }

  /** Whether `group` has connected proxies in the fleet and every one of them ACKed `version`. */
  converged(group: string, version: string): boolean {
    // Asked on every ACK and bucket update while a version is pending: one pass, no sorted copy.
    const now = this.#now();
    let connected = 0;
    for (const entries of this.#byNode.values()) {
      const state = this.#best(entries, now)?.state;
      if (!state || state.group !== group || !state.connected) continue;
      if (state.ackedVersion !== version) return false;
      connected++;
    }
    return connected > 0;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#flushTimer);
    clearInterval(this.#refreshTimer);
    this.#watch?.stop();
    // This replica's streams end with it: its keys go now rather than at their expiry.
    const mine = [...this.#byNode.values()].flatMap((entries) => [...entries.entries()].filter(([, p]) => p.replica === this.#options.replica).map(([key]) => key));
    await Promise.allSettled(mine.map((key) => this.#options.kv.delete(key)));
  }

  /** The connected entry, else the one seen last; undefined when all have expired. */
  #best(entries: Map<string, Published>, now: number): Published | undefined {
    let best: Published | undefined;
    for (const [key, published] of entries) {
      if (now - published.updatedAt > this.#ttlMs) {
        entries.delete(key);
        continue;
      }
      if (!published.state.connected && now - published.state.lastSeen > this.#options.local.disconnectedTtlMs) continue;
      if (!best || (published.state.connected && !best.state.connected) || (published.state.connected === best.state.connected && published.state.lastSeen > best.state.lastSeen)) best = published;
    }
    return best;
  }

  #take(entry: KvEntry): void {
    const nodeToken = entry.key.slice(entry.key.indexOf('.') + 1);
    const nodeId = Buffer.from(nodeToken, 'base64url').toString();
    let entries = this.#byNode.get(nodeId);
    if (entry.operation !== 'PUT') {
      entries?.delete(entry.key);
      return;
    }
    let published: Published;
    try {
      published = JSON.parse(entry.string()) as Published;
    } catch {
      this.#options.logger.warn({ key: entry.key }, 'fleet proxies: a record is not JSON; ignored');
      return;
    }
    if (!entries) this.#byNode.set(nodeId, (entries = new Map()));
    entries.set(entry.key, published);
    this.#options.onUpdate?.(published.state);
  }

  #key(nodeId: string): string {
    return `${token(this.#options.replica)}.${token(nodeId)}`;
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const nodes = [...this.#dirty];
    this.#dirty.clear();
    for (const nodeId of nodes) this.#publish(nodeId);
  }

  #refreshAll(): void {
    this.#options.local.expire();
    for (const state of this.#options.local.list()) this.#publish(state.nodeId);
  }

  #publish(nodeId: string): void {
    const state = this.#options.local.get(nodeId);
    const key = this.#key(nodeId);
    const write = state
      ? this.#options.kv.put(key, JSON.stringify({ replica: this.#options.replica, state, updatedAt: this.#now() } satisfies Published))
      : this.#options.kv.delete(key);
    write.catch((error: unknown) => {
      if (!this.#stopped) this.#options.logger.warn({ err: errorMessage(error), nodeId }, 'fleet proxies: cannot publish a proxy record (NATS); other replicas list it again after the next refresh');
    });
  }
}
