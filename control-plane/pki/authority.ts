// The control plane's CA at work: the gRPC port's own certificate (for its Service names), proxy
// client certificates (URI SAN mcpmux:gateway:NS/NAME), and the trust bundle both sides check with.
// The CA itself comes from ca-secret.ts; a change there (rotation) re-issues the serving
// certificate at once and proxies learn the new bundle when they renew.
import { isIP } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import { errorMessage } from '../../shared/errors.ts';
import { GATEWAY_URI_PREFIX } from '../../shared/net/tls.ts';
import { LiveCertificates } from '../../shared/net/live-certificates.ts';
import { csrPublicKey, issueCertificate, newKeyPair } from '../../shared/pki/x509.ts';
import type { CaState } from './ca-secret.ts';

export const DEFAULT_PROXY_CERTIFICATE_TTL_MS = 3600_000;
const SERVING_VALIDITY_MS = 30 * 24 * 3600_000;

export interface IssuedCertificate {
  certificate: string;
  caBundle: string;
  notAfterMs: number;
}

export class CertificateAuthority {
  /** What the gRPC server presents and trusts; empty until the CA is read. */
  readonly serving = new LiveCertificates();
  readonly #names: readonly string[];
  readonly #proxyTtlMs: number;
  readonly #logger: Logger;
  #ca: CaState | undefined;
  #renewal: NodeJS.Timeout | undefined;
  #ready: Promise<void>;
  #resolveReady!: () => void;

  /** `names`: DNS names and IP addresses the serving certificate carries (the Service's names, localhost). */
  constructor(options: { names: readonly string[]; proxyCertificateTtlMs?: number; logger: Logger }) {
    this.#names = options.names;
    this.#proxyTtlMs = options.proxyCertificateTtlMs ?? DEFAULT_PROXY_CERTIFICATE_TTL_MS;
    this.#logger = options.logger;
    this.#ready = new Promise((resolve) => (this.#resolveReady = resolve));
  }

  /** Resolves once the CA is known and the serving certificate issued. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get bundle(): string | undefined {
    return this.#ca?.bundle;
  }

  /** A new (or rotated) CA: a serving certificate from it, and the new bundle, for every new handshake. */
  async setCa(ca: CaState): Promise<void> {
    this.#ca = ca;
    await this.#issueServing();
    this.#resolveReady();
  }

  stop(): void {
    clearTimeout(this.#renewal);
  }

  /** A proxy's client certificate for `gateway` ("NS/NAME"), for the public key of `csr`. */
  async issueProxyCertificate(gateway: string, csr: string): Promise<IssuedCertificate> {
    const ca = this.#ca;
    if (!ca) throw new Error("the control plane's CA is not read yet");
    const publicKey = await csrPublicKey(csr);
    const now = Date.now();
    const certificate = await issueCertificate({ ca: ca.signing, publicKey, commonName: `mcpmux proxy ${gateway}`, names: { uris: [`${GATEWAY_URI_PREFIX}${gateway}`] }, validityMs: this.#proxyTtlMs, usage: 'client', now });
    return { certificate, caBundle: ca.bundle, notAfterMs: now + this.#proxyTtlMs };
  }

  async #issueServing(): Promise<void> {
    const ca = this.#ca!;
    clearTimeout(this.#renewal);
    try {
      const { keys, keyPem } = await newKeyPair();
      const dns = this.#names.filter((name) => isIP(name) === 0);
      const ips = this.#names.filter((name) => isIP(name) !== 0);
      const cert = await issueCertificate({ ca: ca.signing, publicKey: keys.publicKey, commonName: dns[0] ?? 'mcpmux-control-plane', names: { dns, ips }, validityMs: SERVING_VALIDITY_MS, usage: 'server' });
      this.serving.set({ ca: ca.bundle, cert, key: keyPem });
      this.#logger.info({ names: this.#names }, 'gRPC serving certificate issued by the control plane CA');
      this.#renewal = setTimeout(() => void this.#issueServing(), (SERVING_VALIDITY_MS * 2) / 3);
    } catch (error) {
      this.#logger.error({ err: errorMessage(error) }, 'cannot issue the gRPC serving certificate; retrying in 10 s');
      this.#renewal = setTimeout(() => void this.#issueServing(), 10_000);
    }
    this.#renewal.unref();
  }
}
