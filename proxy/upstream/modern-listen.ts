// A `subscriptions/listen` stream held open with one 2026-07-28 upstream on behalf of one client
// stream: the upstream acknowledges, then sends list changes and resource updates until either side
// closes. A drop is not the end: it reconnects with backoff, and says so (`onReconnected`), since
// whatever changed while it was away was not heard.
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import type { JSONRPCNotification } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { modernPostHeaders } from './modern-headers.ts';
import type { EndpointUrl } from '../routing/table.ts';
import { SseParser } from './sse.ts';

export interface ModernListenOptions {
  dispatcher: Dispatcher;
  endpoint: EndpointUrl;
  target: string;
  logger: Logger;
  /** The request's `_meta` (our version, the client's capabilities). */
  meta: Readonly<Record<string, unknown>>;
  /** What to ask the upstream for (its `notifications` filter). */
  notifications: Readonly<Record<string, unknown>>;
  onNotification: (notification: JSONRPCNotification) => void;
  /** The stream came back after a drop: what changed meanwhile is unknown. */
  onReconnected: () => void;
  /** Reconnect delays: the first and the cap (doubling in between). Default 500 ms, 15 s. */
  retryMs?: { initial: number; max: number };
}

export class ModernListen {
  readonly #options: ModernListenOptions;
  readonly #stop = new AbortController();
  #nextId = 1;
  /** Settles when the upstream first acknowledged (or refused, or the first attempt failed). */
  readonly ready: Promise<void>;
  #settleReady!: () => void;

  constructor(options: ModernListenOptions) {
    this.#options = options;
    this.ready = new Promise((resolve) => (this.#settleReady = resolve));
    void this.#run();
  }

  stop(): void {
    this.#stop.abort();
    this.#settleReady();
  }

  async #run(): Promise<void> {
    const { initial, max } = this.#options.retryMs ?? { initial: 500, max: 15_000 };
    let delay = initial;
    let connected = false;
    while (!this.#stop.signal.aborted) {
      const heard = await this.#attempt(() => {
        if (connected) this.#options.onReconnected();
        connected = true;
        delay = initial;
        this.#settleReady();
      });
      this.#settleReady();
      if (this.#stop.signal.aborted) return;
      if (heard === 'refused') return; // the upstream does not do listen: nothing to wait for
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      delay = Math.min(max, delay * 2);
    }
  }

  /** One stream, until it ends. */
  async #attempt(onAcknowledged: () => void): Promise<'ended' | 'refused'> {
    const { endpoint, target, logger } = this.#options;
    try {
      const response = await this.#options.dispatcher.request({
        origin: endpoint.origin,
        path: endpoint.path,
        method: 'POST',
        headers: modernPostHeaders(endpoint, 'subscriptions/listen', undefined),
        body: JSON.stringify({ jsonrpc: '2.0', id: `listen-${this.#nextId++}`, method: 'subscriptions/listen', params: { _meta: this.#options.meta, notifications: this.#options.notifications } }),
        signal: this.#stop.signal,
        bodyTimeout: 0,
        headersTimeout: 10_000,
      });
      if (!String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        const text = await response.body.text();
        logger.info({ target, status: response.statusCode, body: text.slice(0, 200) }, 'upstream refused subscriptions/listen');
        return 'refused';
      }
      const parser = new SseParser((event) => {
        let message: unknown;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (message === null || typeof message !== 'object' || !('method' in message)) return;
        const notification = message as JSONRPCNotification;
        if (notification.method === 'notifications/subscriptions/acknowledged') onAcknowledged();
        else this.#options.onNotification(notification);
      });
      const decoder = new StringDecoder('utf8');
      for await (const chunk of response.body as AsyncIterable<Buffer>) parser.push(decoder.write(chunk));
      parser.push(decoder.end());
      parser.end();
    } catch (error) {
      if (!this.#stop.signal.aborted) logger.debug({ target, err: errorMessage(error) }, 'upstream listen stream dropped');
    }
    return 'ended';
  }
}
