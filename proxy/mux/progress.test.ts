import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProgressRoutes, progressTokenOf, withProgressToken } from './progress.ts';

test('a route maps our token back to the client token and request, for its target only, until released', () => {
  const routes = new ProgressRoutes();
  const a = routes.register('ta', 'client-token', 7);
  const b = routes.register('tb', 42, 8);
  assert.is.not(a, b);
  assert.equal(routes.route('ta', { progressToken: a, progress: 1, total: 2 }), { params: { progressToken: 'client-token', progress: 1, total: 2 }, relatedTo: 7 });
  assert.equal(routes.route('tb', { progressToken: b, progress: 5 }), { params: { progressToken: 42, progress: 5 }, relatedTo: 8 });
  // another target cannot report progress on a's request
  assert.is(routes.route('tb', { progressToken: a, progress: 1 }), undefined);
  routes.release(a);
  assert.is(routes.route('ta', { progressToken: a, progress: 2 }), undefined);
  assert.is(routes.size, 1);
});

test('withProgressToken replaces, adds or strips the token and keeps the rest of _meta', () => {
  assert.equal(withProgressToken({ name: 'x', _meta: { progressToken: 'c', other: 1 } }, 5), { name: 'x', _meta: { progressToken: 5, other: 1 } });
  assert.equal(withProgressToken({ name: 'x', _meta: { progressToken: 'c', other: 1 } }, undefined), { name: 'x', _meta: { other: 1 } });
  const untouched = { name: 'x', _meta: { other: 1 } };
  assert.is(withProgressToken(untouched, undefined), untouched);
  assert.is(withProgressToken(undefined, undefined), undefined);
  assert.equal(progressTokenOf({ _meta: { progressToken: 0 } }), 0);
  assert.is(progressTokenOf({ _meta: { progressToken: { nested: true } } }), undefined);
});

test.run();
