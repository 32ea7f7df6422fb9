// The requestState keys of a proxy that runs without a control plane handing them out
// (`--request-state-key-file`): replicas that share the file open each other's tokens, so a retry
// may land on any of them. One key per line, base64 or hex, at least 32 bytes each: the first is
// the current key, an optional second the previous one (accepted until its tokens expire: the
// rotation). Blank lines and `#` comments are skipped. Each line is a master key: the codec's key
// is derived from it (HKDF), the same way a control plane derives a Gateway's.
import { readFileSync } from 'node:fs';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import { deriveGatewayKey, type RequestStateKeys } from './request-state.ts';

/** What a standalone proxy's keys are derived for (a control plane derives per Gateway instead). */
const STANDALONE = 'standalone';

function decodeKey(line: string, index: number, path: string): Uint8Array {
  const text = line.trim();
  const bytes = /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (bytes.length < 32) {
    throw new McpmuxError('MCPMUX_USAGE', `${path}: key ${index + 1} decodes to ${bytes.length} bytes; a requestState key is at least 32 bytes, base64 or hex (make one with: openssl rand -base64 32)`);
  }
  return new Uint8Array(bytes);
}

/** The keys in a key file text (see above); McpmuxError MCPMUX_USAGE naming what is wrong. */
export function parseKeyFile(text: string, path = 'request-state key file'): RequestStateKeys {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0 || lines.length > 2) {
    throw new McpmuxError('MCPMUX_USAGE', `${path}: expected one key (current) or two (current, then previous), one per line; found ${lines.length}`);
  }
  const [current, previous] = lines.map((line, i) => deriveGatewayKey(decodeKey(line, i, path), STANDALONE));
  return previous === undefined ? { current: current! } : { current: current!, previous };
}

export function readKeyFile(path: string): RequestStateKeys {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new McpmuxError('MCPMUX_USAGE', `cannot read --request-state-key-file ${path}: ${errorMessage(error)}`);
  }
  return parseKeyFile(text, path);
}
