// The requestState keys both sides agree on (MCP 2026-07-28 multi round-trip requests): a master
// key (at least 32 bytes) never leaves where it is kept; each Gateway's proxies seal tokens with the
// key derived for that Gateway, HKDF-SHA256 with the Gateway ("NS/NAME") in the info, so one
// Gateway's proxies cannot open another's tokens. Also the key file format both accept
// (`--request-state-key-file`): one key per line, base64 or hex, current then optional previous.
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errorMessage, McpmuxError } from './errors.ts';

export const MIN_MASTER_KEY_BYTES = 32;

/** Master keys (or keys read from a key file): the current one, and the previous one during a rotation. */
export interface MasterKeys {
  current: Buffer;
  previous?: Buffer | undefined;
}

/** The 32-byte key of one Gateway ("NS/NAME", or a fixed label): HKDF-SHA256, salt "mcpmux", info "mcpmux/requestState/v1\0NS/NAME". */
export function deriveGatewayKey(master: Uint8Array, gateway: string): Buffer {
  if (!(master instanceof Uint8Array) || master.length < MIN_MASTER_KEY_BYTES) {
    throw new McpmuxError('MCPMUX_CONFIG_INVALID', `a requestState master key must be at least ${MIN_MASTER_KEY_BYTES} bytes`);
  }
  if (typeof gateway !== 'string' || gateway.length === 0) throw new McpmuxError('MCPMUX_CONFIG_INVALID', 'deriving a requestState key needs the gateway as "NS/NAME"');
  return Buffer.from(hkdfSync('sha256', master, 'mcpmux', `mcpmux/requestState/v1\0${gateway}`, 32));
}

function decodeKey(line: string, index: number, path: string): Buffer {
  const bytes = /^[0-9a-fA-F]+$/.test(line) && line.length % 2 === 0 ? Buffer.from(line, 'hex') : Buffer.from(line, 'base64');
  if (bytes.length < MIN_MASTER_KEY_BYTES) {
    throw new McpmuxError(
      'MCPMUX_USAGE',
      `${path}: key ${index + 1} decodes to ${bytes.length} bytes; a requestState key is at least ${MIN_MASTER_KEY_BYTES} bytes, base64 or hex (make one with: openssl rand -base64 32)`,
    );
  }
  return bytes;
}

/** The keys in a key file's text; blank lines and `#` comments are skipped. McpmuxError MCPMUX_USAGE naming what is wrong. */
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
