// The requestState master keys (MCP 2026-07-28 multi round-trip requests, docs/security.md) and the
// per-Gateway keys derived from them.
//
// A proxy seals the `requestState` tokens it hands to clients with an AES-256 key; for a retry to
// open on any replica of a Gateway, every proxy of that Gateway needs the same key. The control
// plane keeps master keys (current, and previous during a rotation) and gives each proxy the keys
// derived for its Gateway, HKDF-SHA256 with the Gateway ("NS/NAME") in the info: one Gateway's proxies
// cannot open another Gateway's tokens, and no proxy ever holds the master key.
//
// Where the master keys come from: a Secret in the control plane's own namespace in a cluster
// (kube/request-state-secret.ts), a key file (--request-state-key-file, read here and watched), or a
// random key made at start and kept in memory. They never enter a snapshot, the event log, an admin
// answer or a log line: the discovery server sends the derived keys in a field of their own, only
// over mTLS or loopback (discovery/request-state.ts).
import { randomBytes } from 'node:crypto';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import { deriveGatewayKey, MIN_MASTER_KEY_BYTES, parseMasterKeyFile, readMasterKeyFile, type MasterKeys } from '../../shared/request-state-keys.ts';
import type { Logger } from '../../shared/log.ts';

export type { MasterKeys };

/** One Gateway's keys, as a proxy gets them: 32 bytes each. */
export interface GroupKeys {
  current: Buffer;
  previous?: Buffer | undefined;
}

export { MIN_MASTER_KEY_BYTES, parseMasterKeyFile, readMasterKeyFile };

/** The 32-byte key of one Gateway ("NS/NAME"), the derivation the proxies share (shared/request-state-keys.ts). */
export function deriveGroupKey(master: Uint8Array, group: string): Buffer {
  return deriveGatewayKey(master, group);
}

/** A Gateway's keys from the master keys. */
export function deriveGroupKeys(master: MasterKeys, group: string): GroupKeys {
  const current = deriveGroupKey(master.current, group);
  return master.previous ? { current, previous: deriveGroupKey(master.previous, group) } : { current };
}

export function randomMasterKey(): Buffer {
  return randomBytes(32);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Whether two sets of keys (master or derived) are the same keys. */
export function sameKeys(a: MasterKeys | GroupKeys | undefined, b: MasterKeys | GroupKeys | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameBytes(a.current, b.current) && sameBytes(a.previous, b.previous);
}

/** Where the discovery server gets each Gateway's keys from, and hears that they changed. */
export interface RequestStateKeySource {
  /** The keys of one Gateway, or undefined while there are no master keys yet. */
  keysFor(group: string): GroupKeys | undefined;
  /** Called after the master keys changed; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** The master keys in use, each Gateway's derived keys (kept until the master keys change), and who to tell. */
export class RequestStateKeyring implements RequestStateKeySource {
  #master: MasterKeys | undefined;
  readonly #derived = new Map<string, GroupKeys>();
  readonly #listeners = new Set<() => void>();

  /** Whether master keys are known. */
  get ready(): boolean {
    return this.#master !== undefined;
  }

  /** New master keys; false (and nobody told) when they are the ones in use. */
  set(master: MasterKeys): boolean {
    if (master.current.length < MIN_MASTER_KEY_BYTES || (master.previous !== undefined && master.previous.length < MIN_MASTER_KEY_BYTES)) {
      throw new McpmuxError('MCPMUX_CONFIG_INVALID', `requestState master keys must be at least ${MIN_MASTER_KEY_BYTES} bytes each`);
    }
    if (sameKeys(this.#master, master)) return false;
    this.#master = { current: Buffer.from(master.current), ...(master.previous ? { previous: Buffer.from(master.previous) } : {}) };
    this.#derived.clear();
    for (const listener of [...this.#listeners]) listener();
    return true;
  }

  keysFor(group: string): GroupKeys | undefined {
    if (!this.#master || !group) return undefined;
    let keys = this.#derived.get(group);
    if (!keys) this.#derived.set(group, (keys = deriveGroupKeys(this.#master, group)));
    return keys;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

// ---- The master key file (--request-state-key-file) ----

/** One key of a key file: base64 or hex, at least 32 bytes. */
/**
 * Reads the key file again whenever it changes (a rotation: a new first line, the old one second),
 * checking it every `intervalMs` (default 1 s; stat polling also sees a file replaced by rename, as
 * a mounted Secret is). A file that cannot be read or parsed is logged and the keys in use stay.
 * Returns the function that stops watching.
 */
export function watchMasterKeyFile(path: string, onKeys: (keys: MasterKeys) => void, logger: Logger, intervalMs = 1000): () => void {
  let lastError = '';
  const listener = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    try {
      const keys = readMasterKeyFile(path);
      lastError = '';
      onKeys(keys);
    } catch (error) {
      const message = errorMessage(error);
      if (message !== lastError) logger.warn({ file: path, error: message }, 'requestState master key file unusable; keeping the keys in use');
      lastError = message;
    }
  };
  watchFile(path, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(path, listener);
}
