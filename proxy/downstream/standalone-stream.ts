// A streamable HTTP session's standalone stream (its GET): where messages unrelated to a request
// go, and what a client resumes with Last-Event-ID. One interface, two homes: on this replica
// (LocalStandalone: events kept in the event store, one live connection), or in a fleet
// (FleetStandalone: the shared buffer on NATS, whose holder owns the session). The channel
// (streamable-channel.ts) talks to the interface only.
import { McpmuxError } from '../../shared/errors.ts';
import type { FleetStreamLink } from '../fleet/shared-stream.ts';
import type { EventStore } from './event-store.ts';
import { formatEventId, STANDALONE_KEY } from './event-id.ts';
import type { SseStream } from './sse-stream.ts';

export interface StandaloneStream {
  /** A client connection is attached now. */
  readonly connected: boolean;
  /** One message: delivered now if a connection is attached, kept for the next one otherwise. */
  write(data: string): void;
  /** A GET without Last-Event-ID: what waited for it, then live. MCPMUX_STREAM_CONFLICT if one is attached. */
  open(connect: () => SseStream): Promise<void>;
  /** A GET with Last-Event-ID at `afterSeq` of this stream: the rest, then live (replacing a connection the client gave up on). */
  resume(connect: () => SseStream, afterSeq: number): Promise<void>;
  /** Another replica holds the stream now: a connection still held here ends. */
  release(): void;
  /** The session ends. */
  close(): void;
}

function conflict(): McpmuxError {
  return new McpmuxError('MCPMUX_STREAM_CONFLICT', 'Conflict: this session already has a GET stream open');
}

/**
 * Writes the stored events of `streamKey` after `afterSeq` until none is missing, then returns the
 * last one written. Nothing can slip in between the final check and the caller attaching `conn`:
 * both run in the same turn.
 */
export async function catchUp(store: EventStore, sessionId: string, conn: SseStream, streamKey: string, afterSeq: number, latest: () => number): Promise<number> {
  let last = afterSeq;
  while (last < latest() && conn.open) {
    const events = await store.replay(sessionId, streamKey, last);
    const fresh = events.filter((e) => e.seq > last);
    if (fresh.length === 0) break; // evicted: what is gone is gone
    for (const event of fresh) {
      conn.send(event.data, event.id);
      last = event.seq;
    }
  }
  return last;
}

/** The stream on this replica: every event stored before it is written, so a client may resume it. */
export class LocalStandalone implements StandaloneStream {
  readonly #store: EventStore;
  readonly #sessionId: string;
  #conn: SseStream | undefined;
  #seq = 0;
  /** The last event written to a live connection: a fresh GET gets what came after. */
  #delivered = 0;
  #closed = false;

  constructor(store: EventStore, sessionId: string) {
    this.#store = store;
    this.#sessionId = sessionId;
  }

  get connected(): boolean {
    return this.#conn?.open === true;
  }

  write(data: string): void {
    const seq = ++this.#seq;
    const id = formatEventId(STANDALONE_KEY, seq);
    this.#store.append(this.#sessionId, STANDALONE_KEY, { id, seq, data });
    if (this.#conn?.open && this.#conn.send(data, id)) this.#delivered = seq;
  }

  async open(connect: () => SseStream): Promise<void> {
    if (this.#conn?.open) throw conflict();
    await this.#attach(connect(), this.#delivered);
  }

  async resume(connect: () => SseStream, afterSeq: number): Promise<void> {
    this.#conn?.end();
    this.#conn = undefined;
    await this.#attach(connect(), afterSeq);
  }

  release(): void {
    // Nothing is shared: no other replica can hold this stream.
  }

  close(): void {
    this.#closed = true;
    this.#conn?.end();
  }

  async #attach(conn: SseStream, afterSeq: number): Promise<void> {
    this.#delivered = await catchUp(this.#store, this.#sessionId, conn, STANDALONE_KEY, afterSeq, () => this.#seq);
    if (this.#closed || !conn.open) return;
    this.#conn = conn;
    conn.onClose(() => {
      if (this.#conn === conn) this.#conn = undefined;
    });
  }
}

/** The stream in a fleet: the shared buffer; attaching a connection claims the session for this replica. */
export class FleetStandalone implements StandaloneStream {
  readonly #fleet: FleetStreamLink;

  constructor(fleet: FleetStreamLink) {
    this.#fleet = fleet;
  }

  get connected(): boolean {
    return this.#fleet.stream.attached;
  }

  write(data: string): void {
    this.#fleet.stream.write(data);
  }

  async open(connect: () => SseStream): Promise<void> {
    if (this.#fleet.stream.attached) throw conflict();
    await this.#fleet.claim();
    await this.#fleet.stream.attach(connect(), Math.max(this.#fleet.stream.delivered, this.#fleet.lastDelivered()));
  }

  async resume(connect: () => SseStream, afterSeq: number): Promise<void> {
    await this.#fleet.claim();
    await this.#fleet.stream.attach(connect(), afterSeq);
  }

  release(): void {
    this.#fleet.stream.detach();
  }

  close(): void {
    this.#fleet.stream.detach();
  }
}
