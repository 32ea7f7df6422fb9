// Original file: proto/mcpmux/v1/config.proto

import type { AccessRule as _mcpmux_v1_AccessRule, AccessRule__Output as _mcpmux_v1_AccessRule__Output } from '../../mcpmux/v1/AccessRule.ts';

/**
 * Rules in order; a tool, prompt or resource is usable when a rule matching the principal allows it
 * and none denies it (deny wins). Nothing allowed: refused, naming "default-deny".
 */
export interface Authorization {
  'rules'?: (_mcpmux_v1_AccessRule)[];
}

/**
 * Rules in order; a tool, prompt or resource is usable when a rule matching the principal allows it
 * and none denies it (deny wins). Nothing allowed: refused, naming "default-deny".
 */
export interface Authorization__Output {
  'rules': (_mcpmux_v1_AccessRule__Output)[];
}
