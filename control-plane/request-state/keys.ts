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
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';

/** Master keys: at least 32 bytes each. */
export interface MasterKeys {
  current: Buffer;
  previous?: Buffer | undefined;
}

/** One Gateway's keys, as a proxy gets them: 32 bytes each. */
export interface GroupKeys {
  current: Buffer;
  previous?: Buffer | undefined;
}

export const MIN_MASTER_KEY_BYTES = 32;

/**
 * The 32-byte key of one Gateway ("NS/NAME"): HKDF-SHA256 over the master key, salt "mcpmux",
 * info "mcpmux/requestState/v1\0NS/NAME". The same derivation as the proxy's deriveGatewayKey
 * (proxy/modern/request-state.ts; test/request-state-keys.test.ts holds the two together).
 */
export function deriveGroupKey(master: Uint8Array, group: string): Buffer {
  if (master.length < MIN_MASTER_KEY_BYTES) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `a requestState master key must be at least ${MIN_MASTER_KEY_BYTES} bytes`);
  if (!group) throw new McpmuxError('MCPMUX_CONFIG_INVALID', 'deriving a requestState key needs the gateway as "NS/NAME"');
  return Buffer.from(hkdfSync('sha256', master, 'mcpmux', `mcpmux/requestState/v1\0${group}`, 32));
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
function decodeKey(line: string, index: number, path: string): Buffer {
  const bytes = /^[0-9a-fA-F]+$/.test(line) && line.length % 2 === 0 ? Buffer.from(line, 'hex') : Buffer.from(line, 'base64');
  if (bytes.length < MIN_MASTER_KEY_BYTES) {
    throw new McpmuxError(
      'MCPMUX_USAGE',
      `${path}: key ${index + 1} decodes to ${bytes.length} bytes; a requestState master key is at least ${MIN_MASTER_KEY_BYTES} bytes, base64 or hex (make one with: openssl rand -base64 32)`,
    );
  }
  return bytes;
}

/**
 * The master keys in a key file's text: one key per line, base64 or hex, the current one first and
 * an optional previous one second (accepted until its tokens expire: the rotation). Blank lines and
 * `#` comments are skipped. The format of the proxy's --request-state-key-file.
 */
export function parseMasterKeyFile(text: string, path = 'request-state key file'): MasterKeys {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0 || lines.length > 2) {
    throw new McpmuxError('MCPMUX_USAGE', `${path}: expected one key (current) or two (current, then previous), one per line; found ${lines.length}`);
  }
  const [current, previous] = lines.map((line, i) => decodeKey(line, i, path));
  return previous ? { current: current!, previous } : { current: current! };
}

export function readMasterKeyFile(path: string): MasterKeys {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new McpmuxError('MCPMUX_USAGE', `cannot read --request-state-key-file ${path}: ${errorMessage(error)}`);
  }
  return parseMasterKeyFile(text, path);
}

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
