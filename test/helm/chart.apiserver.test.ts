// The helm chart in a real kube-apiserver (test/support/kube-cluster.ts, RBAC on): a real `helm install`
// with the Gateway API and compat CRDs from the chart's own subcharts (cluster.values.yaml), then
//  - `kubectl auth can-i --as` the control plane's ServiceAccount: each thing it needs, and nothing
//    broader (no get of Secrets, no namespace deletes, no RBAC writes, no pods or exec, no other Lease);
//  - the real control plane, run with that ServiceAccount's own token and the arguments of the
//    rendered Deployment: it leads, writes status (GatewayClass, Gateway, HTTPRoute, MCPBackend), reads
//    a referenced Secret by name, and provisions proxies (Deployment, Service, and from the
//    GatewayClass's ConfigMap an HPA, a PDB and the NATS URL) without one "forbidden"; its history
//    goes to a real nats-server standing in for the chart's NATS (--event-log nats, as rendered);
//  - `helm upgrade` changing the proxy defaults reaches the proxies at once (the HPA is deleted);
//  - `helm uninstall` keeps the CRDs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.ts';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { CLI, freePort, ROOT, startNode, until, waitForHttpOk, type Managed } from '../support/processes.ts';
import { ALL_ON_VALUES, CHART, container, helm, NAMESPACE, one, parseDocs, RELEASE, render, type HelmResult } from './chart.ts';
import { gatewayAndRoute } from '../support/manifests.ts';
import { TUTORIAL_MANIFESTS } from '../support/tutorial.ts';

const SA = `system:serviceaccount:${NAMESPACE}:mcpmux-control-plane`;
const VALUES = join(ROOT, 'test/helm/cluster.values.yaml');
const TEAM = 'team-a';
const IDENTITY = 'mcpmux-control-plane-7d9f8-abcde';

const TEAM_OBJECTS = `
apiVersion: v1
kind: Namespace
metadata:
  name: ${TEAM}
---
apiVersion: v1
kind: Secret
metadata:
  name: weather
  namespace: ${TEAM}
stringData:
  api-key: not-a-real-key
---
${gatewayAndRoute({ namespace: TEAM, gateway: 'team-gateway', route: 'team-route', backend: 'weather' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata:
  name: weather
  namespace: ${TEAM}
spec:
  upstreamAuth:
    secretRef:
      name: weather
      key: api-key
    header: X-Api-Key
  targets:
  - static:
      name: weather
      host: weather.example
      port: 8080
`;

let cluster: KubeCluster;
let controlPlane: Managed | undefined;
let nats: NatsServer | undefined;
let installed: HelmResult;

const kube = (args: string[], input?: string) => cluster.kubectl(args, input);
const helmIn = (args: string[]): Promise<HelmResult> => helm([...args, '--kubeconfig', cluster.kubeconfigPath]);

async function getJson<T>(args: string[]): Promise<T | undefined> {
  const result = await kube([...args, '-o', 'json']);
  return result.code === 0 ? (JSON.parse(result.stdout) as T) : undefined;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

const conditionOf = (conditions: Condition[] | undefined, type: string): string | undefined => conditions?.find((c) => c.type === type)?.status;

/** Runs `kubectl auth can-i` as the ServiceAccount for each check, six at a time: [check, allowed]. */
async function canI(checks: ReadonlyArray<readonly string[]>): Promise<Array<[string, boolean]>> {
  const results: Array<[string, boolean]> = new Array(checks.length);
  let next = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (next < checks.length) {
      const i = next++;
      const args = checks[i]!;
      const result = await kube(['auth', 'can-i', ...args, `--as=${SA}`]);
      const answer = result.stdout.trim();
      if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i ${args.join(' ')}: ${result.stderr}`);
      results[i] = [args.join(' '), answer === 'yes'];
    }
  }));
  return results;
}

test.before(async () => {
  const started = Date.now();
  cluster = await startKubeCluster();
  installed = await helmIn(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--create-namespace', '-f', VALUES]);
  console.error(`cluster ${cluster.timings.totalMs} ms, helm install ${Date.now() - started - cluster.timings.totalMs} ms`);
});

test.after(async () => {
  await controlPlane?.stop();
  await nats?.destroy();
  await cluster?.stop();
});

test('helm install: the Gateway API CRDs and ours from the chart, the GatewayClass in the same install, NOTES', async () => {
  assert.is(installed.code, 0, installed.stderr);
  assert.match(installed.stdout, /STATUS: deployed/);
  assert.match(installed.stdout, /kubectl -n <namespace> port-forward svc\/<gateway> 8080:80/);
  assert.match(installed.stdout, /http:\/\/127\.0\.0\.1:8080\/mcp/);
  // NATS is on (cluster.values.yaml): the history is shared, so controlPlane.replicas (2) run, with a PDB.
  assert.match(installed.stdout, new RegExp(`History: NATS JetStream stream MCPMUX_EVENTS on nats://mcpmux-nats\\.${NAMESPACE}\\.svc:4222,\\s+shared by the 2 control plane replicas\\.`));
  const crds = await kube(['get', 'crd', '-o', 'name']);
  for (const name of ['gateways.gateway.networking.k8s.io', 'httproutes.gateway.networking.k8s.io', 'gatewayclasses.gateway.networking.k8s.io', 'mcpbackends.mcpmux.dev', 'agentgatewaybackends.agentgateway.dev']) {
    assert.match(crds.stdout, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${name.replaceAll('.', '\\.')}`));
  }
  const gatewayClass = await getJson<{ spec: { controllerName: string } }>(['get', 'gatewayclass', 'mcpmux']);
  assert.is(gatewayClass?.spec.controllerName, 'mcpmux.dev/gateway-controller');
  for (const object of ['deployment/mcpmux-control-plane', 'service/mcpmux-control-plane', 'statefulset/mcpmux-nats', 'configmap/mcpmux-proxy-defaults', 'poddisruptionbudget/mcpmux-control-plane']) {
    const got = await kube(['get', '-n', NAMESPACE, object, '-o', 'name']);
    assert.is(got.code, 0, `${object}: ${got.stderr}`);
  }
});

test('every object of the all-on rendering passes the apiserver\'s strict validation (server dry run)', async () => {
  await cluster.applyYaml(['team-a', 'team-b'].map((name) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`).join('---\n'));
  // Another release name, so nothing exists yet and `create` checks each object whole. The
  // Prometheus Operator's kinds are left out: this cluster has no such CRDs.
  const { docs } = await render(['-f', ALL_ON_VALUES, '--set', 'fullnameOverride=dry-run']);
  const objects = docs.filter((d) => d.apiVersion !== 'monitoring.coreos.com/v1');
  assert.ok(objects.length >= 20, `${objects.length} objects`);
  const created = await kube(['create', '--dry-run=server', '--validate=strict', '-o', 'name', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
  assert.is(created.code, 0, created.stderr);
  assert.is(created.stdout.trim().split('\n').length, objects.length, created.stdout);
  assert.is(created.stderr.trim(), '', 'no warning (unknown or duplicate fields)');

  // The history in a file: its PVC and the Deployment that mounts it (Recreate).
  const file = (await render(['--set', 'controlPlane.history.mode=file', '--set', 'fullnameOverride=dry-run-file'])).docs.filter((d) => d.kind === 'PersistentVolumeClaim' || d.kind === 'Deployment');
  assert.equal(file.map((d) => d.kind).sort(), ['Deployment', 'PersistentVolumeClaim']);
  const fileCreated = await kube(['create', '--dry-run=server', '--validate=strict', '-o', 'name', '-f', '-'], file.map((o) => JSON.stringify(o)).join('\n'));
  assert.is(fileCreated.code, 0, fileCreated.stderr);
  assert.is(fileCreated.stderr.trim(), '', 'no warning (unknown or duplicate fields)');
});

test('kubectl auth can-i: the ServiceAccount can do each thing the control plane needs, and nothing broader', async () => {
  const allowed = [
    ['list', 'gateways.gateway.networking.k8s.io', '--all-namespaces'],
    ['watch', 'gateways.gateway.networking.k8s.io', '--all-namespaces'],
    ['list', 'gatewayclasses.gateway.networking.k8s.io'],
    ['list', 'httproutes.gateway.networking.k8s.io', '--all-namespaces'],
    ['list', 'referencegrants.gateway.networking.k8s.io', '--all-namespaces'],
    ['list', 'mcpbackends.mcpmux.dev', '--all-namespaces'],
    ['watch', 'agentgatewaybackends.agentgateway.dev', '--all-namespaces'],
    ['list', 'services', '--all-namespaces'],
    ['watch', 'endpointslices.discovery.k8s.io', '--all-namespaces'],
    ['watch', 'namespaces'],
    ['list', 'secrets', '-n', TEAM], // only ever with a metadata.name field selector (kubernetes.ts)
    ['patch', 'httproutes.gateway.networking.k8s.io', '--subresource=status', '-n', TEAM],
    ['patch', 'gateways.gateway.networking.k8s.io', '--subresource=status', '-n', TEAM],
    ['patch', 'gatewayclasses.gateway.networking.k8s.io', '--subresource=status'],
    ['patch', 'mcpbackends.mcpmux.dev', '--subresource=status', '-n', TEAM],
    ['create', 'events', '-n', TEAM],
    ['create', 'leases.coordination.k8s.io', '-n', NAMESPACE],
    ['update', 'leases.coordination.k8s.io/mcpmux-control-plane', '-n', NAMESPACE],
    ['get', 'leases.coordination.k8s.io/mcpmux-control-plane', '-n', NAMESPACE],
    ['get', 'configmaps/mcpmux-proxy-defaults', '-n', NAMESPACE],
    // requestState master keys: the leader creates their Secret; every replica gets and watches it by name
    ['create', 'secrets', '-n', NAMESPACE],
    ['get', 'secrets/mcpmux-request-state', '-n', NAMESPACE],
    ['watch', 'secrets/mcpmux-request-state', '-n', NAMESPACE],
    // tls.mode ca (the default): the CA's Secret, TokenReviews, and each Gateway's proxy ServiceAccount and CA-bundle ConfigMap
    ['get', 'secrets/mcpmux-ca', '-n', NAMESPACE],
    ['watch', 'secrets/mcpmux-ca', '-n', NAMESPACE],
    ['create', 'tokenreviews.authentication.k8s.io'],
    ['create', 'serviceaccounts', '-n', TEAM],
    ['patch', 'serviceaccounts', '-n', TEAM],
    ['delete', 'configmaps', '-n', TEAM],
    ['patch', 'configmaps', '-n', TEAM],
    ['create', 'deployments.apps', '-n', TEAM],
    ['patch', 'deployments.apps', '-n', TEAM],
    ['delete', 'deployments.apps', '-n', TEAM],
    ['patch', 'services', '-n', TEAM],
    ['patch', 'horizontalpodautoscalers.autoscaling', '-n', TEAM],
    ['delete', 'poddisruptionbudgets.policy', '-n', TEAM],
  ];
  const denied = [
    ['get', 'secrets', '-n', TEAM],
    ['create', 'secrets', '-n', TEAM],
    ['get', 'secrets/other', '-n', NAMESPACE],
    ['update', 'secrets/mcpmux-request-state', '-n', NAMESPACE],
    ['patch', 'secrets/mcpmux-request-state', '-n', NAMESPACE],
    ['delete', 'secrets/mcpmux-request-state', '-n', NAMESPACE],
    ['list', 'configmaps', '-n', NAMESPACE],
    ['list', 'configmaps', '-n', TEAM],
    ['get', 'configmaps', '-n', TEAM],
    ['list', 'serviceaccounts', '-n', TEAM],
    ['update', 'secrets/mcpmux-ca', '-n', NAMESPACE],
    ['patch', 'secrets/mcpmux-ca', '-n', NAMESPACE],
    ['create', 'serviceaccounts', '--subresource=token', '-n', TEAM],
    ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', NAMESPACE],
    ['get', 'configmaps/other', '-n', NAMESPACE],
    ['get', 'configmaps/mcpmux-proxy-defaults', '-n', TEAM],
    ['update', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'kube-system'],
    ['update', 'leases.coordination.k8s.io/other', '-n', NAMESPACE],
    ['create', 'leases.coordination.k8s.io', '-n', TEAM],
    ['delete', 'namespaces'],
    ['create', 'clusterroles.rbac.authorization.k8s.io'],
    ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', TEAM],
    ['get', 'pods', '-n', TEAM],
    ['create', 'pods', '-n', TEAM],
    ['create', 'pods/exec', '-n', TEAM],
    ['update', 'deployments.apps', '-n', TEAM],
    ['get', 'deployments.apps', '-n', TEAM],
    ['patch', 'deployments.apps', '--subresource=scale', '-n', TEAM],
    ['update', 'httproutes.gateway.networking.k8s.io', '-n', TEAM],
    ['patch', 'httproutes.gateway.networking.k8s.io', '-n', TEAM],
    ['delete', 'gateways.gateway.networking.k8s.io', '-n', TEAM],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['create', 'serviceaccounts', '--subresource=token', '-n', NAMESPACE],
    ['patch', 'nodes'],
    ['*', '*'],
  ];
  const results = await canI([...allowed, ...denied]);
  const wrong = results.filter(([, yes], i) => yes !== i < allowed.length).map(([check, yes]) => `${check}: ${yes ? 'yes' : 'no'}`);
  assert.equal(wrong, [], `unexpected answers:\n${wrong.join('\n')}`);
});

test('the real control plane as that ServiceAccount: leads, writes status, reads a Secret by name, provisions with the class parameters; no "forbidden"', async () => {
  // Its own token (TokenRequest), in a kubeconfig of its own: every request is the ServiceAccount's.
  const token = await kube(['create', 'token', 'mcpmux-control-plane', '-n', NAMESPACE, '--duration=1h']);
  assert.is(token.code, 0, token.stderr);
  const kubeconfig = join(cluster.kubeconfigPath, '..', 'control-plane.kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caPath } }],
    users: [{ name: 'sa', user: { token: token.stdout.trim() } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
    'current-context': 'c',
  }), { mode: 0o600 });

  // The arguments of the Deployment helm installed, with local ports (later flags win).
  const manifest = await helmIn(['get', 'manifest', RELEASE, '--namespace', NAMESPACE]);
  const deployment = one(parseDocs(manifest.stdout, 'helm get manifest'), 'Deployment', 'mcpmux-control-plane');
  assert.is((deployment as unknown as { spec: { replicas: number } }).spec.replicas, 2);
  const rendered = container(deployment, 'control-plane').args!;
  // The history on the chart's NATS (3 servers: 3 copies). This cluster runs no pods, so a local
  // nats-server stands in for it: one server, one copy.
  for (const arg of ['--event-log=nats', `--nats=nats://mcpmux-nats.${NAMESPACE}.svc:4222`, '--nats-replicas=3', '--event-log-stream=MCPMUX_EVENTS']) assert.ok(rendered.includes(arg), `${arg} in ${rendered.join(' ')}`);
  nats = await startNatsServer();
  const args = rendered.map((a) => a.replace('$(POD_NAME)', IDENTITY).replace(/^--nats=.*/, `--nats=${nats!.url}`));
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  controlPlane = startNode('control-plane', [CLI, ...args, '--nats-replicas=1', '--address=127.0.0.1', `--grpc-port=${grpcPort}`, `--http-port=${httpPort}`, `--kubeconfig=${kubeconfig}`], {
    POD_NAME: IDENTITY,
    POD_NAMESPACE: NAMESPACE,
    MCPMUX_LOG_LEVEL: 'info',
  });

  await cluster.applyYaml(TEAM_OBJECTS);
  await cluster.applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: agentgateway-system\n`);
  await cluster.applyYaml(TUTORIAL_MANIFESTS);
  await waitForHttpOk(`http://127.0.0.1:${httpPort}/readyz`, 30_000);

  await until(async () => (await getJson<{ spec: { holderIdentity?: string } }>(['get', 'lease', 'mcpmux-control-plane', '-n', NAMESPACE]))?.spec.holderIdentity === IDENTITY, 'the Lease held by the control plane', 20_000);
  await until(async () => conditionOf((await getJson<{ status?: { conditions?: Condition[] } }>(['get', 'gatewayclass', 'mcpmux']))?.status?.conditions, 'Accepted') === 'True', 'GatewayClass mcpmux Accepted', 20_000);
  await until(async () => {
    const route = await getJson<{ status?: { parents?: Array<{ controllerName: string; conditions: Condition[] }> } }>(['get', 'httproute', 'team-route', '-n', TEAM]);
    return conditionOf(route?.status?.parents?.find((p) => p.controllerName === 'mcpmux.dev/gateway-controller')?.conditions, 'ResolvedRefs') === 'True';
  }, 'HTTPRoute team-route status', 20_000);
  // ResolvedRefs=True: the control plane read the Secret the backend names (a by-name watch).
  await until(async () => conditionOf((await getJson<{ status?: { conditions?: Condition[] } }>(['get', 'mcpbackend', 'weather', '-n', TEAM]))?.status?.conditions, 'ResolvedRefs') === 'True', 'MCPBackend weather ResolvedRefs=True', 20_000);
  await until(async () => conditionOf((await getJson<{ status?: { conditions?: Condition[] } }>(['get', 'gateway', 'team-gateway', '-n', TEAM]))?.status?.conditions, 'Accepted') === 'True', 'Gateway team-gateway Accepted', 20_000);
  await until(async () => {
    const route = await getJson<{ status?: { parents?: Array<{ controllerName: string }> } }>(['get', 'httproute', 'mcp-route', '-n', 'agentgateway-system']);
    return route?.status?.parents?.some((p) => p.controllerName === 'mcpmux.dev/gateway-controller') === true;
  }, "the tutorial's HTTPRoute status (class agentgateway, served through extraGatewayClasses)", 20_000);

  // The tutorial's Gateway (class agentgateway: no GatewayClass object, so the chart's class's parameters).
  await until(async () => (await kube(['get', 'deployment/mcp-gateway', 'service/mcp-gateway', '-n', 'agentgateway-system'])).code === 0, 'deploy/mcp-gateway', 20_000);
  // Class mcpmux: the chart's ConfigMap adds NATS, an HPA and a PDB.
  await until(async () => (await kube(['get', 'hpa/team-gateway', 'pdb/team-gateway', '-n', TEAM])).code === 0, 'the HPA and PDB of team-gateway', 20_000);
  const proxy = await getJson<{ spec: { template: { spec: { containers: Array<{ args: string[]; image: string }> } } } }>(['get', 'deployment', 'team-gateway', '-n', TEAM]);
  const proxyArgs = proxy!.spec.template.spec.containers[0]!.args.join(' ');
  assert.match(proxyArgs, new RegExp(`--nats nats://mcpmux-nats\\.${NAMESPACE}\\.svc:4222`));
  assert.match(proxyArgs, new RegExp(`--control-plane mcpmux-control-plane\\.${NAMESPACE}\\.svc:18000`));
  assert.is(proxy!.spec.template.spec.containers[0]!.image, 'mcpmux:0.1.0');
  const hpa = await getJson<{ spec: { minReplicas: number; maxReplicas: number; scaleTargetRef: { name: string } } }>(['get', 'hpa', 'team-gateway', '-n', TEAM]);
  assert.equal([hpa!.spec.minReplicas, hpa!.spec.maxReplicas, hpa!.spec.scaleTargetRef.name], [2, 5, 'team-gateway']);
  const pdb = await getJson<{ spec: { minAvailable: number } }>(['get', 'pdb', 'team-gateway', '-n', TEAM]);
  assert.is(pdb!.spec.minAvailable, 1);
  const tutorialArgs = (await getJson<{ spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(['get', 'deployment', 'mcp-gateway', '-n', 'agentgateway-system']))!.spec.template.spec.containers[0]!.args.join(' ');
  assert.match(tutorialArgs, new RegExp(`--nats nats://mcpmux-nats\\.${NAMESPACE}\\.svc:4222`), 'a served class without a GatewayClass object takes the chart\'s parameters');

  // The leader created the requestState keys' Secret, read it back and watches it, as that ServiceAccount.
  const keys = await getJson<{ data: { current: string } }>(['get', 'secret', 'mcpmux-request-state', '-n', NAMESPACE]);
  assert.is(Buffer.from(keys!.data.current, 'base64').length, 32);
  await controlPlane.waitFor(/requestState master keys read from their Secret/, 10_000);

  // The leader writes the history to the stream the chart named.
  await controlPlane.waitFor(/leading: this replica writes the history/, 10_000);
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await nc.jetstreamManager();
    await until(async () => (await jsm.streams.info('MCPMUX_EVENTS')).state.messages > 0, 'records in the stream MCPMUX_EVENTS', 20_000);
  } finally {
    await nc.close();
  }

  // mTLS by default: the CA Secret, and for each Gateway a ServiceAccount and a CA-bundle ConfigMap; a
  // proxy started with those files (and a token of that ServiceAccount) gets its certificate, then snapshots.
  await until(async () => (await kube(['get', 'secret/mcpmux-ca', '-n', NAMESPACE])).code === 0, 'the CA Secret', 20_000);
  await until(async () => (await kube(['get', 'configmap/mcpmux-proxy-team-gateway', 'serviceaccount/mcpmux-proxy-team-gateway', '-n', TEAM])).code === 0, 'the proxies\' ServiceAccount and CA bundle', 20_000);
  const bundle = (await getJson<{ data: Record<string, string> }>(['get', 'configmap', 'mcpmux-proxy-team-gateway', '-n', TEAM]))!.data['ca.crt']!;
  const proxyToken = await kube(['create', 'token', 'mcpmux-proxy-team-gateway', '-n', TEAM, '--audience', 'mcpmux-control-plane', '--duration=1h']);
  assert.is(proxyToken.code, 0, proxyToken.stderr);
  const files = join(cluster.kubeconfigPath, '..');
  writeFileSync(join(files, 'proxy-ca.crt'), bundle);
  writeFileSync(join(files, 'proxy-token'), proxyToken.stdout.trim());
  const proxyHttp = await freePort();
  const proxyProcess = startNode('proxy', [
    CLI, 'proxy', '--control-plane', `localhost:${grpcPort}`, '--gateway', `${TEAM}/team-gateway`, '--port', '0', '--http-port', String(proxyHttp),
    '--control-plane-ca', join(files, 'proxy-ca.crt'), '--token-file', join(files, 'proxy-token'),
  ], { MCPMUX_LOG_LEVEL: 'info' });
  try {
    await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`, 30_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${proxyProcess.output()}\n${controlPlane?.output()}`);
    });
  } finally {
    await proxyProcess.stop();
  }

  assert.not.match(controlPlane.output(), /forbidden|\b403\b/i, controlPlane.output().split('\n').filter((l) => /forbidden|403/i.test(l)).slice(0, 5).join('\n'));
});

test('helm upgrade of the proxy defaults reaches the proxies at once: no HPA any more, replicas from the values', async () => {
  assert.ok(controlPlane, 'the control plane runs (previous test)');
  const upgraded = await helmIn(['upgrade', RELEASE, CHART, '--namespace', NAMESPACE, '--reuse-values', '--set', 'proxy.autoscaling.enabled=false', '--set', 'proxy.replicas=2']);
  assert.is(upgraded.code, 0, upgraded.stderr);
  await until(async () => (await kube(['get', 'hpa/team-gateway', '-n', TEAM])).code !== 0, 'the HPA deleted', 20_000);
  await until(async () => (await getJson<{ spec: { replicas?: number } }>(['get', 'deployment', 'team-gateway', '-n', TEAM]))?.spec.replicas === 2, 'replicas 2', 20_000);
  assert.is((await kube(['get', 'pdb/team-gateway', '-n', TEAM])).code, 0, 'the PDB stays');
  assert.not.match(controlPlane!.output(), /forbidden|\b403\b/i);
});

test('helm uninstall removes the release and keeps every CRD (and so every Gateway and MCPBackend)', async () => {
  await controlPlane?.stop();
  controlPlane = undefined;
  const removed = await helmIn(['uninstall', RELEASE, '--namespace', NAMESPACE]);
  assert.is(removed.code, 0, removed.stderr);
  assert.is((await kube(['get', 'deployment/mcpmux-control-plane', '-n', NAMESPACE])).code, 1);
  assert.is((await kube(['get', 'clusterrole/mcpmux-control-plane'])).code, 1);
  for (const crd of ['mcpbackends.mcpmux.dev', 'gateways.gateway.networking.k8s.io', 'agentgatewaybackends.agentgateway.dev']) {
    assert.is((await kube(['get', 'crd', crd])).code, 0, `${crd} kept`);
  }
  assert.is((await kube(['get', 'mcpbackend/weather', 'gateway/team-gateway', '-n', TEAM])).code, 0);
});

test.run();
