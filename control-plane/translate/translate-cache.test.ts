// The translator is pure given its cache (translate-cache.ts): the same state translated with a
// fresh cache and with a warm one (that has translated this state, the states before it and
// others) gives the same result, object for object in value, the same versions and the same bytes
// on the wire. And nothing on the translate → version → encode path keeps state of its own.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeSnapshotResponse, SnapshotEncoder } from '../discovery/encode.ts';
import type { KubeObject } from '../sources/source.ts';
import { parseManifests } from '../sources/yaml.ts';
import { emptyState, reduceAll, type ClusterState, type StateChange } from '../state/reducer.ts';
import { appLabel, endpointSlice, namespaceName, service, syntheticCluster, type SyntheticSize } from './synthetic-cluster.ts';
import { DEFAULT_FILES_GATEWAY_CLASSES, translate, TranslateCache, type TranslateOptions, type TranslateResult } from './translate.ts';

const OPTIONS: TranslateOptions = { gatewayClasses: ['mcpmux'] };
const SMALL: SyntheticSize = { services: 120, backends: 24, namespaces: 4, endpointsPerService: 2 };
const DATA = new URL('./testdata/', import.meta.url);
const upsert = (object: KubeObject): StateChange => ({ type: 'upsert', object });

/** The golden cases' inputs, each as a state (their "# Output" part left out). */
function goldenStates(): Array<[string, ClusterState]> {
  return readdirSync(DATA)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(new URL(file, DATA), 'utf8');
      const { objects } = parseManifests(text.split(/^# Output[ \t]*$/m)[0]!, file);
      return [file, reduceAll(emptyState(), objects.map(upsert))];
    });
}

/** Both results alike in value, version and wire bytes (a fresh encoder and a warm one). */
function assertSame(fresh: TranslateResult, warm: TranslateResult, encoder: SnapshotEncoder, what: string): void {
  assert.equal(warm, fresh, `${what}: the same result`);
  assert.equal(warm.snapshots.map((s) => s.version), fresh.snapshots.map((s) => s.version), `${what}: the same versions`);
  fresh.snapshots.forEach((snapshot, i) => {
    assert.ok(encoder.encode(warm.snapshots[i]!).equals(encodeSnapshotResponse(snapshot)), `${what}: the same bytes for ${snapshot.group}`);
  });
}

test('a fresh cache and a warm one give the same result, versions and bytes, event after event', () => {
  const warm = new TranslateCache();
  const encoder = new SnapshotEncoder();
  // Warmed by other states and option sets first: what they left behind must not leak in.
  for (const [, state] of goldenStates()) translate(state, { gatewayClasses: DEFAULT_FILES_GATEWAY_CLASSES, allowStdio: true }, warm);
  let state = reduceAll(emptyState(), syntheticCluster(SMALL).map(upsert));
  translate(state, { ...OPTIONS, allowStdio: true }, warm);
  const ns = namespaceName(1);
  const events: Array<[string, StateChange[]]> = [
    ['the first state', []],
    ['an EndpointSlice endpoint stops being ready', [upsert(endpointSlice(ns, 3, 1, 2, 1))]],
    ['a Service moves to another backend', [upsert(service(ns, 4, appLabel(7), '2'))]],
    ['a Service is renamed by annotation', [upsert(service(ns, 5, appLabel(5), '2', { 'mcpmux.dev/target-name': 'renamed' }))]],
    ['a Service is deleted', [{ type: 'delete', object: service(ns, 6, appLabel(6)) }]],
    ['the Service comes back', [upsert(service(ns, 6, appLabel(6)))]],
    ['many objects at once', Array.from({ length: 20 }, (_, s) => upsert(endpointSlice(namespaceName(0), s, 0, 2, 2)))],
  ];
  for (const [name, batch] of events) {
    state = reduceAll(state, batch);
    const fromWarm = translate(state, OPTIONS, warm);
    assertSame(translate(state, OPTIONS, new TranslateCache()), fromWarm, encoder, name);
    // Translated again with the same cache: the very same result.
    assertSame(fromWarm, translate(state, OPTIONS, warm), encoder, `${name}, again`);
  }
});

test('the golden cases: a fresh cache and a warm one agree', () => {
  const warm = new TranslateCache();
  const encoder = new SnapshotEncoder();
  const options: TranslateOptions = { gatewayClasses: DEFAULT_FILES_GATEWAY_CLASSES, allowStdio: true };
  const states = goldenStates();
  for (const [, state] of states) translate(state, options, warm);
  for (const [file, state] of states) assertSame(translate(state, options, new TranslateCache()), translate(state, options, warm), encoder, file);
});

test('nothing on the translate → version → encode path keeps state at module level', () => {
  const root = new URL('../../', import.meta.url);
  const folder = (path: string): string[] => readdirSync(new URL(path, root)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => `${path}${f}`);
  const files = [
    ...folder('control-plane/translate/'),
    'control-plane/state/state.ts',
    'control-plane/discovery/encode.ts',
    'control-plane/discovery/proto-writer.ts',
    'shared/config/version.ts',
    'shared/config/version-cache.ts',
    'shared/config/canonical-json.ts',
  ];
  // A `let`, a weak map or an empty list to be filled, at the top level of a module.
  const mutable = /^(let |(export )?const \w+(: [^=]+)? = (new WeakMap|new WeakSet|\[\];))/m;
  const found = files.filter((file) => mutable.test(readFileSync(fileURLToPath(new URL(file, root)), 'utf8')));
  assert.equal(found, [], 'caches belong in TranslateCache, VersionCache, EncodeCache or a state\'s DerivedData');
});

test.run();
