// A promise-based client of mcpmux.v1.AdminService: what `mcpmux snapshot|proxies` and the tests
// use to inspect a control plane (grpcurl speaks the same API). Plaintext, or mTLS with the same
// material proxies use.
import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../config/types.ts';
import type { TlsMaterial } from '../net/tls.ts';
import { serviceClient } from '../proto/load.ts';
import type {
  AdminEvent,
  DiffVersionsResponse,
  ListEventsResponse,
  ListProxiesResponse,
  ListVersionsResponse,
  ProxyStatus,
  VersionInfo,
} from '../proto/messages.ts';

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

  /** Every proxy, page after page (pageSize 0: the server's default). */
  async listProxies(pageSize = 0): Promise<ProxyStatus[]> {
    return (await this.proxies(pageSize)).proxies;
  }

  /** Every proxy, page after page, and where the control plane keeps its event history. */
  async proxies(pageSize = 0): Promise<{ proxies: ProxyStatus[]; history: string }> {
    const pages = await allPages('ListProxies', (pageToken) => this.listProxiesPage({ pageSize, pageToken }));
    return { proxies: pages.flatMap((p) => p.proxies), history: pages[0]?.history ?? '' };
  }

  listProxiesPage(request: { pageSize?: number; pageToken?: string } = {}): Promise<ListProxiesResponse> {
    return this.#call('ListProxies', request);
  }

  /** Every version of `group` ('' for every group), newest first per group, page after page. */
  async listVersions(group = '', pageSize = 0): Promise<VersionInfo[]> {
    const pages = await allPages('ListVersions', (pageToken) => this.listVersionsPage({ group, pageSize, pageToken }));
    return pages.flatMap((p) => p.versions);
  }

  listVersionsPage(request: { group?: string; pageSize?: number; pageToken?: string } = {}): Promise<ListVersionsResponse> {
    return this.#call('ListVersions', request);
  }

  /** Every retained event from `fromSeq` (0: the oldest retained), page after page. */
  async listEvents(fromSeq = 0, pageSize = 0): Promise<AdminEvent[]> {
    const pages = await allPages('ListEvents', (pageToken) => this.listEventsPage(pageToken ? { pageSize, pageToken } : { fromSeq, pageSize }));
    return pages.flatMap((p) => p.events);
  }

  /** One page of events: from `fromSeq` (first page) or `pageToken` (the ones after). */
  listEventsPage(request: { fromSeq?: number; pageSize?: number; pageToken?: string } = {}): Promise<ListEventsResponse> {
    const { fromSeq, ...rest } = request;
    return this.#call('ListEvents', { ...rest, fromSeq: String(fromSeq ?? 0) });
  }

  diffVersions(fromVersion: string, toVersion = '', group = ''): Promise<DiffVersionsAnswer> {
    return this.#call('DiffVersions', { group, fromVersion, toVersion });
  }

  /**
   * Streams events from fromSeq (0: only new ones) into `onEvent`; returns the stop function. To
   * resume after a reconnect, watch again from the last seq seen + 1. `onError` gets how the
   * server ended the stream (OUT_OF_RANGE: from_seq is no longer retained; RESOURCE_EXHAUSTED: the
   * reader fell behind; each names the from_seq to go on from), not the caller's own stop.
   */
  watchEvents(fromSeq: number, onEvent: (event: AdminEvent) => void, onError?: (error: grpc.ServiceError) => void): () => void {
    const stream = (this.#client as unknown as Record<string, (request: object) => grpc.ClientReadableStream<AdminEvent>>).WatchEvents!.call(this.#client, { fromSeq: String(fromSeq) });
    let stopped = false;
    stream.on('data', onEvent);
    stream.on('error', (error: grpc.ServiceError) => {
      if (!stopped) onError?.(error);
    });
    return () => {
      stopped = true;
      stream.cancel();
    };
  }

  close(): void {
    this.#client.close();
  }
}

export type DiffVersionsAnswer = DiffVersionsResponse;

/** A control plane that pages wrongly (the same next_page_token twice): stop rather than loop. */
export class AdminPagingError extends Error {
  override readonly name = 'AdminPagingError';
}

/** Pages of a List call, following next_page_token until it is empty. */
async function allPages<P extends { nextPageToken: string }>(method: string, page: (token: string) => Promise<P>): Promise<P[]> {
  const pages: P[] = [];
  const seen = new Set<string>();
  let token = '';
  do {
    const answer = await page(token);
    pages.push(answer);
    token = answer.nextPageToken;
    if (seen.has(token)) throw new AdminPagingError(`${method} answered the next_page_token ${JSON.stringify(token)} twice: the control plane pages wrongly (a bug: report it with its version)`);
    seen.add(token);
  } while (token);
  return pages;
}
