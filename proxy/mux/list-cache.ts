// The lists upstreams answered, kept per target, list kind and upstream identity scope, so that a
// session's tools/list (prompts, resources, templates) need not reach upstreams that already told
// another session the same thing. One ListCache per ProxyServer (whoever owns the Gateway's
// targets); it is never shared between servers.
//
// An entry holds every page of one upstream's answer (concatenated) and is valid:
// - for a 2025 upstream that declares listChanged for the kind: while the connection that fetched
//   it, or the cache's own watcher of the target (list-watchers.ts) if it listened before the fetch,
//   still hears the upstream's notifications on the same stream (no gap in which a list_changed
//   could have been missed), and until a list_changed of that target and kind drops it;
// - for a 2025 upstream without listChanged: for the proxy's --list-cache-ttl (0: not cached);
// - for a 2026-07-28 upstream: for the result's own `ttlMs` (`cacheScope: private` entries are
//   keyed by principal as well, and not kept for anonymous callers).
// Authorization is not the cache's business: the callers filter what they serve per principal.
import { createHash } from 'node:crypto';
import type { ListKind } from '../federation/cursor.ts';
import type { EncodedItem } from '../federation/encoded-lists.ts';
import type { CompiledRoute, CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import { InitializeCache } from './initialize-cache.ts';
import type { ListWatchers, WatchPoint } from './list-watchers.ts';

/** Kinds that are cached: task lists change with every task, so they are always asked. */
export type CachedKind = Exclude<ListKind, 'tasks'>;

export interface ListCacheOptions {
  /** How long a 2025 upstream's list is kept when it does not declare listChanged; 0 (default): not kept. */
  legacyTtlMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** How long an entry is valid. */
export type Validity =
  /**
   * Until a list_changed, as long as `watch` still reports `token` (see UpstreamConnection.listWatch),
   * or one of `also` (the list cache's own watchers, list-watchers.ts) still reports its token.
   */
  | { kind: 'until-changed'; watch: UpstreamConnection; token: string; also?: readonly WatchPoint[] }
  /**
   * Until `expiresAt` (ms, the cache's clock). `hinted`: a 2026-07-28 answer's ttlMs, and `scope`
   * its cacheScope; otherwise the proxy's TTL for 2025 lists.
   */
  | { kind: 'until'; expiresAt: number; scope: 'public' | 'private'; hinted: boolean };

export interface ListEntry {
  readonly items: readonly unknown[];
  readonly validity: Validity;
  /** The endpoint it was fetched from: an entry of an endpoint that left the target is dropped. */
  readonly endpoint: string;
  /** The target's definition it was fetched under (see definitionOf). */
  readonly definition: string;
  /**
   * The items as a 2025 session's client sees them, serialised (encoded-lists.ts), by whether names
   * are prefixed: made by the first list served from the entry, joined by the next ones.
   */
  readonly encoded: Map<boolean, readonly EncodedItem[]>;
}

/** What decides, besides the target, what an upstream lists: compared whole, never in parts. */
export interface IdentityScope {
  /** The endpoint the connection is pinned to (replicas of one upstream may differ mid-rollout). */
  endpoint: string;
  /** The protocol version negotiated with the upstream (list shapes differ between versions). */
  protocolVersion: string;
  /** The client capabilities the upstream was told (server-everything lists sampling tools only to clients that sample). */
  clientCapabilities: string;
  /** The principal, when the upstream told us its answer is private to the caller; '' otherwise. */
  principal: string;
}

/** JSON with sorted keys: equal objects, equal strings, whatever order their keys came in. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(record[k])}`).join(',')}}`;
}

/** Hashes of endpoint credentials, by the headers object the compiled table holds (compiled once per table). */
const NO_CREDENTIAL = '-';

/**
 * What of a target decides who its upstream is and how it is spoken to: protocol, era, command,
 * and the upstream credential (hashed: keys never hold secrets). A config push that changes it drops
 * the target's entries.
 */
function definitionOf(target: CompiledTarget, credentials: WeakMap<object, string>): string {
  const headers = target.endpoints.find((e) => e.headers !== undefined)?.headers;
  let credential = NO_CREDENTIAL;
  if (headers) {
    credential = credentials.get(headers) ?? createHash('sha256').update(stableJson(headers)).digest('hex');
    credentials.set(headers, credential);
  }
  return `${target.protocol}\u0000${target.protocolEra}\u0000${stableJson(target.stdio ?? null)}\u0000${credential}`;
}

/**
 * Entries one target may hold, all kinds and scopes together: clients choose their capabilities
 * (and so their scope), so without a bound they could make the cache grow without end. The oldest
 * entry goes first; a missing entry only costs an upstream request.
 */
const MAX_ENTRIES_PER_TARGET = 64;

function targetId(backend: string, name: string): string {
  return `${backend}\u0000${name}`;
}

function scopeKey(kind: CachedKind, scope: IdentityScope): string {
  return `${kind}\u0000${scope.endpoint}\u0000${scope.protocolVersion}\u0000${scope.clientCapabilities}\u0000${scope.principal}`;
}

/** Told of every invalidation (sessions serving lists of targets they have not opened: lazy-targets.ts). */
export type InvalidationListener = (backend: string, name: string, kinds: readonly ListKind[]) => void;

export class ListCache {
  /** The targets' initialize answers, dropped with their lists on a config push (initialize-cache.ts). */
  readonly initializeAnswers: InitializeCache;
  /** The cache's own listeners (list-watchers.ts), set by the owner once it has an upstream pool; undefined: lists lean on sessions only. */
  watchers: ListWatchers | undefined;
  readonly #listeners = new Set<InvalidationListener>();
  readonly #legacyTtlMs: number;
  readonly #now: () => number;
  /** target id → (kind + scope) → entry. */
  readonly #entries = new Map<string, Map<string, ListEntry>>();
  readonly #credentials = new WeakMap<object, string>();
  /** Bumped per target by every invalidation: a fetch that began before one must not be stored after it. */
  readonly #generations = new Map<string, number>();

  constructor(options: ListCacheOptions = {}) {
    this.#legacyTtlMs = Math.max(0, options.legacyTtlMs ?? 0);
    this.#now = options.now ?? Date.now;
    this.initializeAnswers = new InitializeCache((target) => definitionOf(target, this.#credentials), stableJson);
  }

  /** Calls `listener` on every invalidation until the returned function is called. */
  onInvalidate(listener: InvalidationListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  get legacyTtlMs(): number {
    return this.#legacyTtlMs;
  }

  now(): number {
    return this.#now();
  }

  /** Entries held now (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const byScope of this.#entries.values()) n += byScope.size;
    return n;
  }

  /** Where a fetch starts: hand it back to put(), which refuses it if the target changed meanwhile. */
  generation(target: CompiledTarget): number {
    return this.#generations.get(targetId(target.backend, target.name)) ?? 0;
  }

  /** The valid entry of a target, kind and scope; an invalid one is dropped. */
  get(target: CompiledTarget, kind: CachedKind, scope: IdentityScope): ListEntry | undefined {
    const byScope = this.#entries.get(targetId(target.backend, target.name));
    if (!byScope) return undefined;
    const key = scopeKey(kind, scope);
    const entry = byScope.get(key);
    if (!entry) return undefined;
    if (entry.definition === definitionOf(target, this.#credentials) && this.#valid(entry.validity)) return entry;
    byScope.delete(key);
    return undefined;
  }

  /** Stores a complete list, unless the target's lists were invalidated since `generation`. */
  put(target: CompiledTarget, kind: CachedKind, scope: IdentityScope, items: readonly unknown[], validity: Validity, generation: number): void {
    const id = targetId(target.backend, target.name);
    if ((this.#generations.get(id) ?? 0) !== generation || !this.#valid(validity)) return;
    let byScope = this.#entries.get(id);
    if (!byScope) this.#entries.set(id, (byScope = new Map()));
    const key = scopeKey(kind, scope);
    byScope.delete(key); // re-inserted last: the newest
    byScope.set(key, { items, validity, endpoint: scope.endpoint, definition: definitionOf(target, this.#credentials), encoded: new Map() });
    for (const oldest of byScope.keys()) {
      if (byScope.size <= MAX_ENTRIES_PER_TARGET) break;
      byScope.delete(oldest);
    }
  }

  /**
   * A target said its list changed (or forgot a session, or restarted): its entries of those kinds
   * go, in every scope (the notification reached one session; the change is the upstream's).
   */
  invalidate(backend: string, name: string, kinds: readonly ListKind[]): void {
    const id = targetId(backend, name);
    this.#generations.set(id, (this.#generations.get(id) ?? 0) + 1);
    for (const listener of this.#listeners) listener(backend, name, kinds);
    const byScope = this.#entries.get(id);
    if (!byScope) return;
    const prefixes = kinds.map((k) => `${k}\u0000`);
    for (const key of byScope.keys()) if (prefixes.some((p) => key.startsWith(p))) byScope.delete(key);
    if (byScope.size === 0) this.#entries.delete(id);
  }

  /**
   * After a config push: entries of targets that left, whose definition changed, or whose endpoint
   * is no longer one of the target's, are dropped.
   */
  retain(routes: readonly CompiledRoute[]): void {
    const targets = new Map<string, CompiledTarget>();
    for (const route of routes) for (const t of route.backend.targets) targets.set(targetId(t.backend, t.name), t);
    this.initializeAnswers.retain(targets);
    this.watchers?.retain(routes);
    for (const [id, byScope] of this.#entries) {
      const target = targets.get(id);
      if (!target) {
        this.#drop(id);
        continue;
      }
      const definition = definitionOf(target, this.#credentials);
      if ([...byScope.values()].some((e) => e.definition !== definition)) {
        this.#drop(id);
        continue;
      }
      for (const [key, entry] of byScope) if (!target.endpoints.some((e) => e.url === entry.endpoint)) byScope.delete(key);
      if (byScope.size === 0) this.#entries.delete(id);
    }
  }

  #drop(id: string): void {
    this.#entries.delete(id);
    this.#generations.set(id, (this.#generations.get(id) ?? 0) + 1);
  }

  #valid(validity: Validity): boolean {
    if (validity.kind === 'until') return this.#now() < validity.expiresAt;
    return listening(validity) || (validity.also?.some(listening) ?? false);
  }
}

/** Whether a listener still reports the token it had: it has heard every list_changed since. */
function listening(point: WatchPoint): boolean {
  return !point.watch.closed && point.watch.listWatch?.() === point.token;
}
