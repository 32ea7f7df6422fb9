// The replicas' shared SSE event log on NATS JetStream: one stream `<prefix>-events`, one subject per
// session and SSE stream (`<prefix>.events.<sessionId>.<streamKey>`), so any replica can replay a
// stream after Last-Event-ID, or follow one that another replica is writing. An event's id is its
// JetStream stream sequence: one counter for the whole fleet, increasing, never reused.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  Events,
  NatsError,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import { addOrUpdateStream } from '../../shared/net/jetstream-stream.ts';

export interface EventLogOptions {
  /** Stream name prefix; the stream is `<prefix>-events`, subjects `<prefix>.events.<sessionId>.<streamKey>`. */
  prefix: string;
  /** Events kept per session stream (oldest dropped first): stream max_msgs_per_subject. */
  maxEventsPerStream: number;
  /** Events older than this are dropped (the session idle TTL): stream max_age. */
  maxAgeMs: number;
  /** Copies JetStream keeps of the stream (1, or 3 on a clustered NATS so losing a server loses nothing). Default 1. */
  replicas?: number;
}

export interface LoggedEvent {
  /** The JetStream stream sequence: increasing across replicas. */
  seq: number;
  data: string;
}

export interface Follower {
  stop(): void;
  /**
   * Resolves once the stored backlog (the events that existed when follow() was called) was
   * delivered, or at once when there was none; also resolves on stop() before that. Rejects when
   * the follower failed first (as `closed` tells).
   */
  readonly caughtUp: Promise<void>;
  /** Resolves when the follower has ended: undefined after stop() or close(), the error if it failed for good. */
  readonly closed: Promise<Error | undefined>;
}

const DEFAULT_APPEND_TIMEOUT_MS = 2000;
const DEFAULT_REPLAY_TIMEOUT_MS = 5000;
/** A follower's pull request lives this long (then the next one); the server's idle heartbeat is half. */
const PULL_EXPIRES_MS = 10_000;
/** A follower's consumer that nobody pulls from (its replica died) is deleted after this. */
const INACTIVE_THRESHOLD_MS = 30_000;
/** Between a lost consumer and the next one, jittered; the last one repeats. */
const RETRY_DELAYS_MS = [100, 500, 1000, 2000];

/** A NATS subject token we can put a caller's value in: no separators, wildcards, spaces or controls. */
const TOKEN = /^[^\s.*>\u0000-\u001f\u007f]+$/u;
const PREFIX = /^[A-Za-z0-9_-]+$/;

const encoder = new TextEncoder();

export class JetStreamEventLog {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #prefix: string;
  readonly #stream: string;
  readonly #followers = new Set<StreamFollower>();
  /** From the connection's status events: while false, append() fails at once instead of queueing. */
  #connected = true;
  #closed = false;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, prefix: string) {
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#jsm = jsm;
    this.#prefix = prefix;
    this.#stream = `${prefix}-events`;
    void this.#watchConnection();
  }

  /** Creates the stream, or brings an existing one to these limits (the last replica to start wins). */
  static async open(nc: NatsConnection, options: EventLogOptions): Promise<JetStreamEventLog> {
    const { prefix, maxEventsPerStream, maxAgeMs } = options;
    if (!PREFIX.test(prefix)) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `event log prefix ${JSON.stringify(prefix)} must be letters, digits, - or _`);
    if (!Number.isSafeInteger(maxEventsPerStream) || maxEventsPerStream < 1) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `maxEventsPerStream must be a positive integer, not ${maxEventsPerStream}`);
    if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 1) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `maxAgeMs must be a positive integer, not ${maxAgeMs}`);
    const jsm = await nc.jetstreamManager();
    const name = `${prefix}-events`;
    const limits = {
      max_msgs_per_subject: maxEventsPerStream,
      max_age: nanos(maxAgeMs),
      // Set, not left to the server: an update that lowers max_age below the previous window fails.
      // We publish no message ids, so the window only has to be valid.
      duplicate_window: nanos(Math.min(maxAgeMs, 120_000)),
    };
    await addOrUpdateStream(
      jsm,
      { name, subjects: [`${prefix}.events.>`], storage: StorageType.File, num_replicas: options.replicas ?? 1, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old },
      limits,
    );
    return new JetStreamEventLog(nc, jsm, prefix);
  }

  /** Appends and resolves with the event's seq once JetStream has stored it. */
  async append(sessionId: string, streamKey: string, data: string, timeoutMs = DEFAULT_APPEND_TIMEOUT_MS): Promise<number> {
    const subject = this.#subject(sessionId, streamKey);
    this.#checkOpen();
    // nats.js queues a publish while it reconnects and sends it later: an event we reported as
    // failed would then appear after all. So no publish while we know we are disconnected.
    if (!this.#connected) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', 'cannot store the event: NATS is disconnected');
    try {
      const ack = await this.#js.publish(subject, encoder.encode(data), { timeout: timeoutMs });
      return ack.seq;
    } catch (error) {
      if (error instanceof NatsError && error.code === 'MAX_PAYLOAD_EXCEEDED') {
        throw new McpmuxError('MCPMUX_LIMIT_EXCEEDED', `the event is larger than the NATS server's max_payload (${this.#nc.info?.max_payload ?? '?'} bytes)`, { cause: error });
      }
      throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot store the event in NATS JetStream: ${errorMessage(error)}`, { cause: error });
    }
  }

  /**
   * Delivers, in order, every stored event of the stream with seq > afterSeq, then every later one
   * as it is appended (by any replica), until stop(). onEvent is never called concurrently and never
   * after stop(); if it throws, the follower ends with that error.
   */
  follow(sessionId: string, streamKey: string, afterSeq: number, onEvent: (event: LoggedEvent) => void): Follower {
    return this.#follow(this.#subject(sessionId, streamKey), afterSeq, onEvent, false);
  }

  /** The stored events with seq > afterSeq (one-shot, for a stream that has ended). */
  async replay(sessionId: string, streamKey: string, afterSeq: number, timeoutMs = DEFAULT_REPLAY_TIMEOUT_MS): Promise<LoggedEvent[]> {
    const subject = this.#subject(sessionId, streamKey);
    const events: LoggedEvent[] = [];
    // A follower that stops itself, inside its callback, at the last event of the backlog.
    const follower = this.#follow(subject, afterSeq, (event) => events.push(event), true);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot replay the events: NATS JetStream did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([follower.caughtUp, timedOut]);
    } catch (error) {
      throw error instanceof McpmuxError ? error : new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot replay the events: ${errorMessage(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      follower.stop();
    }
    return events;
  }

  /** Purges a session's events (all its streams). Best effort: they expire with max_age anyway. */
  async dropSession(sessionId: string): Promise<void> {
    checkToken('session id', sessionId);
    try {
      await this.#jsm.streams.purge(this.#stream, { filter: `${this.#prefix}.events.${sessionId}.>` });
    } catch {
      // Unreachable NATS or a missing stream: nothing more to do here.
    }
  }

  /** Stops every follower. The connection is the caller's: it stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    const followers = [...this.#followers];
    for (const follower of followers) follower.stop();
    await Promise.all(followers.map((f) => f.closed));
  }

  #follow(subject: string, afterSeq: number, onEvent: (event: LoggedEvent) => void, stopWhenCaughtUp: boolean): Follower {
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new McpmuxError('MCPMUX_INVALID_REQUEST', `an event id must be a non-negative integer, not ${afterSeq}`);
    this.#checkOpen();
    const follower = new StreamFollower(this.#js, this.#jsm, () => this.#connected, this.#stream, subject, afterSeq, onEvent, stopWhenCaughtUp);
    this.#followers.add(follower);
    void follower.closed.then(() => this.#followers.delete(follower));
    return follower;
  }

  #subject(sessionId: string, streamKey: string): string {
    checkToken('session id', sessionId);
    checkToken('stream key', streamKey);
    return `${this.#prefix}.events.${sessionId}.${streamKey}`;
  }

  #checkOpen(): void {
    if (this.#closed) throw new McpmuxError('MCPMUX_INTERNAL', 'the event log is closed');
  }

  async #watchConnection(): Promise<void> {
    // Ends the followers when the connection closes for good: nats.js would leave them waiting.
    void this.#nc.closed().then(() => {
      for (const follower of this.#followers) follower.fail(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', 'the NATS connection is closed'));
    });
    for await (const status of this.#nc.status()) {
      if (status.type === Events.Disconnect) this.#connected = false;
      else if (status.type === Events.Reconnect) this.#connected = true;
    }
  }
}

function checkToken(what: string, value: string): void {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new McpmuxError('MCPMUX_INVALID_REQUEST', `${what} ${JSON.stringify(value)} is not valid: it must be non-empty, without '.', '*', '>' or whitespace`);
  }
}

/**
 * One follow(): an ephemeral, unacknowledged pull consumer filtered on the one subject, started
 * after the last event delivered, and replaced by a new one started after the last event delivered
 * whenever it is lost (a NATS restart, the consumer deleted, a gap in its delivery sequence).
 *
 * Not the nats.js ordered consumer, which does the same: stopping it while it is recreating its
 * consumer leaves the new one pulling (on the server and in the client) for good, and two of its
 * recreations can run at once (a missed heartbeat during a slow one). Here one loop owns the
 * consumer, and deletes each one it is done with.
 */
class StreamFollower implements Follower {
  readonly caughtUp: Promise<void>;
  readonly closed: Promise<Error | undefined>;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #connected: () => boolean;
  readonly #stream: string;
  readonly #subject: string;
  readonly #onEvent: (event: LoggedEvent) => void;
  readonly #stopWhenCaughtUp: boolean;
  #resolveCaughtUp!: () => void;
  #rejectCaughtUp!: (error: Error) => void;
  #resolveClosed!: (error: Error | undefined) => void;
  /** Resolves on stop() or fail(): interrupts whatever the loop waits for. */
  readonly #ended: Promise<void>;
  #end!: () => void;
  /** Events stored when the first consumer was created (its num_pending); undefined until then. */
  #backlog: number | undefined;
  #delivered = 0;
  #lastSeq: number;
  #isCaughtUp = false;
  #stopped = false;

  constructor(js: JetStreamClient, jsm: JetStreamManager, connected: () => boolean, stream: string, subject: string, afterSeq: number, onEvent: (event: LoggedEvent) => void, stopWhenCaughtUp: boolean) {
    this.#js = js;
    this.#jsm = jsm;
    this.#connected = connected;
    this.#stream = stream;
    this.#subject = subject;
    this.#onEvent = onEvent;
    this.#stopWhenCaughtUp = stopWhenCaughtUp;
    this.#lastSeq = afterSeq;
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.#resolveCaughtUp = resolve;
      this.#rejectCaughtUp = reject;
    });
    // Handled here so that a caller who never awaits caughtUp does not crash on a failure.
    this.caughtUp.catch(() => {});
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    void this.#run();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#markCaughtUp();
    this.#resolveClosed(undefined);
    this.#end();
  }

  /** Ends the follower with an error. */
  fail(error: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#rejectCaughtUp(error);
    this.#resolveClosed(error);
    this.#end();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      // The first consumer decides whether the follow can start at all: the caller hears of it
      // (caughtUp rejects) rather than waiting on a stream that may never come. Later ones are
      // retried until stop(). No request while disconnected: nats.js would queue it, and make a
      // consumer on reconnect that nobody uses.
      const first = this.#backlog === undefined;
      let info: ConsumerInfo;
      try {
        if (!this.#connected()) throw new Error('NATS is disconnected');
        info = await this.#jsm.consumers.add(this.#stream, {
          filter_subject: this.#subject,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.#lastSeq + 1,
          ack_policy: AckPolicy.None,
          mem_storage: true,
          num_replicas: 1,
          // Ours pulls all the time: this only collects the consumers of a replica that died.
          inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
        });
      } catch (error) {
        if (first) return this.fail(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot follow the event stream: ${errorMessage(error)}`, { cause: error }));
        await this.#pause(failures++);
        continue;
      }
      failures = 0;
      if (first) {
        this.#backlog = info.num_pending;
        this.#checkCaughtUp(undefined);
      }
      // After a gap the next consumer comes at once; after a loss, shortly.
      if (await this.#consume(info)) await this.#pause(failures++);
    }
  }

  /** Delivers from one consumer until it is lost (true) or has a gap (false), or the follower ends. */
  async #consume(info: ConsumerInfo): Promise<boolean> {
    const consumer = this.#js.consumers.getPullConsumerFor(info);
    let messages: ConsumerMessages | undefined;
    try {
      if (this.#stopped) return false;
      let expected = 1;
      let resolveGap!: () => void;
      const gap = new Promise<'gap'>((resolve) => (resolveGap = () => resolve('gap')));
      messages = await consumer.consume({
        expires: PULL_EXPIRES_MS,
        // A missing consumer or stream (after a NATS restart, or deleted) ends the pull with an
        // error, and this loop makes a new consumer, instead of nats.js retrying the old one.
        abort_on_missing_resource: true,
        // nats.js calls this from its subscription, one message at a time.
        callback: (m) => {
          if (expected === 0) return;
          // A message JetStream sent that we did not get (ack none: it will not come again).
          if (m.info.deliverySequence !== expected) {
            expected = 0;
            resolveGap();
            return;
          }
          expected++;
          this.#receive(m);
        },
      });
      const outcome = await Promise.race([messages.closed(), gap, this.#ended]);
      return outcome !== 'gap';
    } catch {
      return true;
    } finally {
      messages?.stop();
      consumer.delete().catch(() => {});
    }
  }

  #receive(m: JsMsg): void {
    if (this.#stopped) return;
    // Never backwards, whatever a replacement consumer starts with.
    if (m.seq <= this.#lastSeq) return;
    this.#lastSeq = m.seq;
    this.#delivered++;
    try {
      this.#onEvent({ seq: m.seq, data: m.string() });
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#checkCaughtUp(m.info.pending);
  }

  #checkCaughtUp(pending: number | undefined): void {
    if (this.#isCaughtUp || this.#backlog === undefined) return;
    // Counting covers a backlog that grows while it is delivered; pending 0, one that shrank
    // (events dropped by the per-stream bound or max_age before we got to them).
    if (pending === 0 || this.#delivered >= this.#backlog) {
      this.#markCaughtUp();
      if (this.#stopWhenCaughtUp) this.stop();
    }
  }

  #markCaughtUp(): void {
    if (this.#isCaughtUp) return;
    this.#isCaughtUp = true;
    this.#resolveCaughtUp();
  }

  /** Waits before another consumer (longer after each failure), or until the follower ends. */
  async #pause(attempt: number): Promise<void> {
    const ms = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms * (0.5 + Math.random())))), this.#ended]);
    clearTimeout(timer);
  }
}
