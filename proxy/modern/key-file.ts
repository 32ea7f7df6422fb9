// The requestState keys of a proxy that runs without a control plane handing them out
// (`--request-state-key-file`): replicas that share the file open each other's tokens, so a retry
// may land on any of them. One key per line, base64 or hex, at least 32 bytes each: the first is
// the current key, an optional second the previous one (accepted until its tokens expire: the
// rotation). Blank lines and `#` comments are skipped. Each line is a master key: the codec's key
// is derived from it (HKDF), the same way a control plane derives a Gateway's.
import { deriveGatewayKey, parseMasterKeyFile, readMasterKeyFile } from '../../shared/request-state-keys.ts';
import type { RequestStateKeys } from './request-state.ts';

/** What a standalone proxy's keys are derived for (a control plane derives per Gateway instead). */
const STANDALONE = 'standalone';

/** The codec keys of a key file's text (see shared/request-state-keys.ts for the format). */
export function parseKeyFile(text: string, path = 'request-state key file'): RequestStateKeys {
  const master = parseMasterKeyFile(text, path);
  const current = deriveGatewayKey(master.current, STANDALONE);
  return master.previous ? { current, previous: deriveGatewayKey(master.previous, STANDALONE) } : { current };
}

export function readKeyFile(path: string): RequestStateKeys {
  const master = readMasterKeyFile(path);
  const current = deriveGatewayKey(master.current, STANDALONE);
  return master.previous ? { current, previous: deriveGatewayKey(master.previous, STANDALONE) } : { current };
}
