// One MCP client session with one upstream endpoint, speaking streamable HTTP over the shared pool
// and forwarding raw JSON-RPC: the initialize handshake (keeping the upstream's Mcp-Session-Id if it
// issues one; stateless upstreams issue none and then none is sent), the GET stream of a stateful
// upstream (opened before notifications/initialized, so nothing it says right after is lost),
// requests with their own id space (so ids never collide whoever asks), transparent
// re-initialization when the upstream says the session expired, cancellation forwarded on abort or
// timeout, answers to the upstream's own requests, DELETE on close. A request's SSE stream the
// upstream ends before answering (SEP-1699 polling) is resumed by the exchange (GET +
// Last-Event-ID); `onStreamPaused` hears of it, so a client's own stream can do the same.
import type { Dispatcher } from 'undici';
import type { InitializeRequestParams, InitializeResult } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { EndpointUrl } from '../routing/table.ts';
import {
  InFlight,
  SIDE_MESSAGE_TIMEOUT_MS as CLOSE_TIMEOUT_MS,
  initializeResultOf,
  type OutgoingResponse,
  type Related,
  type RequestOptions,
  type UpstreamConnection,
  type UpstreamMessage,
  type UpstreamOptions,
  type UpstreamResponse,
} from './connection.ts';
import { exchange, postHeaders, type Exchange, type ExchangeOutcome } from './exchange.ts';
import { UpstreamListener } from './listen.ts';
import { boundExchange } from './exchange-bounds.ts';

export type { OutgoingResponse, RequestOptions, UpstreamMessage, UpstreamResponse };
export interface UpstreamSessionOptions extends UpstreamOptions {
  /**
   * The upstream ended the SSE stream of the request `relatedTo` names before answering it (SEP-1699
   * polling); the session resumes it after `retryMs` and the request goes on. A client's stream for
   * that request may be closed the same way (with the same retry hint) and resumed by the client.
   */
  onStreamPaused?: (relatedTo: Related | undefined, retryMs: number) => void;
}

/** What a replica needs to use an upstream session another one opened. */
export interface RestoredUpstream {
  sessionId: string | undefined;
  initializeResult: InitializeResult;
  initParams: InitializeRequestParams;
}

export class UpstreamSession implements UpstreamConnection {
  readonly target: string;
  readonly endpoint: EndpointUrl;
  readonly #dispatcher: Dispatcher;
  readonly #logger: Logger;
  readonly #options: UpstreamSessionOptions;
  /** Aborted on close: every pending request is rejected with the session's closing error. */
  readonly #closed = new AbortController();
  #nextId = 1;
  #sessionId: string | undefined;
  #protocolVersion: string | undefined;
  /** Built when the session id or protocol version changes, not per request. */
  #postHeaders: Readonly<Record<string, string>>;
  #initParams: InitializeRequestParams | undefined;
  #initResult: InitializeResult | undefined;
  #initTimeoutMs = 10_000;
  #handshakes = 0;
  #listener: UpstreamListener | undefined;
  /** GET stream listeners made so far (see listWatch). */
  #listeners = 0;
  #reinitializing: Promise<void> | undefined;
  readonly #inFlight = new InFlight(() => void this.close());
  /** Exchanges under way, aborted by close(). */
  readonly #calls = new Set<Exchange>();

  constructor(options: UpstreamSessionOptions) {
    this.target = options.target;
    this.endpoint = options.endpoint;
    this.#postHeaders = postHeaders(undefined, undefined, options.endpoint.headers);
    this.#dispatcher = options.dispatcher;
    this.#logger = options.logger;
    this.#options = options;
  }

  /** The upstream's Mcp-Session-Id; undefined for stateless upstreams. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** The upstream's answer to the last initialize; undefined before it. */
  get initializeResult(): InitializeResult | undefined {
    return this.#initResult;
  }

  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /** The handshake and the GET stream notifications come on: a new one of either may have missed some. */
  listWatch(): string | undefined {
    const stream = this.#listener?.stream;
    return stream === undefined || this.closed || this.#reinitializing ? undefined : `${this.#handshakes}:${this.#listeners}:${stream}`;
  }

  /**
   * Takes over an upstream session another replica opened (the fleet's session record): no
   * handshake, the same Mcp-Session-Id. `listen` opens its GET stream (only the session's owner
   * replica listens: an upstream allows one GET stream per session).
   */
  restore(state: RestoredUpstream, listen: boolean): void {
    this.#initParams = state.initParams;
    this.#initResult = state.initializeResult;
    this.#sessionId = state.sessionId;
    this.#protocolVersion = state.initializeResult.protocolVersion;
    this.#postHeaders = postHeaders(this.#sessionId, this.#protocolVersion, this.endpoint.headers);
    this.#handshakes = 1;
    this.setListening(listen);
  }

  /** Opens or closes the upstream GET stream (the fleet moves it to the session's owner replica). */
  setListening(listen: boolean): void {
    if (!listen) {
      this.#listener?.stop();
      this.#listener = undefined;
      return;
    }
    if (this.#listener || this.closed || this.#sessionId === undefined || this.#protocolVersion === undefined) return;
    this.#listen(this.#sessionId, this.#protocolVersion, this.#initTimeoutMs).catch((error: unknown) =>
      this.#logger.warn({ target: this.target, err: errorMessage(error) }, 'upstream GET stream not opened'),
    );
  }

  /** initialize, then notifications/initialized. Throws if the upstream refuses or fails. */
  async initialize(params: InitializeRequestParams, options: RequestOptions): Promise<InitializeResult> {
    this.#initParams = params;
    this.#initTimeoutMs = options.timeoutMs;
    await this.#handshake(options);
    return this.#initResult as InitializeResult;
  }

  /**
   * Sends one request and returns the upstream's response (result or JSON-RPC error, with the
   * upstream's id). An expired upstream session is re-initialized once and the request retried.
   */
  request(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse> {
    return this.#inFlight.track(() => this.#requestOnce(message, options));
  }

  /** Closes the session once the requests in flight are answered (see InFlight). */
  closeWhenIdle(): void {
    this.#inFlight.closeWhenIdle();
  }

  async #requestOnce(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse> {
    const sentWith = this.#sessionId;
    const outcome = await this.#send(message, options);
    if (outcome !== 'session-expired') return outcome;
    this.#logger.info({ target: this.target, endpoint: this.endpoint.url }, 'upstream session expired; re-initializing');
    await this.#reinitialize(sentWith, options);
    const retried = await this.#send(message, options);
    if (retried === 'session-expired') {
      throw new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${this.target} expired its session again right after re-initialization`);
    }
    return retried;
  }

  /** Answers one of the upstream's requests (sampling, elicitation, roots); best effort. */
  async respond(message: OutgoingResponse): Promise<void> {
    await this.#post(JSON.stringify(message), undefined, { timeoutMs: CLOSE_TIMEOUT_MS });
  }

  /** Sends a notification; resolves when the upstream accepted it. */
  async notify(method: string, params: unknown, options: RequestOptions): Promise<void> {
    const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
    await this.#post(body, undefined, options);
  }

  /**
   * Lets go of the upstream session without ending it: other replicas of the fleet still use it.
   * Pending requests are rejected, the GET stream closes, no DELETE is sent.
   */
  detach(): void {
    if (this.closed) return;
    const reason = new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the session with target ${this.target} was handed over`);
    this.#closed.abort(reason);
    for (const call of this.#calls) call.abort(reason);
    this.#listener?.stop();
  }

  /** Rejects pending requests, then ends the upstream session (DELETE) if it has one. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    const reason = new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the session with target ${this.target} was closed`);
    this.#closed.abort(reason);
    for (const call of this.#calls) call.abort(reason);
    this.#listener?.stop();
    const sessionId = this.#sessionId;
    if (sessionId === undefined) return;
    try {
      const { body } = await this.#dispatcher.request({
        origin: this.endpoint.origin,
        path: this.endpoint.path,
        method: 'DELETE',
        headers: this.#headers(sessionId),
        signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS),
      });
      await body.dump();
    } catch (error) {
      this.#logger.debug({ target: this.target, err: errorMessage(error) }, 'upstream session DELETE failed');
    }
  }

  async #handshake(options: RequestOptions): Promise<void> {
    this.#listener?.stop();
    this.#listener = undefined;
    this.#sessionId = undefined;
    this.#protocolVersion = undefined;
    this.#postHeaders = postHeaders(undefined, undefined, this.endpoint.headers);
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: this.#initParams });
    const outcome = await this.#post(body, id, options);
    if (outcome.kind !== 'response') throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} did not answer initialize`);
    const result = initializeResultOf(this.target, outcome.message);
    this.#sessionId = outcome.sessionId;
    this.#protocolVersion = result.protocolVersion;
    this.#postHeaders = postHeaders(this.#sessionId, this.#protocolVersion, this.endpoint.headers);
    this.#initResult = result;
    // The GET stream first: what the upstream does on notifications/initialized (list changes,
    // roots/list) goes to it, and a stream opened later would not get it.
    if (this.#sessionId !== undefined && (this.#options.listen ?? this.#options.onMessage !== undefined)) {
      await this.#listen(this.#sessionId, result.protocolVersion, options.timeoutMs);
    }
    await this.notify('notifications/initialized', undefined, options);
    if (this.#handshakes++ > 0) this.#options.onReinitialized?.();
  }

  async #listen(sessionId: string, protocolVersion: string, timeoutMs: number): Promise<void> {
    const onMessage = this.#options.onMessage;
    const listener = new UpstreamListener({
      dispatcher: this.#dispatcher,
      endpoint: this.endpoint,
      target: this.target,
      sessionId,
      protocolVersion,
      logger: this.#logger,
      onMessage: (message) => (onMessage ? onMessage(message, undefined) : this.#refuse(message)),
      // The upstream lost our session while we were not asking it anything (it restarted, say):
      // re-initialize now, so its notifications flow again and the client hears it is back.
      onExpired: () => {
        if (this.closed || this.#sessionId !== sessionId) return;
        this.#reinitialize(sessionId, { timeoutMs: this.#initTimeoutMs }).catch((error: unknown) =>
          this.#logger.warn({ target: this.target, err: errorMessage(error) }, 'upstream re-initialization failed'),
        );
      },
    });
    this.#listener = listener;
    this.#listeners++;
    const opened = await listener.start(timeoutMs);
    if (!opened) this.#logger.debug({ target: this.target }, 'upstream offers no GET stream');
  }

  /** One re-initialization however many requests saw the expiry at once. */
  async #reinitialize(sentWith: string | undefined, options: RequestOptions): Promise<void> {
    if (this.#sessionId !== sentWith && this.#reinitializing === undefined) return; // someone already did
    this.#reinitializing ??= this.#handshake(options).finally(() => {
      this.#reinitializing = undefined;
    });
    await this.#reinitializing;
  }

  async #send(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse | 'session-expired'> {
    if (this.#reinitializing) await this.#reinitializing;
    const id = this.#nextId++;
    const body = JSON.stringify(
      message.params === undefined
        ? { jsonrpc: '2.0', id, method: message.method }
        : { jsonrpc: '2.0', id, method: message.method, params: message.params },
    );
    try {
      const outcome = await this.#post(body, id, options);
      if (outcome.kind === 'session-expired') return 'session-expired';
      if (outcome.kind !== 'response') throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} did not answer ${message.method}`);
      return outcome.message;
    } catch (error) {
      // Abandoned (timeout, client cancel): tell the upstream so it can stop working on it.
      if (!this.closed && error instanceof McpmuxError && (error.code === 'MCPMUX_UPSTREAM_TIMEOUT' || options.signal?.aborted)) {
        this.notify('notifications/cancelled', { requestId: id, reason: error.message }, { timeoutMs: CLOSE_TIMEOUT_MS }).catch(
          (cancelError: unknown) => this.#logger.debug({ target: this.target, err: errorMessage(cancelError) }, 'could not forward cancellation'),
        );
      }
      throw error;
    }
  }

  async #post(body: string, expectId: number | undefined, options: RequestOptions): Promise<ExchangeOutcome> {
    if (this.closed) throw this.#closed.signal.reason as Error;
    const call = exchange({
      dispatcher: this.#dispatcher,
      endpoint: this.endpoint,
      target: this.target,
      body,
      expectId,
      sessionId: this.#sessionId,
      protocolVersion: this.#protocolVersion,
      headers: options.headers ? { ...this.#postHeaders, ...options.headers } : this.#postHeaders,
      onNotification: (notification) => this.#options.onMessage?.(notification, options.relatedTo),
      onServerRequest: (request) => (this.#options.onMessage ? this.#options.onMessage(request, options.relatedTo) : this.#refuse(request)),
      onPause: this.#options.onStreamPaused ? (retryMs) => this.#options.onStreamPaused?.(options.relatedTo, retryMs) : undefined,
    });
    // close() aborts whatever is still in #calls.
    const unbound = boundExchange(call, this.target, options, this.#options.deadlines);
    this.#calls.add(call);
    try {
      return await call.outcome;
    } finally {
      unbound();
      this.#calls.delete(call);
    }
  }

  /** Without a handler, the upstream's requests are refused so it does not wait for an answer. */
  #refuse(message: UpstreamMessage): void {
    if (!('id' in message)) return;
    this.#logger.warn({ target: this.target, method: message.method }, 'server-to-client request refused (no client to relay it to)');
    this.respond({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `${message.method} cannot be relayed to a client` } }).catch((error: unknown) =>
      this.#logger.debug({ target: this.target, err: errorMessage(error) }, 'could not refuse server request'),
    );
  }

  #headers(sessionId: string): Record<string, string> {
    const headers: Record<string, string> = { ...this.endpoint.headers, 'mcp-session-id': sessionId };
    if (this.#protocolVersion !== undefined) headers['mcp-protocol-version'] = this.#protocolVersion;
    return headers;
  }
}
