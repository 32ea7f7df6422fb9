// The one thing a multiplexer session needs from its downstream transport: a way to send the
// client messages that are not the answer to a POST (progress, logging, list changes, server→client
// requests; on legacy SSE, the answers too). Streamable HTTP and legacy SSE each implement it.
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

export interface ClientChannel {
  /**
   * Sends `message` to the client. `relatedTo` names the client request it belongs to: it travels
   * on that request's stream when there is one, else on the session's standalone stream (held for
   * the client until it connects one). False when nothing can carry it (the channel is closed).
   */
  send(message: JSONRPCMessage, relatedTo?: RequestId): boolean;
  /** A standalone stream (GET, legacy SSE) is attached now: the client is around, not idle. */
  readonly connected: boolean;
  /**
   * The upstream answering client request `id` closed its stream to be polled (SEP-1699): the
   * channel may close the client's stream for it too (with `retryMs` as the client's retry hint)
   * and keep the rest for the client's resumption. Optional: a channel may keep its stream open.
   */
  pauseRequest?(id: RequestId, retryMs: number): boolean;
  /** Ends every stream of the session and forgets what was held for replay. */
  close(): void;
}
