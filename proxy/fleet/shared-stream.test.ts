import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { replicaOfServerRequest } from '../mux/correlation.ts';
import { EventIdError, fleetRequestStreamKey as requestStreamKey, parseEventId as parseOrError, parseRequestStreamKey } from '../downstream/event-id.ts';

/** An event id's parts, or undefined when it is not one (the parser's EventIdError). */
const parseEventId = (id: string) => {
  const parsed = parseOrError(id);
  return parsed instanceof EventIdError ? undefined : parsed;
};

test('a request stream key names its request and replica, survives event ids, and rejects what is not one', () => {
  for (const id of [7, 'abc', 'with~tilde.and.dots', 0]) {
    const key = requestStreamKey(3, id, 'proxy-1');
    assert.not.match(key, /\./, 'no dot: the event id splits at its last dot');
    const parsed = parseEventId(`${key}.12`);
    assert.is(parsed?.streamKey, key);
    assert.is(parsed?.seq, 12);
    assert.equal(parseRequestStreamKey(key), { requestId: id, replica: 'proxy-1' });
  }
  assert.is(parseRequestStreamKey('r3'), undefined, 'a single replica key');
  assert.is(parseRequestStreamKey('g'), undefined);
  assert.is(parseRequestStreamKey('r1~bm90IGpzb24~proxy-1'), undefined, 'not JSON');
  assert.is(parseRequestStreamKey(`r1~${Buffer.from('{"a":1}').toString('base64url')}~p`), undefined, 'not an id');
});

test('a server→client request id names the replica that sent it', () => {
  assert.is(replicaOfServerRequest('mcpmux-7@proxy-2'), 'proxy-2');
  assert.is(replicaOfServerRequest('mcpmux-7'), undefined, 'one replica: no suffix');
  assert.is(replicaOfServerRequest('client-1@proxy-2'), undefined, 'not ours');
  assert.is(replicaOfServerRequest(7), undefined);
});

test.run();
