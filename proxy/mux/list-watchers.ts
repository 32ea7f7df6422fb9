// The list cache's own upstream sessions (issue 19 §2): one per target and client-capabilities
// scope, opened when a list that lasts until its list_changed is cached, listening on its GET stream
// for list_changed. A list fetched while the watcher listens stays valid as long as the watcher
// keeps listening, whether or not the session that fetched it is still open: sessions that never
// opened the target (lazy-targets.ts) are served from cache without depending on another client.
// A watcher hearing list_changed (or re-initializing) drops the target's lists like a session would.
//
// Kept while its target is in the config (retain) and until the proxy closes: closing it when the
// target's last entry goes (every list_changed) would lose the listener exactly when the list is
// fetched again. At most MAX_SCOPES_PER_BACKEND capability scopes get watchers; lists of other
// scopes lean on the sessions that fetched them, as before.
import type { InitializeRequestParams } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { MCPMUX_VERSION } from '../../shared/version.ts';
import type { ListKind } from '../federation/cursor.ts';
import type { CompiledRoute, CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { TargetConnections } from './connections.ts';
import type { IdentityScope } from './list-cache.ts';

/** A listener that, while it reports `token`, has heard every list_changed since the token was taken. */
export interface WatchPoint {
  readonly watch: UpstreamConnection;
  readonly token: string;
}

export interface ListWatchersOptions {
  pool: UpstreamPool;
  logger: Logger;
  initializeTimeoutMs: number;
  /** How long a target whose watcher failed to open is left alone. */
  retryAfterMs: number;
  /** A target's lists of these kinds changed (the list cache drops them). */
  invalidate: (backend: string, target: string, kinds: readonly ListKind[]) => void;
}

/** Capability scopes per backend that get watchers (clients choose their capabilities: the bound keeps this finite). */
const MAX_SCOPES_PER_BACKEND = 4;
/** What upstreams see of a watcher (its clientInfo). */
export const WATCHER_CLIENT = 'mcpmux-list-watcher';

const LIST_CHANGED: Readonly<Record<string, readonly ListKind[]>> = {
  'notifications/tools/list_changed': ['tools'],
  'notifications/prompts/list_changed': ['prompts'],
  'notifications/resources/list_changed': ['resources', 'resourceTemplates'],
};
const ALL_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

interface Group {
  backend: string;
  connections: TargetConnections;
}

export class ListWatchers {
  readonly #options: ListWatchersOptions;
  /** backend + client capabilities (stable JSON) → the watchers of that scope, one per target. */
  readonly #groups = new Map<string, Group>();
  #closed = false;

  constructor(options: ListWatchersOptions) {
    this.#options = options;
  }

  /** The watcher of `target` in `scope`, if it listens now (taken before a fetch, so its token covers it). */
  point(target: CompiledTarget, scope: IdentityScope): WatchPoint | undefined {
    const upstream = this.#groups.get(groupKey(target.backend, scope.clientCapabilities))?.connections.connected(target.name);
    if (!upstream || upstream.closed || upstream.endpoint.url !== scope.endpoint || upstream.initializeResult?.protocolVersion !== scope.protocolVersion) return undefined;
    const token = upstream.listWatch?.();
    return token === undefined ? undefined : { watch: upstream, token };
  }

  /** A list of `target` in `scope` that lasts until its list_changed was cached: watch the target from now on. */
  watch(target: CompiledTarget, scope: IdentityScope): void {
    if (this.#closed || target.stdio || target.protocol === 'PROTOCOL_SSE' || target.unavailable !== undefined) return;
    const key = groupKey(target.backend, scope.clientCapabilities);
    let group = this.#groups.get(key);
    if (!group) {
      if ([...this.#groups.values()].filter((g) => g.backend === target.backend).length >= MAX_SCOPES_PER_BACKEND) return;
      group = { backend: target.backend, connections: this.#connections(target.backend, scope) };
      this.#groups.set(key, group);
    }
    if (group.connections.connected(target.name)) return;
    group.connections.get(target).catch((error: unknown) => this.#options.logger.debug({ target: target.name, err: errorMessage(error) }, 'list watcher not opened'));
  }

  /** After a config push: watchers of targets that left are closed. */
  retain(routes: readonly CompiledRoute[]): void {
    const names = new Map<string, Set<string>>();
    for (const route of routes) names.set(route.backend.name, new Set(route.backend.targets.map((t) => t.name)));
    for (const [key, group] of this.#groups) {
      const kept = names.get(group.backend);
      if (kept) {
        group.connections.retain(kept);
        continue;
      }
      this.#groups.delete(key);
      void group.connections.closeAll();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const groups = [...this.#groups.values()];
    this.#groups.clear();
    await Promise.all(groups.map((g) => g.connections.closeAll()));
  }

  #connections(backend: string, scope: IdentityScope): TargetConnections {
    const { invalidate } = this.#options;
    const connections = new TargetConnections({
      pool: this.#options.pool,
      logger: this.#options.logger.child({ listWatcher: backend }),
      initializeTimeoutMs: this.#options.initializeTimeoutMs,
      retryAfterMs: this.#options.retryAfterMs,
      onMessage: (target, upstream, message) => {
        if ('id' in message) {
          // A server→client request (roots, sampling): a watcher has no client to ask.
          void upstream.respond({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'mcpmux list watcher: no client behind this session' } }).catch(() => undefined);
          return;
        }
        const kinds = LIST_CHANGED[message.method];
        if (kinds) invalidate(backend, target, kinds);
      },
      onReinitialized: (target) => invalidate(backend, target, ALL_KINDS),
    });
    const params: InitializeRequestParams = {
      protocolVersion: scope.protocolVersion,
      capabilities: JSON.parse(scope.clientCapabilities) as InitializeRequestParams['capabilities'],
      clientInfo: { name: WATCHER_CLIENT, version: MCPMUX_VERSION },
    };
    connections.setInitializeParams(params);
    return connections;
  }
}

function groupKey(backend: string, clientCapabilities: string): string {
  return `${backend}\u0000${clientCapabilities}`;
}
