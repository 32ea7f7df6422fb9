// Original file: proto/mcpmux/v1/config.proto


export interface JwtProvider {
  /**
   * The token's iss must be this.
   */
  'issuer'?: (string);
  /**
   * The token's aud must include one of these (none: not checked).
   */
  'audiences'?: (string)[];
  /**
   * Where the proxy fetches the signing keys (cached, refetched for an unknown kid).
   */
  'jwksUri'?: (string);
  /**
   * Or the keys themselves (a JWKS document).
   */
  'jwksJson'?: (string);
}

export interface JwtProvider__Output {
  /**
   * The token's iss must be this.
   */
  'issuer': (string);
  /**
   * The token's aud must include one of these (none: not checked).
   */
  'audiences': (string)[];
  /**
   * Where the proxy fetches the signing keys (cached, refetched for an unknown kid).
   */
  'jwksUri': (string);
  /**
   * Or the keys themselves (a JWKS document).
   */
  'jwksJson': (string);
}
