import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, sealSnapshot, snapshotVersion } from './version.ts';
import type { SnapshotContent } from './types.ts';

const content = (): SnapshotContent => ({
  group: 'ns/gw',
  listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [] }],
  routes: [],
  backends: [],
  targets: [],
  policies: [],
  secrets: [],
});

test('canonicalJson sorts keys at every depth and drops undefined', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"x":0,"z":1}]},"b":1}');
});

test('the version does not depend on key order', () => {
  const a = content();
  const b = { secrets: [], policies: [], targets: [], backends: [], routes: [], listeners: [{ hostnames: [], protocol: 'HTTP', port: 80, name: 'http' }], group: 'ns/gw' };
  assert.is(snapshotVersion(a), snapshotVersion(b));
  assert.match(snapshotVersion(a), /^[0-9a-f]{16}$/);
});

test('any change to the content changes the version', () => {
  const changed = content();
  changed.listeners[0]!.port = 81;
  assert.is.not(snapshotVersion(changed), snapshotVersion(content()));
});

test('sealSnapshot freezes the snapshot deeply and carries the version', () => {
  const sealed = sealSnapshot(content());
  assert.is(sealed.version, snapshotVersion(content()));
  assert.ok(Object.isFrozen(sealed.listeners[0]));
});

test.run();
