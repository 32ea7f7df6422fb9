import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../../shared/errors.ts';
import { EventIdError, fleetRequestStreamKey, formatEventId, legacyStreamKey, parseEventId, parseRequestStreamKey, requestStreamKey, STANDALONE_KEY } from './event-id.ts';

test('every kind of stream key round-trips through formatEventId and parseEventId', () => {
  const keys = [STANDALONE_KEY, requestStreamKey(1), requestStreamKey(42), fleetRequestStreamKey(3, 'a.b~c', 'proxy-0-w1'), fleetRequestStreamKey(7, 0, 'p'), legacyStreamKey('w2_AbCd-_efGH')];
  for (const streamKey of keys) {
    for (const seq of [0, 1, 17, Number.MAX_SAFE_INTEGER]) assert.equal(parseEventId(formatEventId(streamKey, seq)), { streamKey, seq }, `${streamKey} ${seq}`);
  }
});

test('the bytes clients already hold: g.<seq>, r<n>.<seq>, r<n>~<id>~<replica>.<seq>, <session>.<seq>', () => {
  assert.is(formatEventId(STANDALONE_KEY, 5), 'g.5');
  assert.is(formatEventId(requestStreamKey(3), 2), 'r3.2');
  assert.is(formatEventId(fleetRequestStreamKey(3, 7, 'proxy-1'), 12), 'r3~Nw~proxy-1.12');
  assert.is(formatEventId(legacyStreamKey('w1_abc'), 0), 'w1_abc.0', 'a legacy endpoint event');
  assert.equal(parseEventId('r3~Nw~proxy-1.12'), { streamKey: 'r3~Nw~proxy-1', seq: 12 });
  assert.equal(parseRequestStreamKey('r3~Nw~proxy-1'), { requestId: 7, replica: 'proxy-1' });
  assert.is(parseRequestStreamKey(requestStreamKey(3)), undefined, 'a single replica request stream names no replica');
  assert.is(parseRequestStreamKey(legacyStreamKey('w1_abc')), undefined);
});

test('what is not an event id is a typed error, with the message a client sending it is told', () => {
  const cases: Array<[string, EventIdError['reason']]> = [
    ['', 'no stream key'],
    ['nodot', 'no stream key'],
    ['.5', 'no stream key'],
    ['g.x1', 'no sequence number'],
    ['r1.x', 'no sequence number'],
    ['r1.-1', 'no sequence number'],
    ['r1.1.5e300', 'no sequence number'],
  ];
  for (const [text, reason] of cases) {
    const parsed = parseEventId(text);
    assert.instance(parsed, EventIdError, text);
    assert.instance(parsed, McpmuxError, 'thrown as it is, it answers 400');
    const error = parsed as EventIdError;
    assert.is(error.reason, reason, text);
    assert.is(error.text, text);
    assert.is(error.code, 'MCPMUX_INVALID_REQUEST');
    assert.is(error.message, `Last-Event-ID ${JSON.stringify(text)} is not an event id of this server`);
  }
  // Kept as it always was (Number('') is 0): an empty sequence number reads as 0.
  assert.equal(parseEventId('g.'), { streamKey: 'g', seq: 0 });
});

test.run();
