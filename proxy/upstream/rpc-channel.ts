// One upstream message channel whose answers arrive apart from the requests that asked for them: a
// legacy SSE stream with its POST endpoint (legacy-sse.ts), a child process's stdout with its stdin
// (stdio.ts). Our requests get ids of the channel and wait for the message that answers that id; a
// timeout or an abort rejects the request and tells the upstream (notifications/cancelled); the
// upstream's notifications and requests go to onMessage, tagged with the request in flight when
// there is exactly one (such channels do not say which request a message arose from); end() fails
// whatever still waits, once. How a message travels is the owner's business (`send`).
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { SIDE_MESSAGE_TIMEOUT_MS, type OutgoingResponse, type Related, type RequestOptions, type UpstreamMessage, type UpstreamOptions, type UpstreamResponse } from './connection.ts';

export interface RpcChannelOptions {
  /** The target's name: errors and logs name it. */
  target: string;
  logger: Logger;
  /** Delivers one serialized JSON-RPC message to the upstream; rejects (with an McpmuxError) if it cannot. */
  send: (body: string, timeoutMs: number) => Promise<void>;
  /** As UpstreamOptions.onMessage; without it the upstream's requests are refused. */
  onMessage: UpstreamOptions['onMessage'];
}

interface Pending {
  resolve(message: UpstreamResponse): void;
  reject(error: Error): void;
  relatedTo: Related | undefined;
}

export class RpcChannel {
  readonly #options: RpcChannelOptions;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #ended = false;

  constructor(options: RpcChannelOptions) {
    this.#options = options;
  }

  /** Whether end() was called: nothing more is sent or answered on this channel. */
  get ended(): boolean {
    return this.#ended;
  }

  /** One request; resolves with the upstream's answer (result or JSON-RPC error). */
  request(method: string, params: unknown, options: RequestOptions): Promise<UpstreamResponse> {
    const { target, logger } = this.#options;
    const id = this.#nextId++;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let settled = false;
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        settle();
      };
      const abandon = (error: Error): void =>
        finish(() => {
          reject(error);
          if (this.#ended) return;
          this.notify('notifications/cancelled', { requestId: id, reason: error.message }, SIDE_MESSAGE_TIMEOUT_MS).catch((cancelError: unknown) =>
            logger.debug({ target, err: errorMessage(cancelError) }, 'could not forward cancellation'),
          );
        });
      const onAbort = (): void => {
        const reason: unknown = options.signal?.reason;
        abandon(reason instanceof Error ? reason : new McpmuxError('MCPMUX_REQUEST_CANCELLED', `request to target ${target} was aborted`));
      };
      const timer = setTimeout(() => abandon(new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', `target ${target} did not answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      if (this.#ended) {
        finish(() => reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the connection to target ${target} has ended`)));
        return;
      }
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { resolve: (m) => finish(() => resolve(m)), reject: (e) => finish(() => reject(e)), relatedTo: options.relatedTo });
      const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      this.#options.send(body, options.timeoutMs).catch((error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))));
    });
  }

  /** A notification; dropped once the channel ended (it was about this channel's session). */
  async notify(method: string, params: unknown, timeoutMs: number): Promise<void> {
    if (this.#ended) return;
    await this.#options.send(JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }), timeoutMs);
  }

  /** Answers one of the upstream's requests; dropped once the channel ended. */
  async respond(message: OutgoingResponse): Promise<void> {
    if (this.#ended) return;
    await this.#options.send(JSON.stringify(message), SIDE_MESSAGE_TIMEOUT_MS);
  }

  /** One parsed message (or batch) from the upstream: answers settle requests, the rest goes to onMessage. */
  receive(parsed: unknown): void {
    for (const message of (Array.isArray(parsed) ? parsed : [parsed]) as JSONRPCMessage[]) {
      if (message === null || typeof message !== 'object') continue;
      if ('method' in message) {
        // The channel does not say which request a message arose from; with one request in flight it can only be that one.
        const inFlight = [...this.#pending.values()];
        const relatedTo = inFlight.length === 1 ? inFlight[0]?.relatedTo : undefined;
        if (this.#options.onMessage) this.#options.onMessage(message as UpstreamMessage, relatedTo);
        else if ('id' in message) this.#refuse(message.method, message.id);
      } else if ('id' in message && typeof message.id === 'number' && ('result' in message || 'error' in message)) {
        this.#pending.get(message.id)?.resolve(message as UpstreamResponse);
      }
    }
  }

  /** Fails every request still waiting with `error`; later sends are dropped or refused. Idempotent. */
  end(error: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const pending of [...this.#pending.values()]) pending.reject(error);
  }

  /** Without a handler, the upstream's requests are refused so it does not wait for an answer. */
  #refuse(method: string, id: RequestId): void {
    const { target, logger } = this.#options;
    logger.warn({ target, method }, 'server-to-client request refused (no client to relay it to)');
    this.respond({ jsonrpc: '2.0', id, error: { code: -32601, message: `${method} cannot be relayed to a client` } }).catch((error: unknown) =>
      logger.debug({ target, err: errorMessage(error) }, 'could not refuse server request'),
    );
  }
}
