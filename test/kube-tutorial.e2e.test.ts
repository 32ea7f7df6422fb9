// The tutorial in a cluster (issue 6): a real kube-apiserver + etcd (built from Go modules, cached),
// the official Gateway API CRDs and ours, the tutorial's manifests applied unchanged with kubectl,
// plus an EndpointSlice pointing at a local server-everything. A control plane with the kubernetes
// source and a proxy run as real processes through the CLI; an MCP client connects to the proxy.
//
// Checked: the tools (acceptance 1); HTTPRoute/Gateway status written by the leader, and a broken
// backend reference reported (2); the provisioned Deployment and Service (3); a Service labelled
// later reaching open sessions through the watch (6); and a second control plane replica taking
// over status writing when the leader is killed (3).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeCluster, type KubeCluster } from './support/kube-cluster.ts';
import { CLI, EVERYTHING, ROOT, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';
import { endpointSlice as endpointSliceFor } from './support/stack.ts';
import { tutorialManifests } from './support/tutorial.ts';
import { openListen } from '../proxy/testing/modern.ts';

const NS = 'agentgateway-system';
const GROUP = `${NS}/mcp-gateway`;
// The tutorial's manifests as the repository keeps them (deploy/examples/tutorial/tutorial.yaml: unchanged).
const TUTORIAL = tutorialManifests();
const quiet = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'info' };

/**
 * The apiserver refuses loopback IPs in EndpointSlices (they would reach the node, not a pod) and
 * single-label names, so local processes get an FQDN under .localhost, which the proxy takes as the
 * loopback address (RFC 6761; proxy/routing/target-url.ts).
 */
const endpointSlice = (service: string, port: number): string => endpointSliceFor(service, `${service}.localhost`, port, NS, 'FQDN');

/** The route /broken to an AgentgatewayBackend of that name (one that does not exist, at first). */
function brokenRoute(backend: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: broken-route
  namespace: ${NS}
spec:
  parentRefs:
  - name: mcp-gateway
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /broken
    backendRefs:
    - name: ${backend}
      group: agentgateway.dev
      kind: AgentgatewayBackend
`;
}

let cluster: KubeCluster;
let everything: Managed;
let everythingPort: number;
const processes: Managed[] = [];

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
}

async function getJson<T>(args: string[]): Promise<T> {
  const result = await cluster.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function apply(yaml: string): Promise<void> {
  const result = await cluster.applyYaml(yaml);
  assert.is(result.code, 0, `kubectl apply: ${result.stderr}`);
}

function controlPlane(name: string, grpc: number, http: number): Managed {
  const child = startNode(name, [
    CLI, 'control-plane',
    '--source', 'kubernetes',
    '--kubeconfig', cluster.kubeconfigPath,
    '--gateway-class', 'agentgateway,mcpmux',
    '--grpc-port', String(grpc),
    '--http-port', String(http),
    '--identity', name,
    '--leader-election-namespace', 'default',
    '--lease-duration', '2',
    '--proxy-image', 'mcpmux/mcpmux:e2e',
  ], quiet);
  processes.push(child);
  return child;
}

async function routeConditions(name: string): Promise<Condition[]> {
  const route = await getJson<{ status?: { parents?: Array<{ controllerName: string; conditions: Condition[] }> } }>(['get', 'httproute', name, '-n', NS]);
  return route.status?.parents?.find((p) => p.controllerName === 'mcpmux.dev/gateway-controller')?.conditions ?? [];
}

async function waitForCondition(name: string, type: string, status: string, timeoutMs = 15_000): Promise<Condition> {
  let found: Condition | undefined;
  await until(async () => {
    found = (await routeConditions(name)).find((c) => c.type === type && c.status === status);
    return found !== undefined;
  }, `HTTPRoute ${name} ${type}=${status}`, timeoutMs);
  return found!;
}

test.before(async () => {
  cluster = await startKubeCluster({ gatewayApi: true });
  for (const crd of ['deploy/crds/mcpbackend.yaml', 'deploy/crds/compat/agentgatewaybackend.yaml']) {
    const result = await cluster.kubectl(['apply', '--server-side', '-f', `${ROOT}${crd}`]);
    assert.is(result.code, 0, result.stderr);
  }
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd/mcpbackends.mcpmux.dev', 'crd/agentgatewaybackends.agentgateway.dev', '--timeout=30s']);
  everythingPort = await freePort();
  everything = startNode('everything', [EVERYTHING, 'streamableHttp'], { PORT: String(everythingPort) });
  processes.push(everything);
  await everything.waitFor(/listening on port/);
  // The tutorial's manifests, unchanged, then the one thing a real cluster would add: endpoints.
  assert.is((await cluster.kubectl(['create', 'namespace', NS])).code, 0);
  await apply(TUTORIAL);
  await apply(endpointSlice('mcp-server-everything', everythingPort));
});

test.after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await cluster?.stop();
});

test('the tutorial applied to a cluster: tools through the proxy, status on the route and the Gateway, a provisioned proxy', async () => {
  const grpc = await freePort();
  const http = await freePort();
  controlPlane('cp-1', grpc, http);
  await waitForHttpOk(`http://127.0.0.1:${http}/readyz`, 30_000);
  const proxyPort = await freePort();
  const proxyHttp = await freePort();
  const proxy = startNode('proxy', [CLI, 'proxy', '--gateway', GROUP, '--control-plane', `127.0.0.1:${grpc}`, '--port', String(proxyPort), '--http-port', String(proxyHttp)], quiet);
  processes.push(proxy);
  await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`, 30_000);

  const client = new Client({ name: 'kube-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`)));
  try {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('mcp-server-everything-3001_echo'), `tools: ${names.join(', ')}`);
    const echoed = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message: 'from the cluster' } });
    assert.match(JSON.stringify(echoed.content), /from the cluster/);

    // Acceptance 2: the route is Accepted for its parent; the Gateway is Programmed, per listener too.
    const accepted = await waitForCondition('mcp-route', 'Accepted', 'True');
    assert.is(accepted.reason, 'Accepted');
    const route = await getJson<{ metadata: { generation: number } }>(['get', 'httproute', 'mcp-route', '-n', NS]);
    assert.is(accepted.observedGeneration, route.metadata.generation);
    const gateway = await getJson<{ status: { conditions: Condition[]; listeners: Array<{ name: string; attachedRoutes: number; conditions: Condition[] }> } }>([
      'get', 'gateway', 'mcp-gateway', '-n', NS,
    ]);
    assert.ok(gateway.status.conditions.some((c) => c.type === 'Programmed' && c.status === 'True'), JSON.stringify(gateway.status.conditions));
    assert.is(gateway.status.listeners[0]!.name, 'http');
    assert.is(gateway.status.listeners[0]!.attachedRoutes, 1);

    // A route naming a backend that does not exist: ResolvedRefs=False with a reason.
    await apply(brokenRoute('no-such-backend'));
    const unresolved = await waitForCondition('broken-route', 'ResolvedRefs', 'False');
    assert.ok(unresolved.reason.length > 0 && unresolved.reason !== 'ResolvedRefs', unresolved.reason);

    // Acceptance 3: deploy/mcp-gateway and its Service, owned by the Gateway, listening on 80.
    const deployment = await getJson<{
      metadata: { ownerReferences: Array<{ kind: string; name: string; controller: boolean }> };
      spec: { template: { spec: { containers: Array<{ ports: Array<{ containerPort: number }>; securityContext: { capabilities: { add: string[] } } }> } } };
    }>(['get', 'deployment', 'mcp-gateway', '-n', NS]);
    assert.equal(deployment.metadata.ownerReferences.map((o) => [o.kind, o.name, o.controller]), [['Gateway', 'mcp-gateway', true]]);
    const container = deployment.spec.template.spec.containers[0]!;
    assert.is(container.ports[0]!.containerPort, 80);
    assert.equal(container.securityContext.capabilities.add, ['NET_BIND_SERVICE']);
    const service = await getJson<{ spec: { ports: Array<{ port: number }> } }>(['get', 'service', 'mcp-gateway', '-n', NS]);
    assert.is(service.spec.ports[0]!.port, 80);

    // Acceptance 6: a Service labelled mcp-federation=true later reaches the open session, and a
    // 2026-07-28 client's subscriptions/listen stream (issue 15).
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    const listen = await openListen(`http://127.0.0.1:${proxyPort}/mcp`, { toolsListChanged: true }, 'kube-listen');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the session's GET stream is open
    const labelled = Date.now();
    await apply(`apiVersion: v1
kind: Service
metadata:
  name: more-tools
  namespace: ${NS}
  labels:
    mcp-federation: "true"
spec:
  ports:
  - port: 3002
    appProtocol: kgateway.dev/mcp
` + endpointSlice('more-tools', everythingPort));
    await until(async () => (await client.listTools()).tools.some((t) => t.name === 'more-tools-3002_echo'), 'the new Service\'s tools', 15_000);
    await until(() => changed > 0, 'notifications/tools/list_changed', 5_000);
    const changedAt = (): number | undefined => listen.at.find((t, i) => t >= labelled && listen.frames[i]?.method === 'notifications/tools/list_changed');
    await until(() => changedAt() !== undefined, 'list_changed on the listen stream after the Service was labelled', 5_000);
    console.log(`listen stream: tools/list_changed ${changedAt()! - labelled} ms after the Service was applied`);
    listen.close();
  } finally {
    await client.close();
  }
});

test('a second replica takes over status writing within the lease time when the leader is killed', async () => {
  const grpc = await freePort();
  const http = await freePort();
  const standby = controlPlane('cp-2', grpc, http);
  await waitForHttpOk(`http://127.0.0.1:${http}/readyz`, 30_000);
  const lease = async () => (await getJson<{ spec: { holderIdentity: string } }>(['get', 'lease', 'mcpmux-control-plane', '-n', 'default'])).spec.holderIdentity;
  assert.is(await lease(), 'cp-1', 'the first replica still leads');
  const leader = processes.find((p) => p !== standby && p.name === 'cp-1')!;
  const killed = Date.now();
  await leader.stop('SIGKILL');
  await until(async () => (await lease()) === 'cp-2', 'cp-2 holding the lease', 15_000);
  const tookOver = Date.now() - killed;
  // Lease 2 s; a candidate polls every 400 ms and must see the record unchanged for the lease time.
  assert.ok(tookOver < 2000 + 2000, `took over after ${tookOver} ms`);
  console.log(`leader killed; cp-2 holds the lease ${tookOver} ms later (lease 2 s)`);
  // The new leader writes status: fix the broken route, and its condition turns.
  await apply(brokenRoute('mcp-federated'));
  await waitForCondition('broken-route', 'ResolvedRefs', 'True');
});

test.run();
