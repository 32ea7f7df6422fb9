// The one list of Service port appProtocols that mark an MCP server (DESIGN.md, "Compatibility with
// the tutorial"). A port without one of these is not a target, whatever its labels say.
import type { Protocol } from '../../shared/config/types.ts';

const STREAMABLE_HTTP = ['kgateway.dev/mcp', 'agentgateway.dev/mcp', 'mcpmux.dev/mcp'];

export const MCP_APP_PROTOCOLS: Readonly<Record<string, Protocol>> = Object.freeze(
  Object.fromEntries(
    STREAMABLE_HTTP.flatMap((p) => [
      [p, 'PROTOCOL_STREAMABLE_HTTP' as const],
      [`${p}-sse`, 'PROTOCOL_SSE' as const],
    ]),
  ),
);

/** The MCP transport an appProtocol announces, or undefined when it is not an MCP one. */
export function mcpProtocol(appProtocol: string | undefined): Protocol | undefined {
  return appProtocol === undefined ? undefined : MCP_APP_PROTOCOLS[appProtocol];
}
