// One MCP client session with a legacy HTTP+SSE upstream (the 2024-11-05 transport; targets with
// an `-sse` appProtocol): a GET to the target's URL opens the session's stream, whose `endpoint`
// event names where to POST; answers, notifications and the upstream's own requests all arrive on
// that stream, answers matched to our requests by id. The upstream session lives as long as the
// stream: when it ends, pending requests fail and the next request opens a new stream and
// initializes again (the upstream forgot us), which is reported like any re-initialization.
import type { Dispatcher } from 'undici';
import type { InitializeRequestParams, InitializeResult, JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { EndpointUrl } from '../routing/table.ts';
import {
  SIDE_MESSAGE_TIMEOUT_MS,
  type OutgoingResponse,
  type RequestOptions,
  type UpstreamConnection,
  type UpstreamMessage,
  type UpstreamOptions,
  type UpstreamResponse,
} from './connection.ts';
import { SseParser } from './sse.ts';

interface Pending {
  resolve(message: UpstreamResponse): void;
  reject(error: Error): void;
  relatedTo: RequestId | undefined;
}

interface Stream {
  abort: AbortController;
  /** Where messages are POSTed (from the endpoint event; same origin as the stream). */
  post: { origin: string; path: string };
  pending: Map<number, Pending>;
  ended: boolean;
}

export class LegacySseUpstream implements UpstreamConnection {
  readonly target: string;
  readonly endpoint: EndpointUrl;
  readonly #options: UpstreamOptions;
  readonly #dispatcher: Dispatcher;
  readonly #logger: Logger;
  readonly #closed = new AbortController();
  #stream: Stream | undefined;
  #connecting: Promise<Stream> | undefined;
  #initParams: InitializeRequestParams | undefined;
  #initResult: InitializeResult | undefined;
  #initTimeoutMs = 10_000;
  #handshakes = 0;
  #nextId = 1;
  #pending = 0;
  #closeWhenIdle = false;

  constructor(options: UpstreamOptions) {
    this.target = options.target;
    this.endpoint = options.endpoint;
    this.#options = options;
    this.#dispatcher = options.dispatcher;
    this.#logger = options.logger;
  }

  get initializeResult(): InitializeResult | undefined {
    return this.#initResult;
  }

  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  async initialize(params: InitializeRequestParams, options: RequestOptions): Promise<InitializeResult> {
    this.#initParams = params;
    this.#initTimeoutMs = options.timeoutMs;
    await this.#live(options);
    return this.#initResult as InitializeResult;
  }

  async request(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse> {
    this.#pending++;
    try {
      const stream = await this.#live({ timeoutMs: this.#initTimeoutMs, signal: options.signal });
      return await this.#call(stream, message.method, message.params, options);
    } finally {
      if (--this.#pending === 0 && this.#closeWhenIdle) void this.close();
    }
  }

  async notify(method: string, params: unknown, options: RequestOptions): Promise<void> {
    const stream = this.#stream;
    // A notification is about the session it was meant for: no new stream for it.
    if (!stream || stream.ended) return;
    await this.#post(stream, JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }), options.timeoutMs);
  }

  async respond(message: OutgoingResponse): Promise<void> {
    const stream = this.#stream;
    if (!stream || stream.ended) return;
    await this.#post(stream, JSON.stringify(message), SIDE_MESSAGE_TIMEOUT_MS);
  }

  closeWhenIdle(): void {
    if (this.#pending === 0) void this.close();
    else this.#closeWhenIdle = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.#closed.abort(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the session with target ${this.target} was closed`));
    if (this.#stream) this.#end(this.#stream, 'the session was closed');
  }

  /** The live stream, opening and initializing a new one when there is none (one at a time). */
  #live(options: RequestOptions): Promise<Stream> {
    if (this.closed) return Promise.reject(this.#closed.signal.reason as Error);
    if (this.#stream && !this.#stream.ended) return Promise.resolve(this.#stream);
    this.#connecting ??= this.#handshake(options).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #handshake(options: RequestOptions): Promise<Stream> {
    const stream = await this.#open(options.timeoutMs);
    try {
      const response = await this.#call(stream, 'initialize', this.#initParams, { timeoutMs: options.timeoutMs });
      if ('error' in response) throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} refused initialize: ${response.error.message}`);
      const result = response.result as InitializeResult;
      if (typeof result?.protocolVersion !== 'string') throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} answered initialize without a protocolVersion`);
      this.#initResult = result;
      await this.#post(stream, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), options.timeoutMs);
    } catch (error) {
      this.#end(stream, 'initialize failed');
      throw error;
    }
    this.#stream = stream;
    if (this.#handshakes++ > 0) this.#options.onReinitialized?.();
    return stream;
  }

  /** GET the target's URL and wait for its endpoint event. */
  #open(timeoutMs: number): Promise<Stream> {
    const abort = new AbortController();
    const signal = AbortSignal.any([this.#closed.signal, abort.signal]);
    return new Promise<Stream>((resolve, reject) => {
      let stream: Stream | undefined;
      const timer = setTimeout(() => fail(new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', `target ${this.target} sent no endpoint event within ${timeoutMs} ms`)), timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        abort.abort(error);
        reject(error);
      };
      const parser = new SseParser((event) => {
        if (event.event === 'endpoint') {
          if (stream) return;
          const post = new URL(event.data, this.endpoint.url);
          if (post.origin !== this.endpoint.origin) {
            fail(new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} named an endpoint on another origin (${post.origin})`));
            return;
          }
          stream = { abort, post: { origin: post.origin, path: post.pathname + post.search }, pending: new Map(), ended: false };
          clearTimeout(timer);
          resolve(stream);
        } else if (event.event === 'message' && stream && event.data.trim() !== '') {
          this.#dispatch(stream, event.data);
        }
      });
      this.#dispatcher
        .request({ origin: this.endpoint.origin, path: this.endpoint.path, method: 'GET', headers: { accept: 'text/event-stream' }, signal, headersTimeout: 0, bodyTimeout: 0 })
        .then(async ({ statusCode, headers, body }) => {
          if (statusCode !== 200 || !String(headers['content-type'] ?? '').startsWith('text/event-stream')) {
            const text = await body.text().catch(() => '');
            fail(new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} answered the SSE GET with HTTP ${statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`));
            return;
          }
          const decoder = new TextDecoder();
          try {
            for await (const chunk of body) parser.push(decoder.decode(chunk as Buffer, { stream: true }));
          } catch {
            // aborted or broken: reported below
          }
          if (stream) this.#end(stream, 'the upstream ended its SSE stream');
          else fail(new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} ended its SSE stream before the endpoint event`));
        })
        .catch((error: unknown) => {
          const reason: unknown = signal.reason;
          fail(reason instanceof Error ? reason : new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${this.target} is unavailable at ${this.endpoint.url}: ${errorMessage(error)}`));
        });
    });
  }

  /** One request on `stream`, answered on the stream; cancelled upstream on timeout or abort. */
  #call(stream: Stream, method: string, params: unknown, options: RequestOptions): Promise<UpstreamResponse> {
    const id = this.#nextId++;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let settled = false;
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        stream.pending.delete(id);
        settle();
      };
      const abandon = (error: Error): void =>
        finish(() => {
          reject(error);
          if (stream.ended || this.closed) return;
          this.#post(stream, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: error.message } }), SIDE_MESSAGE_TIMEOUT_MS).catch(
            (cancelError: unknown) => this.#logger.debug({ target: this.target, err: errorMessage(cancelError) }, 'could not forward cancellation'),
          );
        });
      const onAbort = (): void => {
        const reason: unknown = options.signal?.reason;
        abandon(reason instanceof Error ? reason : new McpmuxError('MCPMUX_REQUEST_CANCELLED', `request to target ${this.target} was aborted`));
      };
      const timer = setTimeout(() => abandon(new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', `target ${this.target} did not answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      stream.pending.set(id, { resolve: (m) => finish(() => resolve(m)), reject: (e) => finish(() => reject(e)), relatedTo: options.relatedTo });
      const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      this.#post(stream, body, options.timeoutMs).catch((error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))));
    });
  }

  async #post(stream: Stream, body: string, timeoutMs: number): Promise<void> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#dispatcher.request({
        origin: stream.post.origin,
        path: stream.post.path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([this.#closed.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (error) {
      throw new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${this.target} is unavailable at ${stream.post.origin}${stream.post.path}: ${errorMessage(error)}`, { cause: error });
    }
    const text = await response.body.text().catch(() => '');
    if (response.statusCode >= 200 && response.statusCode < 300) return;
    if (response.statusCode === 404) this.#end(stream, 'the upstream no longer knows the session');
    throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} answered a POST with HTTP ${response.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }

  #dispatch(stream: Stream, data: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.#logger.warn({ target: this.target }, 'upstream SSE stream sent an event that is not JSON');
      return;
    }
    for (const message of (Array.isArray(parsed) ? parsed : [parsed]) as JSONRPCMessage[]) {
      if (message === null || typeof message !== 'object') continue;
      if ('method' in message) {
        // The stream does not say which request a message arose from; with one request in flight it can only be that one.
        const inFlight = [...stream.pending.values()];
        const relatedTo = inFlight.length === 1 ? inFlight[0]?.relatedTo : undefined;
        if (this.#options.onMessage) this.#options.onMessage(message as UpstreamMessage, relatedTo);
        else if ('id' in message) void this.respond({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `${message.method} cannot be relayed to a client` } });
      } else if ('id' in message && typeof message.id === 'number' && ('result' in message || 'error' in message)) {
        stream.pending.get(message.id)?.resolve(message as UpstreamResponse);
      }
    }
  }

  #end(stream: Stream, why: string): void {
    if (stream.ended) return;
    stream.ended = true;
    stream.abort.abort(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the SSE stream of target ${this.target} ended: ${why}`));
    const error = new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the SSE stream of target ${this.target} ended (${why}) before it answered`);
    for (const pending of [...stream.pending.values()]) pending.reject(error);
    if (this.#stream === stream) this.#stream = undefined;
    if (!this.closed) this.#logger.info({ target: this.target, why }, 'upstream SSE stream ended; the next request opens a new session');
  }
}
