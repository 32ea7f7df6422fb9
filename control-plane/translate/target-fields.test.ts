// The one list of a Target's fields (shared/config/target-fields.ts) is what the translator builds:
// the same keys in the same order, so its targets take both fast writers (canonical JSON, protobuf).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TARGET_FIELDS, TARGET_KEYS } from '../../shared/config/target-fields.ts';
import { emptyState, reduceAll } from '../state/reducer.ts';
import { syntheticCluster } from './synthetic-cluster.ts';
import { translate, TranslateCache } from './translate.ts';

test('the translator builds targets with the listed fields, in their order', () => {
  const objects = syntheticCluster({ services: 8, backends: 2, namespaces: 2, endpointsPerService: 1 });
  const state = reduceAll(emptyState(), objects.map((object) => ({ type: 'upsert' as const, object })));
  const [snapshot] = translate(state, { gatewayClasses: ['mcpmux'] }, new TranslateCache()).snapshots;
  assert.ok(snapshot!.targets.length > 0);
  for (const target of snapshot!.targets) assert.equal(Object.keys(target), TARGET_KEYS);
});

test('field numbers rise and fit a one-byte tag', () => {
  const numbers = TARGET_FIELDS.map((field) => field.number);
  assert.equal(numbers, [...numbers].sort((a, b) => a - b));
  assert.ok(numbers.every((n) => n > 0 && n < 16));
});

test.run();
