// The event log persisted as a JSONL file: one line per event, and one per snapshot build (which
// versions the state after an event produced). A restarted control plane reads it back, replays it
// through the reducer and the translator, and so knows every version it served and which event made
// each one (control-plane.ts).
//
// Retention: the file keeps the newest `retention` events (the window) plus, for every object alive
// at the start of the window, its last event before it (the base). Replaying base then window gives
// the exact state after any event of the window, so every build recorded from the window's start on
// can be rebuilt; older builds are dropped with the events they needed. The file is compacted to
// that (written aside, then renamed over) when it holds twice the retention.
//
// Durability: each batch is one write() of its lines, in order; a crash can cut the last line,
// which is dropped on reading (with a warning). Lines are JSON, so `jq` and `grep` read the history.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { redactObject } from '../snapshots/redact.ts';
import { objectId, type SourceChange } from '../sources/source.ts';
import type { ConfigEvent } from './event.ts';
import { MemoryEventLog, type BuildRecord, type EventLog } from './log.ts';

export interface JsonlEventLogOptions {
  path: string;
  retention: number;
  logger: Logger;
  now?: () => number;
}

type Line = { event: ConfigEvent } | { build: BuildRecord };

export class JsonlEventLog implements EventLog {
  readonly #path: string;
  readonly #retention: number;
  readonly #logger: Logger;
  readonly #memory: MemoryEventLog;
  /** Each object's last event before the window (its state there); deletes leave it. */
  readonly #base = new Map<string, ConfigEvent>();
  #window: ConfigEvent[] = [];
  #builds: BuildRecord[] = [];
  #fd: number;

  private constructor(options: JsonlEventLogOptions, read: { base: ConfigEvent[]; window: ConfigEvent[]; builds: BuildRecord[] }) {
    this.#path = options.path;
    this.#retention = Math.max(1, options.retention);
    this.#logger = options.logger;
    for (const event of read.base) this.#base.set(objectId(event.object), event);
    this.#window = read.window;
    this.#builds = read.builds;
    this.#memory = new MemoryEventLog({
      retention: this.#retention * 2 + this.#base.size,
      now: options.now,
      logger: options.logger,
      restored: { events: this.replay(), builds: read.builds },
    });
    this.#fd = openSync(this.#path, 'a');
  }

  /** Opens (or creates) the log file and reads it back. */
  static open(options: JsonlEventLogOptions): JsonlEventLog {
    const lines = existsSync(options.path) ? readLines(options.path, options.logger) : [];
    const events: ConfigEvent[] = [];
    const builds: BuildRecord[] = [];
    for (const line of lines) {
      if ('event' in line) events.push(line.event);
      else builds.push(line.build);
    }
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.seq <= events[i - 1]!.seq) {
        throw new McpmuxError('MCPMUX_CONFIG_INVALID', `event log ${options.path}: event seq ${events[i]!.seq} follows ${events[i - 1]!.seq}; the file is not one log (restore it or start a new one)`);
      }
    }
    // Everything read is the window until the first compaction splits it.
    const log = new JsonlEventLog(options, { base: [], window: events, builds });
    if (events.length > 2 * log.#retention) log.#compact();
    return log;
  }

  get lastSeq(): number {
    return this.#memory.lastSeq;
  }

  get path(): string {
    return this.#path;
  }

  append(source: string, changes: SourceChange[]): ConfigEvent[] {
    const events = this.#memory.append(source, changes);
    if (events.length === 0) return events;
    this.#write(events.map((event) => ({ event })));
    this.#window.push(...events);
    if (this.#window.length > 2 * this.#retention) this.#compact();
    return events;
  }

  recordBuild(build: BuildRecord): void {
    this.#memory.recordBuild(build);
    this.#builds.push(build);
    this.#write([{ build }]);
  }

  builds(): BuildRecord[] {
    return this.#memory.builds();
  }

  list(fromSeq: number, limit?: number): ConfigEvent[] {
    return this.#memory.list(fromSeq, limit);
  }

  subscribe(listener: (events: ConfigEvent[]) => void): () => void {
    return this.#memory.subscribe(listener);
  }

  /** Every event a replay needs, in seq order: the base, then the window. */
  replay(): ConfigEvent[] {
    return [...[...this.#base.values()].sort((a, b) => a.seq - b.seq), ...this.#window];
  }

  /** The first seq after which the state can be rebuilt exactly (builds before it are gone). */
  get replayableFrom(): number {
    return (this.#window[0]?.seq ?? this.lastSeq + 1) - 1;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #write(lines: Line[]): void {
    const text = lines.map(serialize).join('');
    try {
      writeSync(this.#fd, text);
    } catch (error) {
      // Losing history silently would make later answers wrong: say so loudly, keep serving.
      this.#logger.error({ err: errorMessage(error), path: this.#path }, 'cannot append to the event log; history after this point is incomplete');
    }
  }

  /** Folds the oldest events into the base and rewrites the file as base + window + builds. */
  #compact(): void {
    const drop = this.#window.length - this.#retention;
    for (const event of this.#window.slice(0, drop)) {
      const id = objectId(event.object);
      if (event.type === 'delete') this.#base.delete(id);
      else this.#base.set(id, event);
    }
    this.#window = this.#window.slice(drop);
    const from = this.replayableFrom;
    this.#builds = this.#builds.filter((b) => b.seq >= from);
    const temporary = `${this.#path}.compact`;
    const fd = openSync(temporary, 'w');
    try {
      const lines: Line[] = [...this.replay().map((event) => ({ event })), ...this.#builds.map((build) => ({ build }))];
      // Builds after their events: a reader sorts nothing, it only needs each build after its seq.
      writeSync(fd, lines.map(serialize).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.#path);
    closeSync(this.#fd);
    this.#fd = openSync(this.#path, 'a');
    this.#logger.info({ path: this.#path, base: this.#base.size, window: this.#window.length, builds: this.#builds.length }, 'event log compacted');
  }
}

/**
 * One line of the file. Secret values never reach the disk: a Secret's data is written redacted
 * (its keys kept), so a replayed Secret has no values until the source reads it again.
 */
function serialize(line: Line): string {
  if ('event' in line && line.event.object.kind === 'Secret') {
    const object = redactObject(line.event.object as Record<string, unknown>) as ConfigEvent['object'];
    return `${JSON.stringify({ event: { ...line.event, object } })}\n`;
  }
  return `${JSON.stringify(line)}\n`;
}

function readLines(path: string, logger: Logger): Line[] {
  const text = readFileSync(path, 'utf8');
  const lines: Line[] = [];
  const raw = text.split('\n');
  for (const [i, line] of raw.entries()) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as Line;
      if (('event' in value && typeof value.event?.seq === 'number') || ('build' in value && typeof value.build?.seq === 'number')) {
        lines.push(value);
        continue;
      }
      throw new Error('neither an event nor a build');
    } catch (error) {
      // Only the last line may be cut short (a crash mid-write); anything else is a damaged file.
      const last = raw.slice(i + 1).every((rest) => !rest.trim());
      if (!last) throw new McpmuxError('MCPMUX_CONFIG_INVALID', `event log ${path}:${i + 1}: ${errorMessage(error)}`);
      logger.warn({ path, line: i + 1 }, 'event log: dropping a last line cut short (the control plane stopped mid-write)');
    }
  }
  return lines;
}
