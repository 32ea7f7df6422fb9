// Original file: proto/mcpmux/v1/config.proto

import type { JwtProvider as _mcpmux_v1_JwtProvider, JwtProvider__Output as _mcpmux_v1_JwtProvider__Output } from '../../mcpmux/v1/JwtProvider.ts';
import type { ApiKey as _mcpmux_v1_ApiKey, ApiKey__Output as _mcpmux_v1_ApiKey__Output } from '../../mcpmux/v1/ApiKey.ts';

export interface Authentication {
  /**
   * Bearer JWTs accepted: any one provider that verifies the token.
   */
  'jwt'?: (_mcpmux_v1_JwtProvider)[];
  /**
   * API keys accepted (Bearer or X-API-Key), by the sha256 of the key: the keys never reach a proxy.
   */
  'apiKeys'?: (_mcpmux_v1_ApiKey)[];
}

export interface Authentication__Output {
  /**
   * Bearer JWTs accepted: any one provider that verifies the token.
   */
  'jwt': (_mcpmux_v1_JwtProvider__Output)[];
  /**
   * API keys accepted (Bearer or X-API-Key), by the sha256 of the key: the keys never reach a proxy.
   */
  'apiKeys': (_mcpmux_v1_ApiKey__Output)[];
}
