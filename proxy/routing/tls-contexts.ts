// The TLS contexts of HTTPS listeners, made from the certificate Secrets of a snapshot. A context is
// made once per distinct certificate set and reused by the tables that follow (a snapshot changes
// with every endpoint in the cluster; its certificates seldom do), so applying a table costs no
// key parsing unless a certificate changed (a rotation: the next handshake gets the new context).
import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Secret } from '../../shared/config/types.ts';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';

/** The data keys of a certificate Secret (as the control plane writes them: a kubernetes.io/tls Secret's). */
export const CERT_KEY = 'tls.crt';
export const KEY_KEY = 'tls.key';

export interface ListenerCertificates {
  context: SecureContext;
  /** The PEM certificates and keys it holds (in the order of the listener's certificateSecrets). */
  certs: readonly string[];
  keys: readonly string[];
}

/** Contexts by the digest of their PEMs; a few are kept (a handful of listeners, a rotation's old and new). */
const contexts = new Map<string, ListenerCertificates>();
const KEPT = 32;

/**
 * The certificates of an HTTPS listener: those of its certificateSecrets that are in the snapshot
 * (one not there did not resolve on the control plane), as one context (several: e.g. an RSA and
 * an ECDSA certificate, TLS picks by what the client supports). Undefined when none is there.
 * A Secret that is there but is not a certificate with its key throws MCPMUX_CONFIG_INVALID (NACK).
 */
export function listenerCertificates(listener: string, names: readonly string[], secrets: ReadonlyMap<string, Secret>): ListenerCertificates | undefined {
  const certs: string[] = [];
  const keys: string[] = [];
  for (const name of names) {
    const secret = secrets.get(name);
    if (!secret) continue;
    const cert = secret.data?.[CERT_KEY];
    const key = secret.data?.[KEY_KEY];
    if (!cert || !key) throw invalid(listener, `certificate Secret "${name}" needs ${CERT_KEY} and ${KEY_KEY}`);
    certs.push(cert);
    keys.push(key);
  }
  if (certs.length === 0) return undefined;
  const digest = createHash('sha256').update(JSON.stringify([certs, keys])).digest('hex');
  let found = contexts.get(digest);
  if (!found) {
    try {
      found = { context: createSecureContext({ cert: certs, key: keys }), certs, keys };
    } catch (error) {
      throw invalid(listener, `its certificates (${names.join(', ')}) cannot be used: ${errorMessage(error)}`);
    }
    if (contexts.size >= KEPT) contexts.delete(contexts.keys().next().value!);
    contexts.set(digest, found);
  }
  return found;
}

function invalid(listener: string, message: string): McpmuxError {
  return new McpmuxError('MCPMUX_CONFIG_INVALID', `listener "${listener}": ${message}`);
}
