// The tutorial in real pods (issue 17, Deliver 3), on the cluster tier's real node
// (test/support/node-cluster.ts), with the images `npm run image` built and the real MCP Inspector from
// npm (test/support/inspector.ts, installed by the test runner outside the namespaces). In order:
//   1. `helm install` as docs/kind.md gives it (the tutorial's flags plus the local image flags), --wait;
//   2. the tutorial's manifests applied unchanged (`kubectl apply -f`), the upstream Deployments pointed
//      at the local images (docs/kind.md section 5);
//   3. `kubectl rollout status deployment/mcp-gateway`: a real proxy pod, real probes, port 80 as user
//      10001; its security context is the chart's, seen from inside the container too;
//   4. `kubectl port-forward svc/mcp-gateway 8080:80` and the Inspector CLI lists the tutorial's tools
//      and calls echo;
//   5. a Service labelled later reaches an open session as notifications/tools/list_changed;
//   6. `helm upgrade` to 3 proxy replicas with NATS (through the chart's values, which the provisioner
//      applies): one session's requests through the Service's ClusterIP land on several pods and all
//      succeed; deleting one pod does not end the session;
//   7. `helm upgrade` with a changed proxy value rolls the proxies while a client keeps calling: no
//      request fails; `helm test` passes; `helm uninstall` leaves only what docs/kind.md lists.
// And throughout: no pod's log mentions a permission error.
// Skipped, saying so, when an image or the Inspector is missing.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startProcess, until, type Managed } from '../../shared/testing/processes.ts';
import { CHART, helm, NAMESPACE, RELEASE } from '../helm/chart.ts';
// Type-only, for the runner: importing images.ts makes test/run-tests.ts build (or reuse, while their
// inputs hold) the images first, so the pods run this checkout's code, not an older build's.
import type { BuildResult as _ImagesBuiltFirst } from '../support/images.ts';
import { installedInspector } from '../support/inspector.ts';
import { ensureKubeTools } from '../support/kube-tools.ts';
import { builtImages, insideClusterNamespaces, runInClusterNamespaces, startNodeCluster, type BuiltImage, type NodeCluster } from '../support/node-cluster.ts';
import { TUTORIAL_MANIFESTS } from '../support/tutorial.ts';

if (!insideClusterNamespaces()) await runInClusterNamespaces();

const run = promisify(execFile);
const NS = 'agentgateway-system';
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A step of the tutorial that failed; the message carries what kubectl, helm or the Inspector said. */
class TutorialStepError extends Error {
  override name = 'TutorialStepError';
}

const byName = (name: string): BuiltImage | undefined => builtImages().find((built) => new RegExp(`(^|/)${name}:[^/]+$`).test(built.ref));
const images = { mcpmux: byName('mcpmux'), everything: byName('mcp-server-everything'), fetcher: byName('mcp-website-fetcher'), nats: byName('mcpmux-nats') };
const inspector = installedInspector();
const missing = [...Object.entries(images).filter(([, image]) => !image).map(([name]) => `the ${name} image (npm run image -- all)`), ...(inspector ? [] : ['the MCP Inspector (node test/support/inspector.ts)'])];

const split = (ref: string): [string, string] => [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];

let cluster: NodeCluster;
let kubectlPath: string;
const processes: Managed[] = [];
const agents: Agent[] = [];
const timings: Record<string, number> = {};

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input);
  if (result.code !== 0) throw new TutorialStepError(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** helm against the test's cluster; throws with its output when it fails. */
async function helmOk(args: string[]): Promise<string> {
  const result = await helm([...args, '--kubeconfig', cluster.kubeconfigPath]);
  if (result.code !== 0) throw new TutorialStepError(`helm ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** What a failed rollout needs to be understood: the pods, their logs, the node's view. */
async function diagnose(namespace: string): Promise<string> {
  const pods = await cluster.kubectl(['-n', namespace, 'describe', 'pods']);
  const logs = await cluster.kubectl(['-n', namespace, 'logs', '--all-containers', '--prefix', '--tail=40', '-l', 'app.kubernetes.io/name']);
  const cp = await cluster.kubectl(['-n', NAMESPACE, 'logs', 'deployment/mcpmux-control-plane', '--tail=40']);
  return `${pods.stdout.slice(-6000)}\nlogs:\n${logs.stdout}${logs.stderr}\ncontrol plane:\n${cp.stdout}${cp.stderr}\nkubelet:\n${cluster.logs('kubelet').slice(-2000)}`;
}

async function rollout(namespace: string, deployment: string, timeout = '180s'): Promise<void> {
  const result = await cluster.kubectl(['-n', namespace, 'rollout', 'status', `deployment/${deployment}`, `--timeout=${timeout}`]);
  if (result.code !== 0) throw new TutorialStepError(`rollout status deployment/${deployment}: ${result.stderr}\n${await diagnose(namespace)}`);
}

/** The helm flags that give the chart the local images (docs/kind.md sections 3 and 5). */
function localImageFlags(): string[] {
  const [repository, tag] = split(images.mcpmux!.ref);
  const [natsRepository, natsTag] = split(images.nats!.ref);
  return [
    '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
    '--set', `nats.image.repository=${natsRepository}`, '--set', `nats.image.tag=${natsTag}`, '--set', 'nats.image.pullPolicy=Never',
  ];
}

/** Runs the Inspector's CLI as the tutorial does (`npx @modelcontextprotocol/inspector --cli URL ...`), from its cache folder. */
async function inspectorCli(args: string[]): Promise<unknown> {
  const home = mkdtempSync('/tmp/inspector-home-');
  try {
    const { stdout } = await run(process.execPath, [inspector!, '--cli', ...args], {
      timeout: 60_000,
      killSignal: 'SIGKILL',
      // Its catalog (~/.mcp-inspector) goes to a folder of the test's, on the namespace's tmpfs.
      env: { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, 'mcp.json') },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as unknown;
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
    throw new TutorialStepError(`inspector --cli ${args.join(' ')}: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/**
 * fetch on a new TCP connection per request: through a Service's ClusterIP each connection is sent
 * to a pod kube-proxy picks at random, so one session's requests spread over the replicas.
 */
const freshConnectionFetch = ((url: string | URL, init?: RequestInit) => {
  const agent = new Agent({ connections: 1 });
  agents.push(agent);
  return undiciFetch(url, { ...(init as object), dispatcher: agent });
}) as unknown as typeof fetch;

async function connect(url: string, name: string, fetchImpl?: typeof fetch): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), fetchImpl ? { fetch: fetchImpl } : {}));
  return client;
}

interface PodList {
  items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status: { podIP?: string; phase: string } }>;
}

const PROXY_SELECTOR = 'app.kubernetes.io/name=mcpmux-proxy,app.kubernetes.io/instance=mcp-gateway';

/** Requests each running proxy pod has answered (mcpmux_proxy_requests_total on its health port, read on the pod's address). */
async function requestsByPod(): Promise<Map<string, number>> {
  const pods = await json<PodList>(['-n', NS, 'get', 'pods', '-l', PROXY_SELECTOR]);
  const counts = new Map<string, number>();
  for (const pod of pods.items) {
    if (!pod.status.podIP || pod.metadata.deletionTimestamp || pod.status.phase !== 'Running') continue;
    const response = await fetch(`http://${pod.status.podIP}:15000/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    let total = 0;
    for (const match of text.matchAll(/^mcpmux_proxy_requests_total\{[^}]*\} (\S+)$/gm)) total += Number(match[1]);
    counts.set(pod.metadata.name, total);
  }
  return counts;
}

/** Log lines of every pod in the namespaces that mention a permission problem. */
async function permissionErrors(): Promise<string[]> {
  const found: string[] = [];
  for (const namespace of [NAMESPACE, NS]) {
    const pods = await json<PodList>(['-n', namespace, 'get', 'pods']);
    for (const pod of pods.items) {
      const logs = await cluster.kubectl(['-n', namespace, 'logs', pod.metadata.name, '--all-containers']);
      for (const line of logs.stdout.split('\n')) if (/forbidden|permission denied|EACCES|EPERM|unauthorized|operation not permitted/i.test(line)) found.push(`${namespace}/${pod.metadata.name}: ${line.slice(0, 300)}`);
    }
  }
  return found;
}

if (missing.length > 0) {
  console.log(`the tutorial test needs ${missing.join(' and ')}: skipped`);
  test.skip('the tutorial in real pods (needs the images and the Inspector)', () => undefined);
} else {
  test.before(async () => {
    cluster = await startNodeCluster();
    kubectlPath = (await ensureKubeTools()).kubectl;
    console.log(`cluster ready in ${seconds(cluster.timings.totalMs)}`);
    const started = Date.now();
    for (const image of Object.values(images)) await cluster.importImage(image!.archive);
    timings.import = Date.now() - started;
    console.log(`imported ${Object.values(images).map((i) => i!.ref).join(', ')} in ${seconds(timings.import)}`);
  });

  test.after(async () => {
    for (const managed of processes) await managed.stop('SIGKILL');
    await Promise.all(agents.map((agent) => agent.destroy().catch(() => undefined)));
    await cluster?.stop();
    console.log(`timings: ${Object.entries(timings).map(([k, v]) => `${k} ${seconds(v)}`).join(', ')}`);
  });

  test('helm install with the tutorial\'s flags and the local images (--wait)', async () => {
    const started = Date.now();
    await helmOk([
      'install', RELEASE, CHART, '-n', NAMESPACE, '--create-namespace',
      '--set', 'gatewayAPI.installCRDs=true', '--set', 'compat.agentgateway=true', '--set', 'controlPlane.extraGatewayClasses={agentgateway}',
      ...localImageFlags(),
      // One control plane replica on a 2-core node; the leader election still runs.
      '--set', 'controlPlane.replicas=1',
      '--wait', '--timeout', '180s',
    ]);
    timings.install = Date.now() - started;
  });

  test('the tutorial\'s manifests apply unchanged; the upstreams run the local images; deploy/mcp-gateway rolls out', async () => {
    const started = Date.now();
    await kubectl(['create', 'namespace', NS]);
    await kubectl(['apply', '-f', TUTORIAL_MANIFESTS]);
    await kubectl(['-n', NS, 'set', 'image', 'deployment/mcp-server-everything', `mcp-server-everything=${images.everything!.ref}`]);
    await kubectl(['-n', NS, 'patch', 'deployment', 'mcp-website-fetcher', '--patch', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'mcp-website-fetcher', image: images.fetcher!.ref, imagePullPolicy: 'IfNotPresent' }] } } } })]);
    // The control plane provisions deploy/mcp-gateway once it sees the Gateway: rollout status needs it to exist.
    await until(async () => (await cluster.kubectl(['-n', NS, 'get', 'deployment/mcp-gateway'])).code === 0, 'deployment/mcp-gateway provisioned', 60_000);
    await rollout(NS, 'mcp-gateway');
    await rollout(NS, 'mcp-server-everything');
    await rollout(NS, 'mcp-website-fetcher');
    timings.tutorial = Date.now() - started;
  });

  test('the proxy pod runs with the chart\'s security context: user 10001, read-only root, only NET_BIND_SERVICE, on port 80', async () => {
    const pods = await json<{ items: Array<{ metadata: { name: string }; spec: { securityContext: Record<string, unknown>; containers: Array<{ securityContext: Record<string, unknown>; ports: Array<{ containerPort: number }> }> } }> }>(['-n', NS, 'get', 'pods', '-l', PROXY_SELECTOR]);
    assert.is(pods.items.length, 1);
    const pod = pods.items[0]!;
    assert.equal(pod.spec.containers[0]!.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } });
    assert.is(pod.spec.securityContext.runAsNonRoot, true);
    assert.is(pod.spec.securityContext.runAsUser, 10001);
    assert.is(pod.spec.containers[0]!.ports[0]!.containerPort, 80);
    // What the kernel gave the running process (kubectl exec: the kubelet's streaming works here).
    const status = await kubectl(['-n', NS, 'exec', pod.metadata.name, '--', 'cat', '/proc/1/status']);
    assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
    const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)![1]}`);
    const capBnd = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(status)![1]}`);
    // CAP_NET_BIND_SERVICE is bit 10; nothing else may be in the bounding set.
    assert.is(capBnd, 1n << 10n, `CapBnd ${capBnd.toString(16)}`);
    assert.ok(capEff === 0n || capEff === 1n << 10n, `CapEff ${capEff.toString(16)}`);
    const write = await cluster.kubectl(['-n', NS, 'exec', pod.metadata.name, '--', 'touch', '/probe-of-a-read-only-root']);
    assert.is.not(write.code, 0, 'the root filesystem must be read-only');
    assert.match(write.stderr, /Read-only file system/);
  });

  test('kubectl port-forward svc/mcp-gateway 8080:80; the Inspector CLI lists the tutorial\'s tools and calls echo', async () => {
    const forward = startProcess('port-forward', kubectlPath, [`--kubeconfig=${cluster.kubeconfigPath}`, '-n', NS, 'port-forward', 'svc/mcp-gateway', '8080:80']);
    processes.push(forward);
    await forward.waitFor(/Forwarding from 127\.0\.0\.1:8080 -> 80/, 30_000);
    const listed = (await inspectorCli(['http://localhost:8080/mcp', '--transport', 'http', '--method', 'tools/list'])) as { tools: Array<{ name: string }> };
    const names = listed.tools.map((tool) => tool.name);
    assert.ok(names.includes('mcp-server-everything-3001_echo'), names.join(', '));
    assert.ok(names.includes('mcp-website-fetcher-80_fetch'), names.join(', '));
    const called = (await inspectorCli(['http://localhost:8080/mcp', '--transport', 'http', '--method', 'tools/call', '--tool-name', 'mcp-server-everything-3001_echo', '--tool-arg', 'message=hi'])) as { content: Array<{ type: string; text?: string }> };
    assert.equal(called.content.map((c) => c.text).join(''), 'Echo: hi');
    console.log(`Inspector ${names.length} tools through port-forward`);
  });

  test('a Service labelled later reaches an open session as notifications/tools/list_changed', async () => {
    const client = await connect('http://localhost:8080/mcp', 'list-changed');
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
      await sleep(300); // the session's GET stream is open
      // A new Service for the everything pods, on another port, not federated yet; then the label that federates it.
      await kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Service
metadata:
  name: more-tools
  namespace: ${NS}
spec:
  selector:
    app: mcp-server-everything
  ports:
  - port: 3002
    targetPort: 3001
    appProtocol: kgateway.dev/mcp
`);
      await sleep(1000);
      const before = changed;
      const labelled = Date.now();
      await kubectl(['-n', NS, 'label', 'service', 'more-tools', 'mcp-federation=true']);
      await until(() => changed > before, 'notifications/tools/list_changed', 30_000);
      timings.listChanged = Date.now() - labelled;
      let names: string[] = [];
      try {
        await until(async () => (names = (await client.listTools()).tools.map((t) => t.name)).includes('more-tools-3002_echo'), 'the new Service\'s tools', 15_000);
      } catch (error) {
        throw new TutorialStepError(`${(error as Error).message}; tools: ${names.join(', ')}\n${await diagnose(NS)}`);
      }
      console.log(`tools/list_changed ${seconds(timings.listChanged)} after the label`);
    } finally {
      await client.close();
    }
  });
  /** The proxy Service's ClusterIP URL: from the node's network namespace, each new connection goes to a pod kube-proxy picks. */
  const serviceUrl = async (): Promise<string> => `http://${(await kubectl(['-n', NS, 'get', 'service', 'mcp-gateway', '-o', 'jsonpath={.spec.clusterIP}'])).trim()}/mcp`;

  /** Waits until deploy/mcp-gateway has `replicas` pods, all of the current template, ready. */
  async function proxiesReady(replicas: number): Promise<void> {
    await until(async () => {
      const deployment = await json<{ metadata: { generation: number }; spec: { replicas: number }; status: { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number; replicas?: number } }>(['-n', NS, 'get', 'deployment', 'mcp-gateway']);
      const { status } = deployment;
      return deployment.spec.replicas === replicas && status.observedGeneration === deployment.metadata.generation && status.readyReplicas === replicas && status.updatedReplicas === replicas && status.replicas === replicas;
    }, `deploy/mcp-gateway with ${replicas} ready replicas`, 180_000).catch(async (error: Error) => {
      throw new TutorialStepError(`${error.message}\n${await diagnose(NS)}`);
    });
  }

  const echo = async (client: Client, message: string): Promise<void> => {
    const result = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message } });
    const text = (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('');
    if (text !== `Echo: ${message}`) throw new TutorialStepError(`echo ${message} answered ${JSON.stringify(result)}`);
  };

  test('3 proxy replicas with NATS through the chart\'s values: one session\'s requests land on several pods; deleting one pod does not end it', async () => {
    const started = Date.now();
    // The provisioner owns replicas (kubectl scale would be undone): the chart's proxy.replicas, in its
    // GatewayClass's parameters, is how they change; nats.enabled adds the chart's NATS and its URL there.
    await helmOk(['upgrade', RELEASE, CHART, '-n', NAMESPACE, '--reuse-values', '--set', 'proxy.replicas=3', '--set', 'nats.enabled=true', '--wait', '--timeout', '180s']);
    // The provisioner may apply the new parameters in more than one step (replicas, then the NATS URL
    // once the control plane has rolled too): wait for the template that has --nats, and for its pods
    // alone to serve. Until then, a session made on a pod without NATS is rightly unknown elsewhere.
    await until(async () => (await json<{ spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(['-n', NS, 'get', 'deployment', 'mcp-gateway'])).spec.template.spec.containers[0]!.args.includes('--nats'), 'the proxy template with --nats', 120_000);
    await rollout(NS, 'mcp-gateway');
    await proxiesReady(3);
    await until(async () => {
      const pods = await json<{ items: Array<{ metadata: { deletionTimestamp?: string } }> }>(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=mcpmux-proxy']);
      return pods.items.length === 3 && pods.items.every((pod) => !pod.metadata.deletionTimestamp);
    }, 'only the 3 pods with NATS left', 120_000);
    timings.scaleOut = Date.now() - started;
    const args = (await json<{ spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(['-n', NS, 'get', 'deployment', 'mcp-gateway'])).spec.template.spec.containers[0]!.args.join(' ');
    assert.match(args, new RegExp(`--nats nats://mcpmux-nats\\.${NAMESPACE}\\.svc:4222`));

    const client = await connect(await serviceUrl(), 'fleet', freshConnectionFetch).catch(async (error: Error) => {
      const logs = await cluster.kubectl(['-n', NS, 'logs', '--all-containers', '--prefix', '--tail=60', '-l', 'app.kubernetes.io/name=mcpmux-proxy']);
      throw new TutorialStepError(`${error.message}\nproxy logs:\n${logs.stdout}${logs.stderr}`);
    });
    try {
      const before = await requestsByPod();
      for (let i = 0; i < 30; i++) await echo(client, `fleet-${i}`);
      const after = await requestsByPod();
      const served = [...after].filter(([pod, count]) => count > (before.get(pod) ?? 0)).map(([pod]) => pod);
      assert.ok(served.length >= 2, `one session's 30 calls reached ${served.length} pod(s): ${JSON.stringify([...after])}`);
      console.log(`30 calls of one session answered by ${served.length} of 3 pods`);

      const victim = served[0]!;
      const deleted = Date.now();
      await kubectl(['-n', NS, 'delete', 'pod', victim, '--wait=false']);
      let failures = 0;
      const errors: string[] = [];
      for (let i = 0; i < 30; i++) {
        try {
          await echo(client, `after-delete-${i}`);
        } catch (error) {
          failures++;
          errors.push((error as Error).message);
        }
        await sleep(100);
      }
      assert.is(failures, 0, `calls of the session failed after pod ${victim} was deleted: ${errors.slice(0, 5).join(' | ')}`);
      console.log(`pod ${victim} deleted; the session's next 30 calls over ${seconds(Date.now() - deleted)} all answered`);
      await proxiesReady(3);
    } finally {
      await client.close();
    }
  });

  test('helm upgrade with a changed proxy value rolls the proxies; a client calling all along sees no failed request', async () => {
    const oldPods = new Set((await json<PodList>(['-n', NS, 'get', 'pods', '-l', PROXY_SELECTOR])).items.map((p) => p.metadata.name));
    const client = await connect(await serviceUrl(), 'rollout', freshConnectionFetch);
    let calls = 0;
    const errors: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          await echo(client, `rollout-${calls}`);
        } catch (error) {
          errors.push((error as Error).message);
        }
        calls++;
        await sleep(50);
      }
    })();
    try {
      const started = Date.now();
      await helmOk(['upgrade', RELEASE, CHART, '-n', NAMESPACE, '--reuse-values', '--set', 'proxy.resources.requests.cpu=50m', '--wait', '--timeout', '180s']);
      // The GatewayClass's checksum changed; the control plane re-renders deploy/mcp-gateway: new pods.
      await until(async () => (await json<PodList>(['-n', NS, 'get', 'pods', '-l', PROXY_SELECTOR])).items.every((p) => !oldPods.has(p.metadata.name)), 'every proxy pod replaced', 180_000);
      await proxiesReady(3);
      timings.rollout = Date.now() - started;
      await sleep(2000);
    } finally {
      running = false;
      await loop;
      await client.close();
    }
    assert.ok(calls > 20, `only ${calls} calls during the rollout`);
    assert.is(errors.length, 0, `${errors.length} of ${calls} calls failed during the rollout: ${errors.slice(0, 5).join(' | ')}`);
    console.log(`rollout of 3 proxies in ${seconds(timings.rollout!)}: ${calls} calls of one session, 0 failed`);
  });

  test('helm test passes; no pod logged a permission error', async () => {
    const result = await helmOk(['test', RELEASE, '-n', NAMESPACE, '--timeout', '120s']);
    assert.match(result, /TEST SUITE:\s+mcpmux-test-readyz[\s\S]*Phase:\s+Succeeded/);
    const problems = await permissionErrors();
    assert.equal(problems, [], problems.join('\n'));
  });
  test('helm uninstall: what stays is what docs/kind.md lists; deleting the tutorial removes the proxies', async () => {
    await helmOk(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '120s']);
    const names = async (namespace: string, kinds: string): Promise<string[]> =>
      (await kubectl(['-n', namespace, 'get', kinds, '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}{"\\n"}{end}'])).split('\n').filter((line) => line && !line.startsWith('ServiceAccount/default') && !line.startsWith('ConfigMap/kube-root-ca.crt') && !line.startsWith('Service/kubernetes')).sort();
    // No pre-delete hook: the control plane is gone, and what it made at run time stays (docs/kind.md
    // "Uninstall"): its two Secrets, and the tutorial Gateway's proxy objects (owned by that Gateway).
    assert.equal(await names(NAMESPACE, 'deployments,services,secrets,configmaps,serviceaccounts'), ['Secret/mcpmux-ca', 'Secret/mcpmux-request-state']);
    const proxyObjects = ['ConfigMap/mcpmux-proxy-mcp-gateway', 'Deployment/mcp-gateway', 'Service/mcp-gateway', 'ServiceAccount/mcpmux-proxy-mcp-gateway'];
    const tutorialObjects = (await names(NS, 'deployments,services,configmaps,serviceaccounts')).filter((name) => proxyObjects.includes(name));
    assert.equal(tutorialObjects, proxyObjects);
    assert.is((await cluster.kubectl(['get', 'gatewayclass', 'mcpmux'])).code, 1, 'the chart\'s GatewayClass is gone');
    // Deleting the tutorial (its Gateway) lets the garbage collector take the proxy objects.
    await kubectl(['delete', '-f', TUTORIAL_MANIFESTS, '--wait=true', '--timeout=120s']);
    await until(async () => (await names(NS, 'deployments,services,configmaps,serviceaccounts')).every((name) => !proxyObjects.includes(name)), 'the proxy objects collected with their Gateway', 60_000);
  });
}

test.run();
