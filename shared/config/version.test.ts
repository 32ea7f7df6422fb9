import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, EncodedRun, seal, sealParts, sealSnapshot, snapshotVersion, VersionCache } from './version.ts';
import type { SnapshotContent, Target } from './types.ts';

const content = (): SnapshotContent => ({
  group: 'ns/gw',
  listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] }],
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

/**
 * The version as defined (version.ts), written plainly: sha256 of the canonical JSON of the content
 * with each list replaced by a hash (hex): listeners, routes, policies and secrets by the sha256 of
 * their canonical JSON; backends by the sha256 of their digests laid end to end; targets the same
 * over runs of consecutive targets of one backend (each a JSON list). 16 hex digits.
 */
function referenceVersion(c: SnapshotContent): string {
  const { group, listeners, routes, backends, targets, policies, secrets } = c;
  const sha = (value: unknown): Buffer => createHash('sha256').update(reference(value)).digest();
  const runs: Target[][] = [];
  for (const t of targets) {
    const last = runs.at(-1);
    if (last && typeof t.backend === 'string' && last[0]!.backend === t.backend) last.push(t);
    else runs.push([t]);
  }
  const hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
  const merkle = {
    group,
    listeners: sha(listeners).toString('hex'),
    routes: sha(routes).toString('hex'),
    backends: hex(Buffer.concat(backends.map(sha))),
    targets: hex(Buffer.concat(runs.map(sha))),
    policies: sha(policies).toString('hex'),
    secrets: sha(secrets).toString('hex'),
  };
  return createHash('sha256').update(reference(merkle)).digest('hex').slice(0, 16);
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
    protocolEra: 'PROTOCOL_ERA_AUTO',
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
  const b = { secrets: [], policies: [], targets: [], backends: [], routes: [], listeners: [{ hostnames: [], protocol: 'HTTP', port: 80, name: 'http' , certificateSecrets: [] }], group: 'ns/gw' };
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
    target(10, { source: 'del \u007f, a lone \ud800, tab \t, line separator \u2028', scheme: '' }),
    target(4, { endpoints: [] }),
    target(5, { endpoints: [{ address: 'a', port: Number.NaN, ready: true }] }),
    target(6, { stdio: { command: 'npx', args: ['-y', 'x'], env: { B: '1', A: '2', '1': 'digit' }, cwd: '' } }),
    { ...target(7), extra: 'not a Target field' } as Target,
    { ...target(8), path: undefined } as unknown as Target,
    { ...target(9), timeouts: { initializeMs: 5, requestMs: 7 } },
    Object.fromEntries(Object.entries(reordered).reverse()) as unknown as Target,
    target(11, { protocolEra: 'PROTOCOL_ERA_MODERN' }),
    target(12, { protocolEra: 'PROTOCOL_ERA_LEGACY', protocol: 'PROTOCOL_SSE' }),
    { ...target(13), protocolEra: undefined } as unknown as Target,
    { ...target(14), protocolEra: 2 } as unknown as Target,
  ];
  const items = structuredClone(odd);
  assert.is(sealSnapshot({ ...content(), targets: [...items] }, { targets: [EncodedRun.encode(items)] }).version, referenceVersion({ ...content(), targets: odd }));
  for (const t of odd) assert.is(sealSnapshot({ ...content(), targets: [structuredClone(t)] }).version, referenceVersion({ ...content(), targets: [t] }));
});

test('backends written by the fast path read exactly as the reference encoding, and odd ones too', () => {
  const { backends } = cluster(3, 2);
  const b = backends[1]!;
  const odd: Array<SnapshotContent['backends'][number]> = [
    ...backends,
    { ...b, name: 'quote " \\ \u0001 ünï 😀 \ud800', instructions: 'line\nbreak', toolInclude: ['a*', 'b?'], toolExclude: ['x'] },
    { ...b, serverInfo: { version: '1', name: 'reordered' } },
    { ...b, serverInfo: { name: 'n', version: 'v', extra: 1 } as unknown as SnapshotContent['backends'][number]['serverInfo'] },
    { ...b, targets: ['a', undefined as unknown as string, 'c'] },
    { ...b, extra: 'not a Backend field' } as SnapshotContent['backends'][number],
    Object.fromEntries(Object.entries(b).reverse()) as unknown as SnapshotContent['backends'][number],
  ];
  const c = { ...content(), backends: odd };
  assert.is(sealSnapshot(structuredClone(c)).version, referenceVersion(c));
  assert.is(snapshotVersion(c), referenceVersion(c));
  for (const backend of odd) assert.is(snapshotVersion({ ...content(), backends: [backend] }), referenceVersion({ ...content(), backends: [backend] }));
});

test('routes written by the fast path read exactly as the reference encoding, and odd ones too', () => {
  const route = { name: 'ns/r/0/0', listeners: ['http', 'https'], pathPrefix: '/mcp', backend: 'ns/b', hostnames: [] };
  const odd = [
    route,
    { ...route, hostnames: ['mcp.example.test', '*.example.test'] },
    { ...route, hostnames: ['a', null as unknown as string] },
    { name: 'older', listeners: ['l'], pathPrefix: '/', backend: 'b', hostnames: [] },
    { ...route, name: 'quote " \\ ünï \ud800', listeners: [] },
    { ...route, listeners: ['a', 1 as unknown as string] },
    { ...route, extra: true },
    { pathPrefix: '/x', name: 'reordered', backend: 'b', listeners: ['l'] },
  ] as SnapshotContent['routes'];
  const c = { ...content(), routes: odd };
  assert.is(sealSnapshot(structuredClone(c), { routes: [EncodedRun.encode(structuredClone(odd))] }).version, referenceVersion(c));
  for (const r of odd) assert.is(EncodedRun.text(EncodedRun.encode([structuredClone(r)])), reference(r));
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

/** Targets of backends ns/backend-0…: `perBackend` each, and the Backends naming them. */
function cluster(backendCount: number, perBackend: number): { backends: SnapshotContent['backends']; targets: Target[] } {
  const targets = Array.from({ length: backendCount * perBackend }, (_, i) => target(i, { backend: `ns/backend-${Math.floor(i / perBackend)}` }));
  const backends = Array.from({ length: backendCount }, (_, b) => ({
    name: `ns/backend-${b}`,
    prefixMode: 'PREFIX_MODE_CONDITIONAL' as const,
    failureMode: 'FAILURE_MODE_OPEN' as const,
    targets: targets.filter((t) => t.backend === `ns/backend-${b}`).map((t) => t.name),
    toolInclude: [],
    toolExclude: [],
    serverInfo: b % 2 === 0 ? null : { name: `server-${b}`, version: '1' },
    instructions: '',
  }));
  return { backends, targets };
}

/** The targets cut into one run per backend, as the translator builds them. */
function backendRuns(targets: readonly Target[]): Array<EncodedRun<Target>> {
  const byBackend = new Map<string, Target[]>();
  for (const t of targets) byBackend.set(t.backend, [...(byBackend.get(t.backend) ?? []), t]);
  return [...byBackend.values()].map((run) => EncodedRun.encode(run));
}

test('versions from cached leaves are the versions as defined, through edits early, late, in the middle, shrinking and growing', () => {
  const base = cluster(60, 25);
  const edits: Array<(t: Target[]) => Target[]> = [
    (t) => t,
    (t) => t.map((x, i) => (i === 1490 ? target(i, { backend: x.backend, path: '/late' }) : x)),
    (t) => t.map((x, i) => (i === 700 ? target(i, { backend: x.backend, path: '/middle' }) : x)),
    (t) => t.map((x, i) => (i === 0 ? target(i, { backend: x.backend, path: '/early' }) : x)),
    (t) => t.slice(0, 1000),
    (t) => [...t, target(5000, { backend: 'ns/backend-zz' })],
    (t) => t.filter((_, i) => i !== 400),
    (t) => t,
  ];
  let targets = base.targets;
  let previous = '';
  for (const edit of edits) {
    targets = edit(targets);
    const c: SnapshotContent = { ...content(), backends: base.backends, targets };
    const expected = referenceVersion(c);
    assert.is(snapshotVersion(c), expected);
    assert.is(sealSnapshot({ ...c, targets: [...targets] }, { targets: backendRuns(targets) }).version, expected);
    const parts = sealParts({ ...c, listeners: [EncodedRun.encode(c.listeners)], routes: [], targets: backendRuns(targets) }, new VersionCache());
    assert.is(parts.version, expected, 'from parts');
    assert.equal(parts.targets, targets);
    assert.is(sealSnapshot({ ...c, targets: structuredClone(targets) }).version, expected, 'from scratch');
    if (edit !== edits[0] && edit !== edits.at(-1)) assert.is.not(expected, previous, 'an edit is a new version');
    previous = expected;
  }
});

test('runs made from scratch share slabs of 64 KiB: runs and odd members across slab ends encode as defined', () => {
  // 400 runs of 5 targets. Every seventh one the fast path gives up on after writing 40 endpoints
  // (the 41st has a port JSON writes as null) and the generic encoder writes again; one of them
  // after writing 2000 endpoints, more than a slab holds, so the run moves to a new slab meanwhile.
  const odd = (i: number, n: number): Partial<Target> => ({
    endpoints: [...Array.from({ length: n }, (_, e) => ({ address: `10.9.${e % 250}.${i % 250}`, port: 80, ready: true })), { address: 'x', port: Number.NaN, ready: true }],
  });
  const targets = Array.from({ length: 2000 }, (_, i) =>
    target(i, { backend: `ns/backend-${String(Math.floor(i / 5)).padStart(4, '0')}`, ...(i === 1002 ? odd(i, 2000) : i % 7 === 3 ? odd(i, 40) : {}) }));
  const runs = backendRuns(targets);
  assert.is(sealSnapshot({ ...content(), targets: [...targets] }, { targets: runs }).version, referenceVersion({ ...content(), targets }));
  for (const [i, run] of runs.entries()) assert.is(EncodedRun.text(run), targets.slice(i * 5, i * 5 + 5).map(reference).join(','));
  // Made again from an earlier run, with one member changed: the others keep their bytes.
  const again = EncodedRun.encode([runs[7]!.items[0]!, target(99_999, { backend: runs[7]!.items[0]!.backend }), ...runs[7]!.items.slice(2)], runs[7]);
  assert.is(EncodedRun.text(again), again.items.map(reference).join(','));
});

test('the version does not depend on how the target list was cut into runs, only on its content', () => {
  const { backends, targets } = cluster(5, 4);
  const expected = referenceVersion({ ...content(), backends, targets });
  const cuts: Array<Array<EncodedRun<Target>>> = [
    backendRuns(targets), // the version's runs
    [EncodedRun.encode(targets)], // one run holding every backend's targets
    [EncodedRun.encode(targets.slice(0, 2)), EncodedRun.encode(targets.slice(2, 9)), EncodedRun.encode([]), EncodedRun.encode(targets.slice(9))], // cut anywhere
    [EncodedRun.encode(targets.slice(0, 2)), EncodedRun.encode(targets.slice(2, 4)), ...backendRuns(targets.slice(4))], // one backend in two runs
    backendRuns(targets).reverse(), // not the list at all
  ];
  for (const runs of cuts) assert.is(sealSnapshot({ ...content(), backends, targets: [...targets] }, { targets: runs }).version, expected);
});

test('any change moves the version: a backend, the order of targets, which backend a target is in, a run boundary', () => {
  const { backends, targets } = cluster(3, 3);
  const base = { ...content(), backends, targets };
  const versions = new Set<string>([snapshotVersion(base)]);
  const variants: SnapshotContent[] = [
    { ...base, backends: backends.map((b, i) => (i === 1 ? { ...b, instructions: 'x' } : b)) },
    { ...base, backends: [...backends].reverse() },
    { ...base, targets: [targets[1]!, targets[0]!, ...targets.slice(2)] },
    { ...base, targets: [targets[0]!, targets[3]!, targets[1]!, targets[2]!, ...targets.slice(4)] }, // interleaved backends
    { ...base, targets: targets.map((t, i) => (i === 3 ? { ...t, backend: targets[0]!.backend } : t)) },
    { ...base, targets: targets.slice(0, 8) },
    { ...base, targets: [...targets, targets[8]!] },
    { ...base, routes: [{ name: 'r', listeners: ['http'], pathPrefix: '/mcp', backend: 'ns/backend-0', hostnames: [] }] },
    { ...base, targets: targets.map((t, i) => (i === 4 ? { ...t, protocolEra: 'PROTOCOL_ERA_MODERN' as const } : t)) },
    { ...base, targets: targets.map((t, i) => (i === 4 ? { ...t, protocolEra: 'PROTOCOL_ERA_LEGACY' as const } : t)) },
  ];
  for (const variant of variants) {
    const version = snapshotVersion(variant);
    assert.is(version, referenceVersion(variant));
    assert.not.ok(versions.has(version), `variant ${variants.indexOf(variant)} has a version of its own`);
    versions.add(version);
  }
});

test("a sealed backend's leaf is hashed once: later snapshots holding the same object do not read it again", () => {
  const { backends, targets } = cluster(2, 2);
  let reads = 0;
  const counted = backends.map((b) => new Proxy(b, { get: (o, key, receiver) => (reads++, Reflect.get(o, key, receiver) as unknown) }));
  const cache = new VersionCache(); // what keeps the leaf from one snapshot to the next
  const first = sealSnapshot({ ...content(), backends: [...counted], targets: [...targets] }, { targets: backendRuns(targets) }, cache);
  assert.ok(reads > 0);
  const before = reads;
  const runs = backendRuns(targets);
  const second = sealSnapshot({ ...content(), group: 'ns/other', backends: [...counted], targets: [...targets] }, { targets: runs }, cache);
  assert.is(reads, before, 'no property of either backend was read again');
  assert.is(second.version, referenceVersion({ ...content(), group: 'ns/other', backends, targets }));
  assert.is.not(second.version, first.version);
});

test.run();
