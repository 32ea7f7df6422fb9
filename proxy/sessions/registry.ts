// The downstream sessions this proxy holds, in memory: by id, with idle eviction. Evicting or
// deleting a session closes its upstream sessions. What replicas share about sessions goes through
// store.ts (in memory or NATS KV); wiring it in here is the rest of issue 8.
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { MuxSession } from '../mux/session.ts';

export interface SessionRegistryOptions {
  logger: Logger;
  /** A session unused this long is closed. */
  idleTtlMs: number;
  /** How often idle sessions are looked for; defaults to a quarter of the TTL, at most a minute. */
  sweepIntervalMs?: number;
}

export class SessionRegistry {
  readonly #sessions = new Map<string, MuxSession>();
  readonly #options: SessionRegistryOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SessionRegistryOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Starts idle eviction. */
  start(): void {
    const every = this.#options.sweepIntervalMs ?? Math.min(Math.max(this.#options.idleTtlMs / 4, 1_000), 60_000);
    this.#timer = setInterval(() => this.evictIdle(Date.now()), every);
    this.#timer.unref();
  }

  add(session: MuxSession): void {
    this.#sessions.set(session.id, session);
  }

  /** Sessions held by one principal (linear: only asked when a session is created). */
  countFor(principal: string): number {
    let count = 0;
    for (const session of this.#sessions.values()) if (session.principal === principal) count++;
    return count;
  }

  /** The session, marked active; undefined if unknown (never created, deleted or evicted). */
  get(id: string): MuxSession | undefined {
    const session = this.#sessions.get(id);
    if (session) session.lastActiveAt = Date.now();
    return session;
  }

  /** Removes and closes a session; false if it was unknown. */
  delete(id: string): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    this.#sessions.delete(id);
    this.#close(session, 'deleted');
    return true;
  }

  values(): IterableIterator<MuxSession> {
    return this.#sessions.values();
  }

  /** Closes the sessions idle for longer than the TTL at `now`; returns how many. */
  evictIdle(now: number): number {
    let evicted = 0;
    for (const [id, session] of this.#sessions) {
      // A client holding a stream open is around, however long since its last request.
      if (now - session.lastActiveAt <= this.#options.idleTtlMs || session.channel.connected) continue;
      this.#sessions.delete(id);
      this.#close(session, 'idle');
      evicted++;
    }
    return evicted;
  }

  /** Stops eviction and closes every session. */
  async closeAll(): Promise<void> {
    clearInterval(this.#timer);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  }

  #close(session: MuxSession, why: string): void {
    this.#options.logger.debug({ session: session.id, why }, 'session closed');
    session.close().catch((error: unknown) => this.#options.logger.warn({ session: session.id, err: errorMessage(error) }, 'session close failed'));
  }
}
