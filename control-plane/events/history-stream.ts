// The control plane's shared history on NATS JetStream: one stream (`--event-log-stream`, default
// MCPMUX_EVENTS) on one subject, holding in order the events the leader appended, the builds it
// made of them and the compactions it did; and one object store entry, the base: the state at the
// start of the retained window, so a replica starting up reads the base and the window, never the
// whole history. This module is the I/O only: what the records mean is replicated-history.ts.
//
// One writer at a time, whatever the lease says: every append names the stream sequence it expects
// to follow (Nats-Expected-Last-Sequence), so a leader that lost its lease without knowing yet
// cannot interleave its events with the new leader's. Its append fails (HistoryConflict), and it
// reads the stream again before it writes anything more.
import {
  DeliverPolicy,
  DiscardPolicy,
  NatsError,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type ObjectStore,
  type StreamConfig,
} from 'nats';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import { addOrUpdateStream } from '../../shared/net/jetstream-stream.ts';
import type { Logger } from '../../shared/log.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ConfigEvent } from './event.ts';
import type { BuildRecord } from './log.ts';

/** One message of the stream. Events are in history form (secret-fingerprint.ts). */
export type HistoryRecord =
  /** Events in order, numbered one after another (as many as fit in one message: eventMessages()). */
  | { events: ConfigEvent[] }
  /** The leader built these versions from the state after event `build.seq`. */
  | { build: BuildRecord }
  /** The base moved to the state after event `compacted.eventSeq`, held in the message at `streamSeq`: older records are going. */
  | { compacted: { eventSeq: number; streamSeq: number } };

/** The state at the start of the window: every object alive after event `eventSeq`, in history form. */
export interface HistoryBase {
  eventSeq: number;
  /** The stream seq of the message holding event `eventSeq`: a replica reads from there, skipping what the base holds. */
  streamSeq: number;
  /** When the base was written (ms since the epoch). */
  time: number;
  objects: KubeObject[];
}

export interface HistoryStreamOptions {
  /** JetStream stream name (letters, digits, - and _). */
  stream: string;
  /** Records older than this are dropped by JetStream (stream max_age); 0: kept until compacted. */
  maxAgeMs: number;
  /** The stream's size limit (max_bytes); the oldest records go first. */
  maxBytes: number;
  /** Copies JetStream keeps (1, or 3 on a clustered NATS). */
  replicas: number;
  logger: Logger;
}

/** An append that did not follow the sequence the writer expected: someone else wrote. */
export class HistoryConflict extends McpmuxError {
  constructor(expected: number, cause: unknown) {
    super('MCPMUX_FLEET_UNAVAILABLE', `the history stream moved past seq ${expected} (another control plane replica appended): reading it again`, { cause });
  }
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,200}$/;
/** JetStream: "wrong last sequence". */
const WRONG_LAST_SEQUENCE = 10071;
const BASE_OBJECT = 'base';
/** Below NATS's default max_payload (1 MiB), with room for headers. */
const MESSAGE_BYTES = 768 * 1024;
const APPEND_TIMEOUT_MS = 5000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class HistoryStream {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #store: ObjectStore;
  readonly #logger: Logger;
  readonly name: string;
  readonly subject: string;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, store: ObjectStore, name: string, logger: Logger) {
    this.#js = js;
    this.#jsm = jsm;
    this.#store = store;
    this.#logger = logger;
    this.name = name;
    this.subject = `mcpmux.history.${name}`;
  }

  /** Creates the stream and the base's object store, or brings an existing stream to these limits. */
  static async open(nc: NatsConnection, options: HistoryStreamOptions): Promise<HistoryStream> {
    if (!STREAM_NAME.test(options.stream)) throw new McpmuxError('MCPMUX_USAGE', `--event-log-stream ${JSON.stringify(options.stream)}: use letters, digits, - and _`);
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const limits = {
      max_age: nanos(Math.max(0, options.maxAgeMs)),
      max_bytes: options.maxBytes > 0 ? options.maxBytes : -1,
      // We publish no message ids; the window only has to be valid (below max_age when there is one).
      duplicate_window: nanos(options.maxAgeMs > 0 ? Math.min(options.maxAgeMs, 120_000) : 120_000),
    };
    const config: Partial<StreamConfig> & { name: string } = {
      name: options.stream,
      subjects: [`mcpmux.history.${options.stream}`],
      storage: StorageType.File,
      num_replicas: options.replicas,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
    };
    await addOrUpdateStream(jsm, config, limits).catch((error: unknown) => {
      throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot create the history stream ${options.stream} on NATS (is JetStream on?): ${errorMessage(error)}`, { cause: error });
    });
    const bucket = `${options.stream}_base`;
    // nats.js 2.29 copies its `replicas` option into the stream configuration, which the server
    // refuses ("unknown field"): the object store's stream is made here, as nats.js would make it.
    await jsm.streams.info(`OBJ_${bucket}`).catch(async () => {
      await jsm.streams.add({
        name: `OBJ_${bucket}`,
        subjects: [`$O.${bucket}.C.>`, `$O.${bucket}.M.>`],
        storage: StorageType.File,
        num_replicas: options.replicas,
        allow_direct: true,
        allow_rollup_hdrs: true,
        discard: DiscardPolicy.New,
      });
    });
    const store = await js.views.os(bucket);
    return new HistoryStream(js, jsm, store, options.stream, options.logger);
  }

  /** The stream's first and last sequence (0 and 0 when empty; first > last after a purge of everything). */
  async bounds(): Promise<{ first: number; last: number }> {
    const info = await this.#jsm.streams.info(this.name);
    return { first: info.state.first_seq, last: info.state.last_seq };
  }

  /**
   * Appends records in order after stream seq `after` (what the writer has read). Resolves with the
   * seq of the last one; rejects with HistoryConflict when the stream had moved on.
   */
  async append(records: readonly HistoryRecord[], after: number): Promise<number> {
    return this.appendText(records.map((record) => JSON.stringify(record)), after);
  }

  /** append() of records already in JSON text (eventMessages()). */
  async appendText(records: readonly string[], after: number): Promise<number> {
    // Pipelined: each expects the one before it, so a conflict fails the first and every later one.
    const acks = records.map((record, i) => this.#js.publish(this.subject, encoder.encode(record), { expect: { lastSequence: after + i }, timeout: APPEND_TIMEOUT_MS }));
    const settled = await Promise.allSettled(acks);
    let last = after;
    for (const [i, outcome] of settled.entries()) {
      if (outcome.status === 'fulfilled') {
        last = outcome.value.seq;
        continue;
      }
      const error = outcome.reason as unknown;
      if (error instanceof NatsError && error.api_error?.err_code === WRONG_LAST_SEQUENCE) throw new HistoryConflict(after + i, error);
      throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot append to the history stream ${this.name}: ${errorMessage(error)}`, { cause: error });
    }
    return last;
  }

  /**
   * Reads the stream from `from` on, in order, and then each new record, until stop(). `handle` is
   * awaited before the next record (a build waits for what it needs); `pending` is how many more the
   * stream held when this one was delivered (0: caught up, for now). nats.js's ordered consumer
   * makes a new consumer after a gap or a short reconnect; when it ends anyway, another one starts
   * after the last record handled.
   */
  follow(from: number, handle: (record: HistoryRecord, seq: number, pending: number) => Promise<void> | void): { stop(): void; done: Promise<void> } {
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    let next = Math.max(1, from);
    let wake: (() => void) | undefined;
    const done = (async () => {
      // A consumer can end (NATS restarted, the stream was recreated, a long disconnect): a new one
      // starts after the last record handled, so a follower never stops for good while running.
      for (let failures = 0; !stopped; ) {
        try {
          const consumer = await this.#js.consumers.get(this.name, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next });
          if (stopped) return;
          messages = await consumer.consume({ max_messages: 2048 });
          for await (const m of messages) {
            if (stopped) return;
            failures = 0;
            if (m.seq < next) continue;
            next = m.seq + 1;
            let record: HistoryRecord;
            try {
              record = JSON.parse(decoder.decode(m.data)) as HistoryRecord;
            } catch (error) {
              this.#logger.error({ seq: m.seq, err: errorMessage(error) }, 'history stream: a record is not JSON; skipped');
              continue;
            }
            await handle(record, m.seq, m.info.pending);
          }
        } catch (error) {
          if (stopped) return;
          this.#logger.warn({ err: errorMessage(error), next, stream: this.name }, 'history stream: following it stopped; following again');
        }
        if (stopped) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(failures++, 4)));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
    return {
      stop: () => {
        stopped = true;
        messages?.stop();
        wake?.();
      },
      done,
    };
  }

  async readBase(): Promise<HistoryBase | undefined> {
    const blob = await this.#store.getBlob(BASE_OBJECT);
    if (!blob) return undefined;
    return JSON.parse(decoder.decode(blob)) as HistoryBase;
  }

  async writeBase(base: HistoryBase): Promise<void> {
    await this.#store.putBlob({ name: BASE_OBJECT }, encoder.encode(JSON.stringify(base)));
  }

  /** Drops the records before `seq` (they are in the base now). */
  async purgeBefore(seq: number): Promise<void> {
    await this.#jsm.streams.purge(this.name, { seq });
  }
}

/**
 * Events as stream records, in JSON text: as many to a message as fit in MESSAGE_BYTES, so a
 * 10k-object initial list is a handful of messages to append and to read back, not 10k (each costs
 * a round of the JetStream client). Each event is serialised once, its text both measured and sent.
 * An event larger than that goes alone (JetStream refuses it past max_payload, and the append says so).
 */
export function eventMessages(events: readonly ConfigEvent[]): string[] {
  const messages: string[] = [];
  let batch: string[] = [];
  let bytes = 0;
  const flush = (): void => {
    messages.push(`{"events":[${batch.join(',')}]}`);
    batch = [];
    bytes = 0;
  };
  for (const event of events) {
    const text = JSON.stringify(event);
    if (batch.length > 0 && bytes + text.length > MESSAGE_BYTES) flush();
    batch.push(text);
    bytes += text.length + 1;
  }
  if (batch.length > 0) flush();
  return messages;
}
