// The initialize result a client sees: our serverInfo, the protocol version negotiated with the
// client (independent of what each upstream speaks), and the union of the targets' capabilities
// for the features we federate.
import type { Implementation, InitializeResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';

/** Newest first. The first is what we offer a client asking for a version we do not know. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
export const LATEST_PROTOCOL_VERSION = '2025-11-25';

export function isSupportedProtocolVersion(version: string): boolean {
  return SUPPORTED_PROTOCOL_VERSIONS.includes(version);
}

/** The client's requested version if we support it, else our latest (the client may then disconnect). */
export function negotiateProtocolVersion(requested: unknown): string {
  return typeof requested === 'string' && isSupportedProtocolVersion(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

/**
 * Union of what the targets offer, limited to what the multiplexer routes: tools, prompts,
 * resources (subscribe included), logging and completions. Flags appear only when true.
 */
export function mergeCapabilities(all: readonly ServerCapabilities[]): ServerCapabilities {
  const merged: ServerCapabilities = {};
  for (const caps of all) {
    if (caps.tools) {
      merged.tools ??= {};
      if (caps.tools.listChanged) merged.tools.listChanged = true;
    }
    if (caps.prompts) {
      merged.prompts ??= {};
      if (caps.prompts.listChanged) merged.prompts.listChanged = true;
    }
    if (caps.resources) {
      merged.resources ??= {};
      if (caps.resources.listChanged) merged.resources.listChanged = true;
      if (caps.resources.subscribe) merged.resources.subscribe = true;
    }
    if (caps.logging) merged.logging = {};
    if (caps.completions) merged.completions = {};
  }
  return merged;
}

export function buildInitializeResult(options: {
  protocolVersion: string;
  serverInfo: Implementation;
  capabilities: readonly ServerCapabilities[];
  instructions?: string;
}): InitializeResult {
  const result: InitializeResult = {
    protocolVersion: options.protocolVersion,
    capabilities: mergeCapabilities(options.capabilities),
    serverInfo: options.serverInfo,
  };
  if (options.instructions) result.instructions = options.instructions;
  return result;
}
