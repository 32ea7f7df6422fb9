import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { serviceClient } from '../../shared/proto/load.ts';
import type { DiscoveryRequest, DiscoveryResponse, RequestStateKeys } from '../../shared/proto/messages.ts';
import { Backoff } from './backoff.ts';
import type { TlsMaterial } from '../../shared/net/tls.ts';
import { liveChannelCredentials, type LiveCertificates } from '../../shared/net/live-certificates.ts';

type DiscoveryClient = grpc.Client & { StreamSnapshots(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> };

export interface ConfigClientOptions {
  /** host:port of the control plane's gRPC server. */
  controlPlane: string;
  nodeId: string;
  /** "<namespace>/<name>" of the Gateway to serve, or '' for the only one. */
  group: string;
  metadata?: Record<string, string>;
  /** Applies a snapshot; throwing NACKs it and keeps the last good one serving. */
  apply(snapshot: Snapshot): void;
  /**
   * Applies the requestState keys the control plane derived for this proxy's Gateway (32 bytes
   * each; `previous` absent when there is none). Called before the snapshot they arrive with, and
   * again for every stream (reconnects) and rotation. Without it the keys are dropped. A throw is
   * logged; it never NACKs a snapshot.
   */
  applyRequestStateKeys?(keys: { current: Uint8Array; previous?: Uint8Array }): void;
  logger: Logger;
  backoff?: Backoff;
  /** mTLS to the control plane: the CA its certificate chains to, and this proxy's certificate. */
  tls?: TlsMaterial | undefined;
  /** mTLS with material that changes (a certificate from the control plane's CA, renewed); wins over `tls`. */
  certificates?: LiveCertificates | undefined;
  /** The name the control plane's certificate must carry, when it is not the host dialled. */
  tlsServerName?: string;
}

export interface ConfigClientState {
  connected: boolean;
  /** Version accepted last (served now); '' before the first. */
  version: string;
  lastError: string;
}

/**
 * The proxy's side of the discovery stream: ACKs what it could apply, NACKs what it could not
 * (keeping the last good snapshot), reconnects with jittered backoff, and keeps serving while the
 * control plane is away (static stability).
 */
export class ConfigClient {
  readonly #options: ConfigClientOptions;
  readonly #backoff: Backoff;
  readonly #client: DiscoveryClient;
  readonly #state: ConfigClientState = { connected: false, version: '', lastError: '' };
  #stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** What report() added to the node metadata. */
  #reported: Record<string, string> = {};
  readonly #firstApplied: Promise<void>;
  #resolveFirstApplied!: () => void;

  constructor(options: ConfigClientOptions) {
    this.#options = options;
    this.#backoff = options.backoff ?? new Backoff();
    const Client = serviceClient('DiscoveryService');
    const credentials = options.certificates
      ? liveChannelCredentials(options.certificates)
      : options.tls
        ? grpc.credentials.createSsl(options.tls.ca, options.tls.key ?? null, options.tls.cert ?? null)
        : grpc.credentials.createInsecure();
    this.#client = new Client(options.controlPlane, credentials, {
      ...(options.tlsServerName ? { 'grpc.ssl_target_name_override': options.tlsServerName } : {}),
      // grpc-js waits up to 120 s between reconnects by default; a proxy should find a restarted
      // control plane within about a second.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }) as unknown as DiscoveryClient;
    this.#firstApplied = new Promise((resolve) => (this.#resolveFirstApplied = resolve));
  }

  get state(): Readonly<ConfigClientState> {
    return { ...this.#state };
  }

  /** Resolves once a first snapshot has been applied. */
  get firstApplied(): Promise<void> {
    return this.#firstApplied;
  }

  start(): void {
    this.#connect();
  }

  /**
   * Tells the control plane facts that changed since connecting (e.g. each upstream's era): merged
   * into the node metadata `mcpmux proxies` shows. Sent as a request with no nonce, which the
   * discovery loop takes as no ACK; kept for the next stream if none is open.
   */
  report(metadata: Record<string, string>): void {
    this.#reported = { ...this.#reported, ...metadata };
    if (!this.#state.connected || !this.#stream) return;
    const { nodeId, group } = this.#options;
    this.#stream.write(this.#request({ node: { id: nodeId, metadata: { ...this.#options.metadata, ...this.#reported } }, group, responseNonce: '', errorDetail: null }));
  }

  close(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#stream?.cancel();
    this.#client.close();
  }

  #connect(): void {
    if (this.#stopped) return;
    const stream = this.#client.StreamSnapshots();
    this.#stream = stream;
    let ended = false;
    const { nodeId, group, metadata = {} } = this.#options;
    stream.write(this.#request({ node: { id: nodeId, metadata: { ...metadata, ...this.#reported } }, group, responseNonce: '', errorDetail: null }));

    const connected = (): void => {
      if (this.#state.connected) return;
      this.#state.connected = true;
      this.#backoff.reset();
      if (this.#state.lastError) this.#options.logger.info({ controlPlane: this.#options.controlPlane }, 'control plane reachable again');
      this.#state.lastError = '';
    };
    stream.on('data', (response: DiscoveryResponse) => {
      connected();
      this.#onResponse(stream, response);
    });
    // Headers arrive when the server accepts the stream, before any snapshot.
    stream.on('metadata', connected);
    const retry = (reason: string): void => {
      if (ended) return;
      ended = true;
      this.#state.connected = false;
      if (this.#stopped) return;
      const delay = this.#backoff.next();
      // One line per outage at warn (and per change of reason); the retries themselves at debug.
      const level = reason === this.#state.lastError ? 'debug' : 'warn';
      this.#state.lastError = reason;
      const { version } = this.#state;
      const what = version ? `control plane unreachable; serving snapshot ${version} meanwhile` : 'control plane not reachable yet; no snapshot to serve';
      this.#options.logger[level]({ controlPlane: this.#options.controlPlane, reason, retryInMs: delay }, `${what}; retrying`);
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
    };
    stream.on('error', (error: grpc.ServiceError) => retry(error.details || error.message));
    stream.on('end', () => retry('stream ended by the control plane'));
  }

  #onResponse(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, response: DiscoveryResponse): void {
    const { logger, nodeId, group } = this.#options;
    if (response.requestStateKeys) {
      this.#applyKeys(response.requestStateKeys);
      if (!response.snapshot) {
        // Keys alone: the snapshot served stays; ACK with its version.
        stream.write(this.#request({ node: { id: nodeId, metadata: {} }, group, responseNonce: response.nonce, errorDetail: null }));
        return;
      }
    }
    try {
      if (!response.snapshot) throw new McpmuxError('MCPMUX_CONFIG_INVALID', 'response carries no snapshot');
      if (response.snapshot.version !== response.versionInfo) {
        throw new McpmuxError('MCPMUX_CONFIG_INVALID', `snapshot version ${response.snapshot.version} does not match version_info ${response.versionInfo}`);
      }
      this.#options.apply(response.snapshot);
      this.#state.version = response.versionInfo;
      logger.info({ version: response.versionInfo, group: response.snapshot.group }, 'snapshot applied');
      stream.write(this.#request({ node: { id: nodeId, metadata: {} }, group, responseNonce: response.nonce, errorDetail: null }));
      this.#resolveFirstApplied();
    } catch (error) {
      const code = error instanceof McpmuxError ? error.code : 'MCPMUX_CONFIG_INVALID';
      const message = errorMessage(error);
      logger.error({ code, version: response.versionInfo, error: message }, 'snapshot rejected (NACK); keeping the last good one');
      stream.write(this.#request({ node: { id: nodeId, metadata: {} }, group, responseNonce: response.nonce, errorDetail: { code, message } }));
    }
  }

  /** Hands checked keys to applyRequestStateKeys; never logs them. */
  #applyKeys(keys: RequestStateKeys): void {
    const apply = this.#options.applyRequestStateKeys;
    if (!apply) return;
    const previous = keys.previous && keys.previous.length > 0 ? keys.previous : undefined;
    if (keys.current?.length !== 32 || (previous !== undefined && previous.length !== 32)) {
      this.#options.logger.error('requestState keys from the control plane are not 32-byte keys; ignored (the keys in use stay)');
      return;
    }
    try {
      apply(previous ? { current: keys.current, previous } : { current: keys.current });
    } catch (error) {
      this.#options.logger.error({ error: errorMessage(error) }, 'requestState keys from the control plane not applied; the keys in use stay');
    }
  }

  #request(fields: Omit<DiscoveryRequest, 'versionInfo'>): DiscoveryRequest {
    return { ...fields, versionInfo: this.#state.version };
  }
}
