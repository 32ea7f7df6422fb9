// The gateway's own answer to `server/discover`: the versions it serves (both eras), what its
// targets can do merged the way a 2025 session's initialize merges them, their instructions, and
// our serverInfo (added with the other result decorations). An upstream's own discover is never
// passed on. A target that cannot be reached is left out (fail-open) unless the backend fails closed.
import { errorMessage } from '../../shared/errors.ts';
import { mergeCapabilities, mergeInstructions, SUPPORTED_PROTOCOL_VERSIONS } from '../federation/initialize.ts';
import type { RequestContext } from '../mux/context.ts';
import { MODERN_PROTOCOL_VERSIONS, TASKS_EXTENSION } from './wire.ts';
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';

export async function discover(ctx: RequestContext): Promise<Record<string, unknown>> {
  const { backend } = ctx;
  const settled = await Promise.allSettled(backend.targets.map((target) => ctx.connections.get(target)));
  const capabilities: ServerCapabilities[] = [];
  let tasks = false;
  const instructions: Array<{ target: string; instructions: string | undefined }> = [];
  for (const [i, outcome] of settled.entries()) {
    const target = backend.targets[i]!.name;
    if (outcome.status === 'rejected') {
      if (backend.failureMode === 'closed') throw outcome.reason;
      ctx.logger.warn({ target, err: errorMessage(outcome.reason) }, 'target left out of server/discover');
      continue;
    }
    const initialized = outcome.value.initializeResult;
    capabilities.push(initialized?.capabilities ?? {});
    // The tasks extension is routable end to end only to a 2026-07-28 target that offers it.
    const extensions = (initialized?.capabilities as { extensions?: Record<string, unknown> } | undefined)?.extensions;
    if (initialized?.protocolVersion === MODERN_PROTOCOL_VERSIONS[0] && extensions?.[TASKS_EXTENSION] !== undefined) tasks = true;
    instructions.push({ target, instructions: initialized?.instructions });
    ctx.onUpstreamList?.(backend.targets[i]!, 'discover', { ttlMs: 0 });
  }
  const merged = mergeCapabilities(capabilities) as Record<string, unknown>;
  // Core tasks left with 2025-11-25 (2026-07-28 has the extension instead).
  delete merged.tasks;
  if (tasks) merged.extensions = { [TASKS_EXTENSION]: {} };
  const result: Record<string, unknown> = {
    supportedVersions: [...MODERN_PROTOCOL_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS],
    capabilities: merged,
  };
  const text = mergeInstructions(backend.instructions, instructions);
  if (text !== undefined) result.instructions = text;
  return result;
}
