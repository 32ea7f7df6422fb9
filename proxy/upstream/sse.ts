// Incremental text/event-stream parser (the WHATWG rules the MCP transports use): feed it decoded
// text as it arrives, it calls back once per dispatched event. `data` lines are joined with `\n`;
// comments (`:`) and unknown fields are ignored; an event with no data is not dispatched. What a
// client needs to resume the stream is kept: the last event id (set when an event ends, data or
// not) and the server's `retry:` hint.

export interface SseEvent {
  /** `message` unless the event named itself. */
  event: string;
  data: string;
  id: string | undefined;
}

export class SseParser {
  readonly #onEvent: (event: SseEvent) => void;
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | undefined;
  #lastEventId: string | undefined;
  #retryMs: number | undefined;
  #lastWasCr = false;

  constructor(onEvent: (event: SseEvent) => void) {
    this.#onEvent = onEvent;
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
    // A `\r\n` split across chunks: the `\r` already ended the line, skip its `\n`.
    if (this.#lastWasCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.#lastWasCr = false;
    this.#buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(this.#buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 < this.#buffer.length) {
          if (this.#buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#lastWasCr = true;
        }
      }
      start = i + 1;
    }
    this.#buffer = this.#buffer.slice(start);
  }

  /**
   * End of stream: a trailing event without its blank line is discarded, as the spec says. The
   * last event id and retry hint stay: a resumed stream may be fed to the same parser.
   */
  end(): void {
    this.#buffer = '';
    this.#data = [];
    this.#event = '';
    this.#lastWasCr = false;
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.#id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  #dispatch(): void {
    // An event that ends sets the stream's last event id even without data (a priming event).
    if (this.#id !== undefined) this.#lastEventId = this.#id;
    if (this.#data.length > 0) {
      this.#onEvent({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
    }
    this.#data = [];
    this.#event = '';
  }
}
