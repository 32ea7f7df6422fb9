import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatOwnerToken,
  OWNERSHIP_STATES,
  ownershipDiagram,
  ownershipState,
  OwnerTokenError,
  parseOwnerToken,
  recordState,
  replicaIdsOf,
  SessionOwnership,
  transition,
  TRANSITIONS,
  type Mover,
  type OwnershipEvent,
  type OwnerToken,
} from './ownership.ts';

const MOVERS: readonly Mover[] = ['this replica', 'peer', 'heartbeat', 'drain'];
const EVENTS: readonly OwnershipEvent[] = ['create', 'publish', 'learn', 'claim', 'peer-claim', 'owner-missed', 'owner-back', 'adopt', 'adopted', 'adoption-lost', 'leave', 'end'];
const me = formatOwnerToken('proxy-0', 1000);
const peer = formatOwnerToken('proxy-1', 2000);
const dead = formatOwnerToken('proxy-2', 3000);
const alive: ReadonlySet<OwnerToken> = new Set([me, peer]);

test('owner tokens: <replica id>@<start time>, parsed back; anything else is a typed error', () => {
  assert.is(me, 'proxy-0@1000');
  assert.equal(parseOwnerToken(formatOwnerToken('proxy-0-w3', 1733550000000)), { replicaId: 'proxy-0-w3', startedAt: 1733550000000 });
  for (const text of ['', 'proxy-0', '@1000', 'proxy-0@', 'proxy-0@x', 'proxy-0@-1', 'proxy-0@1e3', 'proxy-0@99999999999999999999']) {
    const parsed = parseOwnerToken(text);
    assert.instance(parsed, OwnerTokenError, text);
    assert.is((parsed as OwnerTokenError).text, text);
  }
  assert.equal([...replicaIdsOf([me, peer, 'garbage'])], ['proxy-0', 'proxy-1'], 'what does not parse names no replica');
});

test('every move of the table is allowed to each of its movers, and leads where the table says', () => {
  for (const row of TRANSITIONS) {
    for (const by of row.by) assert.equal(transition(row.from, row.event, by), { ok: true, to: row.to }, `${row.from} --${row.event} (${by})`);
  }
});

test('a move of the table made by anyone else is refused, naming who may make it', () => {
  for (const row of TRANSITIONS) {
    for (const by of MOVERS.filter((m) => !row.by.includes(m))) {
      assert.equal(transition(row.from, row.event, by), { ok: false, refused: 'not theirs to make', from: row.from, event: row.event, by, allowed: row.by });
    }
  }
});

test('every move not in the table is refused, whoever makes it', () => {
  for (const from of OWNERSHIP_STATES) {
    for (const event of EVENTS) {
      if (TRANSITIONS.some((t) => t.from === from && t.event === event)) continue;
      for (const by of MOVERS) assert.equal(transition(from, event, by), { ok: false, refused: 'no such move', from, event });
    }
  }
});

test('who may move it: this replica creates and claims, peers claim theirs, the heartbeat adopts, the drain leaves', () => {
  const movers = (event: OwnershipEvent): string[] => [...new Set(TRANSITIONS.filter((t) => t.event === event).flatMap((t) => t.by))].sort();
  assert.equal(movers('create'), ['this replica']);
  assert.equal(movers('publish'), ['this replica']);
  assert.equal(movers('claim'), ['this replica']);
  assert.equal(movers('learn'), ['peer']);
  assert.equal(movers('peer-claim'), ['peer']);
  for (const event of ['owner-missed', 'owner-back', 'adopt', 'adopted', 'adoption-lost'] as const) assert.equal(movers(event), ['heartbeat'], event);
  assert.equal(movers('leave'), ['drain']);
  assert.equal(movers('end'), ['peer', 'this replica']);
  assert.is(transition('held', 'claim', 'peer').ok, false, 'a peer cannot give a session to this replica');
  assert.is(transition('orphaned', 'adopt', 'this replica').ok, false, 'only a settled heartbeat round adopts');
});

test('the table is a machine: one move per state and event, every state reachable from unknown and able to end', () => {
  const keys = TRANSITIONS.map((t) => `${t.from}/${t.event}`);
  assert.is(new Set(keys).size, keys.length, 'no state has two moves for one event');
  const reached = new Set<string>(['unknown']);
  for (let grew = true; grew; ) {
    grew = false;
    for (const t of TRANSITIONS) if (reached.has(t.from) && !reached.has(t.to)) grew = Boolean(reached.add(t.to));
  }
  assert.equal([...reached].sort(), [...OWNERSHIP_STATES].sort());
  for (const state of OWNERSHIP_STATES.filter((s) => s !== 'unknown')) assert.ok(transition(state, 'end', 'this replica').ok, `${state} can end`);
});

test('the state a session is in, from its record and what this replica knows', () => {
  const state = (owner: string | undefined, madeHere = false, adopting = false) => ownershipState({ owner, madeHere, adopting }, me, alive);
  assert.is(state(undefined), 'unknown');
  assert.is(state(undefined, true), 'unpublished', 'made here, no record seen: this replica owns it');
  assert.is(state(me), 'owned');
  assert.is(state(me, true, true), 'owned', 'an adoption whose write landed');
  assert.is(state(peer), 'held');
  assert.is(state(dead), 'orphaned');
  assert.is(state(dead, false, true), 'adopting');
  assert.is(recordState(me, me, alive), 'owned');
  assert.is(recordState(peer, me, alive), 'held');
  assert.is(recordState(dead, me, alive), 'orphaned');
});

/** A ledger over a record cache the test writes. */
function ledger(): { ownership: SessionOwnership; owners: Map<string, string>; alive: Set<OwnerToken> } {
  const owners = new Map<string, string>();
  const live = new Set<OwnerToken>(alive);
  return { ownership: new SessionOwnership({ me, ownerOf: (id) => owners.get(id), alive: () => live }), owners, alive: live };
}

test('this replica creates a session once; it owns it before and after its record is written', () => {
  const { ownership, owners } = ledger();
  assert.ok(ownership.move('s', 'create', 'this replica').ok);
  assert.is(ownership.state('s'), 'unpublished');
  assert.ok(ownership.owns('s'));
  assert.equal(ownership.move('s', 'create', 'this replica'), { ok: false, refused: 'no such move', from: 'unpublished', event: 'create' }, 'a second initialize updates the record instead');
  owners.set('s', me);
  assert.is(ownership.state('s'), 'owned');
  owners.set('s', peer);
  assert.is(ownership.state('s'), 'held');
  assert.not.ok(ownership.owns('s'), 'the record says who owns it once there is one');
  owners.delete('s');
  assert.ok(ownership.owns('s'), 'made here and no record seen (it expired): still this replica');
  ownership.forget('s');
  assert.is(ownership.state('s'), 'unknown');
  owners.set('t', peer);
  assert.not.ok(ownership.move('t', 'create', 'this replica').ok, 'a record is there: not this replica to create');
});

test('claims: the record is written to name this replica unless it does already', () => {
  const { ownership } = ledger();
  const record = (owner: string) => ({ id: 's', owner, routePrefix: '/' });
  assert.equal(ownership.takeOver(record(peer), 'claim'), record(me));
  assert.equal(ownership.takeOver(record(dead), 'claim'), record(me));
  assert.is(ownership.takeOver(record(me), 'claim'), undefined, 'nothing to write');
});

test('adoption: only an orphan, one compare-and-set at a time, settled whatever its outcome', () => {
  const { ownership, owners, alive: live } = ledger();
  owners.set('s', dead);
  assert.is(ownership.state('s'), 'orphaned');
  assert.ok(ownership.move('s', 'adopt', 'heartbeat').ok);
  assert.is(ownership.state('s'), 'adopting');
  assert.not.ok(ownership.move('s', 'adopt', 'heartbeat').ok, 'an adoption in flight is not started again');
  const round = new Set(live);
  assert.equal(ownership.takeOver({ owner: dead }, 'adopt', round), { owner: me });
  assert.is(ownership.takeOver({ owner: peer }, 'adopt', round), undefined, 'another survivor won');
  assert.is(ownership.takeOver({ owner: me }, 'adopt', round), undefined);
  owners.set('s', me);
  assert.ok(ownership.owns('s'), 'owned as soon as the write landed');
  ownership.adoptionSettled('s');
  assert.is(ownership.state('s'), 'owned');
  owners.set('u', dead);
  assert.ok(ownership.move('u', 'adopt', 'heartbeat').ok);
  ownership.forget('u');
  assert.is(ownership.state('u'), 'adopting', 'a session let go of mid-adoption is still not adopted twice');
  ownership.adoptionSettled('u');
  assert.is(ownership.state('u'), 'orphaned');
  live.add(dead);
  assert.is(ownership.state('u'), 'held', 'its owner beats again');
  assert.not.ok(ownership.move('u', 'adopt', 'heartbeat').ok);
});

test('an owner change seen in the record: to this replica, or away from it', () => {
  const { ownership } = ledger();
  assert.is(ownership.ownerMoved(peer, peer), undefined);
  assert.equal(ownership.ownerMoved(peer, me), { mine: true });
  assert.equal(ownership.ownerMoved(me, peer), { mine: false });
  assert.equal(ownership.ownerMoved(undefined, dead), { mine: false });
});

test('the diagram has one arrow per move, unknown drawn as [*]', () => {
  const lines = ownershipDiagram().split('\n');
  assert.is(lines[0], 'stateDiagram-v2');
  assert.is(lines.length, TRANSITIONS.length + 1);
  assert.ok(lines.includes('    [*] --> unpublished : create (this replica)'));
  assert.ok(lines.includes('    owned --> [*] : end (this replica, peer)'));
});

test('docs/architecture.md shows the diagram the table draws', () => {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Session ownership in a fleet'));
  assert.ok(doc.includes('## Session ownership in a fleet'), 'the section is there');
  assert.ok(section.indexOf('## Choices worth knowing') > 0, 'right before "Choices worth knowing"');
  const drawn = /```mermaid\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.is(drawn, ownershipDiagram(), 'regenerate the block with ownershipDiagram()');
});

test.run();
