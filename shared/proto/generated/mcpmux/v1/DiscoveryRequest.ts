// Original file: proto/mcpmux/v1/discovery.proto

import type { Node as _mcpmux_v1_Node, Node__Output as _mcpmux_v1_Node__Output } from '../../mcpmux/v1/Node.ts';
import type { ErrorDetail as _mcpmux_v1_ErrorDetail, ErrorDetail__Output as _mcpmux_v1_ErrorDetail__Output } from '../../mcpmux/v1/ErrorDetail.ts';

export interface DiscoveryRequest {
  'node'?: (_mcpmux_v1_Node | null);
  /**
   * The proxy group it wants: "<namespace>/<name>" of a Gateway, or empty for the only one.
   */
  'group'?: (string);
  /**
   * The last version the proxy accepted; empty on first contact.
   */
  'versionInfo'?: (string);
  /**
   * The nonce of the response this request answers; empty on first contact.
   */
  'responseNonce'?: (string);
  /**
   * Set on a NACK.
   */
  'errorDetail'?: (_mcpmux_v1_ErrorDetail | null);
}

export interface DiscoveryRequest__Output {
  'node': (_mcpmux_v1_Node__Output | null);
  /**
   * The proxy group it wants: "<namespace>/<name>" of a Gateway, or empty for the only one.
   */
  'group': (string);
  /**
   * The last version the proxy accepted; empty on first contact.
   */
  'versionInfo': (string);
  /**
   * The nonce of the response this request answers; empty on first contact.
   */
  'responseNonce': (string);
  /**
   * Set on a NACK.
   */
  'errorDetail': (_mcpmux_v1_ErrorDetail__Output | null);
}
