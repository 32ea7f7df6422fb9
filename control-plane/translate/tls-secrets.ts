// The certificate of an HTTPS listener: a `kubernetes.io/tls` Secret (certificateRefs), read by name,
// checked here the way the proxy will use it (a PEM chain whose first certificate the PEM key
// belongs to), so a Secret that could not be served is reported on the listener
// (InvalidCertificateRef) instead of reaching proxies that would refuse the snapshot. Pure: parsing
// keys is no I/O. Each Secret object is judged once, in the state's DerivedData (state objects never
// change): TLS_PAIR.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Secret } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { Derivation } from '../state/state.ts';
import { secretValue } from './authentication.ts';
import { Kinds } from './kinds.ts';
import { string } from './read.ts';

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
/** The data keys of a `kubernetes.io/tls` Secret, and of its snapshot Secret. */
export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';

/** The snapshot name of a listener certificate Secret: what Listener.certificateSecrets holds. */
export function tlsSecretName(namespace: string, name: string): string {
  return `tls/${namespace}/${name}`;
}

export interface TlsPair {
  /** PEM: the certificate, then any intermediates. */
  cert: string;
  /** PEM private key of the first certificate. */
  key: string;
}

/**
 * The certificate and key a Secret holds, or why it cannot be served (a sentence naming the
 * Secret): missing, not of type kubernetes.io/tls, without tls.crt or tls.key, not PEM, or a key
 * that is not the certificate's. Judged anew on every call: the translator reads TLS_PAIR.
 */
export function readTlsSecret(secret: KubeObject | undefined, namespace: string, name: string): TlsPair | string {
  const what = `Secret ${namespace}/${name}`;
  return secret ? judge(secret, what) : `${what} does not exist`;
}

/** readTlsSecret() of a Secret object found by its namespace and name, once per object. */
export const TLS_PAIR: Derivation<TlsPair | string> = Object.freeze({
  kinds: [Kinds.Secret],
  derive: (secret: KubeObject) => readTlsSecret(secret, secret.metadata.namespace ?? '', secret.metadata.name),
});

function judge(secret: KubeObject, what: string): TlsPair | string {
  const type = string(secret.type) ?? '';
  if (type !== TLS_SECRET_TYPE) return `${what} is of type ${type || '(none, Opaque)'}, not ${TLS_SECRET_TYPE}`;
  const cert = secretValue(secret, TLS_CERT_KEY) ?? '';
  const key = secretValue(secret, TLS_KEY_KEY) ?? '';
  if (cert.trim() === '') return `${what} has no ${TLS_CERT_KEY}`;
  if (key.trim() === '') return `${what} has no ${TLS_KEY_KEY}`;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    return `${what}: ${TLS_CERT_KEY} is not a PEM certificate`;
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) return `${what}: ${TLS_KEY_KEY} is not the private key of the certificate in ${TLS_CERT_KEY}`;
  } catch {
    return `${what}: ${TLS_KEY_KEY} is not a PEM private key (an encrypted key cannot be used)`;
  }
  return { cert, key };
}

/** A valid pair as the snapshot Secret a listener names. */
export function tlsSnapshotSecret(namespace: string, name: string, pair: TlsPair): Secret {
  return { name: tlsSecretName(namespace, name), data: { [TLS_CERT_KEY]: pair.cert, [TLS_KEY_KEY]: pair.key } };
}
