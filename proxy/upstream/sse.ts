// Incremental text/event-stream parser (the WHATWG rules the MCP transports use): feed it decoded
// text as it arrives, it calls back once per dispatched event. `data` lines are joined with `\n`;
// comments (`:`) and unknown fields are ignored; an event with no data is not dispatched.

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
  #lastWasCr = false;

  constructor(onEvent: (event: SseEvent) => void) {
    this.#onEvent = onEvent;
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

  /** End of stream: a trailing event without its blank line is discarded, as the spec says. */
  end(): void {
    this.#buffer = '';
    this.#data = [];
    this.#event = '';
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
      default:
        break; // `retry` and unknown fields do not matter to a request/response client
    }
  }

  #dispatch(): void {
    if (this.#data.length > 0) {
      this.#onEvent({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
    }
    this.#data = [];
    this.#event = '';
  }
}
