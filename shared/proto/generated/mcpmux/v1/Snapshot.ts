// Original file: proto/mcpmux/v1/config.proto

import type { Listener as _mcpmux_v1_Listener, Listener__Output as _mcpmux_v1_Listener__Output } from '../../mcpmux/v1/Listener.ts';
import type { Route as _mcpmux_v1_Route, Route__Output as _mcpmux_v1_Route__Output } from '../../mcpmux/v1/Route.ts';
import type { Backend as _mcpmux_v1_Backend, Backend__Output as _mcpmux_v1_Backend__Output } from '../../mcpmux/v1/Backend.ts';
import type { Target as _mcpmux_v1_Target, Target__Output as _mcpmux_v1_Target__Output } from '../../mcpmux/v1/Target.ts';
import type { Policy as _mcpmux_v1_Policy, Policy__Output as _mcpmux_v1_Policy__Output } from '../../mcpmux/v1/Policy.ts';
import type { Secret as _mcpmux_v1_Secret, Secret__Output as _mcpmux_v1_Secret__Output } from '../../mcpmux/v1/Secret.ts';

export interface Snapshot {
  /**
   * Opaque; compared for equality only. Hash of the canonical encoding of everything below but itself.
   */
  'version'?: (string);
  /**
   * The proxy group: "<namespace>/<name>" of the Gateway.
   */
  'group'?: (string);
  'listeners'?: (_mcpmux_v1_Listener)[];
  'routes'?: (_mcpmux_v1_Route)[];
  'backends'?: (_mcpmux_v1_Backend)[];
  'targets'?: (_mcpmux_v1_Target)[];
  'policies'?: (_mcpmux_v1_Policy)[];
  'secrets'?: (_mcpmux_v1_Secret)[];
}

export interface Snapshot__Output {
  /**
   * Opaque; compared for equality only. Hash of the canonical encoding of everything below but itself.
   */
  'version': (string);
  /**
   * The proxy group: "<namespace>/<name>" of the Gateway.
   */
  'group': (string);
  'listeners': (_mcpmux_v1_Listener__Output)[];
  'routes': (_mcpmux_v1_Route__Output)[];
  'backends': (_mcpmux_v1_Backend__Output)[];
  'targets': (_mcpmux_v1_Target__Output)[];
  'policies': (_mcpmux_v1_Policy__Output)[];
  'secrets': (_mcpmux_v1_Secret__Output)[];
}
