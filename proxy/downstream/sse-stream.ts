// One text/event-stream response to a client: events written as they come, a comment every
// `keepAliveMs` so idle intermediaries keep the connection, and a cap on what a slow reader may
// leave buffered (past it the connection is cut; resumable streams are replayed from the store).
import type { ServerResponse } from 'node:http';

export interface SseStreamOptions {
  /** Extra response headers (Mcp-Session-Id, ...). */
  headers?: Record<string, string>;
  keepAliveMs: number;
  maxBufferedBytes: number;
  /** Told when the stream is cut for a reader too slow (for the limits metric). */
  onSlowClient?: () => void;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

export class SseStream {
  readonly #res: ServerResponse;
  readonly #maxBufferedBytes: number;
  readonly #onSlowClient: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #onClose: Array<() => void> = [];
  #open = true;

  constructor(res: ServerResponse, options: SseStreamOptions) {
    this.#res = res;
    this.#maxBufferedBytes = options.maxBufferedBytes;
    this.#onSlowClient = options.onSlowClient;
    res.writeHead(200, { ...SSE_HEADERS, ...options.headers });
    res.flushHeaders();
    this.#timer = setInterval(() => this.#write(': keep-alive\n\n'), options.keepAliveMs);
    this.#timer.unref();
    res.once('close', () => this.#closed());
  }

  /** False once the client went away or end() was called. */
  get open(): boolean {
    return this.#open;
  }

  /** Calls `listener` once when the stream closes, whoever closed it. */
  onClose(listener: () => void): void {
    if (this.#open) this.#onClose.push(listener);
    else listener();
  }

  /** One event; `data` must not contain newlines (JSON.stringify output never does). */
  send(data: string, id?: string, event = 'message'): boolean {
    return this.#write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${data}\n\n`);
  }

  /**
   * An event with an id and no data: gives the client a cursor before anything else happens, and
   * with `retryMs` how long to wait before it resumes a stream that closed (SEP-1699).
   */
  prime(id: string, retryMs?: number): boolean {
    return this.#write(retryMs === undefined ? `id: ${id}\ndata: \n\n` : `id: ${id}\nretry: ${Math.round(retryMs)}\ndata: \n\n`);
  }

  /** A `retry:` hint alone (no event is dispatched): sent before closing a stream the client is to resume. */
  retry(retryMs: number): boolean {
    return this.#write(`retry: ${Math.round(retryMs)}\n\n`);
  }

  end(): void {
    if (!this.#open) return;
    this.#res.end();
    this.#closed();
  }

  #write(chunk: string): boolean {
    if (!this.#open) return false;
    this.#res.write(chunk);
    if (this.#res.writableLength > this.#maxBufferedBytes) {
      this.#onSlowClient?.();
      this.#res.destroy();
      this.#closed();
      return false;
    }
    return true;
  }

  #closed(): void {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#timer);
    for (const listener of this.#onClose.splice(0)) listener();
  }
}
