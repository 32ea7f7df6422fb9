import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, EncodedRun, seal, sealSnapshot, snapshotVersion } from './version.ts';
import type { SnapshotContent, Target } from './types.ts';

const content = (): SnapshotContent => ({
  group: 'ns/gw',
  listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [] }],
  routes: [],
  backends: [],
  targets: [],
  policies: [],
  secrets: [],
});

/** canonicalJson as first written, the definition the fast paths must match character for character. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
}

/** The version as defined: sha256 of the canonical JSON of the content's fields, 16 hex digits. */
function referenceVersion(c: SnapshotContent): string {
  const { group, listeners, routes, backends, targets, policies, secrets } = c;
  return createHash('sha256').update(reference({ group, listeners, routes, backends, targets, policies, secrets })).digest('hex').slice(0, 16);
}

function target(i: number, over: Partial<Target> = {}): Target {
  return {
    backend: `ns/backend-${Math.floor(i / 10)}`,
    name: `target-${i}`,
    endpoints: [
      { address: `10.0.${Math.floor(i / 250)}.${i % 250}`, port: 3000, ready: true },
      { address: `10.1.${Math.floor(i / 250)}.${i % 250}`, port: 3000, ready: i % 3 !== 0 },
    ],
    path: '/mcp',
    protocol: 'PROTOCOL_STREAMABLE_HTTP',
    scheme: 'http',
    timeouts: { requestMs: 30000, initializeMs: 0 },
    authSecret: '',
    source: `Service/ns/svc-${i}:8080`,
    stdio: null,
    ...over,
  };
}

test('canonicalJson sorts keys at every depth and drops undefined', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"x":0,"z":1}]},"b":1}');
});

test('canonicalJson is the reference encoding for awkward values', () => {
  const values: unknown[] = [
    undefined, null, 0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 'a"b\\c\n\u2028\ud800', true, [], {}, [undefined, () => 1, Symbol('s')],
    { fn: () => 1, sym: Symbol('s'), u: undefined, n: null },
    { 10: 'ten', 9: 'nine', b: 1, a: 2, '01': 'zero-one', '': 'empty' }, // integer-like keys sort as strings here
    { ['__proto__']: { x: 1 }, a: 1 },
    JSON.parse('{"__proto__": {"polluted": true}, "b": [1, {"d": 1, "c": 2}]}'),
    { date: new Date(0), map: new Map([[1, 2]]), nested: [[{ b: 1, a: [{ d: 4, c: 3 }] }]] },
    { é: 1, e: 2, E: 3, '😀': 4, 'a-b': 5, a_b: 6 },
    { shape: [{ b: 1, a: 2 }, { b: 3, a: 4 }, { a: 5, b: 6 }, { c: 7, b: 8 }] },
  ];
  for (const value of values) assert.is(canonicalJson(value), reference(value), String(reference(value)));
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

test('seal freezes what it holds, even below an object someone froze only at its top', () => {
  const inner = { list: [{ x: 1 }] };
  const outer = Object.freeze({ inner });
  seal({ outer });
  assert.ok(Object.isFrozen(inner) && Object.isFrozen(inner.list) && Object.isFrozen(inner.list[0]));
});

test('targets written by the fast path read exactly as the reference encoding, and odd ones too', () => {
  const reordered = target(3);
  const odd: Target[] = [
    target(1),
    target(2, { name: 'quote " and \\ and \u0001', path: '/ünï/😀' }),
    target(4, { endpoints: [] }),
    target(5, { endpoints: [{ address: 'a', port: Number.NaN, ready: true }] }),
    target(6, { stdio: { command: 'npx', args: ['-y', 'x'], env: { B: '1', A: '2', '1': 'digit' }, cwd: '' } }),
    { ...target(7), extra: 'not a Target field' } as Target,
    { ...target(8), path: undefined } as unknown as Target,
    { ...target(9), timeouts: { initializeMs: 5, requestMs: 7 } },
    Object.fromEntries(Object.entries(reordered).reverse()) as unknown as Target,
  ];
  const items = structuredClone(odd);
  assert.is(sealSnapshot({ ...content(), targets: [...items] }, { targets: [EncodedRun.encode(items)] }).version, referenceVersion({ ...content(), targets: odd }));
  for (const t of odd) assert.is(sealSnapshot({ ...content(), targets: [structuredClone(t)] }).version, referenceVersion({ ...content(), targets: [t] }));
});

test('a snapshot built from runs has the version of its content, and runs that are not the list are ignored', () => {
  const targets = Array.from({ length: 30 }, (_, i) => target(i));
  const runs = [EncodedRun.encode(targets.slice(0, 10)), EncodedRun.encode([]), EncodedRun.encode(targets.slice(10))];
  const expected = referenceVersion({ ...content(), targets });
  assert.is(sealSnapshot({ ...content(), targets: [...targets] }, { targets: runs }).version, expected);
  // The runs miss a target, or have them in another order: encoded member by member instead.
  const other = Array.from({ length: 30 }, (_, i) => target(i));
  assert.is(sealSnapshot({ ...content(), targets: other }, { targets: runs.slice(0, 1) }).version, expected);
  const swapped = [...runs].reverse();
  assert.is(sealSnapshot({ ...content(), targets: [...targets] }, { targets: swapped }).version, expected);
});

test('a run made again from the same items is the same run; from some of them, keeps their text', () => {
  const targets = Array.from({ length: 5 }, (_, i) => target(i));
  const first = EncodedRun.encode(targets);
  assert.is(EncodedRun.encode([...targets], first), first);
  const next = EncodedRun.encode([targets[0]!, target(99), targets[2]!], first);
  assert.is(EncodedRun.text(next), [targets[0], target(99), targets[2]].map(reference).join(','));
});

test('versions hashed from where the last one left off are the versions hashed from scratch', () => {
  // Large enough for many hash checkpoints (64k characters each); changes early, late, in the
  // middle, shrinking and growing the list, across two groups taking turns.
  const base = Array.from({ length: 3000 }, (_, i) => target(i));
  const edits: Array<(t: Target[]) => Target[]> = [
    (t) => t,
    (t) => t.map((x, i) => (i === 2900 ? target(i, { path: '/late' }) : x)),
    (t) => t.map((x, i) => (i === 1500 ? target(i, { path: '/middle' }) : x)),
    (t) => t.map((x, i) => (i === 0 ? target(i, { path: '/early' }) : x)),
    (t) => t.slice(0, 2000),
    (t) => [...t, target(5000)],
    (t) => t.filter((_, i) => i !== 1000),
    (t) => t,
  ];
  for (const group of ['a/one', 'b/two']) {
    let targets = base;
    for (const edit of edits) {
      targets = edit(targets);
      const c: SnapshotContent = { ...content(), group, targets: targets.map((t) => structuredClone(t)) };
      const expected = referenceVersion(c);
      assert.is(snapshotVersion(c), expected);
      assert.is(sealSnapshot(c, { targets: [EncodedRun.encode(c.targets)] }).version, expected);
    }
  }
});

test.run();
