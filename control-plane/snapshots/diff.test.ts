import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listenerSnapshot } from '../../shared/testing/snapshots.ts';
import { diffSnapshots } from './diff.ts';

test('listeners and secrets added, removed and changed, by kind then name; equal snapshots differ in nothing', () => {
  const a = listenerSnapshot('ns/gw', 80, { secrets: [{ name: 'old', data: { k: 'v' } }, { name: 'kept', data: { k: '1' } }] });
  const b = listenerSnapshot('ns/gw', 8080, { secrets: [{ name: 'kept', data: { k: '2' } }, { name: 'new', data: {} }] });
  assert.equal(diffSnapshots(a, b).map((c) => `${c.change} ${c.kind} ${c.name}`), [
    'changed listener http',
    'changed secret kept',
    'added secret new',
    'removed secret old',
  ]);
  const listener = diffSnapshots(a, b)[0]!;
  assert.is((listener.before as { port: number }).port, 80);
  assert.is((listener.after as { port: number }).port, 8080);
  assert.equal(diffSnapshots(a, a), []);
});

test.run();
