// The cluster tier's smoke test (issue 17): a real single-node cluster (test/support/node-cluster.ts)
// runs a Deployment whose pods pass a readiness probe, behind a Service that answers on its ClusterIP
// from the node's network namespace and by its name (CoreDNS) from another pod.
// Run with `npm run test:cluster` (root; not part of `npm test`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLUSTER_DOMAIN, insideClusterNamespaces, runInClusterNamespaces, SMOKE_IMAGE, startNodeCluster, type NodeCluster } from '../support/node-cluster.ts';

// Everything below runs in the cluster's own network, mount and PID namespaces (this file, re-run).
if (!insideClusterNamespaces()) await runInClusterNamespaces();

const NAMESPACE = 'smoke';
let cluster: NodeCluster;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

test.before(async () => {
  cluster = await startNodeCluster();
  const t = cluster.timings;
  console.log(`cluster ready in ${seconds(t.totalMs)} (namespaces+tools ${seconds(t.namespaceMs)}, etcd+apiserver ${seconds(t.controlPlaneMs)}, containerd ${seconds(t.containerdMs)}, images ${seconds(t.imagesMs)}, node Ready ${seconds(t.nodeReadyMs)}, kube-proxy ${seconds(t.proxyMs)}, CoreDNS ${seconds(t.dnsMs)})`);
  await kubectl(['create', 'namespace', NAMESPACE]);
  // The ServiceAccount admission plugin refuses pods until the controller manager made the account.
  const deadline = Date.now() + 60_000;
  while ((await cluster.kubectl(['-n', NAMESPACE, 'get', 'serviceaccount', 'default'])).code !== 0) {
    if (Date.now() > deadline) throw new Error(`no serviceaccount default in ${NAMESPACE} after 60 s; kube-controller-manager:\n${cluster.logs('kube-controller-manager').slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
});

test.after(async () => {
  await cluster?.stop();
});

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: ${NAMESPACE}}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: hello
        image: ${SMOKE_IMAGE}
        imagePullPolicy: Never
        args: [serve, "8080"]
        ports: [{containerPort: 8080, name: http}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
        # Burstable, not Guaranteed: a Guaranteed pod's OOM score (-997) needs CAP_SYS_RESOURCE.
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: ${NAMESPACE}}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: http}]
`;

test('a Deployment with a readiness probe becomes Available on the node', async () => {
  const started = Date.now();
  await cluster.applyYaml(deployment);
  await kubectl(['-n', NAMESPACE, 'rollout', 'status', 'deployment/hello', '--timeout=120s']);
  const ready = await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', 'app=hello', '-o', 'jsonpath={range .items[*]}{.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
  const pods = ready.trim().split('\n').map((line) => line.split(' '));
  assert.is(pods.length, 2, ready);
  for (const [ip, status] of pods) {
    assert.ok(ip?.startsWith('10.244.0.'), `pod IP ${ip} is in the pod range`);
    assert.is(status, 'True');
  }
  console.log(`Deployment available in ${seconds(Date.now() - started)}`);
});

test('its Service answers on its ClusterIP from the node network namespace (kube-proxy)', async () => {
  const clusterIp = (await kubectl(['-n', NAMESPACE, 'get', 'service', 'hello', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  assert.ok(clusterIp.startsWith('10.96.'), clusterIp);
  // Until the endpoints reach kube-proxy's rules, the ClusterIP refuses: retry for a while.
  let body = '';
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${clusterIp}/`, { signal: AbortSignal.timeout(3000) });
      body = await response.text();
      if (response.ok) break;
    } catch (error) {
      body = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (!/^hello from hello-/.test(body)) {
    const rules = await import('node:child_process').then(({ execFileSync }) => execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }));
    assert.unreachable(`GET http://${clusterIp}/ answered ${JSON.stringify(body)}; nat rules:\n${rules}\nkube-proxy:\n${cluster.logs('kube-proxy').slice(-3000)}`);
  }
});

test('a pod reaches the Service by its name (CoreDNS)', async () => {
  const started = Date.now();
  const pod = `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${NAMESPACE}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
  - name: client
    image: ${SMOKE_IMAGE}
    imagePullPolicy: Never
    args: [get, "http://hello.${NAMESPACE}.svc.${CLUSTER_DOMAIN}/", "30"]
`;
  await cluster.applyYaml(pod);
  await kubectl(['-n', NAMESPACE, 'wait', 'pod/client', '--for=jsonpath={.status.phase}=Succeeded', '--timeout=90s']).catch(async (error: Error) => {
    const logs = await cluster.kubectl(['-n', NAMESPACE, 'logs', 'client']);
    const describe = await cluster.kubectl(['-n', NAMESPACE, 'describe', 'pod', 'client']);
    throw new Error(`${error.message}\nlogs: ${logs.stdout}${logs.stderr}\n${describe.stdout}`);
  });
  const logs = await kubectl(['-n', NAMESPACE, 'logs', 'client']);
  assert.match(logs, /^hello from hello-/);
  console.log(`client pod reached hello.${NAMESPACE}.svc in ${seconds(Date.now() - started)}`);
});

test.run();
