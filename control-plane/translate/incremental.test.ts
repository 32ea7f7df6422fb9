// The translator reuses what earlier runs derived (layout.ts, resolve-cache.ts, version.ts). These
// tests hold it to two promises: the output after any sequence of events is exactly what a
// translator that never saw the earlier states computes, and one event costs work in proportion to
// what it touched, not to the cluster (checked by object identity and by a ratio to a run from
// scratch in the same process, never by an absolute time).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Snapshot } from '../../shared/config/types.ts';
import { deepFrozen } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import { emptyState, reduceAll, type ClusterState, type StateChange } from '../state/reducer.ts';
import { ClusterIndex } from './cluster-index.ts';
import { Kinds } from './kinds.ts';
import { readSelector, type LabelSelector } from './selectors.ts';
import {
  appLabel,
  endpointSlice,
  namespaceName,
  service,
  serviceName,
  syntheticCluster,
  TARGET_SIZE,
  type SyntheticSize,
} from './synthetic-cluster.ts';
import { translate, TranslateCache, type TranslateOptions, type TranslateResult } from './translate.ts';

const OPTIONS: TranslateOptions = { gatewayClasses: ['mcpmux'] };
/** One cache for the file, as a control plane keeps one; translations from scratch make their own. */
const cache = new TranslateCache();
const SMALL: SyntheticSize = { services: 240, backends: 40, namespaces: 4, endpointsPerService: 2 };

const id = (o: KubeObject): string => `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
const upsert = (object: KubeObject): StateChange => ({ type: 'upsert', object });

/** The objects of a cluster as events change them, and the state the reducer folds them into. */
class Cluster {
  readonly objects = new Map<string, KubeObject>();
  state: ClusterState = emptyState();

  constructor(objects: readonly KubeObject[]) {
    this.apply(objects.map(upsert));
  }

  apply(changes: readonly StateChange[]): void {
    for (const change of changes) {
      if (change.type === 'upsert') this.objects.set(id(change.object), change.object);
      else this.objects.delete(id(change.object));
    }
    this.state = reduceAll(this.state, changes);
  }

  get(kind: string, namespace: string, name: string): KubeObject {
    const found = [...this.objects.values()].find((o) => o.kind === kind && (o.metadata.namespace ?? '') === namespace && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${namespace}/${name}`);
    return found;
  }

  /** The same objects as new objects: nothing an earlier run derived can be reused for them. */
  fresh(): ClusterState {
    return reduceAll(emptyState(), [...this.objects.values()].map((o) => upsert(structuredClone(o))));
  }
}

/** Bumps resourceVersion (the reducer skips an upsert of the version it holds) and applies `edit`. */
function edited(object: KubeObject, edit: (o: KubeObject) => KubeObject): KubeObject {
  const next = edit(structuredClone(object));
  return { ...next, metadata: { ...next.metadata, resourceVersion: `${object.metadata.resourceVersion ?? '0'}-edited` } };
}

const text = (result: TranslateResult): string => JSON.stringify(result);

test('after every kind of event, the result is exactly that of a translator that never saw the earlier states', () => {
  const cluster = new Cluster(syntheticCluster(SMALL));
  translate(cluster.state, OPTIONS, cache);
  const ns0 = namespaceName(0);
  const ns1 = namespaceName(1);
  const events: Array<[string, () => StateChange[]]> = [
    ['an EndpointSlice endpoint stops being ready', () => [upsert(endpointSlice(ns1, 3, 1, 2, 1))]],
    ['a Service moves to another backend', () => [upsert(service(ns1, 4, appLabel(7), '2'))]],
    ['a Service is renamed by annotation', () => [upsert(service(ns1, 5, appLabel(5), '2', { 'mcpmux.dev/target-name': 'renamed' }))]],
    ['two Services of one backend claim one name', () => [1, 11].map((s) => upsert(service(ns0, s, appLabel(1), '2', { 'mcpmux.dev/target-name': 'same' })))],
    ['a Service is deleted', () => [{ type: 'delete', object: cluster.get('Service', ns1, serviceName(6)) }]],
    ['an EndpointSlice is deleted (the Service falls back to its DNS name)', () => [{ type: 'delete', object: cluster.get('EndpointSlice', ns1, `${serviceName(7)}-x7k2p`) }]],
    ['a Service is added, pointed at a URL', () => [upsert(service(ns1, 900, appLabel(2), '1', { 'mcpmux.dev/url': 'http://127.0.0.1:3001/mcp' }))]],
    ['a namespace joins the platform backend (namespaceSelector tier: gold)', () => [
      upsert(edited(cluster.get('Namespace', '', ns1), (o) => ({ ...o, metadata: { ...o.metadata, labels: { mcp: 'enabled', tier: 'gold' } } }))),
    ]],
    ['a backend selects another toolset', () => [
      upsert(edited(cluster.get('MCPBackend', ns1, 'toolset-2'), (o) => ({ ...o, spec: { targets: [{ selector: { matchLabels: { app: appLabel(3) } } }] } }))),
    ]],
    ['a backend becomes invalid', () => [upsert(edited(cluster.get('MCPBackend', ns1, 'toolset-4'), (o) => ({ ...o, spec: { ...(o.spec as object), prefixMode: 'sometimes' } })))]],
    ['an HTTPRoute is deleted', () => [{ type: 'delete', object: cluster.get('HTTPRoute', ns1, 'toolset-6') }]],
    ['a backend is deleted while its route stays', () => [{ type: 'delete', object: cluster.get('MCPBackend', ns1, 'toolset-8') }]],
    ['the Gateway gets a hostname', () => [
      upsert(edited(cluster.get('Gateway', 'gateway-system', 'mcp'), (o) => {
        const spec = o.spec as { listeners: Array<Record<string, unknown>> };
        return { ...o, spec: { ...spec, listeners: spec.listeners.map((l, i) => (i === 0 ? { ...l, hostname: 'mcp.example.com' } : l)) } };
      })),
    ]],
    ['many objects at once', () => Array.from({ length: 30 }, (_, s) => upsert(endpointSlice(ns0, s, 0, 2, 2)))],
  ];
  for (const [name, event] of events) {
    cluster.apply(event());
    const incremental = translate(cluster.state, OPTIONS, cache);
    const cold = translate(cluster.fresh(), OPTIONS, new TranslateCache());
    assert.is(text(incremental), text(cold), name);
    // Sealed as handed out, whether built now or reused from earlier runs: nothing can change them.
    for (const snapshot of [...incremental.snapshots, ...cold.snapshots]) assert.ok(deepFrozen(snapshot), `${name}: deeply frozen`);
    // And with stdio allowed, which is a different option set (cached separately).
    assert.is(text(translate(cluster.state, { ...OPTIONS, allowStdio: true }, cache)), text(translate(cluster.fresh(), { ...OPTIONS, allowStdio: true }, new TranslateCache())), `${name} (allowStdio)`);
  }
});

test('snapshots handed out cannot be changed: writes to any part of them throw, and the next run is unaffected', () => {
  const cluster = new Cluster(syntheticCluster(SMALL));
  const snapshot = only(translate(cluster.state, OPTIONS, cache).snapshots);
  const before = JSON.stringify(snapshot);
  const target = snapshot.targets[3]!;
  const writes: Array<() => void> = [
    () => snapshot.targets.push(target),
    () => ((snapshot as { version: string }).version = 'x'),
    () => ((target as { name: string }).name = 'x'),
    () => (target.endpoints[0]!.ready = false),
    () => target.endpoints.pop(),
    () => ((target.timeouts as { requestMs: number }).requestMs = 1),
    () => snapshot.backends[0]!.targets.push('x'),
    () => (snapshot.routes[0]!.listeners[0] = 'x'),
  ];
  for (const write of writes) assert.throws(write, TypeError);
  assert.is(JSON.stringify(snapshot), before);
  assert.is(JSON.stringify(only(translate(cluster.state, OPTIONS, cache).snapshots)), before);
});

test('one EndpointSlice event rebuilds one target: every other target, backend and route is the same object as before', () => {
  const cluster = new Cluster(syntheticCluster(SMALL));
  const before = only(translate(cluster.state, OPTIONS, cache).snapshots);
  const ns = namespaceName(2);
  cluster.apply([upsert(endpointSlice(ns, 13, 2, 2, 1))]);
  const after = only(translate(cluster.state, OPTIONS, cache).snapshots);

  assert.is.not(after.version, before.version);
  const changed = after.targets.filter((t, i) => t !== before.targets[i]);
  assert.equal(changed.map((t) => t.source), [`Service/${ns}/${serviceName(13)}:8080`]);
  assert.ok(after.backends.every((b, i) => b === before.backends[i]), 'backends are reused (their target names did not change)');
  assert.ok(after.routes.every((r, i) => r === before.routes[i]), 'routes are reused (no route-side object changed)');
});

test('selecting Services reads only the Services in the smallest matchLabels bucket, not the namespace', () => {
  // Each Service's labels count their reads once armed; building the index reads them all, once.
  let armed = false;
  const read = new Set<string>();
  const counted = (name: string, labels: Record<string, string>): Record<string, string> =>
    new Proxy(labels, {
      get(target, key, receiver) {
        if (armed) read.add(name);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  const objects = Array.from({ length: 1000 }, (_, s) => {
    const object = service('ns', s, appLabel(s % 100));
    return { ...object, metadata: { ...object.metadata, labels: counted(object.metadata.name, object.metadata.labels ?? {}) } };
  });
  const index = new ClusterIndex(reduceAll(emptyState(), objects.map(upsert)));
  const selector = (value: unknown): LabelSelector => {
    const s = readSelector(value);
    if (typeof s === 'string') throw new Error(s);
    return s;
  };
  // Builds the namespace's index, by label for the keys selectors name (once per key: the first
  // selector naming a key reads every Service's labels, as building the whole index once did).
  index.selectServices('ns', selector({ matchLabels: { app: appLabel(0), stage: 'none' } }));

  armed = true;
  const selected = index.selectServices('ns', selector({ matchLabels: { app: appLabel(42), stage: 'canary' } }));
  assert.equal(selected.map((s) => s.name), [42, 342, 642, 942].map(serviceName));
  assert.ok(read.size <= 10, `read the labels of ${read.size} Services for a selector that 10 can match`);
});

test('one event is far cheaper than a translation from scratch at 10k Services / 1k backends', () => {
  // A ratio in one process, each side its best of several runs: noise on a shared machine only
  // ever adds time, so the minimum is the honest figure. The ratio is ~50 on the machines this was
  // written on; 5 leaves room for slow, loaded ones while still failing if events did work
  // proportional to the cluster.
  const objects = syntheticCluster(TARGET_SIZE);
  let state = reduceAll(emptyState(), objects.map(upsert));
  translate(state, OPTIONS, cache);
  const cold: number[] = [];
  for (let i = 0; i < 2; i++) {
    const fresh = reduceAll(emptyState(), objects.map((o) => upsert(structuredClone(o))));
    const started = performance.now();
    translate(fresh, OPTIONS, new TranslateCache());
    cold.push(performance.now() - started);
  }
  const events: number[] = [];
  for (let i = 0; i < 12; i++) {
    const n = (i * 37) % TARGET_SIZE.namespaces;
    const started = performance.now();
    state = reduceAll(state, [upsert(endpointSlice(namespaceName(n), (i * 53) % 100, n, 2, 1))]);
    translate(state, OPTIONS, cache);
    events.push(performance.now() - started);
  }
  const ratio = Math.min(...cold) / Math.min(...events);
  assert.ok(ratio > 5, `one event ${Math.min(...events).toFixed(1)} ms, from scratch ${Math.min(...cold).toFixed(1)} ms: ratio ${ratio.toFixed(1)}`);
});

test('the EndpointSlice kind really is indexed by namespace bucket: an event in one namespace keeps the others', () => {
  const cluster = new Cluster(syntheticCluster(SMALL));
  const before = cluster.state;
  cluster.apply([upsert(endpointSlice(namespaceName(1), 1, 1, 2, 1))]);
  const after = cluster.state;
  assert.is.not(after.buckets(Kinds.EndpointSlice).get(namespaceName(1)), before.buckets(Kinds.EndpointSlice).get(namespaceName(1)));
  assert.is(after.buckets(Kinds.EndpointSlice).get(namespaceName(0)), before.buckets(Kinds.EndpointSlice).get(namespaceName(0)));
  assert.is(after.buckets(Kinds.Service), before.buckets(Kinds.Service));
});

function only(snapshots: readonly Snapshot[]): Snapshot {
  assert.is(snapshots.length, 1);
  return snapshots[0]!;
}

test.run();
