// What the multiplexer needs of one upstream MCP session, whatever transport carries it:
// streamable HTTP (session.ts), legacy HTTP+SSE (legacy-sse.ts) or a local command's stdio
// (stdio.ts). One interface, because there are three implementations; the multiplexer never knows
// which it holds. Also the few pieces all three share.
import type { Dispatcher } from 'undici';
import type { InitializeRequestParams, InitializeResult, JSONRPCNotification, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { EndpointUrl } from '../routing/table.ts';
import type { DelayQueues } from '../delay-queue.ts';
import type { AbortHooks } from '../request-abort.ts';
import type { UpstreamResponse } from './exchange.ts';

export type { UpstreamResponse };

/** What an upstream sends us besides answers: notifications and its own requests. */
export type UpstreamMessage = JSONRPCNotification | JSONRPCRequest;

/**
 * Where what an upstream says about a 2026-07-28 request goes: the request itself, handed to the
 * upstream request as its `relatedTo` (no table of requests in flight to keep, or to outlive them).
 */
export interface RequestSink {
  message(target: string, upstream: UpstreamConnection, message: UpstreamMessage): void;
}

/** What a request's messages are handed back with: a 2025 session's request id, or a modern request's sink. */
export type Related = RequestId | RequestSink;

/** A 2025 session's request id (what its channel and progress routes know), undefined for a sink. */
export function relatedId(related: Related | undefined): RequestId | undefined {
  return typeof related === 'object' ? undefined : related;
}

export interface UpstreamOptions {
  /** The HTTP client (unused by stdio upstreams). */
  dispatcher: Dispatcher;
  /** The target's name: errors and logs name it. */
  target: string;
  /** The endpoint this session is pinned to (stateful upstreams keep state per pod; a stdio target's names its command). */
  endpoint: EndpointUrl;
  logger: Logger;
  /**
   * Notifications and server→client requests. `relatedTo` is the RequestOptions.relatedTo of the
   * request they arose from, when the transport tells; undefined otherwise. Without a handler the
   * upstream's requests are refused.
   */
  onMessage?: (message: UpstreamMessage, relatedTo: Related | undefined) => void;
  /** A handshake after the first succeeded (the upstream had lost the session): its lists may differ. */
  onReinitialized?: () => void;
  /** Open the upstream's GET stream (streamable HTTP, stateful upstreams). Default: when onMessage is given. */
  listen?: boolean;
  /**
   * The upstream ended the SSE stream of the request `relatedTo` names before answering it (SEP-1699
   * polling); the connection resumes it after `retryMs` (streamable HTTP only).
   */
  onStreamPaused?: (relatedTo: Related | undefined, retryMs: number) => void;
  /** Where request deadlines are kept (the pool's, one timer for all); default: a timer per request. */
  deadlines?: DelayQueues;
}

export interface RequestOptions {
  timeoutMs: number;
  /** Aborting it abandons the request and tells the upstream (notifications/cancelled). */
  signal?: AbortSignal | undefined;
  /** The same cancellation as `signal`, as plain callbacks (cheaper to listen to); when given, it is what is listened to. */
  abortHooks?: AbortHooks | undefined;
  /** Handed back with every message that arises from this request. */
  relatedTo?: Related | undefined;
  /** Sent with this request only (W3C trace context: traceparent, tracestate). HTTP upstreams only. */
  headers?: Readonly<Record<string, string>> | undefined;
  /**
   * A 2026-07-28 client's request: the `_meta` envelope a modern upstream gets (its version, the
   * client's per-request capabilities and info). Set, the answer comes back as the upstream gave it
   * (`input_required` included); unset, the request is a 2025 session's.
   */
  meta?: Readonly<Record<string, unknown>> | undefined;
}

/** A JSON-RPC response we send upstream (to one of its requests). */
export type OutgoingResponse =
  | { jsonrpc: '2.0'; id: RequestId; result: Record<string, unknown> }
  | { jsonrpc: '2.0'; id: RequestId; error: { code: number; message: string; data?: unknown } };

export interface UpstreamConnection {
  readonly target: string;
  readonly endpoint: EndpointUrl;
  /** The upstream's answer to the last initialize; undefined before it. */
  readonly initializeResult: InitializeResult | undefined;
  readonly closed: boolean;
  /**
   * Whether the upstream's list_changed notifications reach us now, as a token that changes
   * whenever some may have been missed (a stream reopened, a new handshake); undefined when they
   * do not (no stream, not listening). A cached list leans on it (mux/list-cache.ts).
   */
  listWatch?(): string | undefined;
  /** initialize, then notifications/initialized. Throws if the upstream refuses or fails. */
  initialize(params: InitializeRequestParams, options: RequestOptions): Promise<InitializeResult>;
  /** One request; the upstream's response (result or JSON-RPC error). Re-initializes once if the upstream lost the session. */
  request(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse>;
  notify(method: string, params: unknown, options: RequestOptions): Promise<void>;
  /** Answers one of the upstream's requests; best effort. */
  respond(message: OutgoingResponse): Promise<void>;
  /** Closes once the requests in flight are answered. */
  closeWhenIdle(): void;
  /** Rejects pending requests and ends the upstream session. Idempotent. */
  close(): Promise<void>;
}

/** Budget for the best-effort messages sent on the side: DELETE on close, cancellations, refusals. */
export const SIDE_MESSAGE_TIMEOUT_MS = 2_000;

/** The result of an initialize answer, or why it is not one (McpmuxError naming the target). */
export function initializeResultOf(target: string, response: UpstreamResponse): InitializeResult {
  if ('error' in response) throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target} refused initialize: ${response.error.message}`);
  const result = response.result as InitializeResult;
  if (typeof result?.protocolVersion !== 'string') throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${target} answered initialize without a protocolVersion`);
  return result;
}

/**
 * Counts a connection's requests in flight, so that closeWhenIdle closes it once they are answered:
 * what a new routing table does to a target that left, since requests finish on the table they
 * started with.
 */
export class InFlight {
  readonly #close: () => void;
  #count = 0;
  #closeWhenIdle = false;

  constructor(close: () => void) {
    this.#close = close;
  }

  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#count++;
    try {
      return await work();
    } finally {
      if (--this.#count === 0 && this.#closeWhenIdle) this.#close();
    }
  }

  closeWhenIdle(): void {
    if (this.#count === 0) this.#close();
    else this.#closeWhenIdle = true;
  }
}
