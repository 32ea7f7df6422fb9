import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryEventStore } from './event-store.ts';
import { EventIdError, formatEventId as eventId, parseEventId as parseOrError } from './event-id.ts';

/** An event id's parts, or undefined when it is not one (the parser's EventIdError). */
const parseEventId = (id: string) => {
  const parsed = parseOrError(id);
  return parsed instanceof EventIdError ? undefined : parsed;
};

const ids: Array<[string, { streamKey: string; seq: number } | undefined]> = [
  ['r3.17', { streamKey: 'r3', seq: 17 }],
  ['g.0', { streamKey: 'g', seq: 0 }],
  ['Ab-_cd.5', { streamKey: 'Ab-_cd', seq: 5 }],
  ['nodot', undefined],
  ['.5', undefined],
  ['r1.x', undefined],
  ['r1.-1', undefined],
];
for (const [id, expected] of ids) test(`event id ${id}`, () => assert.equal(parseEventId(id), expected));

test('eventId and parseEventId round-trip', () => assert.equal(parseEventId(eventId('r9', 3)), { streamKey: 'r9', seq: 3 }));

test('replay gives the events of one stream after a sequence number', async () => {
  const store = new MemoryEventStore({ maxEventsPerSession: 10, maxBytesPerSession: 1000 });
  for (let i = 1; i <= 3; i++) store.append('s', 'g', { id: eventId('g', i), seq: i, data: `g${i}` });
  store.append('s', 'r1', { id: eventId('r1', 1), seq: 1, data: 'r' });
  assert.equal((await store.replay('s', 'g', 1)).map((e) => e.data), ['g2', 'g3']);
  assert.equal((await store.replay('s', 'r1', 0)).map((e) => e.data), ['r']);
  assert.equal(await store.replay('other', 'g', 0), []);
});

test('bounded per session by count and bytes, oldest first; dropStream and dropSession forget', async () => {
  const store = new MemoryEventStore({ maxEventsPerSession: 3, maxBytesPerSession: 10 });
  for (let i = 1; i <= 5; i++) store.append('s', 'g', { id: eventId('g', i), seq: i, data: 'xx' });
  assert.equal((await store.replay('s', 'g', 0)).map((e) => e.seq), [3, 4, 5]);
  store.append('s', 'g', { id: eventId('g', 6), seq: 6, data: 'y'.repeat(9) });
  assert.equal((await store.replay('s', 'g', 0)).map((e) => e.seq), [6]);
  store.append('s', 'r1', { id: eventId('r1', 1), seq: 1, data: 'z' });
  store.dropStream('s', 'g');
  assert.is(store.size('s'), 1);
  store.dropSession('s');
  assert.is(store.size('s'), 0);
});

test.run();
