// The downstream sessions this proxy holds, in memory: by id, with idle eviction. Evicting or
// deleting a session closes its upstream sessions; in a fleet (proxy/fleet) a session this replica
// lets go of while others may still serve it is detached instead: its upstream sessions stay open.
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { MuxSession } from '../mux/session.ts';

export interface SessionRegistryOptions {
  logger: Logger;
  /** A session unused this long is closed. */
  idleTtlMs: number;
  /** How often idle sessions are looked for; defaults to a quarter of the TTL, at most a minute. */
  sweepIntervalMs?: number;
  /** Each use of a session (the fleet restarts its record's TTL, throttled). */
  onActive?: (id: string) => void;
  /** In a fleet: whether an idle session is still used elsewhere (then it is detached, not closed). */
  usedElsewhere?: (id: string) => boolean;
  /** A session was ended here for good (client DELETE, its stream never came back): the fleet forgets it too. */
  onDeleted?: (id: string) => void;
  /** A session left this registry, however. */
  onRemoved?: (id: string) => void;
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
    if (session) {
      session.lastActiveAt = Date.now();
      this.#options.onActive?.(id);
    }
    return session;
  }

  /** Removes and closes a session; false if it was unknown. */
  delete(id: string): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    this.#sessions.delete(id);
    this.#options.onRemoved?.(id);
    this.#options.onDeleted?.(id);
    this.#close(session, 'deleted');
    return true;
  }

  /** Lets go of a session here only (another replica serves it, or it ended elsewhere); false if unknown. */
  detach(id: string): boolean {
    const session = this.#sessions.get(id);
    if (!session) return false;
    this.#sessions.delete(id);
    this.#options.onRemoved?.(id);
    this.#options.logger.debug({ session: id }, 'session detached');
    session.detach().catch((error: unknown) => this.#options.logger.warn({ session: id, err: errorMessage(error) }, 'session detach failed'));
    return true;
  }

  /** Lets go of every session here (a draining replica in a fleet); the fleet keeps them. */
  detachAll(): Promise<void> {
    return this.#endAll((session) => session.detach());
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
      this.#options.onRemoved?.(id);
      if (this.#options.usedElsewhere?.(id)) {
        session.detach().catch(() => undefined);
      } else {
        this.#close(session, 'idle');
      }
      evicted++;
    }
    return evicted;
  }

  /** Stops eviction and closes every session. */
  closeAll(): Promise<void> {
    return this.#endAll((session) => session.close());
  }

  /** Stops eviction and ends every session the given way (errors are the session's own business by now). */
  async #endAll(end: (session: MuxSession) => Promise<void>): Promise<void> {
    clearInterval(this.#timer);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => end(s).catch(() => undefined)));
  }

  #close(session: MuxSession, why: string): void {
    this.#options.logger.debug({ session: session.id, why }, 'session closed');
    session.close().catch((error: unknown) => this.#options.logger.warn({ session: session.id, err: errorMessage(error) }, 'session close failed'));
  }
}
