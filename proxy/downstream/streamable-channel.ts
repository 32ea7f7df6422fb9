// The streams of one streamable HTTP session: a stream per client request answered as SSE (its
// related messages, then its response), and one standalone stream (the GET) for the rest. Every
// event carries an id `<stream key>.<seq>` and is stored before it is written, so a client that
// lost a stream resumes it with `Last-Event-ID`; messages sent while no GET is connected wait in
// the store for the next one. A request that may be answered as SSE is held undecided at first:
// if its answer comes before any related message and within `sseAfterMs`, it goes out as plain
// JSON (one write, the fast path); otherwise the response becomes an event stream. A 2025-11-25
// client's stream starts with a priming event (an id, no data, a `retry:` hint); such a stream may
// be closed before its answer (pauseRequest: the upstream did so, SEP-1699 polling) and the client
// comes back for the rest with GET + Last-Event-ID.
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, JSONRPCResponse, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { ClientChannel } from '../mux/channel.ts';
import type { EventStore } from './event-store.ts';
import { EventIdError, formatEventId, parseEventId, requestStreamKey, STANDALONE_KEY } from './event-id.ts';
import { SseStream } from './sse-stream.ts';
import { errorResponse } from '../mux/jsonrpc-error.ts';
import type { FleetStreamLink } from '../fleet/shared-stream.ts';
import { catchUp, FleetStandalone, LocalStandalone, type StandaloneStream } from './standalone-stream.ts';
import { timer as delayed, type DelayQueues, type Delayed } from '../delay-queue.ts';
import { encodeMessage } from '../../shared/pre-encoded-json.ts';

export interface StreamableChannelOptions {
  sessionId: string;
  store: EventStore;
  keepAliveMs: number;
  maxBufferedBytes: number;
  onSlowClient?: () => void;
  /** How long a request may stay undecided (JSON or SSE) before its stream opens. Default 100 ms. */
  sseAfterMs?: number;
  /** Where undecided requests wait (one timer for the endpoint's requests); default: a timer each. */
  holds?: DelayQueues;
  /** The `retry:` hint of priming events: how long a client waits before resuming a closed stream. Default 1 s. */
  retryMs?: number;
  /** In a fleet: the standalone stream lives in the shared buffer, and whoever holds it owns the session. */
  fleet?: FleetStreamLink;
}

interface RequestStream {
  readonly key: string;
  seq: number;
  conn: SseStream | undefined;
  /** The client holds a cursor on it (an event id reached it), so it can come back for the rest. */
  resumable: boolean;
  /** Primed (a 2025-11-25 client): the client resumes a stream that closes before its answer. */
  primed: boolean;
  /** Not decided yet: answered as JSON if the answer comes first, else opened as SSE. */
  held: { res: ServerResponse; prime: boolean; onAbandoned: () => void; timer: Delayed } | undefined;
}

const DEFAULT_SSE_AFTER_MS = 100;
const DEFAULT_RETRY_MS = 1_000;


export class StreamableChannel implements ClientChannel {
  readonly #options: StreamableChannelOptions;
  readonly #headers: Record<string, string>;
  /** Client requests in flight: their SSE stream, or null when answered as JSON. */
  readonly #requests = new Map<RequestId, RequestStream | null>();
  /** Unanswered request streams by key, for resumes. */
  readonly #streams = new Map<string, RequestStream>();
  #nextKey = 1;
  /** The GET stream, on this replica or in the fleet's shared buffer (standalone-stream.ts). */
  readonly #standalone: StandaloneStream;
  #closed = false;

  constructor(options: StreamableChannelOptions) {
    this.#options = options;
    this.#headers = { 'mcp-session-id': options.sessionId };
    this.#standalone = options.fleet ? new FleetStandalone(options.fleet) : new LocalStandalone(options.store, options.sessionId);
  }

  /** Whether a GET stream is connected now. */
  get connected(): boolean {
    return this.#standalone.connected;
  }

  send(message: JSONRPCMessage, relatedTo?: RequestId): boolean {
    if (this.#closed) return false;
    const data = JSON.stringify(message);
    const stream = relatedTo === undefined ? undefined : this.#requests.get(relatedTo);
    // A request's own stream while the client can still get it; otherwise the standalone stream.
    if (stream && (stream.held || stream.conn?.open || stream.resumable)) this.#write(stream, data);
    else this.#writeStandalone(data);
    return true;
  }

  /**
   * Request `id` may be answered as an SSE stream on `res`: held undecided until a related message
   * or `sseAfterMs` (the channel's unless given; 0 opens it now) opens the stream. `prime` then sends
   * an id-only first event with a retry hint (2025-11-25 clients), so the client can resume even
   * before anything else is written. `onAbandoned` runs if the client goes away while it cannot
   * resume: nobody will ever read the answer.
   */
  openRequestStream(id: RequestId, res: ServerResponse, options: { prime: boolean; onAbandoned: () => void; sseAfterMs?: number }): void {
    const n = this.#nextKey++;
    const key = this.#options.fleet ? this.#options.fleet.requestStreamKey(n, id) : requestStreamKey(n);
    const stream: RequestStream = { key, seq: 0, conn: undefined, resumable: false, primed: options.prime, held: undefined };
    const after = options.sseAfterMs ?? this.#options.sseAfterMs ?? DEFAULT_SSE_AFTER_MS;
    const open = (): void => this.#open(stream);
    const timer = this.#options.holds ? this.#options.holds.after(after, open) : delayed(after, open);
    stream.held = { res, prime: options.prime, onAbandoned: options.onAbandoned, timer };
    res.once('close', () => {
      if (stream.held?.res === res && !res.writableFinished) {
        timer.cancel();
        stream.held = undefined;
        if (this.#streams.has(stream.key)) options.onAbandoned();
      }
    });
    this.#requests.set(id, stream);
    this.#streams.set(stream.key, stream);
    if (after <= 0) this.#open(stream);
  }

  /** Related messages of a request answered as JSON go to the standalone stream. */
  trackJsonRequest(id: RequestId): void {
    this.#requests.set(id, null);
  }

  /**
   * The end of a request: on its SSE stream, the response is the last event (stored first if the
   * client may still resume) and the stream ends. False for a request answered as JSON: the caller
   * writes the response.
   */
  finishRequest(id: RequestId, response: JSONRPCResponse): boolean {
    const stream = this.#requests.get(id);
    this.#requests.delete(id);
    if (!stream) return false;
    this.#streams.delete(stream.key);
    if (stream.held) {
      // Answered before anything else happened: plain JSON, written by the caller.
      stream.held.timer.cancel();
      stream.held = undefined;
      return false;
    }
    if (this.#closed) return true;
    this.#write(stream, encodeMessage(response)); // a pre-encoded list result is spliced in
    const conn = stream.conn;
    if (conn?.open) {
      // Delivered: nothing left to replay.
      conn.onClose(() => this.#options.store.dropStream(this.#options.sessionId, stream.key));
      conn.end();
    }
    return true;
  }

  /**
   * The server side of request `id` went quiet on purpose (the upstream closed its stream before
   * answering and will be polled, SEP-1699): the client's stream does the same, so the client polls
   * too. Its connection closes after a `retry:` hint; what comes next (the answer included) is stored
   * and waits for the client's GET with Last-Event-ID. Only a primed stream (a 2025-11-25 client,
   * which resumes) is closed, and not in a fleet (the client's GET might reach a replica that cannot
   * continue the stream while this one still runs it). True if the client's stream was closed.
   */
  pauseRequest(id: RequestId, retryMs: number): boolean {
    if (this.#closed || this.#options.fleet) return false;
    const stream = this.#requests.get(id);
    if (!stream?.primed) return false;
    if (stream.held) this.#open(stream);
    const conn = stream.conn;
    if (!conn?.open || !stream.resumable) return false;
    stream.conn = undefined;
    conn.retry(retryMs);
    conn.end();
    return true;
  }

  /**
   * The client cancelled request `id`: its SSE stream ends without an answer (the spec says a
   * cancelled request gets none). False for a request answered (or still answerable) as JSON:
   * HTTP needs a body, finishRequest() and the caller give it one.
   */
  abandonRequest(id: RequestId): boolean {
    const stream = this.#requests.get(id);
    // Still undecided: like a request answered as JSON, it gets its (error) answer from the caller.
    if (!stream || stream.held) return false;
    this.#requests.delete(id);
    this.#streams.delete(stream.key);
    stream.conn?.end();
    this.#options.store.dropStream(this.#options.sessionId, stream.key);
    return true;
  }

  /** A GET without Last-Event-ID: the standalone stream, with what waited for it. */
  async openStandalone(res: ServerResponse): Promise<void> {
    await this.#standalone.open(() => this.#connect(res));
  }

  /**
   * A GET with Last-Event-ID: replays the stream it names after that event and, if the stream is
   * still live, continues it on this connection (replacing a connection the client gave up on).
   * A stream that was answered meanwhile ends after its replay; 204 when nothing is left.
   */
  async resume(res: ServerResponse, lastEventId: string): Promise<void> {
    const parsed = parseEventId(lastEventId);
    if (parsed instanceof EventIdError) throw parsed;
    if (parsed.streamKey === STANDALONE_KEY) {
      await this.#standalone.resume(() => this.#connect(res), parsed.seq);
      return;
    }
    const stream = this.#streams.get(parsed.streamKey);
    if (stream) {
      const previous = stream.conn;
      stream.conn = undefined;
      previous?.end();
      const conn = this.#connect(res);
      await catchUp(this.#options.store, this.#options.sessionId, conn, stream.key, parsed.seq, () => stream.seq);
      if (this.#streams.has(stream.key)) stream.conn = conn;
      else conn.end(); // answered while replaying: the answer was in the replay
      return;
    }
    const foreign = this.#options.fleet?.foreignRequest(parsed.streamKey);
    if (foreign) {
      // The request ran on another replica. Alive: only it can continue the stream (the client
      // retries and the balancer may bring it there). Gone: the request will never be answered;
      // the client is told now, not at its timeout. It may or may not have run: never re-run here.
      if (foreign.alive) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `this stream is held by replica ${foreign.replica}; retry`);
      const conn = this.#connect(res);
      const lost = new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `the replica serving this request (${foreign.replica}) stopped before answering; it may or may not have completed, retry if it is safe to repeat`);
      conn.send(JSON.stringify(errorResponse(foreign.requestId, lost)));
      conn.end();
      return;
    }
    const events = await this.#options.store.replay(this.#options.sessionId, parsed.streamKey, parsed.seq);
    if (events.length === 0) {
      res.writeHead(204, this.#headers);
      res.end();
      return;
    }
    const conn = this.#connect(res);
    for (const event of events) conn.send(event.data, event.id);
    conn.onClose(() => this.#options.store.dropStream(this.#options.sessionId, parsed.streamKey));
    conn.end();
  }

  /** Another replica holds the session's stream now: a connection still held here is ended. */
  released(): void {
    this.#standalone.release();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#standalone.close();
    for (const stream of this.#streams.values()) {
      stream.held?.timer.cancel();
      stream.conn?.end();
    }
    this.#streams.clear();
    this.#requests.clear();
    this.#options.store.dropSession(this.#options.sessionId);
  }

  #connect(res: ServerResponse): SseStream {
    return new SseStream(res, { headers: this.#headers, keepAliveMs: this.#options.keepAliveMs, maxBufferedBytes: this.#options.maxBufferedBytes, onSlowClient: this.#options.onSlowClient });
  }

  /** Decides for SSE: the stream opens (with its priming event) on the held response. */
  #open(stream: RequestStream): void {
    const held = stream.held;
    if (!held || this.#closed) return;
    stream.held = undefined;
    held.timer.cancel();
    const conn = this.#connect(held.res);
    stream.conn = conn;
    conn.onClose(() => {
      if (stream.conn === conn && this.#streams.has(stream.key) && !stream.resumable) held.onAbandoned();
    });
    if (held.prime) {
      conn.prime(formatEventId(stream.key, ++stream.seq), this.#options.retryMs ?? DEFAULT_RETRY_MS);
      stream.resumable = true;
    }
  }

  #write(stream: RequestStream, data: string): void {
    if (stream.held) this.#open(stream);
    const seq = ++stream.seq;
    const id = formatEventId(stream.key, seq);
    this.#options.store.append(this.#options.sessionId, stream.key, { id, seq, data });
    if (stream.conn?.open && stream.conn.send(data, id)) stream.resumable = true;
  }

  #writeStandalone(data: string): void {
    this.#standalone.write(data);
  }
}
