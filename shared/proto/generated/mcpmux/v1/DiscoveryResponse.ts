// Original file: proto/mcpmux/v1/discovery.proto

import type { Snapshot as _mcpmux_v1_Snapshot, Snapshot__Output as _mcpmux_v1_Snapshot__Output } from '../../mcpmux/v1/Snapshot.ts';
import type { RequestStateKeys as _mcpmux_v1_RequestStateKeys, RequestStateKeys__Output as _mcpmux_v1_RequestStateKeys__Output } from '../../mcpmux/v1/RequestStateKeys.ts';

export interface DiscoveryResponse {
  'versionInfo'?: (string);
  'nonce'?: (string);
  /**
   * Absent in a response that only carries request_state_keys (version_info is then the version
   * the proxy already serves); the proxy ACKs such a response too.
   */
  'snapshot'?: (_mcpmux_v1_Snapshot | null);
  /**
   * Set on the first response of a stream and whenever the keys change; only when the stream is
   * mTLS (a verified client certificate) or its peer is on loopback. Applied before `snapshot`.
   */
  'requestStateKeys'?: (_mcpmux_v1_RequestStateKeys | null);
}

export interface DiscoveryResponse__Output {
  'versionInfo': (string);
  'nonce': (string);
  /**
   * Absent in a response that only carries request_state_keys (version_info is then the version
   * the proxy already serves); the proxy ACKs such a response too.
   */
  'snapshot': (_mcpmux_v1_Snapshot__Output | null);
  /**
   * Set on the first response of a stream and whenever the keys change; only when the stream is
   * mTLS (a verified client certificate) or its peer is on loopback. Applied before `snapshot`.
   */
  'requestStateKeys': (_mcpmux_v1_RequestStateKeys__Output | null);
}
