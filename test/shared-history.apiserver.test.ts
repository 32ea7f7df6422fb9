// The shared history (--event-log nats) on a real kube-apiserver + etcd: two control plane replicas
// build the same version, credential included (each reads the Secret itself and matches the
// fingerprint the leader wrote, over real uids and resourceVersions); the leader is killed, the
// Secret changes while nobody leads, and the new leader appends that change once: both replicas
// (the killed one back) serve the new version and list the same events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdminClient } from '../shared/admin/client.ts';
import type { AdminEvent } from '../shared/proto/messages.ts';
import { startKubeCluster, type KubeCluster } from './support/kube-cluster.ts';
import { startNatsServer, type NatsServer } from './support/nats.ts';
import { CLI, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';

const ROOT = new URL('../', import.meta.url).pathname;
/** One admin call to one replica. */
async function withAdmin<T>(port: number, call: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = new AdminClient(`127.0.0.1:${port}`);
  try {
    return await call(client);
  } finally {
    client.close();
  }
}

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: mcpmux}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: team}
spec:
  gatewayClassName: mcpmux
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: team}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: weather}]}]
---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: weather, namespace: team}
spec:
  upstreamAuth: {secretRef: {name: weather, key: api-key}, header: X-Api-Key}
  targets: [{static: {name: weather, host: weather.example, port: 8080}}]
---
apiVersion: v1
kind: Secret
metadata: {name: weather, namespace: team}
stringData: {api-key: first-token}
`;

let cluster: KubeCluster;
let nats: NatsServer;
const replicas: Array<{ identity: string; grpcPort: number; httpPort: number; process: Managed }> = [];

test.before(async () => {
  cluster = await startKubeCluster({ gatewayApi: true });
  const crd = await cluster.kubectl(['apply', '--server-side', '-f', `${ROOT}deploy/crds/mcpbackend.yaml`]);
  assert.is(crd.code, 0, crd.stderr);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd/mcpbackends.mcpmux.dev', '--timeout=30s']);
  await cluster.applyYaml(MANIFESTS);
  nats = await startNatsServer();
});

test.after(async () => {
  await Promise.all(replicas.map((r) => r.process.stop()));
  await nats?.destroy();
  await cluster?.stop();
});

async function startReplica(identity: string) {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const child = startNode(identity, [
    CLI, 'control-plane', '--source', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--identity', identity, '--no-provision',
    '--leader-election-namespace', 'mcpmux', '--lease-duration', '2', '--grpc-port', String(grpcPort), '--http-port', String(httpPort),
    '--event-log', 'nats', '--nats', nats.url,
  ]);
  const replica = { identity, grpcPort, httpPort, process: child };
  replicas.push(replica);
  try {
    await waitForHttpOk(`http://127.0.0.1:${httpPort}/readyz`, 30_000);
  } catch (error) {
    throw new Error(`${identity}: ${String(error)}\n${child.output()}`);
  }
  return replica;
}

const version = async (port: number): Promise<string> => (await withAdmin(port, (client) => client.getSnapshot('team/gw'))).version;
const leader = async (): Promise<string> => {
  const lease = await cluster.kubectl(['get', 'lease', '-n', 'mcpmux', 'mcpmux-control-plane', '-o', 'jsonpath={.spec.holderIdentity}']);
  return lease.stdout.trim();
};

test('two replicas on a real apiserver: the same version with the Secret each read itself; a Secret change while nobody leads is appended once by the next leader', async () => {
  const a = await startReplica('cp-a');
  const b = await startReplica('cp-b');
  await until(async () => (await leader()) !== '', 'a leader', 15_000);
  await until(async () => {
    const [va, vb] = await Promise.all([version(a.grpcPort), version(b.grpcPort)]).catch(() => ['', '-']);
    return va !== '' && va === vb;
  }, 'both replicas at one version', 20_000);
  const first = await version(a.grpcPort);

  const leaderId = await leader();
  const killed = leaderId === 'cp-a' ? a : b;
  const survivor = killed === a ? b : a;
  await killed.process.stop('SIGKILL');
  const changed = await cluster.kubectl(['patch', 'secret', '-n', 'team', 'weather', '--type', 'merge', '-p', '{"stringData":{"api-key":"second-token"}}']);
  assert.is(changed.code, 0, changed.stderr);
  await until(async () => (await leader()) === survivor.identity, 'the survivor leads', 20_000);
  await until(async () => (await version(survivor.grpcPort)) !== first, 'a new version for the new Secret value', 20_000).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${survivor.identity}:\n${survivor.process.output().split('\n').slice(-30).join('\n')}`);
  });

  const back = await startReplica(`${killed.identity}-again`);
  await until(async () => (await version(back.grpcPort)) === (await version(survivor.grpcPort)), 'the returning replica at the same version', 20_000);

  const events = (port: number): Promise<AdminEvent[]> => withAdmin(port, (client) => client.listEvents());
  const [es, eb] = [await events(survivor.grpcPort), await events(back.grpcPort)];
  assert.equal(eb, es, 'both list the same events');
  const secretEvents = es.filter((e) => e.kind === 'Secret');
  assert.is(secretEvents.length, 2, `the Secret appended twice: as first read and once changed (${secretEvents.map((e) => e.seq).join(', ')})`);
  const seqs = es.map((e) => Number(e.seq));
  assert.equal(seqs, seqs.map((_, i) => seqs[0]! + i), 'no gap');
  assert.not.ok(JSON.stringify(es).includes('second-token') || JSON.stringify(es).includes(Buffer.from('second-token').toString('base64')), 'no Secret value listed');
});

test.run();
