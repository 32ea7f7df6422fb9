// A proxy's client certificate from the control plane's CA (control-plane/pki): at start, and again
// at two thirds of each certificate's life, it makes a new key, sends a CSR with its pod's projected
// ServiceAccount token (re-read each time: the kubelet rotates it), and takes the certificate and the
// CA bundle the control plane answers with. The discovery stream reads the newest material at each
// new handshake (shared/net/live-certificates.ts), so a renewal never drops the stream.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { LiveCertificates } from '../../shared/net/live-certificates.ts';
import { serviceClient } from '../../shared/proto/load.ts';
import { createCsr, newKeyPair, splitPem } from '../../shared/pki/x509.ts';

export interface CertificateRenewalOptions {
  controlPlane: string;
  /** NAMESPACE/NAME of the Gateway the certificate must name. */
  gateway: string;
  /** PEM bundle the control plane's certificate is checked against at first (the provisioner's ConfigMap). */
  caFile: string;
  /** The projected ServiceAccount token (audience mcpmux-control-plane). */
  tokenFile: string;
  tlsServerName?: string | undefined;
  logger: Logger;
  /** Waits between failed attempts: from `minRetryMs` doubling to 30 s (default 500 ms). */
  minRetryMs?: number;
}

interface IssueResponse {
  certificate: string;
  caBundle: string;
  notAfterMs: string;
}

type IssueClient = grpc.Client & {
  IssueCertificate(request: { gateway: string; csr: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: IssueResponse) => void): void;
};

export class CertificateRenewal {
  /** What the discovery stream presents and trusts. */
  readonly live = new LiveCertificates();
  readonly #options: CertificateRenewalOptions;
  readonly #client: IssueClient;
  /** Trust only: the certificate call is made before the proxy has a certificate. */
  readonly #trust = new LiveCertificates();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  #notAfter = 0;

  constructor(options: CertificateRenewalOptions) {
    this.#options = options;
    const bundle = this.#readBundle();
    this.#trust.set({ ca: bundle });
    const Client = serviceClient('CertificateService');
    this.#client = new Client(options.controlPlane, grpc.experimental.createCertificateProviderChannelCredentials(this.#trust, null), {
      ...(options.tlsServerName ? { 'grpc.ssl_target_name_override': options.tlsServerName } : {}),
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    }) as unknown as IssueClient;
    this.#readToken(); // a missing token file is a usage error at start, not a retry loop
  }

  /** When the certificate in use expires (ms since the epoch), 0 before the first. */
  get notAfter(): number {
    return this.#notAfter;
  }

  start(): void {
    void this.#renew();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#client.close();
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    const { logger, gateway } = this.#options;
    try {
      const pair = await newKeyPair();
      const csr = await createCsr(pair, `mcpmux proxy ${gateway}`);
      const response = await this.#issue(csr);
      const notAfter = Number(response.notAfterMs);
      // The control plane's bundle, and what the ConfigMap holds now (it may be newer after a rotation step).
      const ca = mergeBundles(response.caBundle, this.#readBundle());
      this.#trust.set({ ca });
      this.live.set({ ca, cert: response.certificate, key: pair.keyPem });
      this.#notAfter = notAfter;
      this.#failures = 0;
      const lifetime = Math.max(0, notAfter - Date.now());
      logger.info({ gateway, notAfter: new Date(notAfter).toISOString(), trusted: splitPem(ca).length }, 'proxy certificate from the control plane CA');
      this.#schedule(Math.max(1000, (lifetime * 2) / 3));
    } catch (error) {
      this.#failures++;
      const delay = Math.min(30_000, (this.#options.minRetryMs ?? 500) * 2 ** Math.min(this.#failures - 1, 10));
      logger.warn({ gateway, err: errorMessage(error), retryInMs: delay, expiresIn: this.#notAfter ? Math.round((this.#notAfter - Date.now()) / 1000) : undefined }, 'cannot get a certificate from the control plane');
      this.#schedule(delay);
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#renew(), ms);
    this.#timer.unref();
  }

  #issue(csr: string): Promise<IssueResponse> {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.#readToken()}`);
    return new Promise((resolve, reject) => {
      this.#client.IssueCertificate({ gateway: this.#options.gateway, csr }, metadata, { deadline: Date.now() + 10_000 }, (error, response) => {
        if (error) reject(new Error(`${grpc.status[error.code] ?? error.code}: ${error.details || error.message}`));
        else if (!response?.certificate) reject(new Error('the control plane answered without a certificate'));
        else resolve(response);
      });
    });
  }

  #readToken(): string {
    const token = readText(this.#options.tokenFile, '--token-file').trim();
    if (!token) throw new McpmuxError('MCPMUX_USAGE', `--token-file ${this.#options.tokenFile} is empty`);
    return token;
  }

  #readBundle(): string {
    const bundle = readText(this.#options.caFile, '--control-plane-ca');
    if (splitPem(bundle).length === 0) throw new McpmuxError('MCPMUX_USAGE', `--control-plane-ca ${this.#options.caFile} holds no PEM certificate`);
    return bundle;
  }
}

/** Certificates of both bundles, each once, in first-seen order. */
export function mergeBundles(...bundles: string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const block of bundles.flatMap(splitPem)) {
    const key = block.replace(/\s+/g, '');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(block);
  }
  return out.join('');
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new McpmuxError('MCPMUX_USAGE', `cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
}
