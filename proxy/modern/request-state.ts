// The gateway's own MRTR requestState token (2026-07-28 §MRTR): the upstream's state (and, for a
// bridged legacy call, where it is held) sealed with AES-256-GCM together with what it was issued
// for, so a retry can neither alter it, outlive it, nor replay it on another target, method, tool or
// principal. Clients echo it verbatim; everything in it is attacker input until opened.
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { McpmuxError } from '../../shared/errors.ts';

export interface RequestStateBinding {
  target: string;
  method: string;
  /** tool or prompt name, or resource URI, as the UPSTREAM knows it */
  name: string;
  principal: string | undefined;
  /** Optional digest of the call's arguments (argumentsDigest), when retries must repeat them. */
  argsDigest?: string | undefined;
}

export interface SealedState {
  /** the upstream's own requestState, verbatim; undefined when it sent none */
  upstream: string | undefined;
  /** set when a bridged upstream call is held open for the retry: which replica holds it and its id */
  hold?: { replica: string; id: string } | undefined;
}

/** 32-byte AES-256 keys; tokens sealed with `previous` still open (rotation). */
export interface RequestStateKeys {
  current: Uint8Array;
  previous?: Uint8Array | undefined;
}

const TAG = 'mxs1.';
/** Tokens longer than this are refused unread (and never issued). */
export const MAX_TOKEN_CHARS = 64 * 1024;
const KEY_ID_BYTES = 4;
const NONCE_BYTES = 12;
const AUTH_TAG_BYTES = 16;
const DEFAULT_TTL_MS = 10 * 60 * 1000;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface Key {
  id: Buffer;
  secret: KeyObject;
}

function importKey(bytes: Uint8Array, which: string): Key {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `the ${which} requestState key must be 32 bytes (got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes})`);
  // A short public id picks the key to try; it is a hash, so it says nothing about the key.
  const id = createHash('sha256').update('mcpmux requestState key id\0').update(bytes).digest().subarray(0, KEY_ID_BYTES);
  return { id, secret: createSecretKey(Buffer.from(bytes)) };
}

/** What is encrypted: the binding, the expiry and the state, with short keys (tokens travel twice per round). */
interface Payload {
  t: string;
  m: string;
  n: string;
  p: string | null;
  a: string | null;
  e: number;
  u: string | null;
  h: [string, string] | null;
}

function isPayload(value: unknown): value is Payload {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  const optionalString = (x: unknown): boolean => x === null || typeof x === 'string';
  return (
    typeof v['t'] === 'string' && typeof v['m'] === 'string' && typeof v['n'] === 'string' && optionalString(v['p']) && optionalString(v['a']) &&
    typeof v['e'] === 'number' && optionalString(v['u']) &&
    (v['h'] === null || (Array.isArray(v['h']) && v['h'].length === 2 && typeof v['h'][0] === 'string' && typeof v['h'][1] === 'string'))
  );
}

type Failure = 'altered' | 'expired' | 'principal' | 'target' | 'method' | 'name' | 'arguments';

function refused(reason: Failure, message: string): McpmuxError {
  return new McpmuxError('MCPMUX_INVALID_REQUEST_STATE', `Invalid requestState: ${message}; retry the request without requestState and inputResponses to start over`, { data: { reason } });
}

export class RequestStateCodec {
  #current: Key;
  #previous: Key | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(keys: RequestStateKeys, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#current = importKey(keys.current, 'current');
    this.#previous = keys.previous === undefined ? undefined : importKey(keys.previous, 'previous');
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `requestState ttlMs must be a positive number of milliseconds (got ${ttlMs})`);
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * New keys from now on. Without an explicit `previous`, the old current key becomes previous (and
   * opens its tokens until they expire); the same current key again changes nothing.
   */
  setKeys(keys: RequestStateKeys): void {
    const next = importKey(keys.current, 'current');
    const previous = keys.previous !== undefined ? importKey(keys.previous, 'previous') : next.id.equals(this.#current.id) ? this.#previous : this.#current;
    this.#current = next;
    this.#previous = previous;
  }

  /**
   * AES-256-GCM (random 96-bit nonce; the key id and version tag authenticated as AAD) over the
   * binding, the expiry and the state; base64url after a short version tag. Throws McpmuxError
   * MCPMUX_UPSTREAM_PROTOCOL when the upstream's state is too large to carry.
   */
  seal(binding: RequestStateBinding, state: SealedState): string {
    const payload: Payload = {
      t: binding.target,
      m: binding.method,
      n: binding.name,
      p: binding.principal ?? null,
      a: binding.argsDigest ?? null,
      e: this.#now() + this.#ttlMs,
      u: state.upstream ?? null,
      h: state.hold ? [state.hold.replica, state.hold.id] : null,
    };
    const key = this.#current;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.secret, nonce, { authTagLength: AUTH_TAG_BYTES });
    cipher.setAAD(aad(key.id));
    const sealed = Buffer.concat([key.id, nonce, cipher.update(JSON.stringify(payload), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    const token = TAG + sealed.toString('base64url');
    if (token.length > MAX_TOKEN_CHARS) throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `the upstream's requestState is too large to carry (${state.upstream?.length ?? 0} characters; tokens stop at ${MAX_TOKEN_CHARS})`);
    return token;
  }

  /**
   * The state inside `token` when it was sealed by us (current or previous key), is unexpired, and its
   * binding equals `expected`; else McpmuxError MCPMUX_INVALID_REQUEST_STATE (data.reason: altered,
   * expired, principal, target, method, name, arguments). Never throws anything else.
   */
  open(token: string, expected: RequestStateBinding): SealedState {
    const payload = this.#decrypt(token);
    if (payload === undefined) throw refused('altered', 'it was not issued by this gateway, or was altered');
    if (this.#now() >= payload.e) throw refused('expired', 'it has expired');
    if (payload.p !== (expected.principal ?? null)) throw refused('principal', 'it was issued to another principal');
    if (payload.t !== expected.target) throw refused('target', 'it was issued for another target');
    if (payload.m !== expected.method) throw refused('method', `it was issued for another method, not ${String(expected.method)}`);
    if (payload.n !== expected.name) throw refused('name', `it was issued for another ${expected.method === 'resources/read' ? 'resource' : 'tool or prompt'}, not ${String(expected.name)}`);
    if (payload.a !== (expected.argsDigest ?? null)) throw refused('arguments', 'it was issued for a call with other arguments; a retry repeats the original arguments');
    const state: SealedState = { upstream: payload.u ?? undefined };
    if (payload.h !== null) state.hold = { replica: payload.h[0], id: payload.h[1] };
    return state;
  }

  /** The payload, or undefined for anything we did not seal (whatever the input: no exception escapes). */
  #decrypt(token: unknown): Payload | undefined {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !token.startsWith(TAG)) return undefined;
    const body = token.slice(TAG.length);
    if (!BASE64URL.test(body)) return undefined;
    const bytes = Buffer.from(body, 'base64url');
    // Only the canonical spelling: otherwise spare bits in the last character would let a changed
    // token decode to the same bytes and open.
    if (bytes.length < KEY_ID_BYTES + NONCE_BYTES + AUTH_TAG_BYTES + 1 || bytes.toString('base64url') !== body) return undefined;
    const id = bytes.subarray(0, KEY_ID_BYTES);
    for (const key of [this.#current, this.#previous]) {
      if (key === undefined || !key.id.equals(id)) continue;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.secret, bytes.subarray(KEY_ID_BYTES, KEY_ID_BYTES + NONCE_BYTES), { authTagLength: AUTH_TAG_BYTES });
        decipher.setAAD(aad(key.id));
        decipher.setAuthTag(bytes.subarray(bytes.length - AUTH_TAG_BYTES));
        const plain = Buffer.concat([decipher.update(bytes.subarray(KEY_ID_BYTES + NONCE_BYTES, bytes.length - AUTH_TAG_BYTES)), decipher.final()]);
        const payload: unknown = JSON.parse(plain.toString('utf8'));
        if (isPayload(payload)) return payload;
      } catch {
        // Authentication failed under this key: try the other one (ids of two keys may collide).
      }
    }
    return undefined;
  }
}

function aad(keyId: Buffer): Buffer {
  return Buffer.concat([Buffer.from(TAG, 'latin1'), keyId]);
}

/** A digest of a call's arguments, independent of key order, for RequestStateBinding.argsDigest. */
export function argumentsDigest(args: unknown): string {
  const canonical = JSON.stringify(args ?? null, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
    return sorted;
  });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A per-Gateway key derived from the master key with HKDF-SHA256 (the derivation the control plane shares). */
export { deriveGatewayKey } from '../../shared/request-state-keys.ts';

/** A random 32-byte key (a proxy with no key from its control plane). */
export function randomStateKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
