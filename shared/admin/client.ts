// A promise-based client of mcpmux.v1.AdminService: what `mcpmux snapshot|proxies` and the tests
// use to inspect a control plane (grpcurl speaks the same API). Plaintext, or mTLS with the same
// material proxies use.
import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../config/types.ts';
import type { TlsMaterial } from '../net/tls.ts';
import { serviceClient } from '../proto/load.ts';
import type { AdminEvent, ProxyStatus, VersionInfo } from '../proto/messages.ts';

type UnaryMethod = (request: object, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void;

export interface AdminClientOptions {
  tls?: TlsMaterial | undefined;
  /** The name in the control plane's certificate, when not the host of the address. */
  tlsServerName?: string | undefined;
  /** Per call; default 10 s. */
  timeoutMs?: number;
}

export class AdminClient {
  readonly #client: grpc.Client & Record<string, UnaryMethod>;
  readonly #timeoutMs: number;

  constructor(address: string, options: AdminClientOptions = {}) {
    const Client = serviceClient('AdminService');
    const credentials = options.tls ? grpc.credentials.createSsl(options.tls.ca, options.tls.key ?? null, options.tls.cert ?? null) : grpc.credentials.createInsecure();
    this.#client = new Client(address, credentials, options.tlsServerName ? { 'grpc.ssl_target_name_override': options.tlsServerName } : {}) as unknown as grpc.Client &
      Record<string, UnaryMethod>;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  #call<T>(method: string, request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + this.#timeoutMs);
      this.#client[method]!.call(this.#client, request, { deadline }, (error, response) => (error ? reject(error) : resolve(response as T)));
    });
  }

  getSnapshot(group = '', version = ''): Promise<Snapshot> {
    return this.#call('GetSnapshot', { group, version });
  }

  async listProxies(): Promise<ProxyStatus[]> {
    return (await this.#call<{ proxies: ProxyStatus[] }>('ListProxies', {})).proxies;
  }

  async listVersions(group = ''): Promise<VersionInfo[]> {
    return (await this.#call<{ versions: VersionInfo[] }>('ListVersions', { group })).versions;
  }

  diffVersions(fromVersion: string, toVersion = '', group = ''): Promise<DiffVersionsAnswer> {
    return this.#call('DiffVersions', { group, fromVersion, toVersion });
  }

  /** Streams events from fromSeq (0: only new ones) into `onEvent`; returns the stop function. */
  watchEvents(fromSeq: number, onEvent: (event: AdminEvent) => void): () => void {
    const stream = (this.#client as unknown as Record<string, (request: object) => grpc.ClientReadableStream<AdminEvent>>).WatchEvents!.call(this.#client, { fromSeq: String(fromSeq) });
    stream.on('data', onEvent);
    stream.on('error', () => undefined); // cancelled by the caller
    return () => stream.cancel();
  }

  close(): void {
    this.#client.close();
  }
}

export interface DiffVersionsAnswer {
  group: string;
  fromVersion: string;
  toVersion: string;
  fromEventSeq: string;
  toEventSeq: string;
  changes: Array<{ kind: string; name: string; change: string }>;
  events: AdminEvent[];
}
