// A federated list request (tools, prompts, resources, resource templates, tasks): one page from
// every target that still has pages, asked in parallel, merged with a composite cursor. With
// prefix mode never (and more than one target) the lists are fetched complete instead and merged
// without prefixes, leaving out what two targets share. A target that fails is left out with a
// warning (fail-open) or fails the request (failure mode closed).
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import { decodeCursor, type ListKind } from '../federation/cursor.ts';
import { LIST_METHODS, mergePages, type TargetPage } from '../federation/lists.ts';
import { encodeItems, mergeEncoded, type EncodedItem } from '../federation/encoded-lists.ts';
import { namesArePrefixed } from '../federation/names.ts';
import { mergeUnprefixed, ownersOf } from '../federation/unprefixed.ts';
import { bothFilters, type ToolFilter } from '../federation/tool-filter.ts';
import type { CompiledBackend, CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import { MODERN_PROTOCOL_VERSION } from '../modern/wire.ts';
import { fanOut, forward, type ListCacheScope, type RequestContext } from './context.ts';
import type { CachedKind, IdentityScope, ListCache, ListEntry, Validity } from './list-cache.ts';
import type { WatchPoint } from './list-watchers.ts';

/** A target's page; one served from cache may carry its items pre-encoded for this backend. */
type CachedPage = TargetPage & { encoded?: readonly EncodedItem[] | undefined };

/** Pages one target may take to list one kind completely; past it the list is cut (with a warning). */
const MAX_PAGES_PER_TARGET = 100;

const METHOD_OF = Object.fromEntries(Object.entries(LIST_METHODS).map(([method, kind]) => [kind, method])) as Record<ListKind, string>;

/** The capability a target must declare before we ask it for a kind of list. */
function declares(kind: ListKind, capabilities: ServerCapabilities | undefined): boolean {
  switch (kind) {
    case 'tools':
      return capabilities?.tools !== undefined;
    case 'prompts':
      return capabilities?.prompts !== undefined;
    case 'resources':
    case 'resourceTemplates':
      return capabilities?.resources !== undefined;
    case 'tasks':
      return capabilities?.tasks?.list !== undefined;
    default: {
      const never: never = kind;
      throw new Error(`unknown list kind ${String(never)}`);
    }
  }
}

/** Whether a backend's names carry no target, so lists are merged complete (see unprefixed.ts). */
export function mergedUnprefixed(backend: CompiledBackend, kind: ListKind): boolean {
  return backend.prefixMode === 'never' && backend.targets.length > 1 && kind !== 'tasks';
}

export async function listFederated(ctx: RequestContext, method: string, kind: ListKind, params: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
  const backend = ctx.backend;
  const cursor = params?.cursor;
  if (cursor !== undefined && typeof cursor !== 'string') throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'Invalid cursor: must be a string');
  if (mergedUnprefixed(backend, kind)) {
    if (cursor !== undefined) decodeCursor(kind, cursor); // never issued here: refused as invalid
    const merged = mergeUnprefixed(kind, await listComplete(ctx, kind), toolFilterOf(ctx));
    for (const { key, targets } of merged.collisions) {
      ctx.logger.warn({ method, name: key, targets }, 'left out of the list: several targets offer it and prefix mode is never');
    }
    ctx.names.record(backend.fingerprint, kind, merged.owners);
    return merged.result;
  }
  let pending: Array<readonly [CompiledTarget, string | undefined]>;
  if (cursor !== undefined) {
    pending = [];
    for (const [name, upstreamCursor] of decodeCursor(kind, cursor)) {
      const target = backend.targetsByName.get(name);
      if (target && visible(ctx, kind, target)) pending.push([target, upstreamCursor]);
      else ctx.logger.warn({ target: name, method }, 'target left the backend during pagination; its remaining pages are skipped');
    }
  } else {
    pending = visibleTargets(ctx, kind).map((t) => [t, undefined] as const);
  }
  const { cursor: _dropped, ...rest } = params ?? {};
  const pages = await settle(
    ctx,
    method,
    pending.map(([target]) => target),
    pending.map(([target, upstreamCursor]) => () => listPage(ctx, target, kind, rest, upstreamCursor)),
  );
  const prefixed = namesArePrefixed(backend.prefixMode, backend.targets.length);
  // Pages served from cache carry their items pre-encoded: the answer is joined from them.
  if (pages.some((p) => p.encoded !== undefined)) return mergeEncoded(kind, prefixed, pages, toolFilterOf(ctx));
  return mergePages(kind, prefixed, pages, toolFilterOf(ctx));
}

/** The backend's tool filter, and what the caller may use. */
function toolFilterOf(ctx: RequestContext): ToolFilter | undefined {
  return bothFilters(ctx.backend.toolFilter, ctx.access?.toolFilter());
}

/**
 * Whether a target's items of this kind are listed for the caller: tools are filtered one by one
 * (a rule may name single tools); prompts, resources and tasks by their target, whose upstream is
 * not even asked when the caller may use none of it.
 */
function visible(ctx: RequestContext, kind: ListKind, target: CompiledTarget): boolean {
  return kind === 'tools' || !ctx.access || ctx.access.target(target.name).allowed;
}

function visibleTargets(ctx: RequestContext, kind: ListKind): readonly CompiledTarget[] {
  return ctx.access && kind !== 'tools' ? ctx.backend.targets.filter((t) => visible(ctx, kind, t)) : ctx.backend.targets;
}

/** Who owns each name (or URI) of a kind, from complete lists: what NameIndex learns from. */
export async function completeOwners(ctx: RequestContext, kind: ListKind): Promise<Map<string, string[]>> {
  return ownersOf(kind, await listComplete(ctx, kind));
}

/** Every page of every target (each followed to its end), fail-open like every list. */
async function listComplete(ctx: RequestContext, kind: ListKind): Promise<TargetPage[]> {
  const method = METHOD_OF[kind];
  const targets = visibleTargets(ctx, kind);
  return settle(
    ctx,
    method,
    targets,
    targets.map((target) => async (): Promise<TargetPage | undefined> => {
      const items: unknown[] = [];
      let upstreamCursor: string | undefined;
      for (let page = 0; page < MAX_PAGES_PER_TARGET; page++) {
        const got = await listPage(ctx, target, kind, {}, upstreamCursor);
        if (!got) return undefined;
        items.push(...got.items);
        upstreamCursor = got.nextCursor;
        if (upstreamCursor === undefined) return { target: target.name, items, nextCursor: undefined };
      }
      ctx.logger.warn({ target: target.name, method, pages: MAX_PAGES_PER_TARGET }, 'list cut: too many pages');
      return { target: target.name, items, nextCursor: undefined };
    }),
  );
}

/**
 * One page of one target; undefined when the target does not offer this kind of list. A first page
 * (no upstream cursor) may be served from the list cache, and is then the target's whole list; one
 * fetched while caching is possible is followed to its end and stored whole (see fetchCached).
 */
async function listPage(
  ctx: RequestContext,
  target: CompiledTarget,
  kind: ListKind,
  rest: Record<string, unknown>,
  upstreamCursor: string | undefined,
): Promise<CachedPage | undefined> {
  const lists = ctx.lists;
  // Parameters besides the cursor (and _meta) could change the answer: such lists are not cached.
  const cacheable = lists !== undefined && kind !== 'tasks' && upstreamCursor === undefined && Object.keys(rest).every((k) => k === '_meta');
  // A target the session has not opened yet (lazy-targets.ts) is opened only if its list is not cached.
  const unopened = cacheable ? lists.unopened?.(target) : undefined;
  if (lists && unopened && kind !== 'tasks') {
    if (!declares(kind, unopened.capabilities)) return undefined;
    const own = lists.principal === undefined ? undefined : { ...unopened.scope, principal: lists.principal };
    const hit = lists.cache.get(target, kind, unopened.scope) ?? (own ? lists.cache.get(target, kind, own) : undefined);
    if (hit) return fromCache(ctx, lists.cache, target, kind, hit);
  }
  const upstream = await ctx.connections.get(target);
  if (!declares(kind, upstream.initializeResult?.capabilities)) return undefined;
  if (cacheable) return listCached(ctx, lists, upstream, target, kind, rest);
  const result = await fetchPage(ctx, target, kind, rest, upstreamCursor);
  ctx.onUpstreamList?.(target, kind, result);
  const items = result[kind];
  return { target: target.name, items: Array.isArray(items) ? items : [], nextCursor: nextCursorOf(result) };
}

/** One upstream page, as the upstream answered (after the caller's onUpstreamList saw it). */
async function fetchPage(ctx: RequestContext, target: CompiledTarget, kind: ListKind, rest: Record<string, unknown>, upstreamCursor: string | undefined): Promise<Record<string, unknown>> {
  const method = METHOD_OF[kind];
  const params = upstreamCursor === undefined ? rest : { ...rest, cursor: upstreamCursor };
  const response = await forward(fanOut(ctx), target, method, Object.keys(params).length > 0 ? params : undefined);
  if ('error' in response) {
    throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target.name} answered ${method} with error ${response.error.code}: ${response.error.message}`);
  }
  return response.result as Record<string, unknown>;
}

function nextCursorOf(result: Record<string, unknown>): string | undefined {
  const next = result.nextCursor;
  // An empty string is no cursor: some servers send "" on their last page.
  return typeof next === 'string' && next !== '' ? next : undefined;
}

/** The identity scope of a caller's list at an upstream, without and with its principal. */
function scopesOf(lists: ListCacheScope, upstream: UpstreamConnection): [IdentityScope, IdentityScope | undefined] {
  const base: IdentityScope = {
    endpoint: upstream.endpoint.url,
    protocolVersion: upstream.initializeResult?.protocolVersion ?? '',
    clientCapabilities: lists.clientCapabilities(upstream),
    principal: '',
  };
  return [base, lists.principal === undefined ? undefined : { ...base, principal: lists.principal }];
}

/** The first page of a target's list: from the cache, or fetched (every page) and cached when the upstream allows it. */
async function listCached(
  ctx: RequestContext,
  lists: ListCacheScope,
  upstream: UpstreamConnection,
  target: CompiledTarget,
  kind: CachedKind,
  rest: Record<string, unknown>,
): Promise<TargetPage> {
  const { cache } = lists;
  const [shared, own] = scopesOf(lists, upstream);
  const hit = cache.get(target, kind, shared) ?? (own ? cache.get(target, kind, own) : undefined);
  if (hit) return fromCache(ctx, cache, target, kind, hit);
  // Taken before the request: a list_changed (or a stream reopened) while it runs must not be cached over.
  const generation = cache.generation(target);
  const token = upstream.listWatch?.();
  const point = cache.watchers?.point(target, shared);
  const first = await fetchPage(ctx, target, kind, rest, undefined);
  let validity = validityOf(cache, upstream, kind, first, { token, point }, own !== undefined);
  if (validity === undefined) {
    // Not cacheable: an ordinary page, its cursor passed on.
    ctx.onUpstreamList?.(target, kind, first);
    const seen = first[kind];
    return { target: target.name, items: Array.isArray(seen) ? seen : [], nextCursor: nextCursorOf(first) };
  }
  const items: unknown[] = [];
  /** What this caller sees of them: the pages as its onUpstreamList left them. */
  const visible: unknown[] = [];
  let page = first;
  for (let n = 1; ; n++) {
    // Raw items are kept before the caller's onUpstreamList (which may filter what this caller sees).
    const raw = page[kind];
    if (Array.isArray(raw)) items.push(...(raw as unknown[]));
    ctx.onUpstreamList?.(target, kind, page);
    const seen = page[kind];
    if (Array.isArray(seen)) visible.push(...(seen as unknown[]));
    const next = nextCursorOf(page);
    if (next === undefined) break;
    if (n >= MAX_PAGES_PER_TARGET) {
      ctx.logger.warn({ target: target.name, method: METHOD_OF[kind], pages: MAX_PAGES_PER_TARGET }, 'list cut: too many pages');
      validity = undefined; // a cut list is not kept
      break;
    }
    page = await fetchPage(ctx, target, kind, rest, next);
    // Once followed, the list is read to its end even if a later page may not be kept.
    if (validity) validity = narrower(validity, validityOf(cache, upstream, kind, page, { token, point }, own !== undefined));
  }
  if (validity) cache.put(target, kind, validity.kind === 'until' && validity.scope === 'private' && own ? own : shared, items, validity, generation);
  // From now on the cache listens to the target itself: later lists of it outlive this session.
  if (validity?.kind === 'until-changed') cache.watchers?.watch(target, shared);
  return { target: target.name, items: visible, nextCursor: undefined };
}

/**
 * A cached list served: the caller's onUpstreamList sees it as one upstream result, with the hints
 * left of a 2026-07-28 answer's (what the merged result's own cache hints are made from).
 */
function fromCache(ctx: RequestContext, cache: ListCache, target: CompiledTarget, kind: CachedKind, entry: ListEntry): CachedPage {
  if (!ctx.onUpstreamList) {
    const page: CachedPage = { target: target.name, items: entry.items, nextCursor: undefined };
    if (ctx.lists?.preEncoded !== true) return page;
    const prefixed = namesArePrefixed(ctx.backend.prefixMode, ctx.backend.targets.length);
    let encoded = entry.encoded.get(prefixed);
    if (!encoded) entry.encoded.set(prefixed, (encoded = encodeItems(kind, prefixed, page)));
    return { ...page, encoded };
  }
  const result: Record<string, unknown> = { [kind]: entry.items };
  const validity = entry.validity;
  if (validity.kind === 'until' && validity.hinted) {
    result.ttlMs = Math.max(0, validity.expiresAt - cache.now());
    result.cacheScope = validity.scope;
  }
  ctx.onUpstreamList(target, kind, result);
  const seen = result[kind];
  return { target: target.name, items: Array.isArray(seen) ? seen : [], nextCursor: undefined };
}

/**
 * How long an upstream's answer may be kept: a 2026-07-28 answer by its own ttlMs and cacheScope
 * (private: only with a principal to key it by); a 2025 one until its list_changed when it declares
 * listChanged and we hear its notifications, else for the proxy's TTL for 2025 lists (if any).
 */
function validityOf(
  cache: ListCache,
  upstream: UpstreamConnection,
  kind: CachedKind,
  result: Record<string, unknown>,
  listeners: { token: string | undefined; point: WatchPoint | undefined },
  hasPrincipal: boolean,
): Validity | undefined {
  if (result.ttlMs !== undefined || result.resultType !== undefined) {
    const ttl = typeof result.ttlMs === 'number' && Number.isFinite(result.ttlMs) ? Math.floor(result.ttlMs) : 0;
    const scope = result.cacheScope === 'private' ? 'private' : 'public';
    if (ttl <= 0 || (scope === 'private' && !hasPrincipal)) return undefined;
    return { kind: 'until', expiresAt: cache.now() + ttl, scope, hinted: true };
  }
  // A 2026-07-28 upstream's answer without its hints (a 2025 session's request strips them): not kept.
  if (upstream.initializeResult?.protocolVersion === MODERN_PROTOCOL_VERSION) return undefined;
  const capabilities = upstream.initializeResult?.capabilities;
  const listChanged = kind === 'tools' ? capabilities?.tools?.listChanged : kind === 'prompts' ? capabilities?.prompts?.listChanged : capabilities?.resources?.listChanged;
  if (listChanged === true) {
    // The session's own listener, and the cache's watcher of the target if it listened before the fetch (list-watchers.ts).
    const { token, point } = listeners;
    if (token !== undefined && upstream.listWatch?.() === token) return { kind: 'until-changed', watch: upstream, token, ...(point ? { also: [point] } : {}) };
    if (point) return { kind: 'until-changed', watch: point.watch, token: point.token };
  }
  if (cache.legacyTtlMs > 0) return { kind: 'until', expiresAt: cache.now() + cache.legacyTtlMs, scope: 'public', hinted: false };
  return undefined;
}

/** The most restrictive of two pages' validities (a list is kept only as long as its shortest-lived page). */
function narrower(a: Validity, b: Validity | undefined): Validity | undefined {
  if (b === undefined) return undefined;
  if (a.kind === 'until-changed') return b;
  if (b.kind === 'until-changed') return a;
  return { kind: 'until', expiresAt: Math.min(a.expiresAt, b.expiresAt), scope: a.scope === 'private' || b.scope === 'private' ? 'private' : 'public', hinted: a.hinted || b.hinted };
}

/** Runs one job per target in parallel; failures are left out with a warning, or thrown in failure mode closed. */
async function settle<P extends TargetPage>(
  ctx: RequestContext,
  method: string,
  targets: readonly CompiledTarget[],
  jobs: ReadonlyArray<() => Promise<P | undefined>>,
): Promise<P[]> {
  const results = await Promise.allSettled(jobs.map((job) => job()));
  const pages: P[] = [];
  results.forEach((settled, i) => {
    if (settled.status === 'fulfilled') {
      if (settled.value) pages.push(settled.value);
      return;
    }
    if (ctx.backend.failureMode === 'closed') throw settled.reason;
    ctx.logger.warn({ target: targets[i]?.name, method, err: errorMessage(settled.reason) }, 'target left out of list');
  });
  return pages;
}
