// The control plane's own certificate authority, kept in a Secret in its own namespace
// (`mcpmux-ca` by default), made by the leader on first start and read by every replica
// (kube/leader-created-secret.ts). Data keys, each PEM:
//   ca.crt, ca.key            the CA that signs now
//   next-ca.crt, next-ca.key  a CA trusted but not yet signing (rotation, step "stage")
//   previous-ca.crt           a CA no longer signing, still trusted (rotation, step "promote")
// Everything trusted: ca.crt + next-ca.crt + previous-ca.crt. Rotation (docs/security.md): stage a
// new CA, wait for proxies to renew (they learn the bundle), promote it, wait again, retire the old.
import { X509Certificate } from 'node:crypto';
import type { SecretKind, SecretObject } from '../kube/leader-created-secret.ts';
import { createCa, type KeyAndCertificate } from '../../shared/pki/x509.ts';

export { DEFAULT_CA_SECRET } from './names.ts';
/** Ten years: the CA is rotated by hand (or `mcpmux ca rotate`), not by expiry. */
export const CA_VALIDITY_MS = 10 * 365 * 24 * 3600_000;

export interface CaState {
  signing: KeyAndCertificate;
  next?: KeyAndCertificate | undefined;
  previous?: string | undefined;
  /** Every trusted CA certificate, PEM, signing one first. */
  bundle: string;
}

export const CA_KEYS = { cert: 'ca.crt', key: 'ca.key', nextCert: 'next-ca.crt', nextKey: 'next-ca.key', previousCert: 'previous-ca.crt' } as const;

/** The CA a Secret holds, or why it holds none usable. */
export function parseCaSecret(secret: SecretObject): CaState | { error: string } {
  const data = secret.data ?? {};
  const text = (key: string): string | undefined => (typeof data[key] === 'string' && data[key] !== '' ? Buffer.from(data[key], 'base64').toString('utf8') : undefined);
  const pair = (certKey: string, keyKey: string): KeyAndCertificate | string | undefined => {
    const cert = text(certKey);
    const key = text(keyKey);
    if (!cert && !key) return undefined;
    if (!cert || !key) return `data.${cert ? keyKey : certKey} is missing (data.${cert ? certKey : keyKey} is there)`;
    const problem = caProblem(cert, certKey);
    return problem ?? { cert, key };
  };
  const signing = pair(CA_KEYS.cert, CA_KEYS.key);
  if (signing === undefined) return { error: `it has no data.${CA_KEYS.cert} and data.${CA_KEYS.key}` };
  if (typeof signing === 'string') return { error: signing };
  const next = pair(CA_KEYS.nextCert, CA_KEYS.nextKey);
  if (typeof next === 'string') return { error: next };
  const previous = text(CA_KEYS.previousCert);
  if (previous) {
    const problem = caProblem(previous, CA_KEYS.previousCert);
    if (problem) return { error: problem };
  }
  const bundle = [signing.cert, next?.cert, previous].filter((pem): pem is string => pem !== undefined).map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
  return { signing, ...(next ? { next } : {}), ...(previous ? { previous } : {}), bundle };
}

function caProblem(pem: string, key: string): string | undefined {
  try {
    const cert = new X509Certificate(pem);
    if (!cert.ca) return `data.${key} is not a CA certificate (basicConstraints CA:FALSE)`;
    if (Date.parse(cert.validTo) < Date.now()) return `data.${key} expired on ${cert.validTo}`;
    return undefined;
  } catch (error) {
    return `data.${key} is not a PEM certificate: ${(error as Error).message}`;
  }
}

/** Base64 data of a Secret holding `state` (what `mcpmux ca rotate` writes). */
export function caSecretData(state: { signing: KeyAndCertificate; next?: KeyAndCertificate | undefined; previous?: string | undefined }): Record<string, string> {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return {
    [CA_KEYS.cert]: b64(state.signing.cert),
    [CA_KEYS.key]: b64(state.signing.key),
    ...(state.next ? { [CA_KEYS.nextCert]: b64(state.next.cert), [CA_KEYS.nextKey]: b64(state.next.key) } : {}),
    ...(state.previous ? { [CA_KEYS.previousCert]: b64(state.previous) } : {}),
  };
}

export const CONTROL_PLANE_CA: SecretKind<CaState> = {
  what: "the control plane's CA",
  docs: 'docs/security.md, "mTLS"',
  parse: parseCaSecret,
  same: (a, b) => b !== undefined && a.bundle === b.bundle && a.signing.key === b.signing.key,
  // A Secret deleted under us: certificates signed by the CA in use keep verifying until they expire.
  create: async (inUse) => caSecretData({ signing: await createCa('mcpmux control plane CA', CA_VALIDITY_MS), previous: inUse?.signing.cert }),
  labels: { 'app.kubernetes.io/name': 'mcpmux', 'app.kubernetes.io/component': 'ca', 'app.kubernetes.io/managed-by': 'mcpmux-control-plane' },
  annotations: { 'mcpmux.dev/description': 'The CA of mTLS between mcpmux proxies and the control plane (ca.crt, ca.key; next-ca.*, previous-ca.crt during a rotation). Rotate: mcpmux ca rotate (docs/security.md).' },
  describe: (state) => ({ staged: state.next !== undefined, retiring: state.previous !== undefined }),
};
