// A federated list request (tools, prompts, resources, resource templates): one page from every
// target that still has pages, asked in parallel, merged with a composite cursor. A target that
// fails is left out with a warning (fail-open) or fails the request (failure mode closed).
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import { decodeCursor, type ListKind } from '../federation/cursor.ts';
import { mergePages, type TargetPage } from '../federation/lists.ts';
import { namesArePrefixed } from '../federation/names.ts';
import type { CompiledTarget } from '../routing/table.ts';
import { forward, type RequestContext } from './context.ts';

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
    default: {
      const never: never = kind;
      throw new Error(`unknown list kind ${String(never)}`);
    }
  }
}

export async function listFederated(
  ctx: RequestContext,
  method: string,
  kind: ListKind,
  params: Record<string, unknown> | undefined,
): Promise<Record<string, unknown>> {
  const backend = ctx.backend;
  const cursor = params?.cursor;
  let pending: Array<readonly [CompiledTarget, string | undefined]>;
  if (cursor !== undefined) {
    if (typeof cursor !== 'string') throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'Invalid cursor: must be a string');
    pending = [];
    for (const [name, upstreamCursor] of decodeCursor(kind, cursor)) {
      const target = backend.targetsByName.get(name);
      if (target) pending.push([target, upstreamCursor]);
      else ctx.logger.warn({ target: name, method }, 'target left the backend during pagination; its remaining pages are skipped');
    }
  } else {
    pending = backend.targets.map((t) => [t, undefined] as const);
  }

  const { cursor: _dropped, ...rest } = params ?? {};
  const results = await Promise.allSettled(
    pending.map(async ([target, upstreamCursor]): Promise<TargetPage | undefined> => {
      const upstream = await ctx.connections.get(target);
      if (!declares(kind, upstream.initializeResult?.capabilities)) return undefined;
      const upstreamParams = upstreamCursor === undefined ? rest : { ...rest, cursor: upstreamCursor };
      const response = await forward(ctx, target, method, Object.keys(upstreamParams).length > 0 ? upstreamParams : undefined);
      if ('error' in response) {
        throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target.name} answered ${method} with error ${response.error.code}: ${response.error.message}`);
      }
      const result = response.result as Record<string, unknown>;
      const items = result[kind];
      const next = result.nextCursor;
      return {
        target: target.name,
        items: Array.isArray(items) ? items : [],
        // An empty string is no cursor: some servers send "" on their last page.
        nextCursor: typeof next === 'string' && next !== '' ? next : undefined,
        toolAllow: target.toolAllow,
      };
    }),
  );

  const pages: TargetPage[] = [];
  results.forEach((settled, i) => {
    if (settled.status === 'fulfilled') {
      if (settled.value) pages.push(settled.value);
      return;
    }
    const target = (pending[i] as readonly [CompiledTarget, unknown])[0];
    if (backend.failureMode === 'closed') throw settled.reason;
    ctx.logger.warn({ target: target.name, method, err: errorMessage(settled.reason) }, 'target left out of list');
  });
  return mergePages(kind, namesArePrefixed(backend.prefixMode, backend.targets.length), pages);
}
