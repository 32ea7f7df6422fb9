// Whether a new downstream session may be created, for both transports: at most so many sessions
// on this replica (everyone together), so many per authenticated principal, and so many per client
// address for anonymous callers (who have nothing else to be counted by). A session being created
// (a streamable initialize fans out to every target first) holds its place meanwhile, so a burst of
// concurrent initializes cannot overshoot a limit. Each refusal is counted (onLimit).
import { isIPv6 } from 'node:net';
import { McpmuxError } from '../../shared/errors.ts';
import { isLoopbackAddress } from '../../shared/net/address.ts';
import type { SessionRegistry } from '../sessions/registry.ts';

export interface SessionAdmissionOptions {
  sessions: SessionRegistry;
  /** Sessions this replica holds at once, all callers together (0: no limit). */
  maxSessions: number;
  /** Sessions one authenticated principal may hold at once (0: no limit). */
  maxSessionsPerPrincipal: number;
  /** Sessions anonymous callers from one client address (an IPv6 /64) may hold at once (0: no limit). */
  maxAnonymousSessionsPerAddress: number;
  /** A limit refused a session: sessions-per-replica, sessions-per-principal, anonymous-sessions-per-address. */
  onLimit?: ((limit: string) => void) | undefined;
}

/** A place for one new session, taken by admit(). */
export interface Admitted {
  /** The session exists now (it is in the registry) under this id: it counts until it is removed. */
  commit(id: string): void;
  /** No session came of it (its initialize failed): the place is given back. */
  release(): void;
}

/**
 * What anonymous sessions are counted by: the client's address, an IPv4-mapped IPv6 address as the
 * IPv4 one, every loopback address as one, and an IPv6 address by its /64 (one host is usually given a whole /64 and may use any
 * address in it).
 */
export function clientAddressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  // 127.0.0.1 and ::1 are one machine (a loopback bind serves both).
  if (isLoopbackAddress(address)) return 'loopback';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) return bare.toLowerCase();
  const [head = '', tail] = bare.toLowerCase().split('::');
  const groups = (part: string | undefined): string[] => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const front = groups(head);
  const back = groups(tail);
  const all = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export class SessionAdmission {
  readonly #options: SessionAdmissionOptions;
  /** Sessions being created now, in all and by principal or address key. */
  #pendingTotal = 0;
  readonly #pending = new Map<string, number>();
  /** Anonymous sessions held, by address key, and the key of each. */
  readonly #anonymous = new Map<string, number>();
  readonly #addressOf = new Map<string, string>();

  constructor(options: SessionAdmissionOptions) {
    this.#options = options;
  }

  /**
   * A place for a new session of `principal` (undefined: anonymous, counted by `address`), or the
   * refusal to send (429, MCPMUX_LIMIT_EXCEEDED), already counted.
   */
  admit(principal: string | undefined, address: string | undefined): Admitted | McpmuxError {
    const { maxSessions, maxSessionsPerPrincipal, maxAnonymousSessionsPerAddress } = this.#options;
    if (maxSessions > 0 && this.#options.sessions.size + this.#pendingTotal >= maxSessions) {
      return this.#refuse('sessions-per-replica', `this gateway replica holds the most sessions it may (${maxSessions}); retry later`);
    }
    let key: string | undefined;
    let anonymousKey: string | undefined;
    if (principal !== undefined) {
      key = `principal ${principal}`;
      if (maxSessionsPerPrincipal > 0 && this.#options.sessions.countFor(principal) + this.#pendingFor(key) >= maxSessionsPerPrincipal) {
        return this.#refuse('sessions-per-principal', `${principal} already holds ${maxSessionsPerPrincipal} sessions; end one (DELETE) or let one expire`);
      }
    } else {
      anonymousKey = clientAddressKey(address);
      key = `address ${anonymousKey}`;
      if (maxAnonymousSessionsPerAddress > 0 && (this.#anonymous.get(anonymousKey) ?? 0) + this.#pendingFor(key) >= maxAnonymousSessionsPerAddress) {
        return this.#refuse(
          'anonymous-sessions-per-address',
          `anonymous clients at ${anonymousKey} already hold ${maxAnonymousSessionsPerAddress} sessions; end one (DELETE) or let one expire`,
        );
      }
    }
    this.#pendingTotal++;
    this.#pending.set(key, this.#pendingFor(key) + 1);
    let done = false;
    const settle = (): void => {
      done = true;
      this.#pendingTotal--;
      const left = this.#pendingFor(key) - 1;
      if (left > 0) this.#pending.set(key, left);
      else this.#pending.delete(key);
    };
    return {
      commit: (id) => {
        if (done) return;
        settle();
        if (anonymousKey === undefined) return;
        this.#addressOf.set(id, anonymousKey);
        this.#anonymous.set(anonymousKey, (this.#anonymous.get(anonymousKey) ?? 0) + 1);
      },
      release: () => {
        if (!done) settle();
      },
    };
  }

  /** A session left the registry (however): its place is free. */
  removed(id: string): void {
    const key = this.#addressOf.get(id);
    if (key === undefined) return;
    this.#addressOf.delete(id);
    const left = (this.#anonymous.get(key) ?? 1) - 1;
    if (left > 0) this.#anonymous.set(key, left);
    else this.#anonymous.delete(key);
  }

  /** Anonymous sessions held now from one address key (for tests and debugging). */
  anonymousAt(key: string): number {
    return this.#anonymous.get(key) ?? 0;
  }

  #pendingFor(key: string): number {
    return this.#pending.get(key) ?? 0;
  }

  #refuse(limit: string, message: string): McpmuxError {
    this.#options.onLimit?.(limit);
    return new McpmuxError('MCPMUX_LIMIT_EXCEEDED', message);
  }
}
