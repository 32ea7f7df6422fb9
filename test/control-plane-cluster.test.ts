// The control plane with the kubernetes source against the fake apiserver fixture
// (test/fixtures/fake-apiserver.ts, spoken to by the real client-node):
//  - its first snapshot already holds what referenced Secrets say (API keys, upstream credentials):
//    the source counts as synced only once they are read, or found missing;
//  - a NACK is recorded as an Event by the replica holding the proxy's stream, leader or not, once
//    per (Gateway, version, error) however many replicas see it;
//  - the leader Lease: outside a pod its namespace defaults to the kubeconfig context's (else
//    `default`), a Lease that cannot be created stops the start with a clear error, and a first
//    round that fails for a passing reason keeps /readyz false, saying why, until one succeeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createLogger } from '../shared/log.ts';
import { KubeClient } from '../control-plane/kube/client.ts';
import { StatusWriter } from '../control-plane/kube/status-writer.ts';
import { startControlPlane } from '../control-plane/control-plane.ts';
import { KubernetesSource } from '../control-plane/sources/kubernetes.ts';
import { MCPMUX_CONTROLLER_NAME } from '../control-plane/translate/kinds.ts';
import { startFakeApiserver, type FakeApiserver } from './fixtures/fake-apiserver.ts';
import { CLI, freePort, startNode, until, waitForHttpOk } from './support/processes.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A Gateway of ours with one route to an MCPBackend guarded by API keys and calling its target with a credential. */
function seed(api: FakeApiserver): void {
  api.apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'team' }, spec: { gatewayClassName: 'mcpmux', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } });
  api.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'route', namespace: 'team' },
    spec: { parentRefs: [{ name: 'gw' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/mcp' } }], backendRefs: [{ group: 'mcpmux.dev', kind: 'MCPBackend', name: 'secured' }] }] },
  });
  api.apply({
    apiVersion: 'mcpmux.dev/v1alpha1',
    kind: 'MCPBackend',
    metadata: { name: 'secured', namespace: 'team' },
    spec: {
      authentication: { apiKeys: { secretRef: { name: 'team-keys' } } },
      upstreamAuth: { secretRef: { name: 'weather', key: 'api-key' }, header: 'X-Api-Key' },
      targets: [{ static: { name: 'weather', host: 'weather.example', port: 8080 } }],
    },
  });
  api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'team-keys', namespace: 'team' }, data: { ci: b64('ci-key') } });
  api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'weather', namespace: 'team' }, data: { 'api-key': b64('upstream-token') } });
}

test('the first snapshot holds the referenced Secrets: API keys and upstream credentials, one version, no rebuild', async () => {
  const api = await startFakeApiserver();
  seed(api);
  // The Secret lists answer late (as a busy apiserver may): a control plane that does not wait for
  // them builds and serves a snapshot that denies everyone.
  api.failNext(2, { status: 503, path: /\/secrets$/, method: 'GET' });
  const source = new KubernetesSource({ client: new KubeClient(api.kubeConfig()), logger, backoff: { baseMs: 100, maxMs: 200 } });
  const cp = await startControlPlane({ source, gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 1000, logger });
  try {
    const ready = await fetch(`http://127.0.0.1:${cp.httpPort}/readyz`);
    assert.is(ready.status, 200);
    const versions = cp.cache.versions('team/gw');
    assert.is(versions.length, 1, 'one version: built once, from the whole initial state');
    const snapshot = cp.cache.get('team/gw')!;
    assert.equal(snapshot.policies[0]?.authentication?.apiKeys, [{ principal: 'ci', sha256: createHash('sha256').update('ci-key').digest('hex') }], 'the API keys are in the first snapshot');
    const target = snapshot.targets.find((t) => t.name === 'weather')!;
    assert.ok(target.authSecret, 'the target names its credential');
    assert.ok(snapshot.secrets.some((s) => s.name === target.authSecret), 'and the credential is in the first snapshot');
  } finally {
    await cp.close();
    await api.stop();
  }
});

test('a referenced Secret that does not exist does not hold the start: the backend says SecretNotFound and denies', async () => {
  const api = await startFakeApiserver();
  seed(api);
  api.delete('v1', 'Secret', 'team', 'team-keys');
  const source = new KubernetesSource({ client: new KubeClient(api.kubeConfig()), logger });
  const cp = await startControlPlane({ source, gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 1000, logger });
  try {
    const snapshot = cp.cache.get('team/gw')!;
    assert.equal(snapshot.policies[0]?.authentication?.apiKeys, [], 'fail closed');
    assert.ok(snapshot.secrets.length > 0, 'the Secret that exists was read');
  } finally {
    await cp.close();
    await api.stop();
  }
});

/** A self-signed certificate for mcp.example.test and its key, made with the openssl CLI. */
function certificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', '/CN=mcp.example.test'], { cwd: dir, stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'tls.crt'), 'utf8'), key: readFileSync(join(dir, 'tls.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an HTTPS listener\'s certificate Secret is read by name before the first snapshot, and a rotation is a new version carrying the new certificate', async () => {
  const api = await startFakeApiserver();
  seed(api);
  api.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'team' },
    spec: { gatewayClassName: 'mcpmux', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'https', port: 443, protocol: 'HTTPS', hostname: 'mcp.example.test', tls: { certificateRefs: [{ name: 'mcp-cert' }] } }] },
  });
  const tlsSecret = (pair: { cert: string; key: string }) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mcp-cert', namespace: 'team' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(pair.cert), 'tls.key': b64(pair.key) } });
  const [first, second] = [certificate(), certificate()];
  api.apply(tlsSecret(first));
  api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated', namespace: 'team' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(first.cert), 'tls.key': b64(first.key) } });
  const source = new KubernetesSource({ client: new KubeClient(api.kubeConfig()), logger });
  const cp = await startControlPlane({ source, gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 1000, logger });
  try {
    const snapshot = cp.cache.get('team/gw')!;
    assert.is(cp.cache.versions('team/gw').length, 1, 'one version: the certificate was read before the first build');
    assert.equal(snapshot.secrets.find((s) => s.name === 'tls/team/mcp-cert')?.data, { 'tls.crt': first.cert, 'tls.key': first.key });
    assert.ok(source.status().some((s) => s.kind === 'Secret' && s.objects === 1 && s.namespace === 'team'), 'the certificate Secret is watched');
    assert.not.ok(cp.events.list(1).some((e) => e.name === 'unrelated'), 'a Secret nothing references is never read');
    api.apply(tlsSecret(second));
    await until(() => cp.cache.get('team/gw')!.secrets.find((s) => s.name === 'tls/team/mcp-cert')?.data['tls.crt'] === second.cert, 'the rotated certificate in a new version');
    assert.is.not(cp.cache.get('team/gw')!.version, snapshot.version);
  } finally {
    await cp.close();
    await api.stop();
  }
});

test('with --event-log, a restart that finds nothing changed appends nothing: referenced Secrets are not deleted and read again', async () => {
  const api = await startFakeApiserver();
  seed(api);
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-replay-'));
  const start = () => startControlPlane({
    source: new KubernetesSource({ client: new KubeClient(api.kubeConfig()), logger }),
    gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 1000, eventLogPath: join(dir, 'events.jsonl'), logger,
  });
  try {
    const first = await start();
    const seq = first.events.lastSeq;
    const version = first.cache.get('team/gw')!.version;
    await first.close();
    const second = await start();
    try {
      const appended = second.events.list(seq + 1).map((e) => `${e.type} ${e.kind} ${e.namespace}/${e.name}`);
      assert.equal(appended, [], 'nothing changed while it was down');
      assert.is(second.cache.get('team/gw')!.version, version);
      // A Secret deleted while it was down is deleted on start, once.
      await second.close();
      api.delete('v1', 'Secret', 'team', 'weather');
      const third = await start();
      try {
        const after = third.events.list(second.events.lastSeq + 1).map((e) => `${e.type} ${e.kind} ${e.namespace}/${e.name}`);
        assert.equal(after, ['delete Secret team/weather']);
        assert.is(third.cache.get('team/gw')!.secrets.length, 0);
      } finally {
        await third.close();
      }
    } finally {
      await second.close().catch(() => undefined);
    }
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const gatewayObject = (api: FakeApiserver) => {
  api.apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'team' }, spec: { gatewayClassName: 'mcpmux', listeners: [] } });
  return api.get('gateway.networking.k8s.io/v1', 'Gateway', 'team', 'gw')!;
};

test('a NACK seen by a replica that does not lead is recorded; two replicas seeing it make one Event, named from (Gateway, version, error)', async () => {
  const api = await startFakeApiserver();
  const gateway = gatewayObject(api);
  const writer = (instance: string) => new StatusWriter({ client: new KubeClient(api.kubeConfig()), logger, controllerName: MCPMUX_CONTROLLER_NAME, instance });
  const [a, b] = [writer('cp-a'), writer('cp-b')];
  try {
    // Neither leads (setEnabled is never called): the one holding the proxy's stream writes the Event.
    await a.recordNack(gateway as never, 'proxy-1', 'v9', 'bad listener');
    await b.recordNack(gateway as never, 'proxy-2', 'v9', 'bad listener');
    await a.recordNack(gateway as never, 'proxy-3', 'v9', 'bad listener');
    let events = api.list('v1', 'Event', 'team');
    assert.is(events.length, 1, 'one Event for one (Gateway, version, error), whichever replicas saw it');
    const event = events[0]! as unknown as { metadata: { name: string }; reason: string; message: string; involvedObject: { name: string; uid: string } };
    assert.is(event.reason, 'SnapshotRejected');
    assert.match(event.message, /rejected configuration version v9: bad listener/);
    assert.is(event.involvedObject.uid, gateway.metadata.uid);
    assert.match(event.metadata.name, /^gw\.[0-9a-f]{16}$/);
    // Another error, or another version: another Event.
    await b.recordNack(gateway as never, 'proxy-2', 'v9', 'another problem');
    await b.recordNack(gateway as never, 'proxy-2', 'v10', 'bad listener');
    events = api.list('v1', 'Event', 'team');
    assert.is(events.length, 3);
    // A write that failed is tried again on the next NACK (not remembered as written).
    api.failNext(1, { status: 500, method: 'POST', path: /events$/ });
    await a.recordNack(gateway as never, 'proxy-1', 'v11', 'x');
    await a.recordNack(gateway as never, 'proxy-1', 'v11', 'x');
    assert.is(api.list('v1', 'Event', 'team').length, 4);
    // A stopped writer (the control plane shutting down) writes nothing.
    a.stop();
    await a.recordNack(gateway as never, 'proxy-1', 'v12', 'x');
    assert.is(api.list('v1', 'Event', 'team').length, 4);
  } finally {
    a.stop();
    b.stop();
    await api.stop();
  }
});

test('a first election round that fails for a passing reason is retried; /readyz says why until one succeeds', async () => {
  const api = await startFakeApiserver();
  api.failNext(4, { status: 503, path: /\/leases/, message: 'etcd is catching up' });
  const client = new KubeClient(api.kubeConfig());
  const cp = await startControlPlane({
    source: new KubernetesSource({ client, logger }), gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 1000, logger,
    cluster: { client, identity: 'cp-a', leaseNamespace: 'mcpmux', leaseName: 'mcpmux-control-plane', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300, namespaces: [], requestStateSecret: 'keys' },
  });
  try {
    const ready = await fetch(`http://127.0.0.1:${cp.httpPort}/readyz`);
    assert.is(ready.status, 503);
    assert.match(await ready.text(), /not ready: leader election: Lease mcpmux\/mcpmux-control-plane: .*503.*etcd is catching up/);
    await until(async () => (await fetch(`http://127.0.0.1:${cp.httpPort}/readyz`)).status === 200, 'ready once a round went through', 10_000);
    assert.ok(cp.leading());
  } finally {
    await cp.close();
    await api.stop();
  }
});

test('outside a pod, the Lease lives in the kubeconfig context\'s namespace; a Lease that cannot be created stops the start, saying why', async () => {
  const api = await startFakeApiserver({ namespace: 'dev-team' });
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-lease-'));
  const kubeconfig = join(dir, 'kubeconfig.json');
  await api.writeKubeconfig(kubeconfig);
  const args = (http: number, ...extra: string[]) => [
    CLI, 'control-plane', '--source', 'kubernetes', '--kubeconfig', kubeconfig, '--identity', 'me', '--no-provision', '--grpc-port', '0', '--http-port', String(http), ...extra,
  ];
  // As someone runs it from a laptop: no POD_NAMESPACE, no --leader-election-namespace.
  delete process.env.POD_NAMESPACE;
  delete process.env.POD_NAME;
  try {
    const http = await freePort();
    const running = startNode('control-plane', args(http));
    try {
      await waitForHttpOk(`http://127.0.0.1:${http}/readyz`, 15_000);
      await until(() => api.get('coordination.k8s.io/v1', 'Lease', 'dev-team', 'mcpmux-control-plane') !== undefined, 'the Lease in the context\'s namespace', 5000);
      await running.waitFor(/acquired the leader lease/, 5000);
      assert.ok(!api.requests.some((r) => r.path.includes('/namespaces/mcpmux-system/')), 'nothing asked of mcpmux-system');
    } finally {
      await running.stop();
    }

    // The namespace does not exist (a real apiserver answers 404 to the create): an error at start,
    // naming the Lease, the reason and what to do, and the process exits.
    api.failNext(1000, { status: 404, method: 'POST', path: /\/namespaces\/nowhere\/leases$/, message: 'namespaces "nowhere" not found' });
    const failing = startNode('control-plane', args(await freePort(), '--leader-election-namespace', 'nowhere'));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(-1), 15_000);
      failing.child.once('exit', (exit) => (clearTimeout(timer), resolve(exit)));
      if (failing.child.exitCode !== null) resolve(failing.child.exitCode);
    });
    await failing.stop('SIGKILL');
    const output = failing.output();
    assert.ok(code !== 0 && code !== -1, `the start fails and the process exits (code ${code}); output:\n${output}`);
    assert.match(output, /Lease nowhere\/mcpmux-control-plane/);
    assert.match(output, /namespaces "nowhere" not found/);
    assert.match(output, /--leader-election-namespace/);
    assert.not.match(output, /control plane ready/);
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
