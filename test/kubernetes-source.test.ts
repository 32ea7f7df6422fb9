// The kubernetes source against the fake apiserver (test/fixtures/fake-apiserver.ts), driven by the
// real client-node informers: the initial lists as one batch, later changes coalesced, restarts after
// watch errors and 410s with nothing lost or doubled, CRDs installed late, namespace scoping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../shared/log.ts';
import { KubeClient } from '../control-plane/kube/client.ts';
import type { ResourceType } from '../control-plane/kube/resources.ts';
import { KubernetesSource } from '../control-plane/sources/kubernetes.ts';
import { objectId, type SourceChange } from '../control-plane/sources/source.ts';
import { startFakeApiserver, type FakeApiserver } from './fixtures/fake-apiserver.ts';
import { until } from './support/processes.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

function service(name: string, namespace = 'ns', labels: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels }, spec: { ports: [{ port: 80, appProtocol: 'kgateway.dev/mcp' }] } };
}

/** A source on a fake apiserver, recording every batch, and the objects the batches add up to. */
async function started(api: FakeApiserver, options: Partial<ConstructorParameters<typeof KubernetesSource>[0]> = {}) {
  const batches: SourceChange[][] = [];
  const objects = new Map<string, SourceChange['object']>();
  const source = new KubernetesSource({
    client: new KubeClient(api.kubeConfig()),
    logger,
    backoff: { baseMs: 20, maxMs: 200 },
    missingRetryMs: 100,
    ...options,
  });
  await source.start((changes) => {
    batches.push(changes);
    for (const { type, object } of changes) {
      if (type === 'delete') objects.delete(objectId(object));
      else objects.set(objectId(object), object);
    }
  });
  return { source, batches, objects };
}

const names = (objects: Map<string, SourceChange['object']>, kind = 'Service') =>
  [...objects.values()].filter((o) => o.kind === kind).map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();

test('the initial lists of every kind arrive as one batch, each object with its apiVersion and kind', async () => {
  const api = await startFakeApiserver();
  api.apply(service('a'));
  api.apply({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'a-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'a' } }, addressType: 'IPv4', endpoints: [] });
  api.apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'ns' }, spec: { gatewayClassName: 'mcpmux', listeners: [] } });
  api.apply({ apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'ns' }, spec: { targets: [] } });
  const { source, batches } = await started(api);
  try {
    assert.is(batches.length, 1);
    // (Namespace objects, if the fixture made any, are not the point here.)
    const kinds = batches[0]!.filter((c) => c.object.kind !== 'Namespace').map((c) => `${c.object.apiVersion} ${c.object.kind} ${c.object.metadata.name}`);
    assert.equal(kinds.sort(), ['discovery.k8s.io/v1 EndpointSlice a-1', 'gateway.networking.k8s.io/v1 Gateway gw', 'mcpmux.dev/v1alpha1 MCPBackend b', 'v1 Service a']);
    assert.ok(source.status().every((s) => s.synced));
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('later changes arrive coalesced: a burst is one batch, the last change of an object wins', async () => {
  const api = await startFakeApiserver();
  const { source, batches, objects } = await started(api, { batch: { quietMs: 30, maxDelayMs: 500 } });
  try {
    const before = batches.length;
    api.apply(service('x'));
    api.apply(service('y'));
    api.apply({ ...service('x'), metadata: { name: 'x', namespace: 'ns', labels: { v: '2' } } });
    api.delete('v1', 'Service', 'ns', 'y');
    await until(() => batches.length > before, 'a batch');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(batches.length, before + 1, 'one batch for the burst');
    const batch = batches.at(-1)!;
    assert.equal(batch.map((c) => `${c.type} ${c.object.metadata.name}`), ['upsert x', 'delete y']);
    assert.equal(objects.get('Service|ns|x')?.metadata.labels, { v: '2' });
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('an apiserver restart (watches cut, writes meanwhile) and a 410 relist lose nothing and repeat nothing', async () => {
  const api = await startFakeApiserver();
  api.apply(service('keep'));
  api.apply(service('gone'));
  const { source, batches, objects } = await started(api);
  try {
    // Cut every watch mid-stream and change objects while the informers restart.
    const upserts = () => batches.flat().filter((c) => c.type === 'upsert' && c.object.kind === 'Service').map((c) => `${c.object.metadata.name}@${c.object.metadata.resourceVersion}`);
    assert.ok(api.breakWatches() > 0);
    api.apply(service('during-restart'));
    await until(() => names(objects).includes('ns/during-restart'), 'the change made during the restart');

    // Now the server forgets its history (etcd compaction): the resumed watch gets 410 and relists,
    // and a delete made in the gap must still come through.
    await api.stop();
    api.compact();
    api.delete('v1', 'Service', 'ns', 'gone');
    api.apply(service('after-compaction'));
    await api.restart();
    await until(() => names(objects).join() === 'ns/after-compaction,ns/during-restart,ns/keep', `converged (have ${names(objects).join()})`, 10_000);
    const seen = upserts();
    assert.is(new Set(seen).size, seen.length, `no version delivered twice: ${seen.join(' ')}`);
    assert.ok(source.status().some((s) => s.restarts > 0), 'the informers restarted');
    // What it converged to is what a fresh source sees: same objects, same versions (and so the
    // same snapshot version, the translator being a function of them).
    const fresh = await started(api);
    const versions = (all: Map<string, SourceChange['object']>) => [...all.entries()].map(([id, o]) => `${id}@${o.metadata.resourceVersion}`).sort();
    assert.equal(versions(objects), versions(fresh.objects));
    await fresh.source.stop();
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('list errors retry with backoff; a kind not installed counts as synced and is picked up once installed', async () => {
  const api = await startFakeApiserver();
  const widgets: ResourceType = { group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true, optional: true };
  const services: ResourceType = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, optional: false };
  api.apply(service('a'));
  api.failNext(2, { status: 500, path: /\/services$/, method: 'GET' });
  const { source, objects } = await started(api, { resources: [services, widgets] });
  try {
    assert.equal(names(objects), ['ns/a'], 'synced after the failed lists');
    const widgetStatus = source.status().find((s) => s.kind === 'Widget')!;
    assert.is(widgetStatus.installed, false);
    assert.is(widgetStatus.synced, true);
    api.registerResource({ group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true });
    api.apply({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'ns' } });
    await until(() => names(objects, 'Widget').includes('ns/w'), 'the widget after its CRD was installed', 5000);
    assert.is(source.status().find((s) => s.kind === 'Widget')!.installed, true);
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('only referenced Secrets are read, each by name; one no longer referenced is deleted from the state', async () => {
  const api = await startFakeApiserver();
  const secret = (name: string, value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, data: { token: Buffer.from(value).toString('base64') } });
  api.apply(secret('wanted', 'one'));
  api.apply(secret('other', 'never read'));
  const { source, objects } = await started(api);
  try {
    assert.equal(names(objects, 'Secret'), [], 'no Secret before one is referenced');
    source.setSecretRefs([{ namespace: 'ns', name: 'wanted' }]);
    await until(() => names(objects, 'Secret').includes('ns/wanted'), 'the referenced Secret');
    api.apply(secret('wanted', 'two'));
    await until(() => (objects.get('Secret|ns|wanted') as { data?: { token?: string } } | undefined)?.data?.token === Buffer.from('two').toString('base64'), 'its update');
    const secretRequests = api.requests.filter((r) => r.path.includes('/secrets'));
    assert.ok(secretRequests.length > 0);
    assert.ok(secretRequests.every((r) => r.query.fieldSelector === 'metadata.name=wanted'), JSON.stringify(secretRequests));
    assert.ok(!names(objects, 'Secret').includes('ns/other'));
    source.setSecretRefs([]);
    await until(() => names(objects, 'Secret').length === 0, 'the Secret deleted once unreferenced');
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('start() resolves only once every Secret its first batch references is read, or found missing', async () => {
  // The control plane names the Secrets backends reference from inside the first batch's callback
  // (setSecretRefs); a source that resolved before reading them made the first snapshot without them.
  const api = await startFakeApiserver();
  api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'ns' }, data: { token: Buffer.from('t').toString('base64') } });
  api.apply(service('a'));
  // Slow Secret lists: a source that does not wait for them resolves first.
  api.failNext(2, { status: 500, path: /\/secrets$/, method: 'GET' });
  const batches: SourceChange[][] = [];
  const source: KubernetesSource = new KubernetesSource({ client: new KubeClient(api.kubeConfig()), logger, backoff: { baseMs: 50, maxMs: 100 } });
  try {
    await source.start((changes) => {
      batches.push(changes);
      if (batches.length === 1) source.setSecretRefs([{ namespace: 'ns', name: 'creds' }, { namespace: 'ns', name: 'missing' }]);
    });
    const seen = batches.flat().filter((c) => c.object.kind === 'Secret').map((c) => `${c.type} ${c.object.metadata.namespace}/${c.object.metadata.name}`);
    assert.equal(seen, ['upsert ns/creds'], 'the referenced Secret arrived before start() resolved');
    assert.ok(source.status().filter((s) => s.kind === 'Secret').every((s) => s.synced), 'the missing one counts as read');
    assert.ok(batches.flat().some((c) => c.object.kind === 'Service'));
  } finally {
    await source.stop();
    await api.stop();
  }
});

test('--namespace scopes namespaced kinds to those namespaces and skips Namespaces', async () => {
  const api = await startFakeApiserver();
  api.apply(service('in', 'team-a'));
  api.apply(service('out', 'team-b'));
  const { source, objects } = await started(api, { namespaces: ['team-a'] });
  try {
    assert.equal(names(objects), ['team-a/in']);
    assert.ok(!source.status().some((s) => s.kind === 'Namespace'));
    assert.ok(api.requests.some((r) => r.path === '/api/v1/namespaces/team-a/services'));
    assert.ok(!api.requests.some((r) => r.path === '/api/v1/services'));
  } finally {
    await source.stop();
    await api.stop();
  }
});

test.run();
