// One history shared by every control plane replica (`--event-log nats`), on a JetStream stream
// (history-stream.ts). How it stays one:
//
//  - Every replica runs its source (the apiserver watches) into a view of its own (`sourceView`),
//    but only the leader writes: it appends what its view shows that the history does not (deduped
//    by uid and resourceVersion, else by content), as events numbered after the history's last.
//  - Every replica, the leader too, takes its state only from the stream: events are reduced in
//    stream order, so all replicas hold the same state after the same event.
//  - Builds are records too: the leader translates (debounced) and appends which versions the state
//    after event N made; each replica translates at that record, from the same state, so every
//    replica serves and lists the same versions, byte for byte, whatever its own timing.
//  - Secrets are in the stream redacted, with a fingerprint of their values (secret-fingerprint.ts);
//    each replica reads the Secrets the history names itself (its source watches them by name) and
//    builds with the values whose fingerprint matches, waiting briefly for its watch to catch up.
//  - A new leader first reads the stream to its end, then appends the difference between its view
//    and the history (a change made while nobody led is not lost; one the old leader wrote is not
//    written twice), then builds. Appends name the stream sequence they expect to follow, so a
//    former leader that has not noticed yet cannot write in between (history-stream.ts).
//  - Compaction: when the window holds twice `retention` events (or its oldest are half the
//    stream's max age old), the leader writes the base (the state `retention` events back) to the
//    object store, appends a `compacted` record (each replica moves its own base there) and purges
//    what the base holds. A replica starting up reads the base and the window: never event 1.
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { Kinds } from '../translate/kinds.ts';
import { objectId, type KubeObject, type SourceChange } from '../sources/source.ts';
import { emptyState, reduceAll, type ClusterState } from '../state/reducer.ts';
import type { ConfigEvent } from './event.ts';
import { eventMessages, HistoryConflict, type HistoryBase, type HistoryRecord, type HistoryStream } from './history-stream.ts';
import { MemoryEventLog, numberEvents, type BuildRecord } from './log.ts';
import { sameObject } from './replay.ts';
import { historyForm, holdsValuesOf } from './secret-fingerprint.ts';

export interface ReplicatedHistoryOptions {
  stream: HistoryStream;
  /** The source's name, stamped on the events this replica writes. */
  source: string;
  /** Events kept in the window (`--event-log-retention`); compaction keeps between this and twice this. */
  retention: number;
  /** The stream's max age (0: none): compaction keeps the window younger than half of it. */
  maxAgeMs: number;
  logger: Logger;
  /** How long a build waits for this replica's watch to show the Secret values the history names. Default 5 s. */
  secretWaitMs?: number;
  /** How often the leader checks whether to compact by age. Default a minute. */
  compactCheckMs?: number;
  now?: () => number;
  /** Events applied from the stream, in order. */
  onEvents(events: readonly ConfigEvent[]): void;
  /** A build record applied: the state now is the one it was made from. Awaited before the next record. */
  onBuild(build: BuildRecord, catchingUp: boolean): void | Promise<void>;
  /** This replica leads, has read the stream to its end and appended what its view held: build now. */
  onTakeover(): void;
}

interface Waiter {
  seq: number;
  resolve: () => void;
}

/** Events applied at once from a run of stream records (one reduce, one copy per touched kind). */
const APPLY_BATCH = 1000;
const RETRY_MS = 1000;

export class ReplicatedHistory {
  readonly #options: ReplicatedHistoryOptions;
  readonly #stream: HistoryStream;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Events and builds as the admin API lists them (the window), fed only from the stream. */
  readonly log: MemoryEventLog;
  #state: ClusterState = emptyState();
  #base: { state: ClusterState; eventSeq: number; streamSeq: number } = { state: emptyState(), eventSeq: 0, streamSeq: 0 };
  /** Each event of the window → the stream seq of the message that holds it (a base's position). */
  #streamSeqOf = new Map<number, number>();
  /** Never translated (its Secrets' values are read out of it, nothing more): no derived data. */
  #sourceView: ClusterState = emptyState({ deriveOnArrival: false });
  #sourceSynced = false;
  #sourceChanged: Array<() => void> = [];
  /** Events received and not yet reduced, with the stream seq of the last. */
  #pending: { events: ConfigEvent[]; streamSeq: number } = { events: [], streamSeq: 0 };
  /** The stream seq of the last record applied. */
  #applied = 0;
  #waiters: Waiter[] = [];
  #catchingUp = true;
  #leading = false;
  /** Leader's writes, builds and compactions, one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();
  #resyncTimer: NodeJS.Timeout | undefined;
  #compactTimer: NodeJS.Timeout | undefined;
  #follower: { stop(): void; done: Promise<void> } | undefined;
  #stopped = false;
  /** Records the leader skipped or repaired: seen by tests and the log. */
  readonly anomalies = { duplicates: 0, gaps: 0 };

  constructor(options: ReplicatedHistoryOptions) {
    this.#options = options;
    this.#stream = options.stream;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    // The log keeps the whole window, however large one batch made it: compaction (trimBefore) is
    // what bounds it, and it folds the window's oldest events into the base from this very log.
    this.log = new MemoryEventLog({ retention: Number.POSITIVE_INFINITY, logger: options.logger, now: this.#now });
  }

  /** The state after the last applied event, Secrets in history form (no values). */
  get state(): ClusterState {
    return this.#state;
  }

  /** What this replica's own source shows (Secrets with values). */
  get sourceView(): ClusterState {
    return this.#sourceView;
  }

  get leading(): boolean {
    return this.#leading;
  }

  get streamName(): string {
    return this.#stream.name;
  }

  /** The event seq the base holds the state after: events before it are compacted away. */
  get baseSeq(): number {
    return this.#base.eventSeq;
  }

  /**
   * Reads the base and the window, then follows the stream. Resolves once every record that was in
   * the stream at the start is applied (builds of the window restored through onBuild).
   */
  async start(): Promise<void> {
    const started = performance.now();
    const base = await this.#stream.readBase();
    if (base) this.#rebase(base);
    const { first, last } = await this.#stream.bounds();
    const from = base ? base.streamSeq : 1;
    if (first > from && last > 0) {
      this.anomalies.gaps++;
      this.#logger.error({ stream: this.#stream.name, base: this.#base.streamSeq, first }, 'history stream: records after the base were dropped by the stream\'s limits (max age or max bytes) before a compaction: this replica\'s history starts later; raise --event-log-max-bytes/--event-log-max-age');
    }
    this.#follower = this.#stream.follow(from, (record, seq, pending) => this.#receive(record, seq, pending));
    this.#follower.done.catch((error: unknown) => {
      if (!this.#stopped) this.#logger.error({ err: errorMessage(error), stream: this.#stream.name }, 'history stream: following it failed; this replica serves what it has');
    });
    await this.#waitApplied(last);
    this.#catchingUp = false;
    this.#logger.info({ stream: this.#stream.name, base: this.#base.eventSeq, lastSeq: this.log.lastSeq, records: last - this.#base.streamSeq, ms: Math.round(performance.now() - started) }, 'history read from NATS');
    const every = this.#options.compactCheckMs ?? 60_000;
    this.#compactTimer = setInterval(() => {
      if (this.#leading) this.#enqueue(() => this.#maybeCompact());
    }, every);
    this.#compactTimer.unref();
  }

  /** A batch from this replica's source (upserts with Secret values). */
  sourceBatch(changes: readonly SourceChange[]): void {
    this.#sourceView = reduceAll(this.#sourceView, changes);
    for (const wake of this.#sourceChanged.splice(0)) wake();
    if (this.#leading && this.#sourceSynced) this.#enqueue(() => this.#write(changes));
  }

  /** The source has shown its whole initial state. */
  sourceSynced(): void {
    this.#sourceSynced = true;
    if (this.#leading) this.#enqueue(() => this.#resync());
  }

  setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#logger.info({ stream: this.#stream.name, leading }, leading ? 'leading: this replica writes the history' : 'following: this replica reads the history');
    if (leading && this.#sourceSynced) this.#enqueue(() => this.#resync());
  }

  /**
   * Leader: runs `make` after everything written so far is applied, on that state; when it returns
   * versions, appends them as the build record of the last event. `make` gets that event's seq.
   */
  requestBuild(make: (seq: number) => Record<string, string> | undefined): void {
    if (!this.#leading) return;
    this.#enqueue(async () => {
      if (!this.#leading) return;
      const seq = this.log.lastSeq;
      const versions = make(seq);
      if (!versions || Object.keys(versions).length === 0) return;
      const last = await this.#stream.append([{ build: { seq, time: this.#now(), versions } }], this.#applied);
      await this.#waitApplied(last);
    });
  }

  /**
   * The state to translate: the history's, with each Secret's values from this replica's source
   * when their fingerprint matches. `missing`: Secrets whose values it does not (yet) hold.
   */
  buildState(at: ClusterState = this.#state): { state: ClusterState; missing: string[] } {
    const secrets = at.list(Kinds.Secret);
    if (secrets.length === 0) return { state: at, missing: [] };
    const missing: string[] = [];
    const withValues: SourceChange[] = [];
    for (const held of secrets) {
      const read = this.#sourceView.get(Kinds.Secret, held.metadata.namespace ?? '', held.metadata.name);
      // A delete first: the reducer keeps an object it holds at the same uid and resourceVersion.
      if (read && holdsValuesOf(held, read)) withValues.push({ type: 'delete', object: held }, { type: 'upsert', object: read });
      else missing.push(`${held.metadata.namespace ?? ''}/${held.metadata.name}`);
    }
    return { state: reduceAll(at, withValues), missing };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#leading = false;
    clearTimeout(this.#resyncTimer);
    clearInterval(this.#compactTimer);
    this.#follower?.stop();
    // Waiters first: a job waiting for the stream (NATS gone) must not hold the stop.
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    await this.#queue;
  }

  // ---- reading the stream ----

  async #receive(record: HistoryRecord, seq: number, pending: number): Promise<void> {
    try {
      if ('events' in record) {
        this.#pending.events.push(...record.events);
        this.#pending.streamSeq = seq;
        for (const event of record.events) this.#streamSeqOf.set(event.seq, seq);
        if (pending === 0 || this.#pending.events.length >= APPLY_BATCH) this.#flush();
        return;
      }
      this.#flush();
      if ('build' in record) await this.#applyBuild(record.build);
      else if ('compacted' in record) this.#applyCompaction(record.compacted);
    } catch (error) {
      this.#logger.error({ err: errorMessage(error), seq, stream: this.#stream.name }, 'history stream: a record could not be applied');
    }
    this.#markApplied(seq);
  }

  /** Reduces the received events (in order, duplicates dropped) and tells the control plane. */
  #flush(): void {
    const { events: received, streamSeq } = this.#pending;
    if (received.length === 0) return;
    this.#pending = { events: [], streamSeq: 0 };
    const events: ConfigEvent[] = [];
    let last = this.log.lastSeq;
    for (const event of received) {
      // The message a base falls in is read again from its start: what the base holds is skipped.
      if (event.seq <= this.#base.eventSeq) continue;
      if (event.seq <= last) {
        // Only a writer that ignored the expected sequence could do this: never applied twice.
        this.anomalies.duplicates++;
        this.#logger.warn({ seq: event.seq, lastSeq: last }, 'history stream: an event repeats a sequence number already applied; skipped');
        continue;
      }
      if (event.seq !== last + 1) {
        this.anomalies.gaps++;
        this.#logger.error({ seq: event.seq, expected: last + 1 }, 'history stream: events are missing (dropped by the stream\'s limits); the state may be incomplete until the leader resyncs');
      }
      last = event.seq;
      events.push(event);
    }
    if (events.length > 0) {
      this.#state = reduceAll(this.#state, events);
      this.log.ingest(events);
      this.#options.onEvents(events);
    }
    this.#markApplied(streamSeq);
  }

  async #applyBuild(build: BuildRecord): Promise<void> {
    if (build.seq !== this.log.lastSeq) {
      this.#logger.warn({ build: build.seq, lastSeq: this.log.lastSeq }, 'history stream: a build record does not follow its event; applied to the current state');
    }
    if (!this.#catchingUp) await this.secretsReady();
    await this.#options.onBuild(build, this.#catchingUp);
    this.log.recordBuild(build);
  }

  #applyCompaction(compacted: { eventSeq: number; streamSeq: number }): void {
    if (compacted.eventSeq <= this.#base.eventSeq) return;
    const folded = this.log.list(this.#base.eventSeq + 1).filter((event) => event.seq <= compacted.eventSeq);
    this.#base = { state: reduceAll(this.#base.state, folded), eventSeq: compacted.eventSeq, streamSeq: compacted.streamSeq };
    this.log.trimBefore(compacted.eventSeq + 1);
    for (const seq of this.#streamSeqOf.keys()) if (seq <= compacted.eventSeq) this.#streamSeqOf.delete(seq);
  }

  /** Starts from a base read from the object store. */
  #rebase(base: HistoryBase): void {
    const state = reduceAll(emptyState(), base.objects.map((object) => ({ type: 'upsert' as const, object })));
    this.#base = { state, eventSeq: base.eventSeq, streamSeq: base.streamSeq };
    this.#state = state;
    this.log.trimBefore(base.eventSeq + 1);
    // The message holding the base's last event is read again (its later events are not in the base).
    this.#applied = Math.max(this.#applied, base.streamSeq - 1);
  }

  #markApplied(seq: number): void {
    if (seq <= this.#applied) return;
    this.#applied = seq;
    if (this.#waiters.length === 0) return;
    const due = this.#waiters.filter((waiter) => waiter.seq <= seq);
    this.#waiters = this.#waiters.filter((waiter) => waiter.seq > seq);
    for (const waiter of due) waiter.resolve();
  }

  #waitApplied(seq: number): Promise<void> {
    if (seq <= this.#applied || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  /** Waits (at most `ms`, default secretWaitMs) until this replica's source holds the values of every Secret the history names. */
  async secretsReady(ms = this.#options.secretWaitMs ?? 5000): Promise<void> {
    const deadline = performance.now() + ms;
    for (;;) {
      const { missing } = this.buildState();
      if (missing.length === 0) return;
      const left = deadline - performance.now();
      if (left <= 0 || this.#stopped) {
        this.#logger.warn({ secrets: missing }, 'building without the values of Secrets the history names: this replica\'s watch has not shown them (yet); targets using them have no credential until it does');
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#sourceChanged.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  // ---- writing (leader) ----

  #enqueue(job: () => Promise<void>): void {
    this.#queue = this.#queue.then(async () => {
      if (this.#stopped || !this.#leading) return;
      try {
        await job();
        await this.#maybeCompact(true);
      } catch (error) {
        const conflict = error instanceof HistoryConflict;
        this.#logger[conflict ? 'warn' : 'error']({ err: errorMessage(error), stream: this.#stream.name }, conflict ? 'history stream: another replica wrote; reading the stream again' : 'history stream: cannot write; retrying');
        clearTimeout(this.#resyncTimer);
        this.#resyncTimer = setTimeout(() => this.#enqueue(() => this.#resync()), conflict ? 0 : RETRY_MS);
      }
    });
  }

  /** Reads the stream to its end, then appends everything the source view holds that the history does not. */
  async #resync(): Promise<void> {
    const { last } = await this.#stream.bounds();
    await this.#waitApplied(last);
    const changes: SourceChange[] = [];
    const seen = new Set<string>();
    for (const kind of this.#sourceView.kinds()) {
      for (const object of this.#sourceView.list(kind)) {
        seen.add(objectId(object));
        const held = this.#state.get(kind, object.metadata.namespace ?? '', object.metadata.name);
        if (!held || !sameObject(held, historyForm(object))) changes.push({ type: 'upsert', object });
      }
    }
    for (const kind of this.#state.kinds()) {
      for (const object of this.#state.list(kind)) if (!seen.has(objectId(object))) changes.push({ type: 'delete', object });
    }
    if (changes.length > 0) {
      const objects = changes.slice(0, 10).map((change) => `${change.type} ${objectId(change.object)}`);
      this.#logger.info({ changes: changes.length, objects, lastSeq: this.log.lastSeq }, 'leader: appending what changed while the history was not written');
    }
    await this.#append(changes);
    this.#options.onTakeover();
  }

  /** Appends a source batch's changes the history does not already hold. */
  async #write(batch: readonly SourceChange[]): Promise<void> {
    const changes: SourceChange[] = [];
    for (const change of batch) {
      const { object } = change;
      const id = objectId(object);
      const held = this.#state.get(id.slice(0, id.indexOf('|')), object.metadata.namespace ?? '', object.metadata.name);
      if (change.type === 'delete' ? held !== undefined : !held || !sameObject(held, historyForm(object))) changes.push(change);
    }
    await this.#append(changes);
  }

  async #append(changes: readonly SourceChange[]): Promise<void> {
    if (changes.length === 0) return;
    const events = numberEvents(
      this.#options.source,
      changes.map((change) => ({ type: change.type, object: historyForm(change.object) })),
      this.log.lastSeq + 1,
      this.#now(),
    );
    const last = await this.#stream.appendText(eventMessages(events), this.#applied);
    await this.#waitApplied(last);
  }

  /** Moves the base (see the header) when the window has grown past twice the retention, or by age. */
  async #maybeCompact(countOnly = false): Promise<void> {
    const retention = Math.max(1, this.#options.retention);
    const last = this.log.lastSeq;
    let target = last - this.#base.eventSeq >= 2 * retention ? last - retention : 0;
    if (!countOnly && this.#options.maxAgeMs > 0) {
      const cutoff = this.#now() - this.#options.maxAgeMs / 2;
      const old = this.log.list(this.#base.eventSeq + 1).filter((event) => event.time < cutoff).at(-1);
      if (old) target = Math.max(target, old.seq);
    }
    if (target <= this.#base.eventSeq) return;
    // The base may fall inside a message: the message stays, and readers skip what the base holds.
    const streamSeq = this.#streamSeqOf.get(target);
    if (streamSeq === undefined) return;
    const folded = this.log.list(this.#base.eventSeq + 1).filter((event) => event.seq <= target);
    const state = reduceAll(this.#base.state, folded);
    const objects: KubeObject[] = state.kinds().flatMap((kind) => [...state.list(kind)]);
    const started = performance.now();
    await this.#stream.writeBase({ eventSeq: target, streamSeq, time: this.#now(), objects });
    const appended = await this.#stream.append([{ compacted: { eventSeq: target, streamSeq } }], this.#applied);
    await this.#waitApplied(appended);
    await this.#stream.purgeBefore(streamSeq);
    this.#logger.info({ stream: this.#stream.name, base: target, objects: objects.length, window: last - target, ms: Math.round(performance.now() - started) }, 'history compacted');
  }
}
