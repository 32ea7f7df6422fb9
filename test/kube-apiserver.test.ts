// A real kube-apiserver + etcd (built from Go modules, test/support/kube-tools.ts) with the official
// Gateway API CRDs, driven by the real @kubernetes/client-node and kubectl: proof that the ground the
// Kubernetes config source stands on behaves like a cluster.
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer, Watch, type KubernetesObject, type V1Service } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeCluster, type KubeCluster } from './support/kube-cluster.ts';

const NAMESPACE = 'default';
const GATEWAY = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' } as const;

let cluster: KubeCluster;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;

test.before(async () => {
  cluster = await startKubeCluster({ gatewayApi: true });
  const { totalMs, toolsMs, etcdMs, apiserverMs, crdsMs } = cluster.timings;
  console.error(`kube cluster ready in ${totalMs} ms (tools ${toolsMs}, etcd ${etcdMs}, kube-apiserver ${apiserverMs}, Gateway API CRDs ${crdsMs})`);
  kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});

test.after(async () => {
  await cluster?.stop();
});

/** Resolves with the first value `subscribe` hands to its callback, or rejects after `ms`. */
function firstEvent<T>(what: string, subscribe: (found: (value: T) => void) => void, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

const service = (name: string): V1Service => ({
  metadata: { name, labels: { 'app.kubernetes.io/part-of': 'mcpmux-test' } },
  spec: { selector: { app: name }, ports: [{ name: 'mcp', port: 3001, targetPort: 3001 }] },
});

const gateway = (name: string): KubernetesObject & { spec: unknown } => ({
  apiVersion: `${GATEWAY.group}/${GATEWAY.version}`,
  kind: 'Gateway',
  metadata: { name, namespace: NAMESPACE },
  spec: { gatewayClassName: 'mcpmux', listeners: [{ name: 'mcp', protocol: 'HTTP', port: 8080 }] },
});

test('kubectl get crd lists the Gateway API standard CRDs', async () => {
  const result = await cluster.kubectl(['get', 'crd', '-o', 'name']);
  assert.is(result.code, 0, result.stderr);
  const names = result.stdout.trim().split('\n').map((line) => line.replace(/^.*\//, ''));
  for (const crd of ['gateways.gateway.networking.k8s.io', 'gatewayclasses.gateway.networking.k8s.io', 'httproutes.gateway.networking.k8s.io']) {
    assert.ok(names.includes(crd), `${crd} missing from: ${names.join(', ')}`);
  }
});

test('kubectl reports the server version the tools were built at', async () => {
  const result = await cluster.kubectl(['version', '-o', 'json']);
  assert.is(result.code, 0, result.stderr);
  const versions = JSON.parse(result.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
  assert.match(versions.serverVersion.gitVersion, /^v1\.\d+\.\d+/);
  assert.is(versions.clientVersion.gitVersion, versions.serverVersion.gitVersion);
});

test('client-node creates a Service and lists it back with an allocated ClusterIP', async () => {
  const created = await core.createNamespacedService({ namespace: NAMESPACE, body: service('mcp-everything') });
  assert.is(created.metadata?.name, 'mcp-everything');
  const list = await core.listNamespacedService({ namespace: NAMESPACE, labelSelector: 'app.kubernetes.io/part-of=mcpmux-test' });
  assert.equal(list.items.map((s) => s.metadata?.name), ['mcp-everything']);
  const [listed] = list.items;
  assert.equal(listed?.spec?.ports?.map((p) => [p.name, p.port]), [['mcp', 3001]]);
  assert.match(listed?.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/); // allocated from --service-cluster-ip-range
});

test('client-node creates a Gateway (gateway.networking.k8s.io/v1) and reads it back', async () => {
  await custom.createNamespacedCustomObject({ ...GATEWAY, namespace: NAMESPACE, body: gateway('mcp-gateway') });
  const read = (await custom.getNamespacedCustomObject({ ...GATEWAY, namespace: NAMESPACE, name: 'mcp-gateway' })) as ReturnType<typeof gateway> & {
    spec: { gatewayClassName: string; listeners: object[] };
  };
  assert.is(read.kind, 'Gateway');
  assert.is(read.spec.gatewayClassName, 'mcpmux');
  // The official CRD's structural schema defaults allowedRoutes: proof it is the real schema at work.
  assert.equal(read.spec.listeners, [{ name: 'mcp', protocol: 'HTTP', port: 8080, allowedRoutes: { namespaces: { from: 'Same' } } }]);
  assert.ok(read.metadata?.uid, 'the server assigned no uid');
});

test('the official CRD schema rejects a Gateway without gatewayClassName', async () => {
  const invalid = gateway('no-class');
  invalid.spec = { listeners: [{ name: 'mcp', protocol: 'HTTP', port: 8080 }] };
  try {
    await custom.createNamespacedCustomObject({ ...GATEWAY, namespace: NAMESPACE, body: invalid });
    assert.unreachable('a Gateway without spec.gatewayClassName was accepted');
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    assert.is(error.code, 422);
    assert.match(typeof error.body === 'string' ? error.body : JSON.stringify(error.body), /gatewayClassName/);
  }
});

test('an informer on Gateways sees a create event', async () => {
  const informer = makeInformer(kc, `/apis/${GATEWAY.group}/${GATEWAY.version}/namespaces/${NAMESPACE}/gateways`, () =>
    custom.listNamespacedCustomObject({ ...GATEWAY, namespace: NAMESPACE }),
  );
  const added = firstEvent<KubernetesObject>('informer add of watched-gateway', (found) =>
    informer.on('add', (obj) => obj.metadata?.name === 'watched-gateway' && found(obj)),
  );
  await informer.start(); // lists, then watches from the list's resourceVersion
  try {
    assert.ok(informer.list(NAMESPACE).some((obj) => obj.metadata?.name === 'mcp-gateway'), 'the initial list lacks mcp-gateway');
    await custom.createNamespacedCustomObject({ ...GATEWAY, namespace: NAMESPACE, body: gateway('watched-gateway') });
    const obj = await added;
    assert.is(obj.kind, 'Gateway');
    assert.ok(informer.get('watched-gateway', NAMESPACE), 'the informer cache lacks watched-gateway');
  } finally {
    await informer.stop();
  }
});

test('a Watch on Services sees ADDED for a Service created after it started', async () => {
  const list = await core.listNamespacedService({ namespace: NAMESPACE });
  const events: string[] = [];
  let controller: AbortController | undefined;
  const seen = firstEvent<string>('ADDED mcp-watched', (found) => {
    void new Watch(kc)
      .watch(`/api/v1/namespaces/${NAMESPACE}/services`, { resourceVersion: list.metadata?.resourceVersion }, (phase, obj: V1Service) => {
        events.push(`${phase} ${obj.metadata?.name}`);
        if (phase === 'ADDED' && obj.metadata?.name === 'mcp-watched') found(phase);
      }, () => undefined)
      .then((c) => (controller = c));
  });
  try {
    await core.createNamespacedService({ namespace: NAMESPACE, body: service('mcp-watched') });
    assert.is(await seen, 'ADDED');
    // Watching from the list's resourceVersion: objects that already existed are not replayed.
    assert.not.ok(events.some((e) => e.endsWith(' mcp-everything')), `replayed an old object: ${events.join(', ')}`);
  } finally {
    controller?.abort();
  }
});

test.run();
