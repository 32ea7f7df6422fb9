import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import { serviceClient } from '../../shared/proto/load.ts';
import type { AdminEvent, ProxyStatus, VersionInfo } from '../../shared/proto/messages.ts';

type UnaryMethod = (request: object, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void;

/** A small promise-based client of mcpmux.v1.AdminService for tests. */
export class AdminClient {
  readonly #client: grpc.Client & Record<string, UnaryMethod>;

  constructor(address: string) {
    const Client = serviceClient('AdminService');
    this.#client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, UnaryMethod>;
  }

  #call<T>(method: string, request: object): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#client[method]!.call(this.#client, request, (error, response) => (error ? reject(error) : resolve(response as T)));
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
