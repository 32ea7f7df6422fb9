// The CRDs of deploy/crds in a real kube-apiserver (test/support/kube-cluster.ts), through kubectl:
// they install and become Established (so every CEL rule compiles within its cost budget), the
// tutorial's manifests apply unchanged, the valid samples are accepted and the invalid ones rejected
// naming the field at fault (CEL rules included: this is where they run), the apiserver agrees with
// the translator on every backend of its golden cases, and `kubectl get` shows the printer columns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../../control-plane/sources/source.ts';
import { readBackend } from '../../control-plane/translate/backends.ts';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.ts';
import { TUTORIAL_MANIFESTS } from '../support/tutorial.ts';
import {
  AGENTGATEWAY_BACKEND_CRD,
  MCPBACKEND_CRD,
  celRules,
  exampleBackends,
  loadCrd,
  schemaOf,
  translatorTestdataBackends,
  type KubeDoc,
} from './schema-check.ts';
import { ANNOTATION_ONLY_REJECTIONS, INVALID_SAMPLES, SAMPLE_NAMESPACE, VALID_SAMPLES, mcpBackend } from './samples.ts';

const CRD_NAMES = ['mcpbackends.mcpmux.dev', 'agentgatewaybackends.agentgateway.dev'];
let cluster: KubeCluster;

interface Outcome {
  code: number | null;
  output: string;
}

/** `kubectl create --dry-run=server` with strict field validation: everything the apiserver checks, nothing stored. */
async function dryRunCreate(object: KubeDoc): Promise<Outcome> {
  const result = await cluster.kubectl(['create', '--dry-run=server', '--validate=strict', '-o', 'name', '-f', '-'], JSON.stringify(object));
  return { code: result.code, output: `${result.stdout}${result.stderr}`.trim() };
}

/** Runs `work` on every item, `limit` at a time (each is one kubectl process). */
async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  }));
  return results;
}

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input);
  assert.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

test.before(async () => {
  const started = Date.now();
  // Gateway API CRDs too: the tutorial's Gateway and HTTPRoute apply with its backend.
  cluster = await startKubeCluster({ gatewayApi: true });
  await cluster.applyYaml(MCPBACKEND_CRD);
  await cluster.applyYaml(AGENTGATEWAY_BACKEND_CRD);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...CRD_NAMES.map((name) => `crd/${name}`)]);
  const namespaces = new Set([SAMPLE_NAMESPACE, 'agentgateway-system', ...translatorTestdataBackends().map((f) => f.object.metadata.namespace ?? 'default')]);
  namespaces.delete('default');
  await kubectlOk(['apply', '-f', '-'], [...namespaces].map((name) => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })).join('\n'));
  console.error(`cluster (${cluster.timings.totalMs} ms) and CRDs ready in ${Date.now() - started} ms`);
});

test.after(async () => {
  await cluster?.stop();
});

test('both CRDs are Established with their names accepted, short names and categories', async () => {
  for (const name of CRD_NAMES) {
    const crd = JSON.parse(await kubectlOk(['get', 'crd', name, '-o', 'json'])) as { status: { conditions: Array<{ type: string; status: string; message: string }> } };
    for (const type of ['Established', 'NamesAccepted']) {
      const condition = crd.status.conditions.find((c) => c.type === type);
      assert.is(condition?.status, 'True', `${name} ${type}: ${condition?.message}`);
    }
  }
  const resources = await kubectlOk(['api-resources', '--api-group=mcpmux.dev', '-o', 'wide', '--no-headers']);
  assert.match(resources, /^mcpbackends\s+mcpb\s+mcpmux\.dev\/v1alpha1\s+true\s+MCPBackend\s.*\bmcpmux\b/m);
  const compat = await kubectlOk(['api-resources', '--api-group=agentgateway.dev', '-o', 'wide', '--no-headers']);
  assert.match(compat, /^agentgatewaybackends\s+agbe\s+agentgateway\.dev\/v1alpha1\s+true\s+AgentgatewayBackend\s/m);
});

test('the tutorial\'s manifests apply unchanged, and its AgentgatewayBackend reads back as written', async () => {
  // deploy/examples/tutorial/tutorial.yaml, the repository's copy (test/tutorial-manifests.test.ts pins it).
  // (Not local-endpoints.yaml: loopback EndpointSlices are for `mcpmux dev`; a cluster refuses them.)
  const tutorial = TUTORIAL_MANIFESTS;
  await cluster.applyYaml(tutorial);
  const backend = JSON.parse(await kubectlOk(['get', 'agbe', 'mcp-federated', '-n', 'agentgateway-system', '-o', 'json'])) as KubeDoc;
  assert.equal(backend.spec, { mcp: { targets: [{ name: 'mcp-servers', selector: { services: { matchLabels: { 'mcp-federation': 'true' } } } }] } });
  const listed = await kubectlOk(['get', 'agentgatewaybackends', '-n', 'agentgateway-system']);
  assert.match(listed, /^NAME\s+ACCEPTED\s+AGE\s*$/m);
  assert.match(listed, /^mcp-federated\s+\S+/m);
  // Gone again, so the dry runs below may create objects of the same names.
  await kubectlOk(['delete', '--wait', '-f', tutorial]);
});

test('valid samples and the backends of deploy/examples are accepted', async () => {
  const objects = [...VALID_SAMPLES.map((sample) => sample.object), ...exampleBackends().map((found) => found.object)];
  const outcomes = await eachLimited(objects, 6, (object) => dryRunCreate(object));
  const refused = objects.flatMap((object, i) => (outcomes[i]!.code === 0 ? [] : [`${object.kind}/${object.metadata.name}: ${outcomes[i]!.output}`]));
  assert.equal(refused, [], `refused:\n${refused.join('\n')}`);
});

test('invalid samples are rejected, naming the field at fault; every CEL rule rejects at least one', async () => {
  const outcomes = await eachLimited(INVALID_SAMPLES, 6, (sample) => dryRunCreate(sample.object));
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const [i, sample] of INVALID_SAMPLES.entries()) {
    const { code, output } = outcomes[i]!;
    if (code === 0) wrong.push(`${sample.why}: accepted`);
    else if (!output.includes(sample.at)) wrong.push(`${sample.why}: the answer does not name ${sample.at}: ${output}`);
    else if (sample.cel && !output.includes(sample.cel)) wrong.push(`${sample.why}: no "${sample.cel}" in: ${output}`);
    if (sample.cel && code !== 0) seen.add(`${sample.object.kind}: ${sample.cel}`);
  }
  assert.equal(wrong, [], wrong.join('\n'));
  for (const [kind, file] of [['MCPBackend', MCPBACKEND_CRD], ['AgentgatewayBackend', AGENTGATEWAY_BACKEND_CRD]] as const) {
    for (const rule of celRules(schemaOf(loadCrd(file)))) {
      assert.ok([...seen].some((s) => s.startsWith(`${kind}: `) && rule.message.startsWith(s.slice(kind.length + 2))), `${kind} ${rule.path}: "${rule.message}" rejected nothing`);
    }
  }
});

test('on the translator\'s golden cases, the apiserver accepts exactly what the translator accepts (but for annotations)', async () => {
  const found = translatorTestdataBackends();
  const outcomes = await eachLimited(found, 6, (f) => dryRunCreate(f.object));
  const disagree: string[] = [];
  for (const [i, { source, object }] of found.entries()) {
    const translator = readBackend(object as KubeObject);
    const translatorAccepts = typeof translator !== 'string';
    const apiserverAccepts = outcomes[i]!.code === 0;
    const annotationOnly = ANNOTATION_ONLY_REJECTIONS.includes(object.metadata.name);
    const expected = translatorAccepts || annotationOnly;
    if (apiserverAccepts !== expected) {
      disagree.push(`${source} ${object.kind}/${object.metadata.name}: translator ${translatorAccepts ? 'accepts' : `rejects (${translator as string})`}, apiserver ${apiserverAccepts ? 'accepts' : `rejects: ${outcomes[i]!.output}`}`);
    }
  }
  assert.equal(disagree, [], disagree.join('\n'));
});

test('kubectl get shows targets, Accepted and age; status is a subresource with metav1.Condition', async () => {
  const object = mcpBackend('printed', { prefixMode: 'conditional', targets: [{ static: { name: 'a', host: 'a.example.com', port: 80 } }, { selector: { matchLabels: { app: 'docs' } } }] });
  await kubectlOk(['create', '-f', '-'], JSON.stringify({ ...object, status: { targets: 99 } }));
  const created = JSON.parse(await kubectlOk(['get', 'mcpb', 'printed', '-n', SAMPLE_NAMESPACE, '-o', 'json'])) as { status?: unknown; metadata: { generation: number } };
  assert.is(created.status, undefined, 'status on create is ignored (status subresource)');

  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition = (type: string, status: string, reason: string, message: string): unknown => ({ type, status, reason, message, lastTransitionTime: now, observedGeneration: created.metadata.generation });
  const status = {
    targets: 3,
    conditions: [
      condition('Accepted', 'True', 'Accepted', 'the backend is valid'),
      condition('ResolvedRefs', 'True', 'ResolvedRefs', '3 targets: a, docs-80, docs-8080'),
      condition('Conflicted', 'False', 'NoConflicts', 'target names are unique'),
    ],
  };
  await kubectlOk(['patch', 'mcpbackend', 'printed', '-n', SAMPLE_NAMESPACE, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);

  const table = await kubectlOk(['get', 'mcpbackends', 'printed', '-n', SAMPLE_NAMESPACE]);
  assert.match(table, /^NAME\s+TARGETS\s+ACCEPTED\s+AGE\s*$/m, table);
  assert.match(table, /^printed\s+3\s+True\s+\d+s\s*$/m, table);
  const wide = await kubectlOk(['get', 'mcpb', 'printed', '-n', SAMPLE_NAMESPACE, '-o', 'wide']);
  assert.match(wide, /^NAME\s+TARGETS\s+ACCEPTED\s+RESOLVED\s+PREFIX\s+AGE\s*$/m, wide);
  assert.match(wide, /^printed\s+3\s+True\s+True\s+conditional\s+\d+s\s*$/m, wide);
  const category = await kubectlOk(['get', 'mcpmux', '-n', SAMPLE_NAMESPACE, '-o', 'name']);
  assert.match(category, /^mcpbackend\.mcpmux\.dev\/printed$/m);

  // The condition schema is metav1.Condition's: an unknown status, or two conditions of one type, are refused.
  for (const [bad, at] of [
    [[{ ...(status.conditions[0] as object), status: 'Maybe' }], 'status.conditions[0].status'],
    [[status.conditions[0], status.conditions[0]], 'status.conditions[1]'],
    [[{ type: 'Accepted', status: 'True' }], 'status.conditions[0].reason'],
  ] as const) {
    const result = await cluster.kubectl(['patch', 'mcpbackend', 'printed', '-n', SAMPLE_NAMESPACE, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: bad } })]);
    assert.not.equal(result.code, 0, `status ${JSON.stringify(bad)} accepted`);
    assert.ok(result.stderr.includes(at), `expected ${at} in: ${result.stderr}`);
  }
  await kubectlOk(['delete', 'mcpbackend', 'printed', '-n', SAMPLE_NAMESPACE]);
});

test('kubectl explain shows the schema\'s descriptions', async () => {
  const port = await kubectlOk(['explain', 'mcpbackends.spec.targets.static.port']);
  assert.match(port, /TCP port of the MCP server, 1-65535/);
  const auth = await kubectlOk(['explain', 'mcpbackend.spec.upstreamAuth']);
  assert.match(auth, /never shown by the admin API/);
  const services = await kubectlOk(['explain', 'agbe.spec.mcp.targets.selector.services']);
  assert.match(services, /label selector over Services/);
});

test.run();
