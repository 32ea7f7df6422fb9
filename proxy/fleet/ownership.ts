// Who owns a fleet session, as one state machine. The owner is the replica that holds the session's
// client stream: it listens to the upstreams' own streams and tells the client when its lists
// change. The fleet's truth is the `owner` of the session's record in NATS, an owner token
// (`<replica id>@<start time>`, so a replica restarted under the same id is not taken for the one
// that held the streams). This module says what state a session is in as this replica sees it
// (from that record and two facts only this replica knows), which events move it, and who may move
// it; sessions.ts makes this replica's moves (record writes, compare-and-set) through it, and the
// heartbeat rounds of fleet.ts say which owners are alive. `ownershipDiagram()` draws the table in
// docs/architecture.md.

/** `<replica id>@<start time in epoch ms>`: what a session record names as its owner. */
export type OwnerToken = string & { readonly __ownerToken: true };

export function formatOwnerToken(replicaId: string, startedAt: number): OwnerToken {
  return `${replicaId}@${startedAt}` as OwnerToken;
}

/** Text that is not an owner token (a record written by something else than a replica). */
export class OwnerTokenError extends Error {
  readonly text: string;
  constructor(text: string) {
    super(`${JSON.stringify(text)} is not an owner token (<replica id>@<start time>)`);
    this.text = text;
  }
}

export function parseOwnerToken(text: string): { replicaId: string; startedAt: number } | OwnerTokenError {
  const at = text.lastIndexOf('@');
  const startedAt = Number(text.slice(at + 1));
  if (at <= 0 || !/^\d+$/.test(text.slice(at + 1)) || !Number.isSafeInteger(startedAt)) return new OwnerTokenError(text);
  return { replicaId: text.slice(0, at), startedAt };
}

/** The replica ids of owner tokens (those that parse). */
export function replicaIdsOf(tokens: Iterable<string>): Set<string> {
  const ids = new Set<string>();
  for (const token of tokens) {
    const parsed = parseOwnerToken(token);
    if (!(parsed instanceof OwnerTokenError)) ids.add(parsed.replicaId);
  }
  return ids;
}

export const OWNERSHIP_STATES = ['unknown', 'unpublished', 'owned', 'held', 'orphaned', 'adopting'] as const;
/**
 * unknown: neither known nor made here (where a session starts, and ends). unpublished: made here,
 * its record not in NATS yet, so this replica's. owned: the record names this replica. held: it
 * names another replica, alive at the last heartbeat round. orphaned: it names one that was not
 * (dead, partitioned, drained). adopting: this replica's compare-and-set to take it is in flight.
 */
export type OwnershipState = (typeof OWNERSHIP_STATES)[number];

/** Who makes a move: this replica (a client here), another replica (seen in the record), the heartbeat round, this replica's drain. */
export type Mover = 'this replica' | 'peer' | 'heartbeat' | 'drain';

export type OwnershipEvent = 'create' | 'publish' | 'learn' | 'claim' | 'peer-claim' | 'owner-missed' | 'owner-back' | 'adopt' | 'adopted' | 'adoption-lost' | 'leave' | 'end';

export interface Transition {
  from: OwnershipState;
  event: OwnershipEvent;
  to: OwnershipState;
  by: readonly Mover[];
  why: string;
}

const ended = (from: OwnershipState): Transition => ({ from, event: 'end', to: 'unknown', by: ['this replica', 'peer'], why: 'the client ended it (DELETE) here or on another replica' });

/**
 * Every move of a session's ownership. This replica's own decisions (create, claim, adopt) are
 * checked against it before their record writes; the rest are how the state read from the record
 * and the heartbeat rounds (ownershipState) changes when others move, or when this replica drains
 * (server.ts drain: fleet.leave(), then its sessions' streams are released).
 */
export const TRANSITIONS: readonly Transition[] = [
  { from: 'unknown', event: 'create', to: 'unpublished', by: ['this replica'], why: 'a client initialized it here: its record is being written' },
  { from: 'unpublished', event: 'publish', to: 'owned', by: ['this replica'], why: 'its record is in NATS (at once, or when NATS is back)' },
  { from: 'unpublished', event: 'learn', to: 'held', by: ['peer'], why: 'a record another replica made was there first (a legacy POST)' },
  { from: 'unknown', event: 'learn', to: 'held', by: ['peer'], why: 'a record another replica made arrives (the watch, or a first request here)' },
  { from: 'held', event: 'claim', to: 'owned', by: ['this replica'], why: 'the client opened its stream here' },
  { from: 'orphaned', event: 'claim', to: 'owned', by: ['this replica'], why: 'the client opened its stream here' },
  { from: 'adopting', event: 'claim', to: 'owned', by: ['this replica'], why: 'the client opened its stream here' },
  { from: 'owned', event: 'peer-claim', to: 'held', by: ['peer'], why: 'the client opened its stream on another replica: the stream here ends' },
  { from: 'orphaned', event: 'peer-claim', to: 'held', by: ['peer'], why: 'another replica claimed or adopted it first' },
  { from: 'held', event: 'owner-missed', to: 'orphaned', by: ['heartbeat'], why: "its owner's heartbeat is gone" },
  { from: 'orphaned', event: 'owner-back', to: 'held', by: ['heartbeat'], why: 'its owner beats again before anyone adopted it' },
  { from: 'orphaned', event: 'adopt', to: 'adopting', by: ['heartbeat'], why: 'a round (after the first two TTLs of quiet) found its owner gone' },
  { from: 'adopting', event: 'adopted', to: 'owned', by: ['heartbeat'], why: 'the compare-and-set won: one survivor takes each orphan' },
  { from: 'adopting', event: 'adoption-lost', to: 'orphaned', by: ['heartbeat'], why: 'another survivor won, the owner came back, or NATS failed: the record says which' },
  { from: 'owned', event: 'leave', to: 'orphaned', by: ['drain'], why: 'this replica drains: its heartbeat goes, its streams end, a survivor adopts' },
  ...(['unpublished', 'owned', 'held', 'orphaned', 'adopting'] as const).map(ended),
];

export type Step =
  | { ok: true; to: OwnershipState }
  | { ok: false; refused: 'no such move'; from: OwnershipState; event: OwnershipEvent }
  | { ok: false; refused: 'not theirs to make'; from: OwnershipState; event: OwnershipEvent; by: Mover; allowed: readonly Mover[] };

/** The state after `event` made by `by`, or why it may not happen (nothing changes then). */
export function transition(from: OwnershipState, event: OwnershipEvent, by: Mover): Step {
  const row = TRANSITIONS.find((t) => t.from === from && t.event === event);
  if (!row) return { ok: false, refused: 'no such move', from, event };
  if (!row.by.includes(by)) return { ok: false, refused: 'not theirs to make', from, event, by, allowed: row.by };
  return { ok: true, to: row.to };
}

/** What a session record alone says: whose it is, given this replica's token and the owners alive (this one among them). */
export function recordState(owner: string, me: OwnerToken, alive: ReadonlySet<string>): 'owned' | 'held' | 'orphaned' {
  if (owner === me) return 'owned';
  return alive.has(owner) ? 'held' : 'orphaned';
}

/** What this replica knows of a session: its record's owner (undefined: no record seen) and its own two facts. */
export interface OwnershipView {
  owner: string | undefined;
  /** This replica made it (the record's first writer): it owns it until a record says otherwise. */
  madeHere: boolean;
  /** This replica's compare-and-set to adopt it is in flight. */
  adopting: boolean;
}

export function ownershipState(view: OwnershipView, me: OwnerToken, alive: ReadonlySet<string>): OwnershipState {
  // No record seen (NATS away since it was made here, or not yet heard of): the replica that made it owns it.
  if (view.owner === undefined) return view.madeHere ? 'unpublished' : 'unknown';
  if (view.owner !== me && view.adopting) return 'adopting';
  return recordState(view.owner, me, alive);
}

/** The mermaid state diagram of TRANSITIONS (`unknown` is drawn as the start and end, [*]). */
export function ownershipDiagram(): string {
  const name = (state: OwnershipState): string => (state === 'unknown' ? '[*]' : state);
  const lines = ['stateDiagram-v2'];
  for (const t of TRANSITIONS) lines.push(`    ${name(t.from)} --> ${name(t.to)} : ${t.event} (${t.by.join(', ')})`);
  return lines.join('\n');
}

/** Where this replica reads a session's owner and the owners alive (fleet.ts). */
export interface OwnershipFacts {
  me: OwnerToken;
  ownerOf(id: string): string | undefined;
  alive(): ReadonlySet<string>;
}

/**
 * The sessions' ownership as this replica sees it: the one place it is read (state, owns) and the
 * one place this replica's moves are checked against TRANSITIONS before it writes a record.
 */
export class SessionOwnership {
  readonly #facts: OwnershipFacts;
  /** This replica's own facts, per session (the record holds the rest). */
  readonly #local = new Map<string, { madeHere: boolean; adopting: boolean }>();

  constructor(facts: OwnershipFacts) {
    this.#facts = facts;
  }

  state(id: string): OwnershipState {
    const local = this.#local.get(id);
    return ownershipState({ owner: this.#facts.ownerOf(id), madeHere: local?.madeHere ?? false, adopting: local?.adopting ?? false }, this.#facts.me, this.#facts.alive());
  }

  /** Whether this replica owns the session: the record names it, or it made it and no record is seen. */
  owns(id: string): boolean {
    const state = this.state(id);
    return state === 'owned' || state === 'unpublished';
  }

  /** A move this replica decides from what it knows (create, adopt): the step, with the local fact it sets. */
  move(id: string, event: 'create' | 'adopt', by: Mover): Step {
    const step = transition(this.state(id), event, by);
    if (!step.ok) return step;
    const local = this.#local.get(id) ?? { madeHere: false, adopting: false };
    if (event === 'create') local.madeHere = true;
    else local.adopting = true;
    this.#local.set(id, local);
    return step;
  }

  /**
   * The record as a compare-and-set should write it for this replica's claim or adoption: naming this
   * replica when TRANSITIONS lets `event` move the record's state (read now, in NATS), else undefined.
   */
  takeOver<R extends { owner: string }>(record: R, event: 'claim' | 'adopt', alive: ReadonlySet<string> = this.#facts.alive()): R | undefined {
    const step = transition(recordState(record.owner, this.#facts.me, alive), event, event === 'claim' ? 'this replica' : 'heartbeat');
    return step.ok ? { ...record, owner: this.#facts.me } : undefined;
  }

  /** An adoption's compare-and-set is over (won, lost or failed): the record says who owns the session now. */
  adoptionSettled(id: string): void {
    const local = this.#local.get(id);
    if (!local) return;
    local.adopting = false;
    if (!local.madeHere) this.#local.delete(id);
  }

  /** A record's owner changed from `previous` (a move seen by the watch): whether to this replica; undefined if it did not change. */
  ownerMoved(previous: string | undefined, owner: string): { mine: boolean } | undefined {
    return previous === owner ? undefined : { mine: owner === this.#facts.me };
  }

  /** The session ended or left this replica: what only this replica knew of it goes (an adoption in flight settles itself). */
  forget(id: string): void {
    const local = this.#local.get(id);
    if (!local) return;
    local.madeHere = false;
    if (!local.adopting) this.#local.delete(id);
  }
}
