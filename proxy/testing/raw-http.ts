// Raw HTTP for tests that check the wire itself: a POST read whole (JSON or a finished SSE body),
// and an SSE stream read event by event.
import { SseParser, type SseEvent } from '../upstream/sse.ts';

export interface RawAnswer {
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  json<T>(): T;
  /** The body's SSE events (for a finished text/event-stream body). */
  events(): SseEvent[];
}

const DEFAULT_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** POSTs `body` (a string is sent as is) and reads the whole answer. */
export async function postJson(url: string, body: object | string, headers: Record<string, string>): Promise<RawAnswer> {
  const merged: Record<string, string> = { ...DEFAULT_HEADERS, ...headers };
  for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k];
  const response = await fetch(url, { method: 'POST', headers: merged, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    contentType: response.headers.get('content-type') ?? '',
    text,
    json: <T>() => JSON.parse(text) as T,
    events: () => {
      const events: SseEvent[] = [];
      const parser = new SseParser((e) => events.push(e));
      parser.push(text);
      parser.end();
      return events;
    },
  };
}

export interface SseReader {
  status: number;
  headers: Headers;
  /** The next event (priming events included); rejects if the stream ends first or after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent & { id: string | undefined }>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/**
 * Opens an event stream: a GET with `headers`, or a POST of `body`. Events are captured without
 * the parser's id persistence hiding which event carried an id: `id` is the event's own.
 */
export async function openSse(url: string, headers: Record<string, string>, body?: object): Promise<SseReader> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? { accept: 'text/event-stream', ...headers } : { ...DEFAULT_HEADERS, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: abort.signal,
  });
  const queue: Array<SseEvent> = [];
  const waiters: Array<() => void> = [];
  let done = false;
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  let lastId: string | undefined;
  const parser = new SseParser((event) => {
    // The parser carries the last id forward; report an id only on the event that set it.
    queue.push({ ...event, id: event.id !== lastId ? event.id : undefined });
    lastId = event.id;
    wake();
  });
  if (response.body && response.ok) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { value, done: finished } = await reader.read();
          if (finished) break;
          parser.push(decoder.decode(value, { stream: true }));
        }
      } catch {
        // aborted by close()
      }
      done = true;
      markEnded();
      wake();
    })();
  } else {
    await response.text().catch(() => '');
    done = true;
    markEnded();
  }
  return {
    status: response.status,
    headers: response.headers,
    ended,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (done) throw new Error('the stream ended');
        if (Date.now() > deadline) throw new Error(`no event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return queue.shift() as SseEvent & { id: string | undefined };
    },
    close: () => abort.abort(),
  };
}
