// The initialize result a client sees: the backend's serverInfo (or ours), the protocol version
// negotiated with the client (independent of what each upstream speaks), the union of the
// targets' capabilities for the features we federate, and instructions (configured, or the
// targets' own, each under its target's name).
import type { Implementation, InitializeResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';

/** Newest first. The first is what we offer a client asking for a version we do not know. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
export const LATEST_PROTOCOL_VERSION = '2025-11-25';
/** What legacy HTTP+SSE clients get when they ask for a version we do not know: that transport's own. */
export const LEGACY_SSE_PROTOCOL_VERSION = '2024-11-05';

export function isSupportedProtocolVersion(version: string): boolean {
  return SUPPORTED_PROTOCOL_VERSIONS.includes(version);
}

/** The client's requested version if we support it, else `fallback` (the client may then disconnect). */
export function negotiateProtocolVersion(requested: unknown, fallback: string = LATEST_PROTOCOL_VERSION): string {
  return typeof requested === 'string' && isSupportedProtocolVersion(requested) ? requested : fallback;
}

/**
 * Union of what the targets offer, limited to what the multiplexer routes. Tools, prompts and
 * resources are always offered with listChanged: the targets of a session change with the
 * cluster, and the client must be able to hear it. Other flags appear only when true.
 */
export function mergeCapabilities(all: readonly ServerCapabilities[]): ServerCapabilities {
  const merged: ServerCapabilities = { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } };
  for (const caps of all) {
    if (caps.resources?.subscribe) (merged.resources as NonNullable<ServerCapabilities['resources']>).subscribe = true;
    if (caps.logging) merged.logging = {};
    if (caps.completions) merged.completions = {};
    const tasks = caps.tasks;
    if (tasks) {
      const into = (merged.tasks ??= {});
      if (tasks.list) into.list = {};
      if (tasks.cancel) into.cancel = {};
      if (tasks.requests?.tools?.call) into.requests = { tools: { call: {} } };
    }
  }
  return merged;
}

/**
 * The instructions a client sees: the backend's own when configured; else those of the targets,
 * each under a heading naming its target (in target order); undefined when no target has some.
 */
export function mergeInstructions(configured: string, targets: ReadonlyArray<{ target: string; instructions: string | undefined }>): string | undefined {
  if (configured !== '') return configured;
  const parts = targets.filter((t) => t.instructions !== undefined && t.instructions.trim() !== '').map((t) => `## ${t.target}\n${(t.instructions as string).trim()}`);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

export function buildInitializeResult(options: {
  protocolVersion: string;
  serverInfo: Implementation;
  capabilities: readonly ServerCapabilities[];
  instructions?: string | undefined;
}): InitializeResult {
  const result: InitializeResult = {
    protocolVersion: options.protocolVersion,
    capabilities: mergeCapabilities(options.capabilities),
    serverInfo: options.serverInfo,
  };
  if (options.instructions) result.instructions = options.instructions;
  return result;
}
