// One MCP client session with a legacy HTTP+SSE upstream (the 2024-11-05 transport; targets with
// an `-sse` appProtocol): a GET to the target's URL opens the session's stream, whose `endpoint`
// event names where to POST; answers, notifications and the upstream's own requests all arrive on
// that stream, answers matched to our requests by id. The upstream session lives as long as the
// stream: when it ends, pending requests fail and the next request opens a new stream and
// initializes again (the upstream forgot us), which is reported like any re-initialization.
import type { Dispatcher } from 'undici';
import type { InitializeRequestParams, InitializeResult } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { EndpointUrl } from '../routing/table.ts';
import {
  InFlight,
  initializeResultOf,
  type OutgoingResponse,
  type RequestOptions,
  type UpstreamConnection,
  type UpstreamOptions,
  type UpstreamResponse,
} from './connection.ts';
import { RpcChannel } from './rpc-channel.ts';
import { SseParser } from './sse.ts';

interface Stream {
  abort: AbortController;
  /** Where messages are POSTed (from the endpoint event; same origin as the stream). */
  post: { origin: string; path: string };
  /** Our requests and their answers, the upstream's messages: everything the stream carries. */
  channel: RpcChannel;
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
  readonly #inFlight = new InFlight(() => void this.close());

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

  /** Notifications come on the one channel of a handshake (stdout, the SSE stream): a new handshake may have missed some. */
  listWatch(): string | undefined {
    const open = this.#stream !== undefined && !this.#stream.channel.ended;
    return this.closed || !open || !this.#options.onMessage ? undefined : String(this.#handshakes);
  }

  async initialize(params: InitializeRequestParams, options: RequestOptions): Promise<InitializeResult> {
    this.#initParams = params;
    this.#initTimeoutMs = options.timeoutMs;
    await this.#live(options);
    return this.#initResult as InitializeResult;
  }

  request(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse> {
    return this.#inFlight.track(async () => {
      const stream = await this.#live({ timeoutMs: this.#initTimeoutMs, signal: options.signal });
      return await stream.channel.request(message.method, message.params, options);
    });
  }

  async notify(method: string, params: unknown, options: RequestOptions): Promise<void> {
    // A notification is about the session it was meant for: no new stream for it.
    await this.#stream?.channel.notify(method, params, options.timeoutMs);
  }

  async respond(message: OutgoingResponse): Promise<void> {
    await this.#stream?.channel.respond(message);
  }

  closeWhenIdle(): void {
    this.#inFlight.closeWhenIdle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.#closed.abort(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the session with target ${this.target} was closed`));
    if (this.#stream) this.#end(this.#stream, 'the session was closed');
  }

  /** The live stream, opening and initializing a new one when there is none (one at a time). */
  #live(options: RequestOptions): Promise<Stream> {
    if (this.closed) return Promise.reject(this.#closed.signal.reason as Error);
    if (this.#stream && !this.#stream.channel.ended) return Promise.resolve(this.#stream);
    this.#connecting ??= this.#handshake(options).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #handshake(options: RequestOptions): Promise<Stream> {
    const stream = await this.#open(options.timeoutMs);
    try {
      const response = await stream.channel.request('initialize', this.#initParams, { timeoutMs: options.timeoutMs });
      this.#initResult = initializeResultOf(this.target, response);
      await stream.channel.notify('notifications/initialized', undefined, options.timeoutMs);
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
          const opened: Stream = {
            abort,
            post: { origin: post.origin, path: post.pathname + post.search },
            channel: new RpcChannel({ target: this.target, logger: this.#logger, onMessage: this.#options.onMessage, send: (body, ms) => this.#post(opened, body, ms) }),
          };
          stream = opened;
          clearTimeout(timer);
          resolve(stream);
        } else if (event.event === 'message' && stream && event.data.trim() !== '') {
          this.#dispatch(stream, event.data);
        }
      });
      this.#dispatcher
        .request({
          origin: this.endpoint.origin,
          path: this.endpoint.path,
          method: 'GET',
          headers: { ...this.endpoint.headers, accept: 'text/event-stream' },
          signal,
          headersTimeout: 0,
          bodyTimeout: 0,
        })
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

  async #post(stream: Stream, body: string, timeoutMs: number): Promise<void> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#dispatcher.request({
        origin: stream.post.origin,
        path: stream.post.path,
        method: 'POST',
        // The credential goes only where the target is: an endpoint event naming another origin
        // does not get it.
        headers: stream.post.origin === this.endpoint.origin ? { ...this.endpoint.headers, 'content-type': 'application/json' } : { 'content-type': 'application/json' },
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
    stream.channel.receive(parsed);
  }

  #end(stream: Stream, why: string): void {
    if (stream.channel.ended) return;
    stream.channel.end(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the SSE stream of target ${this.target} ended (${why}) before it answered`));
    stream.abort.abort(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the SSE stream of target ${this.target} ended: ${why}`));
    if (this.#stream === stream) this.#stream = undefined;
    if (!this.closed) this.#logger.info({ target: this.target, why }, 'upstream SSE stream ended; the next request opens a new session');
  }
}
