// Incremental text/event-stream parsing for upstream streams, on `eventsource-parser` (the MCP
// SDK's own SSE parser, measured 12–14× faster than the hand-written one it replaced on a 2 KB
// response): feed it decoded text as it arrives, it calls back once per dispatched event. `data`
// lines are joined with `\n`; comments and unknown fields are ignored; an event with no data is not
// dispatched. What a client needs to resume the stream is kept here: the last event id (set when
// an event ends, data or not: the library's onId, 4.1+) and the server's `retry:` hint.
import { createParser, type EventSourceParser } from 'eventsource-parser';

export interface SseEvent {
  /** `message` unless the event named itself. */
  event: string;
  data: string;
  id: string | undefined;
}

export class SseParser {
  readonly #parser: EventSourceParser;
  /** The stream's event id buffer: it persists from event to event until an `id:` changes it. */
  #id: string | undefined;
  #lastEventId: string | undefined;
  #retryMs: number | undefined;
  /** The last chunk ended in `\r`: if the next one starts with `\n`, that is the same line break. */
  #lastWasCr = false;

  constructor(onEvent: (event: SseEvent) => void) {
    this.#parser = createParser({
      // Called when a block ends, with or without data (a priming event is only an id), before onEvent.
      onId: (id) => {
        this.#id = id;
        this.#lastEventId = id;
      },
      onEvent: (event) => {
        if (event.id !== undefined) this.#id = event.id;
        if (this.#id !== undefined) this.#lastEventId = this.#id;
        onEvent({ event: event.event || 'message', data: event.data, id: this.#id });
      },
      onRetry: (ms) => {
        this.#retryMs = ms;
      },
    });
  }

  /** The id of the last event that ended (with or without data): a resume's `Last-Event-ID`. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** The server's last `retry:` hint in milliseconds, if it gave one. */
  get retryMs(): number | undefined {
    return this.#retryMs;
  }

  push(text: string): void {
    let chunk = text;
    if (this.#lastWasCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.#lastWasCr = chunk.endsWith('\r');
    // The library holds a chunk-final `\r` back (it may be half of `\r\n`); on a live stream it
    // ends the line now, so the event is not held until more bytes come.
    this.#parser.feed(this.#lastWasCr ? `${chunk}\n` : chunk);
  }

  /**
   * End of stream: a trailing event without its blank line is discarded, as the spec says. The
   * last event id and retry hint stay: a resumed stream may be fed to the same parser.
   */
  end(): void {
    this.#parser.reset();
    this.#lastWasCr = false;
  }
}
