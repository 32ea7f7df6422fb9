// The GET stream of one upstream session: what the upstream says outside any request (list
// changes, resource updates, logging, server→client requests such as roots/list). Reconnects with
// Last-Event-ID and backoff while the upstream is away (or after its `retry:` hint, when it ended the
// stream itself: SEP-1699 polling); stops for good on 405 (the upstream has no such stream) and
// reports an expired session (404, or the SDK example's 400) so it can be re-initialized.
import type { Dispatcher } from 'undici';
import type { JSONRPCNotification, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { EndpointUrl } from '../routing/table.ts';
import { SseParser } from './sse.ts';

export interface UpstreamListenerOptions {
  dispatcher: Dispatcher;
  endpoint: EndpointUrl;
  target: string;
  sessionId: string;
  protocolVersion: string;
  logger: Logger;
  onMessage: (message: JSONRPCNotification | JSONRPCRequest) => void;
  /** The upstream no longer knows the session (it restarted or expired it). */
  onExpired: () => void;
  /** Reconnect delays: the first, and the cap (doubling in between, with jitter). Default 250 ms, 5 s. */
  retryMs?: { initial: number; max: number };
}

type Attempt = 'stream-ended' | 'unsupported' | 'expired' | 'failed';

/** A `retry:` hint below this is raised to it: a server saying 0 must not get a busy loop of GETs. */
const MIN_HINTED_WAIT_MS = 100;

export class UpstreamListener {
  readonly #options: UpstreamListenerOptions;
  readonly #stop = new AbortController();
  #lastEventId: string | undefined;
  /** The upstream's last `retry:` hint: the wait before reconnecting a stream it ended. */
  #retryMs: number | undefined;
  /** Streams opened so far, and whether one is open now: a change of either means notifications may have been missed. */
  #opens = 0;
  #connected = false;

  constructor(options: UpstreamListenerOptions) {
    this.#options = options;
  }

  /**
   * Opens the stream and keeps it open until stop(). Resolves once the first attempt is answered
   * (or `timeoutMs` passed): true if a stream is open.
   */
  start(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      void this.#run((opened) => {
        clearTimeout(timer);
        resolve(opened);
      });
    });
  }

  stop(): void {
    this.#stop.abort();
  }

  /** The open stream's number (1 for the first), or undefined while none is open. */
  get stream(): number | undefined {
    return this.#connected && !this.#stop.signal.aborted ? this.#opens : undefined;
  }

  async #run(firstAnswer: (opened: boolean) => void): Promise<void> {
    // A short cap: a restarted upstream is noticed within seconds, and its sessions re-initialized.
    const { initial, max } = this.#options.retryMs ?? { initial: 250, max: 5_000 };
    let delay = initial;
    let answered = false;
    const answer = (opened: boolean): void => {
      if (answered) return;
      answered = true;
      firstAnswer(opened);
    };
    while (!this.#stop.signal.aborted) {
      const startedAt = Date.now();
      const outcome = await this.#attempt(() => {
        this.#opens++;
        this.#connected = true;
        answer(true);
      });
      this.#connected = false;
      answer(false);
      if (this.#stop.signal.aborted) return;
      if (outcome === 'unsupported') return;
      if (outcome === 'expired') {
        this.#options.onExpired();
        return;
      }
      // A stream that lived a while was healthy: start the backoff over.
      if (Date.now() - startedAt > max) delay = initial;
      // A stream the upstream ended after telling us when to come back: then (within our cap, and
      // never in a tight loop). Otherwise backoff with jitter, so the sessions of a target that came
      // back do not all knock at once.
      const hinted = outcome === 'stream-ended' && this.#retryMs !== undefined;
      const wait = hinted ? Math.min(Math.max(this.#retryMs as number, MIN_HINTED_WAIT_MS), max) : delay / 2 + Math.random() * (delay / 2);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#stop.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        this.#stop.signal.addEventListener('abort', done, { once: true });
      });
      if (!hinted) delay = Math.min(delay * 2, max);
    }
  }

  async #attempt(onOpen: () => void): Promise<Attempt> {
    const { dispatcher, endpoint, target, sessionId, protocolVersion, logger } = this.#options;
    const headers: Record<string, string> = { ...endpoint.headers, accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion };
    if (this.#lastEventId !== undefined && this.#lastEventId !== '') headers['last-event-id'] = this.#lastEventId;
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: endpoint.origin,
        path: endpoint.path,
        method: 'GET',
        headers,
        signal: this.#stop.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (error) {
      if (!this.#stop.signal.aborted) logger.debug({ target, err: errorMessage(error) }, 'upstream GET stream: connect failed');
      return 'failed';
    }
    const { statusCode, body } = response;
    const contentType = String(response.headers['content-type'] ?? '');
    if (statusCode !== 200 || !contentType.startsWith('text/event-stream')) {
      const text = await body.text().catch(() => '');
      if (statusCode === 404 || (statusCode === 400 && /session/i.test(text))) return 'expired';
      if (statusCode === 405 || (statusCode >= 200 && statusCode < 300)) return 'unsupported';
      logger.debug({ target, status: statusCode }, 'upstream GET stream refused');
      return statusCode === 409 ? 'unsupported' : 'failed';
    }
    onOpen();
    const parser = new SseParser((event) => {
      if (event.id !== undefined) this.#lastEventId = event.id;
      if (event.event !== 'message' || event.data.trim() === '') return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        logger.warn({ target }, 'upstream GET stream sent an event that is not JSON');
        return;
      }
      for (const m of Array.isArray(message) ? message : [message]) {
        if (m !== null && typeof m === 'object' && typeof (m as { method?: unknown }).method === 'string') {
          this.#options.onMessage(m as JSONRPCNotification | JSONRPCRequest);
        }
      }
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) parser.push(decoder.decode(chunk as Buffer, { stream: true }));
    } catch (error) {
      if (!this.#stop.signal.aborted) logger.debug({ target, err: errorMessage(error) }, 'upstream GET stream broke');
    }
    // An id-only event (a priming event) moves the cursor too.
    this.#lastEventId = parser.lastEventId ?? this.#lastEventId;
    this.#retryMs = parser.retryMs ?? this.#retryMs;
    return 'stream-ended';
  }
}
