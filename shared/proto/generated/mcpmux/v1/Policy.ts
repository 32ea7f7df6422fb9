// Original file: proto/mcpmux/v1/config.proto

import type { Authentication as _mcpmux_v1_Authentication, Authentication__Output as _mcpmux_v1_Authentication__Output } from '../../mcpmux/v1/Authentication.ts';
import type { Authorization as _mcpmux_v1_Authorization, Authorization__Output as _mcpmux_v1_Authorization__Output } from '../../mcpmux/v1/Authorization.ts';

/**
 * Who may call the routes of some backends. A request to such a route without a valid credential
 * gets 401 (with the RFC 9728 resource metadata URL); the principal it authenticates as owns the
 * session it opens.
 */
export interface Policy {
  'name'?: (string);
  /**
   * The backends (by name) whose routes it guards.
   */
  'backends'?: (string)[];
  'authentication'?: (_mcpmux_v1_Authentication | null);
  /**
   * What each principal may use; absent: everything.
   */
  'authorization'?: (_mcpmux_v1_Authorization | null);
}

/**
 * Who may call the routes of some backends. A request to such a route without a valid credential
 * gets 401 (with the RFC 9728 resource metadata URL); the principal it authenticates as owns the
 * session it opens.
 */
export interface Policy__Output {
  'name': (string);
  /**
   * The backends (by name) whose routes it guards.
   */
  'backends': (string)[];
  'authentication': (_mcpmux_v1_Authentication__Output | null);
  /**
   * What each principal may use; absent: everything.
   */
  'authorization': (_mcpmux_v1_Authorization__Output | null);
}
