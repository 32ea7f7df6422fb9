// Original file: proto/mcpmux/v1/discovery.proto


/**
 * The keys of the requestState tokens (MCP 2026-07-28 multi round-trip requests) of one Gateway:
 * AES-256 keys derived (HKDF-SHA256, info "mcpmux/requestState/v1\0<namespace>/<name>") from the
 * control plane's master keys, so every proxy of that Gateway opens the tokens of the others.
 * Never part of a Snapshot (nor of its version, nor of any admin answer); sent only over mTLS or
 * loopback.
 */
export interface RequestStateKeys {
  /**
   * 32 bytes: seals new tokens and opens them.
   */
  'current'?: (Buffer | Uint8Array | string);
  /**
   * 32 bytes, or absent: derived from the previous master key; opens tokens sealed before a
   * rotation until they expire.
   */
  'previous'?: (Buffer | Uint8Array | string);
}

/**
 * The keys of the requestState tokens (MCP 2026-07-28 multi round-trip requests) of one Gateway:
 * AES-256 keys derived (HKDF-SHA256, info "mcpmux/requestState/v1\0<namespace>/<name>") from the
 * control plane's master keys, so every proxy of that Gateway opens the tokens of the others.
 * Never part of a Snapshot (nor of its version, nor of any admin answer); sent only over mTLS or
 * loopback.
 */
export interface RequestStateKeys__Output {
  /**
   * 32 bytes: seals new tokens and opens them.
   */
  'current': (Buffer);
  /**
   * 32 bytes, or absent: derived from the previous master key; opens tokens sealed before a
   * rotation until they expire.
   */
  'previous': (Buffer);
}
