// Original file: proto/mcpmux/v1/config.proto

import type { PrefixMode as _mcpmux_v1_PrefixMode, PrefixMode__Output as _mcpmux_v1_PrefixMode__Output } from '../../mcpmux/v1/PrefixMode.ts';
import type { FailureMode as _mcpmux_v1_FailureMode, FailureMode__Output as _mcpmux_v1_FailureMode__Output } from '../../mcpmux/v1/FailureMode.ts';
import type { ServerInfo as _mcpmux_v1_ServerInfo, ServerInfo__Output as _mcpmux_v1_ServerInfo__Output } from '../../mcpmux/v1/ServerInfo.ts';

export interface Backend {
  /**
   * "<namespace>/<name>" of the AgentgatewayBackend or MCPBackend.
   */
  'name'?: (string);
  'prefixMode'?: (_mcpmux_v1_PrefixMode);
  'failureMode'?: (_mcpmux_v1_FailureMode);
  /**
   * Names of its targets, sorted; each names a Target with this backend.
   */
  'targets'?: (string)[];
  /**
   * Glob patterns ("*" any run, "?" one character) over the tool names clients see (prefixed
   * where prefixed). Empty include means all; exclude wins over include.
   */
  'toolInclude'?: (string)[];
  'toolExclude'?: (string)[];
  /**
   * What clients see as serverInfo; empty name means mcpmux's own.
   */
  'serverInfo'?: (_mcpmux_v1_ServerInfo | null);
  /**
   * Instructions returned by initialize; empty means the targets' own, merged, each headed by its target.
   */
  'instructions'?: (string);
}

export interface Backend__Output {
  /**
   * "<namespace>/<name>" of the AgentgatewayBackend or MCPBackend.
   */
  'name': (string);
  'prefixMode': (_mcpmux_v1_PrefixMode__Output);
  'failureMode': (_mcpmux_v1_FailureMode__Output);
  /**
   * Names of its targets, sorted; each names a Target with this backend.
   */
  'targets': (string)[];
  /**
   * Glob patterns ("*" any run, "?" one character) over the tool names clients see (prefixed
   * where prefixed). Empty include means all; exclude wins over include.
   */
  'toolInclude': (string)[];
  'toolExclude': (string)[];
  /**
   * What clients see as serverInfo; empty name means mcpmux's own.
   */
  'serverInfo': (_mcpmux_v1_ServerInfo__Output | null);
  /**
   * Instructions returned by initialize; empty means the targets' own, merged, each headed by its target.
   */
  'instructions': (string);
}
