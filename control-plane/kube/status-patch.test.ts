import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import { Kinds } from '../translate/kinds.ts';
import { condition, type ObjectStatus } from '../translate/status.ts';
import { statusWrites } from './status-patch.ts';

const CONTROLLER = 'mcpmux.dev/gateway-controller';
const T0 = '2026-11-25T10:00:00Z';
const T1 = '2026-11-25T11:00:00Z';

const gatewayParent = { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'ns', name: 'gw' };

function route(status?: unknown, generation = 3): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'r', namespace: 'ns', generation, resourceVersion: '7' },
    spec: { parentRefs: [{ name: 'gw' }] },
    ...(status ? { status } : {}),
  };
}

function routeStatus(ok = true): ObjectStatus {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    namespace: 'ns',
    name: 'r',
    parentRef: gatewayParent,
    conditions: [condition('Accepted', ok, ok ? 'Accepted' : 'NotAllowedByListeners', 'm'), condition('ResolvedRefs', true, 'ResolvedRefs', 'ok')],
  };
}

function lookupOf(...objects: KubeObject[]) {
  return (kind: string, namespace: string, name: string): KubeObject | undefined =>
    objects.find((o) => `${o.kind}.${o.apiVersion.split('/')[0]}` === kind && (o.metadata.namespace ?? '') === namespace && o.metadata.name === name);
}

test('an HTTPRoute gets one parent entry of ours, with observedGeneration and a transition time', () => {
  const live = route();
  const writes = statusWrites([routeStatus()], lookupOf(live), [live], { controllerName: CONTROLLER, now: T0 });
  assert.is(writes.length, 1);
  const parents = writes[0]!.status.parents as Array<Record<string, unknown>>;
  assert.is(parents.length, 1);
  assert.equal(parents[0]!.parentRef, gatewayParent);
  assert.is(parents[0]!.controllerName, CONTROLLER);
  const conditions = parents[0]!.conditions as Array<Record<string, unknown>>;
  assert.equal(conditions.map((c) => [c.type, c.status, c.observedGeneration, c.lastTransitionTime]), [
    ['Accepted', 'True', 3, T0],
    ['ResolvedRefs', 'True', 3, T0],
  ]);
});

test('nothing is written when the route already says the same; a changed status keeps unchanged conditions\' times', () => {
  const first = statusWrites([routeStatus()], lookupOf(route()), [route()], { controllerName: CONTROLLER, now: T0 })[0]!;
  const written = route(first.status);
  assert.equal(statusWrites([routeStatus()], lookupOf(written), [written], { controllerName: CONTROLLER, now: T1 }), []);

  const changed = statusWrites([routeStatus(false)], lookupOf(written), [written], { controllerName: CONTROLLER, now: T1 });
  assert.is(changed.length, 1);
  const conditions = (changed[0]!.status.parents as Array<{ conditions: Array<Record<string, unknown>> }>)[0]!.conditions;
  assert.equal(conditions.map((c) => [c.type, c.status, c.lastTransitionTime]), [
    ['Accepted', 'False', T1],
    ['ResolvedRefs', 'True', T0],
  ]);
});

test('other controllers\' parent entries are kept; ours is removed once the route is no longer ours', () => {
  const other = { parentRef: { name: 'other-gw', namespace: 'ns' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True' }] };
  const live = route({ parents: [other] });
  const writes = statusWrites([routeStatus()], lookupOf(live), [live], { controllerName: CONTROLLER, now: T0 });
  const parents = writes[0]!.status.parents as Array<Record<string, unknown>>;
  assert.equal(parents.map((p) => p.controllerName), ['example.com/other', CONTROLLER]);
  assert.equal(parents[0], other);

  const ours = route(writes[0]!.status);
  const detached = statusWrites([], lookupOf(ours), [ours], { controllerName: CONTROLLER, now: T1 });
  assert.is(detached.length, 1);
  assert.equal(detached[0]!.status.parents, [other]);
  // A route that never had an entry of ours is left alone.
  assert.equal(statusWrites([], lookupOf(live), [live], { controllerName: CONTROLLER, now: T1 }), []);
});

test('a Gateway gets conditions and listener statuses; objects that are gone are skipped', () => {
  const gateway: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'ns', generation: 2 }, spec: {} };
  const desired: ObjectStatus = {
    apiVersion: gateway.apiVersion,
    kind: 'Gateway',
    namespace: 'ns',
    name: 'gw',
    conditions: [condition('Accepted', true, 'Accepted', 'a'), condition('Programmed', true, 'Programmed', 'p')],
    listeners: [{ name: 'http', supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }], attachedRoutes: 1, conditions: [condition('Accepted', true, 'Accepted', 'l')] }],
  };
  const gone: ObjectStatus = { ...desired, name: 'deleted' };
  const writes = statusWrites([desired, gone], lookupOf(gateway), [], { controllerName: CONTROLLER, now: T0 });
  assert.is(writes.length, 1);
  const listeners = writes[0]!.status.listeners as Array<Record<string, unknown>>;
  assert.is(listeners[0]!.attachedRoutes, 1);
  assert.equal((listeners[0]!.conditions as Array<Record<string, unknown>>)[0]!.observedGeneration, 2);
  assert.equal((writes[0]!.status.conditions as Array<Record<string, unknown>>).map((c) => c.type), ['Accepted', 'Programmed']);
  assert.ok(Kinds.Gateway.startsWith('Gateway.'));
});

test.run();
