// A 2025 session's initialize, both ways: what each upstream is told of the client (its params,
// with what we do not relay left out), and the one answer the client gets from all targets opened in
// parallel, their capabilities and instructions merged. A target that fails is left out with a
// warning (fail-open), or its error is the answer (failure mode closed).
import type { ClientCapabilities, Implementation, InitializeRequestParams, InitializeResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { buildInitializeResult, mergeInstructions } from '../federation/initialize.ts';
import type { CompiledBackend, CompiledTarget } from '../routing/table.ts';

/** What a target answered initialize with: an open upstream, or a cached answer (lazy-targets.ts). */
export interface OpenedTarget {
  readonly initializeResult: InitializeResult | undefined;
}

/** The params every upstream's initialize gets for a client that sent `params`. */
export function upstreamInitializeParams(params: Partial<InitializeRequestParams>, protocolVersion: string): InitializeRequestParams {
  return {
    protocolVersion,
    capabilities: upstreamCapabilities(params.capabilities),
    clientInfo: params.clientInfo ?? { name: 'unknown', version: '0' },
  };
}

/**
 * Opens every target of `backend` in parallel and merges their answers into the client's; `failed`
 * when a target failed and the backend's failure mode is closed.
 */
export async function initializeTargets(
  backend: CompiledBackend,
  open: (target: CompiledTarget) => OpenedTarget | Promise<OpenedTarget>,
  options: { protocolVersion: string; serverInfo: Implementation; logger: Logger },
): Promise<{ result: InitializeResult } | { failed: unknown }> {
  const settled = await Promise.allSettled(backend.targets.map(open));
  const capabilities: ServerCapabilities[] = [];
  const instructions: Array<{ target: string; instructions: string | undefined }> = [];
  for (const [i, outcome] of settled.entries()) {
    const target = (backend.targets[i] as CompiledTarget).name;
    if (outcome.status === 'fulfilled') {
      capabilities.push(outcome.value.initializeResult?.capabilities ?? {});
      instructions.push({ target, instructions: outcome.value.initializeResult?.instructions });
    } else if (backend.failureMode === 'closed') {
      return { failed: outcome.reason };
    } else {
      options.logger.warn({ target, err: errorMessage(outcome.reason) }, 'target left out of session (initialize failed)');
    }
  }
  const result = buildInitializeResult({
    protocolVersion: options.protocolVersion,
    serverInfo: backend.serverInfo ?? options.serverInfo,
    capabilities,
    instructions: mergeInstructions(backend.instructions, instructions),
  });
  return { result };
}

/**
 * The client's capabilities as upstreams see them. Roots, sampling and elicitation are relayed
 * (Correlation); client-side tasks are not (an upstream would poll the client's tasks through
 * us), so upstreams are not told about them.
 */
function upstreamCapabilities(capabilities: ClientCapabilities | undefined): ClientCapabilities {
  if (!capabilities) return {};
  const { tasks: _tasks, ...rest } = capabilities;
  return rest;
}
