// Original file: proto/mcpmux/v1/config.proto

/**
 * Which MCP protocol era the proxy speaks to a target (MCP 2025-11-25 with sessions, or the
 * stateless 2026-07-28 revision). Set per target by MCPBackend spec.targets[].protocolEra and the
 * Service annotation mcpmux.dev/protocol-era (docs/configuration.md).
 */
export const ProtocolEra = {
  /**
   * What a snapshot from a control plane that predates this field carries: read as PROTOCOL_ERA_AUTO.
   */
  PROTOCOL_ERA_UNSPECIFIED: 'PROTOCOL_ERA_UNSPECIFIED',
  /**
   * The proxy decides per upstream: it probes server/discover and speaks what it finds.
   */
  PROTOCOL_ERA_AUTO: 'PROTOCOL_ERA_AUTO',
  /**
   * MCP 2025-11-25 (initialize, sessions); not probed. Always so for PROTOCOL_SSE and PROTOCOL_STDIO.
   */
  PROTOCOL_ERA_LEGACY: 'PROTOCOL_ERA_LEGACY',
  /**
   * MCP 2026-07-28 (stateless); not probed. Never set on a PROTOCOL_SSE or PROTOCOL_STDIO target.
   */
  PROTOCOL_ERA_MODERN: 'PROTOCOL_ERA_MODERN',
} as const;

/**
 * Which MCP protocol era the proxy speaks to a target (MCP 2025-11-25 with sessions, or the
 * stateless 2026-07-28 revision). Set per target by MCPBackend spec.targets[].protocolEra and the
 * Service annotation mcpmux.dev/protocol-era (docs/configuration.md).
 */
export type ProtocolEra =
  /**
   * What a snapshot from a control plane that predates this field carries: read as PROTOCOL_ERA_AUTO.
   */
  | 'PROTOCOL_ERA_UNSPECIFIED'
  | 0
  /**
   * The proxy decides per upstream: it probes server/discover and speaks what it finds.
   */
  | 'PROTOCOL_ERA_AUTO'
  | 1
  /**
   * MCP 2025-11-25 (initialize, sessions); not probed. Always so for PROTOCOL_SSE and PROTOCOL_STDIO.
   */
  | 'PROTOCOL_ERA_LEGACY'
  | 2
  /**
   * MCP 2026-07-28 (stateless); not probed. Never set on a PROTOCOL_SSE or PROTOCOL_STDIO target.
   */
  | 'PROTOCOL_ERA_MODERN'
  | 3

/**
 * Which MCP protocol era the proxy speaks to a target (MCP 2025-11-25 with sessions, or the
 * stateless 2026-07-28 revision). Set per target by MCPBackend spec.targets[].protocolEra and the
 * Service annotation mcpmux.dev/protocol-era (docs/configuration.md).
 */
export type ProtocolEra__Output = typeof ProtocolEra[keyof typeof ProtocolEra]
