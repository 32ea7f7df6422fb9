// The event log: append-only and sequence-numbered. One interface, so a JSONL file or a JetStream
// stream can stand in for the in-memory log later.
import type { Logger } from '../../shared/log.ts';
import { errorMessage } from '../../shared/errors.ts';
import type { SourceChange } from '../sources/source.ts';
import type { ConfigEvent } from './event.ts';

export interface EventLog {
  /** Numbers and stores the changes of one source batch; listeners get them as one array. */
  append(source: string, changes: SourceChange[]): ConfigEvent[];
  /** Retained events with seq >= fromSeq (0: from the oldest retained), at most `limit`, oldest first. */
  list(fromSeq: number, limit?: number): ConfigEvent[];
  /** The seq of the newest event; 0 before the first. */
  readonly lastSeq: number;
  /** Called after each non-empty append, in order. Returns the unsubscribe function. */
  subscribe(listener: (events: ConfigEvent[]) => void): () => void;
}

export interface MemoryEventLogOptions {
  /** How many of the newest events to keep. */
  retention?: number;
  /** The clock, injected so tests control `time`. */
  now?: () => number;
  /** Where a throwing listener is reported; it never stops the others. */
  logger?: Logger;
}

export class MemoryEventLog implements EventLog {
  readonly #retention: number;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<(events: ConfigEvent[]) => void>();
  /** Retained events; trimmed in chunks so appends stay O(1) amortized. */
  #events: ConfigEvent[] = [];
  #lastSeq = 0;

  constructor(options: MemoryEventLogOptions = {}) {
    this.#retention = Math.max(1, options.retention ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  append(source: string, changes: SourceChange[]): ConfigEvent[] {
    if (changes.length === 0) return [];
    const time = this.#now();
    const events = changes.map(({ type, object }): ConfigEvent => ({
      seq: ++this.#lastSeq,
      time,
      source,
      kind: object.kind,
      apiVersion: object.apiVersion,
      namespace: object.metadata.namespace ?? '',
      name: object.metadata.name,
      type,
      object,
    }));
    this.#events.push(...events);
    if (this.#events.length >= this.#retention * 2 || this.#events.length - this.#retention > 1024) {
      this.#events = this.#events.slice(-this.#retention);
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(events);
      } catch (error) {
        this.#logger?.error({ err: errorMessage(error) }, 'event log listener threw');
      }
    }
    return events;
  }

  list(fromSeq: number, limit = Number.POSITIVE_INFINITY): ConfigEvent[] {
    // Seqs are contiguous, so an index is the seq's distance from the oldest retained event.
    const oldest = Math.max(0, this.#events.length - this.#retention);
    const oldestSeq = this.#events[oldest]?.seq ?? this.#lastSeq + 1;
    const start = oldest + Math.max(0, fromSeq - oldestSeq);
    return this.#events.slice(start, start + Math.max(0, limit));
  }

  subscribe(listener: (events: ConfigEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
