// The X.509 work of mcpmux's own certificate authority (control-plane/pki): ECDSA P-256 keys, a
// self-signed CA, certificates it signs, and the CSRs proxies send. @peculiar/x509 builds and parses
// the DER; Node's WebCrypto signs. Everything travels as PEM.
// @peculiar/x509 needs a Reflect metadata polyfill loaded before it (its README says so).
import 'reflect-metadata';
import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { McpmuxError } from '../errors.ts';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A private key and the certificate of its public key, both PEM. */
export interface KeyAndCertificate {
  cert: string;
  key: string;
}

/** Names a certificate carries in its subjectAltName. */
export interface SubjectNames {
  dns?: readonly string[];
  ips?: readonly string[];
  uris?: readonly string[];
}

export interface NewKeyPair {
  keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
}

export async function newKeyPair(): Promise<NewKeyPair> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** A new self-signed CA certificate and its key, valid for `validityMs` (from a minute ago: clocks drift). */
export async function createCa(commonName: string, validityMs: number, now = Date.now()): Promise<KeyAndCertificate> {
  const { keys, keyPem } = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${escapeDn(commonName)}, O=mcpmux`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validityMs),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: keyPem };
}

export interface IssueOptions {
  ca: KeyAndCertificate;
  /** PEM SPKI or CSR-derived public key of the subject. */
  publicKey: x509.PublicKey | CryptoKey;
  commonName: string;
  names: SubjectNames;
  validityMs: number;
  usage: 'server' | 'client' | 'both';
  now?: number;
}

/** A leaf certificate the CA signs for `publicKey`; PEM. */
export async function issueCertificate(options: IssueOptions): Promise<string> {
  const now = options.now ?? Date.now();
  const caCert = new x509.X509Certificate(options.ca.cert);
  const signingKey = await importPrivateKey(options.ca.key);
  const usages = options.usage === 'server' ? [x509.ExtendedKeyUsage.serverAuth] : options.usage === 'client' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const names = [
    ...(options.names.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.names.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.names.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${escapeDn(options.commonName)}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + options.validityMs),
    signingAlgorithm: ALGORITHM,
    publicKey: options.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return cert.toString('pem');
}

/** A CSR for a fresh key (what a proxy sends); the control plane takes only its public key. */
export async function createCsr(pair: NewKeyPair, commonName: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${escapeDn(commonName)}`, keys: pair.keys, signingAlgorithm: ALGORITHM });
  return csr.toString('pem');
}

/** The public key of a CSR whose signature verifies (proof the sender holds the key), or a usage error. */
export async function csrPublicKey(pem: string): Promise<x509.PublicKey> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (error) {
    throw new McpmuxError('MCPMUX_USAGE', `the certificate signing request does not parse: ${(error as Error).message}`);
  }
  let verified: boolean;
  try {
    // A key that is not a point of the curve, an unknown algorithm: refused like a bad signature.
    verified = await csr.verify();
  } catch (error) {
    throw new McpmuxError('MCPMUX_USAGE', `the certificate signing request's key or signature is unusable: ${(error as Error).message}`);
  }
  if (!verified) throw new McpmuxError('MCPMUX_USAGE', 'the certificate signing request is not signed by its own key');
  return csr.publicKey;
}

/** The PEM blocks of a bundle, each one certificate, in order; text outside them is ignored. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((block) => `${block}\n`) ?? [];
}

/** When a PEM certificate stops being valid (ms since the epoch), and its subjectAltName as Node prints it. */
export function certificateFacts(pem: string): { notBefore: number; notAfter: number; subjectAltName: string; fingerprint256: string } {
  const cert = new NodeX509Certificate(pem);
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo), subjectAltName: cert.subjectAltName ?? '', fingerprint256: cert.fingerprint256 };
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']) as Promise<CryptoKey>;
}

/** A random positive 128-bit serial, hex. */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}
