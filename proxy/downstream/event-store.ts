// What a client may ask to have replayed (`Last-Event-ID`): every event written on a resumable
// stream is appended here first, per session and stream, and read back after a reconnect. The
// memory store keeps a bounded window per session (oldest events go first); a NATS JetStream store
// shared by replicas can replace it behind the same interface, hence the asynchronous replay.

export interface StoredEvent {
  /** The SSE event id the client saw: `<stream key>.<seq>` (event-id.ts). */
  id: string;
  /** Position in its stream, from 1. */
  seq: number;
  /** The JSON text written as `data:`. */
  data: string;
}

export interface EventStore {
  /** Records an event before it is written to the client. */
  append(sessionId: string, streamKey: string, event: StoredEvent): void;
  /** The stored events of a stream after `afterSeq`, oldest first (those evicted are gone). */
  replay(sessionId: string, streamKey: string, afterSeq: number): Promise<StoredEvent[]>;
  /** Forgets the events of a stream the client no longer needs (it was answered and delivered). */
  dropStream(sessionId: string, streamKey: string): void;
  /** Forgets a session (ended, expired). */
  dropSession(sessionId: string): void;
}

export interface MemoryEventStoreOptions {
  /** Events kept per session, across its streams. */
  maxEventsPerSession: number;
  /** Bytes of event data kept per session. */
  maxBytesPerSession: number;
}

interface Entry {
  streamKey: string;
  event: StoredEvent;
}

interface SessionLog {
  entries: Entry[];
  bytes: number;
}

export class MemoryEventStore implements EventStore {
  readonly #options: MemoryEventStoreOptions;
  readonly #sessions = new Map<string, SessionLog>();

  constructor(options: MemoryEventStoreOptions) {
    this.#options = options;
  }

  append(sessionId: string, streamKey: string, event: StoredEvent): void {
    let log = this.#sessions.get(sessionId);
    if (!log) {
      log = { entries: [], bytes: 0 };
      this.#sessions.set(sessionId, log);
    }
    log.entries.push({ streamKey, event });
    log.bytes += event.data.length;
    while (log.entries.length > this.#options.maxEventsPerSession || (log.bytes > this.#options.maxBytesPerSession && log.entries.length > 1)) {
      const evicted = log.entries.shift() as Entry;
      log.bytes -= evicted.event.data.length;
    }
  }

  replay(sessionId: string, streamKey: string, afterSeq: number): Promise<StoredEvent[]> {
    const entries = this.#sessions.get(sessionId)?.entries ?? [];
    return Promise.resolve(entries.filter((e) => e.streamKey === streamKey && e.event.seq > afterSeq).map((e) => e.event));
  }

  dropStream(sessionId: string, streamKey: string): void {
    const log = this.#sessions.get(sessionId);
    if (!log) return;
    log.entries = log.entries.filter((e) => {
      if (e.streamKey !== streamKey) return true;
      log.bytes -= e.event.data.length;
      return false;
    });
  }

  dropSession(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  /** Events held for a session (for tests and metrics). */
  size(sessionId: string): number {
    return this.#sessions.get(sessionId)?.entries.length ?? 0;
  }
}
