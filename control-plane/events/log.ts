// The event log: append-only and sequence-numbered. One interface, so a JSONL file or a JetStream
// stream can stand in for the in-memory log later.
import type { Logger } from '../../shared/log.ts';
import { errorMessage } from '../../shared/errors.ts';
import type { SourceChange } from '../sources/source.ts';
import type { ConfigEvent } from './event.ts';

/** A snapshot build: which versions the state after event `seq` produced (only groups that changed). */
export interface BuildRecord {
  seq: number;
  time: number;
  /** group → version; a group that disappeared maps to "". */
  versions: Record<string, string>;
}

export interface EventLog {
  /** Numbers and stores the changes of one source batch; listeners get them as one array. */
  append(source: string, changes: SourceChange[]): ConfigEvent[];
  /** Retained events with seq >= fromSeq (0: from the oldest retained), at most `limit`, oldest first. */
  list(fromSeq: number, limit?: number): ConfigEvent[];
  /** The seq of the newest event; 0 before the first. */
  readonly lastSeq: number;
  /** Called after each non-empty append, in order. Returns the unsubscribe function. */
  subscribe(listener: (events: ConfigEvent[]) => void): () => void;
  /** Notes that the state after event `seq` built these versions (history: which event made each version). */
  recordBuild(build: BuildRecord): void;
  /** Retained builds, oldest first. */
  builds(): BuildRecord[];
}

export interface MemoryEventLogOptions {
  /** How many of the newest events to keep. */
  retention?: number;
  /** The clock, injected so tests control `time`. */
  now?: () => number;
  /** Where a throwing listener is reported; it never stops the others. */
  logger?: Logger;
  /** Events and builds to start from (a persisted log read back), oldest first; `lastSeq` when no event is kept. */
  restored?: { events: ConfigEvent[]; builds: BuildRecord[]; lastSeq?: number };
}

export class MemoryEventLog implements EventLog {
  readonly #retention: number;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<(events: ConfigEvent[]) => void>();
  /** Retained events; trimmed in chunks so appends stay O(1) amortized. */
  #events: ConfigEvent[] = [];
  #builds: BuildRecord[] = [];
  #lastSeq = 0;

  constructor(options: MemoryEventLogOptions = {}) {
    this.#retention = Math.max(1, options.retention ?? 10_000);
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    if (options.restored) {
      this.#events = options.restored.events.slice(-this.#retention);
      this.#builds = options.restored.builds.slice(-this.#retention);
      this.#lastSeq = options.restored.events.at(-1)?.seq ?? options.restored.lastSeq ?? 0;
    }
  }

  recordBuild(build: BuildRecord): void {
    this.#builds.push(build);
    if (this.#builds.length >= this.#retention * 2) this.#builds = this.#builds.slice(-this.#retention);
  }

  builds(): BuildRecord[] {
    return this.#builds.slice(-this.#retention);
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  append(source: string, changes: SourceChange[]): ConfigEvent[] {
    if (changes.length === 0) return [];
    const events = numberEvents(source, changes, this.#lastSeq + 1, this.#now());
    this.ingest(events);
    return events;
  }

  /**
   * Takes events numbered elsewhere (a shared history's writer), in order, each after lastSeq: the
   * listeners hear of them as of appended ones.
   */
  ingest(events: readonly ConfigEvent[]): void {
    if (events.length === 0) return;
    if (events[0]!.seq <= this.#lastSeq) throw new Error(`event log: seq ${events[0]!.seq} does not follow ${this.#lastSeq}`);
    this.#lastSeq = events.at(-1)!.seq;
    this.#events.push(...events);
    if (this.#events.length >= this.#retention * 2 || this.#events.length - this.#retention > 1024) {
      this.#events = this.#events.slice(-this.#retention);
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(events as ConfigEvent[]);
      } catch (error) {
        this.#logger?.error({ err: errorMessage(error) }, 'event log listener threw');
      }
    }
  }

  /**
   * Forgets the events and builds before `seq` (a shared history compacted them into its base), and
   * moves lastSeq up to `seq - 1` when it is behind (a replica that starts from that base).
   */
  trimBefore(seq: number): void {
    const first = this.#events.findIndex((event) => event.seq >= seq);
    this.#events = first < 0 ? [] : this.#events.slice(first);
    this.#builds = this.#builds.filter((build) => build.seq >= seq - 1);
    this.#lastSeq = Math.max(this.#lastSeq, seq - 1);
  }

  list(fromSeq: number, limit = Number.POSITIVE_INFINITY): ConfigEvent[] {
    // Seqs increase but may have gaps (a compacted log keeps only each object's last event before
    // its window), so the start is found by binary search.
    let lo = Math.max(0, this.#events.length - this.#retention);
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#events[mid]!.seq < fromSeq) lo = mid + 1;
      else hi = mid;
    }
    return this.#events.slice(lo, lo + Math.max(0, limit));
  }

  subscribe(listener: (events: ConfigEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Source changes as events numbered from `first`, all stamped `time`. */
export function numberEvents(source: string, changes: readonly SourceChange[], first: number, time: number): ConfigEvent[] {
  return changes.map(({ type, object }, i): ConfigEvent => ({
    seq: first + i,
    time,
    source,
    kind: object.kind,
    apiVersion: object.apiVersion,
    namespace: object.metadata.namespace ?? '',
    name: object.metadata.name,
    type,
    object,
  }));
}
