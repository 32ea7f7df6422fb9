// A federated list request (tools, prompts, resources, resource templates, tasks): one page from
// every target that still has pages, asked in parallel, merged with a composite cursor. With
// prefix mode never (and more than one target) the lists are fetched complete instead and merged
// without prefixes, leaving out what two targets share. A target that fails is left out with a
// warning (fail-open) or fails the request (failure mode closed).
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import { decodeCursor, type ListKind } from '../federation/cursor.ts';
import { LIST_METHODS, mergePages, type TargetPage } from '../federation/lists.ts';
import { namesArePrefixed } from '../federation/names.ts';
import { mergeUnprefixed, ownersOf } from '../federation/unprefixed.ts';
import { bothFilters, type ToolFilter } from '../federation/tool-filter.ts';
import type { CompiledBackend, CompiledTarget } from '../routing/table.ts';
import { fanOut, forward, type RequestContext } from './context.ts';

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
  return mergePages(kind, namesArePrefixed(backend.prefixMode, backend.targets.length), pages, toolFilterOf(ctx));
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

/** One page of one target; undefined when the target does not offer this kind of list. */
async function listPage(
  ctx: RequestContext,
  target: CompiledTarget,
  kind: ListKind,
  rest: Record<string, unknown>,
  upstreamCursor: string | undefined,
): Promise<TargetPage | undefined> {
  const method = METHOD_OF[kind];
  const upstream = await ctx.connections.get(target);
  if (!declares(kind, upstream.initializeResult?.capabilities)) return undefined;
  const params = upstreamCursor === undefined ? rest : { ...rest, cursor: upstreamCursor };
  const response = await forward(fanOut(ctx), target, method, Object.keys(params).length > 0 ? params : undefined);
  if ('error' in response) {
    throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target.name} answered ${method} with error ${response.error.code}: ${response.error.message}`);
  }
  const result = response.result as Record<string, unknown>;
  ctx.onUpstreamList?.(target, kind, result);
  const items = result[kind];
  const next = result.nextCursor;
  return {
    target: target.name,
    items: Array.isArray(items) ? items : [],
    // An empty string is no cursor: some servers send "" on their last page.
    nextCursor: typeof next === 'string' && next !== '' ? next : undefined,
  };
}

/** Runs one job per target in parallel; failures are left out with a warning, or thrown in failure mode closed. */
async function settle(
  ctx: RequestContext,
  method: string,
  targets: readonly CompiledTarget[],
  jobs: ReadonlyArray<() => Promise<TargetPage | undefined>>,
): Promise<TargetPage[]> {
  const results = await Promise.allSettled(jobs.map((job) => job()));
  const pages: TargetPage[] = [];
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
