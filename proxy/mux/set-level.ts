// logging/setLevel over a backend: the level goes to every open target that does logging, in
// parallel; fail-open unless failure mode closed. A target not opened yet (lazy-targets.ts) is not
// opened for it: UpstreamState gives it the level when it connects.
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { CompiledTarget } from '../routing/table.ts';
import { fanOut, forward, type RequestContext } from './context.ts';

export async function setLevelEverywhere(ctx: RequestContext, params: Record<string, unknown> | undefined, unopened: (target: CompiledTarget) => boolean): Promise<Record<string, never>> {
  const each = fanOut(ctx);
  const targets = ctx.backend.targets.filter((target) => !unopened(target));
  const settled = await Promise.allSettled(
    targets.map(async (target) => {
      const upstream = await ctx.connections.get(target);
      if (!upstream.initializeResult?.capabilities.logging) return;
      const response = await forward(each, target, 'logging/setLevel', params);
      if ('error' in response) throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target.name}: ${response.error.message}`);
    }),
  );
  for (const [i, outcome] of settled.entries()) {
    if (outcome.status === 'fulfilled') continue;
    if (ctx.backend.failureMode === 'closed') throw outcome.reason;
    ctx.logger.warn({ target: targets[i]?.name, err: errorMessage(outcome.reason) }, 'logging/setLevel not applied');
  }
  return {};
}
