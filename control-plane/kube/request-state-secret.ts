// The requestState master keys in a cluster (request-state/keys.ts): one Secret in the control
// plane's own namespace, `mcpmux-request-state` by default, with data keys `current` and, during a
// rotation, `previous` (raw bytes, at least 32 each).
//
//  - The leader creates it when it finds none: a random `current` (and, when it had keys from a
//    Secret that was since deleted, those as `previous`, so tokens already out still open).
//  - Every replica, leading or not, reads it (GET by name) and watches it (a watch with a
//    metadata.name field selector, renewed every few tens of seconds), so all derive the same keys
//    for every Gateway, and a rotation (an operator moving `current` to `previous` and writing a
//    new `current`, docs/security.md) reaches every proxy within moments.
//  - The control plane never updates or deletes it. RBAC: get and watch on that one name, and
//    create on Secrets in its own namespace (a create carries no name RBAC could check).
//  - A Secret whose keys are unusable (missing, too short) is reported, never overwritten: the keys
//    in use stay (none before the first good ones: proxies then keep random keys of their own).
// Nothing here logs a key, or the Secret's data.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log.ts';
import { MIN_MASTER_KEY_BYTES, sameKeys, type MasterKeys } from '../request-state/keys.ts';
import type { KubeClient } from './client.ts';
import { LeaderCreatedSecret, type SecretKind, type SecretObject } from './leader-created-secret.ts';

export const DEFAULT_REQUEST_STATE_SECRET = 'mcpmux-request-state';

export interface RequestStateSecretOptions {
  client: KubeClient;
  /** The control plane's own namespace. */
  namespace: string;
  name: string;
  logger: Logger;
  /** Master keys read from the Secret, each time they change. */
  onKeys(keys: MasterKeys): void;
  /** How long a follower waits before looking for the Secret again while it does not exist; base of the error backoff (default 2 s). */
  retryMs?: number;
  /** How long one watch request lasts before it is renewed (default 25 s: under client-node's 30 s idle timeout). */
  watchSeconds?: number;
}

/** The master keys a Secret holds, or why it holds none usable. */
export function parseRequestStateSecret(secret: SecretObject): MasterKeys | { error: string } {
  const data = secret.data ?? {};
  const decode = (key: 'current' | 'previous'): Buffer | undefined => (typeof data[key] === 'string' && data[key] !== '' ? Buffer.from(data[key], 'base64') : undefined);
  const current = decode('current');
  const previous = decode('previous');
  if (!current) return { error: 'it has no data.current' };
  if (current.length < MIN_MASTER_KEY_BYTES) return { error: `data.current is ${current.length} bytes; a master key is at least ${MIN_MASTER_KEY_BYTES}` };
  if (previous && previous.length < MIN_MASTER_KEY_BYTES) return { error: `data.previous is ${previous.length} bytes; a master key is at least ${MIN_MASTER_KEY_BYTES}` };
  return previous ? { current, previous } : { current };
}

/** What the requestState keys' Secret holds, and how the leader makes one. */
const REQUEST_STATE_KEYS: SecretKind<MasterKeys> = {
  what: 'requestState master keys',
  docs: 'docs/security.md, "requestState keys"',
  parse: parseRequestStateSecret,
  same: (a, b) => sameKeys(a, b),
  // A Secret deleted under us: the keys it held open the tokens already out.
  create: async (previous) => ({ current: randomBytes(32).toString('base64'), ...(previous ? { previous: previous.current.toString('base64') } : {}) }),
  labels: { 'app.kubernetes.io/name': 'mcpmux', 'app.kubernetes.io/component': 'request-state-keys', 'app.kubernetes.io/managed-by': 'mcpmux-control-plane' },
  annotations: { 'mcpmux.dev/description': 'Master keys of requestState tokens (current, previous). Rotate: docs/security.md. Never shown by mcpmux.' },
  describe: (keys) => ({ previous: keys.previous !== undefined }),
};

/** Reads and watches the Secret on every replica; the leader creates it (see above). */
export class RequestStateSecret extends LeaderCreatedSecret<MasterKeys> {
  constructor(options: RequestStateSecretOptions) {
    const { onKeys, ...rest } = options;
    super({ ...rest, kind: REQUEST_STATE_KEYS, onValue: onKeys });
  }
}
