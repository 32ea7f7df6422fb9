import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import { emptyState, reduce, reduceAll } from './reducer.ts';

const service = (name: string, namespace = 'default', extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, ...extra },
  spec: { ports: [{ port: 80 }] },
});
const upsert = (object: KubeObject) => ({ type: 'upsert' as const, object });
const del = (object: KubeObject) => ({ type: 'delete' as const, object });

test('upsert stores by group-qualified kind and namespace/name; the old state is untouched', () => {
  const before = emptyState();
  const after = reduce(before, upsert(service('a')));
  assert.is(before.size, 0);
  assert.is(after.size, 1);
  assert.is(after.get('Service', 'default', 'a')?.metadata.name, 'a');
  assert.is(after.get('Service', 'other', 'a'), undefined);
});

test('kinds of different API groups do not collide', () => {
  const istio: KubeObject = { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'ns' } };
  const gatewayApi: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'ns' } };
  const state = reduceAll(emptyState(), [upsert(istio), upsert(gatewayApi)]);
  assert.is(state.size, 2);
  assert.is(state.get('Gateway.gateway.networking.k8s.io', 'ns', 'gw')?.apiVersion, 'gateway.networking.k8s.io/v1');
  // Versions of one group are the same objects.
  const v1beta1 = reduce(state, upsert({ ...gatewayApi, apiVersion: 'gateway.networking.k8s.io/v1beta1' }));
  assert.is(v1beta1.size, 2);
});

test('an upsert replaces, a delete removes, an unknown delete returns the same state', () => {
  const a1 = service('a');
  const a2 = { ...service('a'), spec: { ports: [{ port: 81 }] } };
  const state = reduceAll(emptyState(), [upsert(a1), upsert(a2)]);
  assert.equal(state.get('Service', 'default', 'a')?.spec, { ports: [{ port: 81 }] });
  const gone = reduce(state, del(a1));
  assert.is(gone.size, 0);
  assert.is(reduce(gone, del(a1)), gone);
  assert.equal(gone.kinds(), []);
});

test('the same uid and resourceVersion again (a relist) returns the same state', () => {
  const state = reduce(emptyState(), upsert(service('a', 'default', { uid: 'u1', resourceVersion: '7' })));
  assert.is(reduce(state, upsert(service('a', 'default', { uid: 'u1', resourceVersion: '7' }))), state);
  assert.is.not(reduce(state, upsert(service('a', 'default', { uid: 'u1', resourceVersion: '8' }))), state);
});

test('managedFields are dropped; generation and resourceVersion are kept; stored objects are frozen', () => {
  const state = reduce(emptyState(), upsert(service('a', 'default', { managedFields: [{ manager: 'kubectl' }], generation: 3, resourceVersion: '9' })));
  const stored = state.get('Service', 'default', 'a')!;
  assert.is(stored.metadata.managedFields, undefined);
  assert.is(stored.metadata.generation, 3);
  assert.is(stored.metadata.resourceVersion, '9');
  assert.ok(Object.isFrozen(stored) && Object.isFrozen(stored.metadata));
});

test('list() is sorted by namespace then name, whatever the event order', () => {
  const names = [['b', 'x'], ['a-b', 'x'], ['a', 'z'], ['a', 'y']] as const;
  const state = reduceAll(emptyState(), names.map(([ns, n]) => upsert(service(n, ns))));
  assert.equal(state.list('Service').map((s) => `${s.metadata.namespace}/${s.metadata.name}`), ['a/y', 'a/z', 'a-b/x', 'b/x']);
  assert.equal(state.list('Nothing'), []);
});

test('an event copies only its own namespace of its kind: every other bucket, and sorted list, is shared', () => {
  const state = reduceAll(emptyState(), ['a', 'b'].flatMap((ns) => [upsert(service('x', ns)), upsert(service('y', ns))]));
  const listed = state.list('Service');
  const next = reduce(state, upsert(service('z', 'a')));
  assert.is.not(next.buckets('Service').get('a'), state.buckets('Service').get('a'));
  assert.is(next.buckets('Service').get('b'), state.buckets('Service').get('b'));
  assert.equal(next.list('Service').map((s) => `${s.metadata.namespace}/${s.metadata.name}`), ['a/x', 'a/y', 'a/z', 'b/x', 'b/y']);
  assert.is(state.list('Service'), listed, 'the old state is unchanged');
  // A kind no event touched keeps its buckets and its sorted list.
  const gc: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'mcpmux' } };
  const withClass = reduce(next, upsert(gc));
  assert.is(withClass.buckets('Service'), next.buckets('Service'));
  assert.is(withClass.list('Service'), next.list('Service'));
  // The last object of a namespace gone, so is its bucket.
  const emptied = reduceAll(next, ['x', 'y'].map((n) => del(service(n, 'b'))));
  assert.equal([...emptied.buckets('Service').keys()], ['a']);
});

test('cluster-scoped objects are keyed by name alone', () => {
  const gc: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'mcpmux' } };
  const state = reduce(emptyState(), upsert(gc));
  assert.is(state.get('GatewayClass.gateway.networking.k8s.io', '', 'mcpmux')?.metadata.name, 'mcpmux');
});


test('derived data: derived once per object and lineage, undefined kept as such, arrivals derived by the reducer', async () => {
  const { MCP_SERVICE } = await import('../translate/cluster-index.ts');
  let calls = 0;
  const counting = { kinds: ['Service'], derive: (o: KubeObject) => (calls++, o.metadata.name === 'none' ? undefined : { name: o.metadata.name }) };
  const state = reduceAll(emptyState(), [upsert(service('a')), upsert(service('none'))]);
  const a = state.get('Service', 'default', 'a')!;
  const none = state.get('Service', 'default', 'none')!;
  const first = state.derived.of(counting, a);
  assert.is(state.derived.of(counting, a), first);
  assert.is(state.derived.of(counting, none), undefined);
  assert.is(state.derived.of(counting, none), undefined);
  assert.is(calls, 2);
  // Later states of the lineage share it; another lineage derives for itself.
  assert.is(reduce(state, upsert(service('b'))).derived.of(counting, a), first);
  assert.is(calls, 2);
  reduceAll(emptyState(), [upsert(a)]).derived.of(counting, a);
  assert.is(calls, 3);
  // The reducer derived the Service's MCP ports as it arrived (no MCP port here: undefined, kept).
  const mcp = reduce(emptyState(), upsert({ ...service('m'), spec: { ports: [{ name: 'mcp', port: 80, appProtocol: 'mcpmux.dev/mcp' }] } }));
  const derived = mcp.derived.of(MCP_SERVICE, mcp.get('Service', 'default', 'm')!);
  assert.is(derived?.ports[0]?.targetName, 'm-mcp');
  assert.is(state.derived.of(MCP_SERVICE, a), undefined);
});

test.run();
