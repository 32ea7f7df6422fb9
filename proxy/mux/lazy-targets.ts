// Targets a downstream session was answered for from cached initialize answers (initialize-cache.ts)
// and has not opened an upstream session with yet (issue 19 §2). The session's initialize is then
// answered without reaching those upstreams; the first request that needs one opens it
// (TargetConnections.get: a fan-out opens its targets in parallel, over the pool's keep-alive
// connections, and a request awaits only the targets it needs). Until then, lists of the target
// are served from the list cache when it holds them (lists.ts listPage asks unopened()).
//
// Semantics change (docs/configuration.md, "Lazy upstream sessions"): a target that fails to open
// fails the request that needed it, not the initialize. With failureMode closed that request fails
// with the error the initialize would have failed with; fail-open, the target is left out of that
// request as it would have been left out of the session. The client was told the capabilities the
// target declared last time; a target whose handshake now declares something else is believed from
// then on (its answer is replaced in the cache).
//
// A cached list of an unopened target stays valid only as long as the list cache says: until a
// list_changed heard by the cache's own watcher of the target (list-watchers.ts) or by a session
// that has it open (while the listener that fetched it stays up), or its TTL. When such an
// invalidation comes, a client that was served the target's list from cache is told its list
// changed (it has no upstream session to hear it on).
import type { InitializeRequestParams, InitializeResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { ListKind } from '../federation/cursor.ts';
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import type { TargetConnections } from './connections.ts';
import type { IdentityScope, ListCache } from './list-cache.ts';

export interface LazyTargetsOptions {
  cache: ListCache;
  connections: TargetConnections;
  /** What the session's upstream handshakes send. */
  params: InitializeRequestParams;
  /** params.capabilities as stable JSON (the list cache's scope). */
  clientCapabilities: string;
  /** The backend the session serves now (undefined: its route is gone). */
  backend: () => string | undefined;
  /** A list of a target the client was served from cache changed (heard by another session). */
  onListChanged: (target: string, kind: ListKind) => void;
}

/** What lists need of a target that is not open: what it declares, and the scope its shared lists were cached under. */
export interface UnopenedTarget {
  capabilities: ServerCapabilities | undefined;
  scope: IdentityScope;
}

export class LazyTargets {
  readonly #options: LazyTargetsOptions;
  /** The cached answers the client was told, by target, while the target is not open. */
  readonly #told = new Map<string, { endpoint: string; result: InitializeResult }>();
  /** Targets whose cached lists the client got while not open: their invalidations are news to it. */
  readonly #served = new Set<string>();
  readonly #unsubscribe: () => void;

  constructor(options: LazyTargetsOptions) {
    this.#options = options;
    this.#unsubscribe = options.cache.onInvalidate((backend, name, kinds) => {
      if (backend !== options.backend() || !this.#served.has(name) || options.connections.connected(name)) return;
      this.#served.delete(name);
      for (const kind of kinds) options.onListChanged(name, kind);
    });
  }

  /**
   * At initialize: the target's cached answer (the client is told it, and the target is opened on
   * first use), or undefined when none is known (the target is opened now, as without a cache).
   */
  answer(target: CompiledTarget): { initializeResult: InitializeResult } | undefined {
    const cached = this.#options.cache.initializeAnswers.get(target, this.#options.params);
    if (!cached) return undefined;
    this.#told.set(target.name, { endpoint: cached.endpoint, result: cached.result });
    return { initializeResult: cached.result };
  }

  /** Whether the client was answered for `target` from cache and the target has not been opened since. */
  isUnopened(target: CompiledTarget): boolean {
    // An unavailable target is asked as usual (and fails as usual), never served from cache.
    if (!this.#told.has(target.name) || target.unavailable !== undefined) return false;
    if (!this.#options.connections.connected(target.name)) return true;
    this.#told.delete(target.name);
    return false;
  }

  /**
   * For a list: a target answered from cache and not opened since (the client is then told when
   * the target's cached lists are dropped); undefined once it is open (its own session answers).
   */
  unopened(target: CompiledTarget): UnopenedTarget | undefined {
    const told = this.#told.get(target.name);
    if (!told || !this.isUnopened(target)) return undefined;
    this.#served.add(target.name);
    const scope: IdentityScope = { endpoint: told.endpoint, protocolVersion: told.result.protocolVersion, clientCapabilities: this.#options.clientCapabilities, principal: '' };
    return { capabilities: told.result.capabilities, scope };
  }

  /** A handshake completed: its answer is what the next session of the same scope is told. */
  record(target: CompiledTarget, upstream: UpstreamConnection): void {
    const result = upstream.initializeResult;
    if (result) this.#options.cache.initializeAnswers.put(target, this.#options.params, upstream.endpoint.url, result);
  }

  close(): void {
    this.#unsubscribe();
    this.#told.clear();
    this.#served.clear();
  }
}
