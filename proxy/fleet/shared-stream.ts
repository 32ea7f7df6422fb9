// One resumable stream of a fleet session (the streamable GET stream, or a legacy SSE session's
// only stream), kept in the fleet's JetStream buffer instead of this replica's memory: any replica
// appends to it, the replica holding the client's connection follows the buffer and writes each
// event once JetStream has stored it, under the id `<stream key>.<buffer seq>` (event-id.ts). So a client that
// reconnects anywhere, with Last-Event-ID, gets what it missed, even after the replica that held
// its stream died. While NATS is away, what this replica produces for a connection it holds is
// written directly, without an id (a later resume neither repeats nor misses it).
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { SseStream } from '../downstream/sse-stream.ts';
import type { Follower, JetStreamEventLog } from './event-log.ts';

export interface SharedStreamOptions {
  events: JetStreamEventLog;
  sessionId: string;
  /** The stream's token in the buffer's subjects: `g` (GET stream) or `l` (legacy stream). */
  key: string;
  /** The SSE event id the client sees for buffer seq `seq`. */
  idOf: (seq: number) => string;
  logger: Logger;
  /** An event could not be buffered nor written (NATS away, no connection here). */
  onLost?: () => void;
  /** The client connection held here ended, having been sent events up to `seq`. */
  onDetached?: (seq: number) => void;
}

export class SharedStream {
  readonly #options: SharedStreamOptions;
  #conn: SseStream | undefined;
  #follower: Follower | undefined;
  #delivered = 0;

  constructor(options: SharedStreamOptions) {
    this.#options = options;
  }

  /** A client connection is attached here now. */
  get attached(): boolean {
    return this.#conn?.open === true;
  }

  /** The last buffer seq written to a client connection by this replica. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Buffers one event; the replica holding the connection (maybe this one) writes it. */
  write(data: string): void {
    const { events, sessionId, key, logger } = this.#options;
    events.append(sessionId, key, data).catch((error: unknown) => {
      const conn = this.#conn;
      if (conn?.open) {
        conn.send(data);
        return;
      }
      logger.warn({ session: sessionId, stream: key, err: errorMessage(error) }, 'stream event lost: NATS is unreachable and the client is connected elsewhere');
      this.#options.onLost?.();
    });
  }

  /**
   * Writes the buffered events after `afterSeq` to `conn`, then every new one, until the
   * connection closes or detach(). Resolves once the backlog is written. A connection attached
   * before is ended (the client replaced it).
   */
  async attach(conn: SseStream, afterSeq: number): Promise<void> {
    this.detach();
    this.#conn = conn;
    this.#delivered = Math.max(this.#delivered, afterSeq);
    const follower = this.#options.events.follow(this.#options.sessionId, this.#options.key, afterSeq, (event) => {
      if (!conn.open) return;
      if (conn.send(event.data, this.#options.idOf(event.seq))) this.#delivered = event.seq;
    });
    this.#follower = follower;
    conn.onClose(() => {
      if (this.#conn !== conn) return;
      follower.stop();
      this.#follower = undefined;
      this.#conn = undefined;
      this.#options.onDetached?.(this.#delivered);
    });
    await follower.caughtUp;
  }

  /** Ends the connection held here, if any (the client is served elsewhere now, or the session ends). */
  detach(): void {
    this.#follower?.stop();
    this.#follower = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    conn?.end();
    if (conn) this.#options.onDetached?.(this.#delivered);
  }
}

/** What a downstream channel of a fleet session gets: its shared stream and its part in ownership. */
export interface FleetStreamLink {
  stream: SharedStream;
  /** Makes this replica the session's owner: the client's stream is here now. */
  claim(): Promise<void>;
  /** Where a fresh stream (no Last-Event-ID) starts: the last event a client connection got, as far as the fleet knows. */
  lastDelivered(): number;
  /** This replica holds no stream and NATS is away: a message for the stream would be lost. */
  unreachable(): boolean;
  /** The key of a new request stream (it names this replica and the request). */
  requestStreamKey(n: number, requestId: RequestId): string;
  /** A request stream held by another replica: which request, and whether that replica is alive. */
  foreignRequest(key: string): { requestId: RequestId; replica: string; alive: boolean } | undefined;
}
