// The cluster tier with the real images (issue 17, stretch): the mcpmux image built by `npm run image`
// is imported into a real node (test/support/node-cluster.ts) and the chart's control plane runs as a
// pod, installed by a real `helm install`: it becomes ready, accepts the GatewayClass (so it reached the
// API through the `kubernetes` Service with its ServiceAccount's own token), and `helm test` (a pod
// fetching its /readyz by Service name) passes. Skipped, saying so, when the image has not been built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHART, helm, NAMESPACE, RELEASE } from '../helm/chart.ts';
import { builtImages, insideClusterNamespaces, runInClusterNamespaces, startNodeCluster, type NodeCluster } from '../support/node-cluster.ts';

if (!insideClusterNamespaces()) await runInClusterNamespaces();

const image = builtImages().find((built) => /(^|\/)mcpmux:[^/]+$/.test(built.ref));
let cluster: NodeCluster;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function kubectl(args: string[]): Promise<string> {
  const result = await cluster.kubectl(args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

if (!image) {
  console.log('no mcpmux image in ~/.cache/mcpmux/images (`npm run image` builds it): the chart test is skipped');
  test.skip('helm install runs the chart control plane on a real node (needs the mcpmux image)', () => undefined);
} else {
  test.before(async () => {
    cluster = await startNodeCluster();
    console.log(`cluster ready in ${seconds(cluster.timings.totalMs)}`);
    const started = Date.now();
    await cluster.importImage(image.archive);
    console.log(`imported ${image.ref} (${image.archive}) in ${seconds(Date.now() - started)}`);
  });

  test.after(async () => {
    await cluster?.stop();
  });

  test('helm install runs the chart control plane on the node; it accepts the GatewayClass', async () => {
    const started = Date.now();
    const [repository, tag] = [image.ref.slice(0, image.ref.lastIndexOf(':')), image.ref.slice(image.ref.lastIndexOf(':') + 1)];
    const installed = await helm([
      'install', RELEASE, CHART, '-n', NAMESPACE, '--create-namespace', '--kubeconfig', cluster.kubeconfigPath,
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
      '--set', 'gatewayAPI.installCRDs=true',
      // One replica on a 2-core node; the leader election still runs.
      '--set', 'controlPlane.replicas=1',
    ]);
    assert.is(installed.code, 0, installed.stderr);
    const rollout = await cluster.kubectl(['-n', NAMESPACE, 'rollout', 'status', 'deployment/mcpmux-control-plane', '--timeout=180s']);
    if (rollout.code !== 0) {
      const pods = await cluster.kubectl(['-n', NAMESPACE, 'describe', 'pods']);
      const logs = await cluster.kubectl(['-n', NAMESPACE, 'logs', 'deployment/mcpmux-control-plane', '--tail=50']);
      assert.unreachable(`rollout: ${rollout.stderr}\n${pods.stdout}\nlogs:\n${logs.stdout}${logs.stderr}\nkubelet:\n${cluster.logs('kubelet').slice(-3000)}`);
    }
    console.log(`control plane rolled out in ${seconds(Date.now() - started)}`);
    const deadline = Date.now() + 60_000;
    let accepted = '';
    while (Date.now() < deadline) {
      accepted = (await kubectl(['get', 'gatewayclass', 'mcpmux', '-o', 'jsonpath={.status.conditions[?(@.type=="Accepted")].status}'])).trim();
      if (accepted === 'True') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.is(accepted, 'True', 'GatewayClass mcpmux Accepted');
  });

  test('helm test: a pod reaches the control plane /readyz by its Service name', async () => {
    // No --logs: the test pod is deleted once it succeeds (hook-delete-policy hook-succeeded).
    const result = await helm(['test', RELEASE, '-n', NAMESPACE, '--kubeconfig', cluster.kubeconfigPath, '--timeout', '120s']);
    assert.is(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /TEST SUITE:\s+mcpmux-test-readyz[\s\S]*Phase:\s+Succeeded/);
  });
}

test.run();
