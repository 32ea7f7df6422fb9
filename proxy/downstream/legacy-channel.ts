// The one stream of a legacy HTTP+SSE session (protocol 2024-11-05): it opens with the `endpoint`
// event naming where to POST, then carries every server→client message, answers included. Event
// ids are `<session id>.<seq>`, so an EventSource that reconnects with Last-Event-ID (and no other
// way to name its session) finds its session and gets what it missed.
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ClientChannel } from '../mux/channel.ts';
import type { EventStore } from './event-store.ts';
import { formatEventId, legacyStreamKey } from './event-id.ts';
import { SseStream } from './sse-stream.ts';
import type { FleetStreamLink } from '../fleet/shared-stream.ts';
import { encodeMessage } from '../../shared/pre-encoded-json.ts';

export interface LegacyChannelOptions {
  sessionId: string;
  /** Where the client POSTs its messages: `<prefix>/message?sessionId=<id>`. */
  endpoint: string;
  store: EventStore;
  keepAliveMs: number;
  maxBufferedBytes: number;
  onSlowClient?: () => void;
  /** The stream closed (not by us): the session may still be resumed for a while. */
  onDisconnect: () => void;
  /** In a fleet: the stream lives in the shared buffer, and whoever holds it owns the session. */
  fleet?: FleetStreamLink;
}

export class LegacyChannel implements ClientChannel {
  readonly #options: LegacyChannelOptions;
  #conn: SseStream | undefined;
  #seq = 0;
  #closed = false;

  constructor(options: LegacyChannelOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#options.fleet ? this.#options.fleet.stream.attached : this.#conn?.open === true;
  }

  /** This replica holds no stream and cannot reach the one that does: answers would be lost. */
  get unreachable(): boolean {
    return this.#options.fleet?.unreachable() === true;
  }

  /** Attaches a new stream: the endpoint event, then the events after `afterSeq` (a resume). */
  async attach(res: ServerResponse, afterSeq = 0): Promise<void> {
    const previous = this.#conn;
    this.#conn = undefined;
    previous?.end();
    const conn = new SseStream(res, { keepAliveMs: this.#options.keepAliveMs, maxBufferedBytes: this.#options.maxBufferedBytes, onSlowClient: this.#options.onSlowClient });
    // The endpoint event has an id too: a client that reconnects before any message still has a cursor.
    conn.send(this.#options.endpoint, formatEventId(legacyStreamKey(this.#options.sessionId), 0), 'endpoint');
    const fleet = this.#options.fleet;
    if (fleet) {
      await fleet.claim();
      await fleet.stream.attach(conn, Math.max(afterSeq, fleet.stream.delivered, afterSeq > 0 ? 0 : fleet.lastDelivered()));
      if (this.#closed) {
        fleet.stream.detach();
        return;
      }
      conn.onClose(() => {
        if (!this.#closed && !fleet.stream.attached) this.#options.onDisconnect();
      });
      return;
    }
    let last = afterSeq;
    while (last < this.#seq && conn.open) {
      const events = (await this.#options.store.replay(this.#options.sessionId, legacyStreamKey(this.#options.sessionId), last)).filter((e) => e.seq > last);
      if (events.length === 0) break;
      for (const event of events) {
        conn.send(event.data, event.id);
        last = event.seq;
      }
    }
    if (this.#closed) {
      conn.end();
      return;
    }
    if (!conn.open) return;
    this.#conn = conn;
    conn.onClose(() => {
      if (this.#conn !== conn) return;
      this.#conn = undefined;
      if (!this.#closed) this.#options.onDisconnect();
    });
  }

  send(message: JSONRPCMessage): boolean {
    if (this.#closed) return false;
    if (this.#options.fleet) {
      this.#options.fleet.stream.write(JSON.stringify(message));
      return true;
    }
    const seq = ++this.#seq;
    const key = legacyStreamKey(this.#options.sessionId);
    const id = formatEventId(key, seq);
    const data = encodeMessage(message); // a pre-encoded list result is spliced in
    this.#options.store.append(this.#options.sessionId, key, { id, seq, data });
    this.#conn?.send(data, id);
    return true;
  }

  /** Another replica holds the session's stream now: a connection still held here is ended. */
  released(): void {
    this.#options.fleet?.stream.detach();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#options.fleet) {
      this.#options.fleet.stream.detach();
      return;
    }
    this.#conn?.end();
    this.#conn = undefined;
    this.#options.store.dropSession(this.#options.sessionId);
  }
}
