import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import { serviceClient } from '../../shared/proto/load.ts';
import type { ProxyStatus, VersionInfo } from '../../shared/proto/messages.ts';

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

  close(): void {
    this.#client.close();
  }
}
