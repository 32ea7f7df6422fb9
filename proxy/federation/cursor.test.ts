import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../../shared/errors.ts';
import { cursorScope, decodeCursor, encodeCursor, withCursorScope } from './cursor.ts';

test('no pending pages, no cursor', () => {
  assert.is(encodeCursor('tools', []), undefined);
});

test('a cursor round-trips every target and its upstream cursor, in order', () => {
  const pending = [
    ['b-target', 'opaque/+=cursor'],
    ['a-target', '{"json":"cursor"}'],
  ] as const;
  const cursor = encodeCursor('tools', pending)!;
  assert.match(cursor, /^[A-Za-z0-9_-]+$/, 'base64url');
  assert.equal(decodeCursor('tools', cursor), pending);
});

const bad: Array<[string, string, RegExp]> = [
  ['garbage', 'not a cursor!', /not a cursor this server issued/],
  ['base64 of non-json', Buffer.from('hello').toString('base64url'), /not a cursor this server issued/],
  ['another version', Buffer.from(JSON.stringify({ v: 2, k: 'tools', p: [['a', 'b']] })).toString('base64url'), /not a cursor this server issued/],
  ['another kind', encodeCursor('prompts', [['a', 'b']])!, /issued for prompts, not tools/],
  ['no pages', Buffer.from(JSON.stringify({ v: 1, k: 'tools', p: [] })).toString('base64url'), /has no pages/],
  ['malformed entry', Buffer.from(JSON.stringify({ v: 1, k: 'tools', p: [['a', 1]] })).toString('base64url'), /malformed page entry/],
];
for (const [name, cursor, message] of bad) {
  test(`invalid cursor: ${name}`, () => {
    try {
      decodeCursor('tools', cursor);
      assert.unreachable();
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_INVALID_PARAMS');
      assert.is((error as McpmuxError).jsonRpcCode, -32602);
      assert.match((error as Error).message, message);
    }
  });
}

test('a cursor carries its list\'s cacheScope to the next pages; decoding is unchanged by it', () => {
  const plain = encodeCursor('tools', [['a', 'c1']])!;
  assert.is(cursorScope(plain), undefined);
  const scoped = withCursorScope('tools', plain, 'private');
  assert.is(cursorScope(scoped), 'private');
  assert.equal(decodeCursor('tools', scoped), [['a', 'c1']]);
  assert.is(cursorScope('not a cursor'), undefined);
  assert.is(cursorScope(42), undefined);
});

test.run();
