// Original file: proto/mcpmux/v1/config.proto

import type { Endpoint as _mcpmux_v1_Endpoint, Endpoint__Output as _mcpmux_v1_Endpoint__Output } from '../../mcpmux/v1/Endpoint.ts';
import type { Protocol as _mcpmux_v1_Protocol, Protocol__Output as _mcpmux_v1_Protocol__Output } from '../../mcpmux/v1/Protocol.ts';
import type { Timeouts as _mcpmux_v1_Timeouts, Timeouts__Output as _mcpmux_v1_Timeouts__Output } from '../../mcpmux/v1/Timeouts.ts';
import type { StdioCommand as _mcpmux_v1_StdioCommand, StdioCommand__Output as _mcpmux_v1_StdioCommand__Output } from '../../mcpmux/v1/StdioCommand.ts';
import type { ProtocolEra as _mcpmux_v1_ProtocolEra, ProtocolEra__Output as _mcpmux_v1_ProtocolEra__Output } from '../../mcpmux/v1/ProtocolEra.ts';

export interface Target {
  /**
   * The backend this target belongs to.
   */
  'backend'?: (string);
  /**
   * DNS-label-like, unique in its backend; the prefix of its tools ("<name>_<tool>").
   */
  'name'?: (string);
  'endpoints'?: (_mcpmux_v1_Endpoint)[];
  /**
   * HTTP path of the MCP endpoint, "/mcp" by default.
   */
  'path'?: (string);
  'protocol'?: (_mcpmux_v1_Protocol);
  /**
   * "http" or "https".
   */
  'scheme'?: (string);
  'timeouts'?: (_mcpmux_v1_Timeouts | null);
  /**
   * Name of a Secret in this snapshot holding upstream credentials, if any.
   */
  'authSecret'?: (string);
  /**
   * Field 9 (tool_allow) was replaced by Backend.tool_include/tool_exclude. No `reserved`: protobufjs
   * encodes reserved ranges in a way grpcurl rejects.
   * Where the target came from: "<kind>/<namespace>/<name>[:<port>]".
   */
  'source'?: (string);
  /**
   * For PROTOCOL_STDIO: the command the proxy runs, one child process per upstream session,
   * speaking MCP over its stdin/stdout. Unset for every other protocol; such a target has no
   * endpoints. Only the files source produces it (local development).
   */
  'stdio'?: (_mcpmux_v1_StdioCommand | null);
  /**
   * The era the proxy speaks to this target; PROTOCOL_ERA_LEGACY for PROTOCOL_SSE and PROTOCOL_STDIO.
   */
  'protocolEra'?: (_mcpmux_v1_ProtocolEra);
}

export interface Target__Output {
  /**
   * The backend this target belongs to.
   */
  'backend': (string);
  /**
   * DNS-label-like, unique in its backend; the prefix of its tools ("<name>_<tool>").
   */
  'name': (string);
  'endpoints': (_mcpmux_v1_Endpoint__Output)[];
  /**
   * HTTP path of the MCP endpoint, "/mcp" by default.
   */
  'path': (string);
  'protocol': (_mcpmux_v1_Protocol__Output);
  /**
   * "http" or "https".
   */
  'scheme': (string);
  'timeouts': (_mcpmux_v1_Timeouts__Output | null);
  /**
   * Name of a Secret in this snapshot holding upstream credentials, if any.
   */
  'authSecret': (string);
  /**
   * Field 9 (tool_allow) was replaced by Backend.tool_include/tool_exclude. No `reserved`: protobufjs
   * encodes reserved ranges in a way grpcurl rejects.
   * Where the target came from: "<kind>/<namespace>/<name>[:<port>]".
   */
  'source': (string);
  /**
   * For PROTOCOL_STDIO: the command the proxy runs, one child process per upstream session,
   * speaking MCP over its stdin/stdout. Unset for every other protocol; such a target has no
   * endpoints. Only the files source produces it (local development).
   */
  'stdio': (_mcpmux_v1_StdioCommand__Output | null);
  /**
   * The era the proxy speaks to this target; PROTOCOL_ERA_LEGACY for PROTOCOL_SSE and PROTOCOL_STDIO.
   */
  'protocolEra': (_mcpmux_v1_ProtocolEra__Output);
}
