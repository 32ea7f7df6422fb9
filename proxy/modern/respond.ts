// The answer to one 2026-07-28 request: plain JSON, or a per-request SSE stream once a related
// notification (progress, a log line) has to go out before the answer. The stream carries no
// requests and ends with the response. A client that closes it cancels the request.
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { sendJson } from '../downstream/respond.ts';

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  // Nginx and its kin buffer responses unless told not to.
  'x-accel-buffering': 'no',
} as const;

export class ModernResponse {
  readonly #res: ServerResponse;
  readonly #sse: boolean;
  #streaming = false;

  /** `sse`: the client accepts text/event-stream, so related notifications may go before the answer. */
  constructor(res: ServerResponse, sse: boolean) {
    this.#res = res;
    this.#sse = sse;
  }

  /** Whether the client is still there to hear the answer. */
  get open(): boolean {
    return !this.#res.destroyed && !this.#res.writableEnded;
  }

  /** A notification related to the request; dropped when the client takes JSON only. */
  notify(message: JSONRPCMessage): void {
    if (!this.#sse || !this.open) return;
    if (!this.#streaming) {
      this.#streaming = true;
      this.#res.writeHead(200, SSE_HEADERS);
    }
    this.#res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** The answer, under `status` when it goes as JSON (an SSE stream is already 200). */
  finish(message: JSONRPCMessage, status = 200): void {
    if (!this.open) return;
    if (this.#streaming) {
      this.#res.end(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
      return;
    }
    sendJson(this.#res, status, message);
  }
}
