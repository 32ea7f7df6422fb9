import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import { DATA_FINGERPRINT, historyForm, holdsValuesOf, secretFingerprint } from './secret-fingerprint.ts';

const secret = (uid: string, value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'weather', namespace: 'team', uid, resourceVersion: '7', annotations: { owner: 'team' } },
  type: 'Opaque',
  data: { 'api-key': Buffer.from(value).toString('base64') },
});

test('a Secret in history form keeps its keys and annotations, not its values, and carries their fingerprint', () => {
  const original = secret('u1', 'token-1');
  const kept = historyForm(original);
  assert.equal(kept.data, { 'api-key': '<redacted>' });
  assert.is(kept.metadata.annotations?.owner, 'team');
  assert.is(kept.metadata.annotations?.[DATA_FINGERPRINT], secretFingerprint(original));
  assert.not.ok(JSON.stringify(kept).includes(original.data ? (original.data as Record<string, string>)['api-key']! : 'x'));
  assert.is(original.metadata.annotations?.[DATA_FINGERPRINT], undefined, 'the source object is left alone');
});

test('the fingerprint tells the same values from others, and is salted by the uid', () => {
  const kept = historyForm(secret('u1', 'token-1'));
  assert.ok(holdsValuesOf(kept, secret('u1', 'token-1')));
  assert.not.ok(holdsValuesOf(kept, secret('u1', 'token-2')), 'other values');
  assert.not.ok(holdsValuesOf(kept, secret('u2', 'token-1')), 'the same values in another Secret (or one made again)');
  assert.not.ok(holdsValuesOf(secret('u1', 'token-1'), secret('u1', 'token-1')), 'an object without a fingerprint stands for nothing');
});

test('anything but a core Secret is kept as it is', () => {
  const backend: KubeObject = { apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'team' }, spec: { targets: [] } };
  assert.is(historyForm(backend), backend);
});

test.run();
