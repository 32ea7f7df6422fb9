// The helm chart without a cluster: a real `helm lint --strict` and `helm template` with the default
// values and with every option on (all-on.values.yaml), then the rendered objects: RBAC rule by rule
// (no wildcard, exactly what the control plane's code sends), security contexts, control plane
// arguments parsed by the real CLI, the GatewayClass and its parameters parsed by the provisioner, NATS,
// mTLS, monitoring, the control plane's history (memory, NATS, file) and its replica count, NOTES, the
// schema refusing bad values, and the CRD copies byte for byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { controlPlaneCommand } from '../../control-plane/cli.ts';
import { parseParameters } from '../../control-plane/kube/proxy-settings.ts';
import { WATCHED, Resources } from '../../control-plane/kube/resources.ts';
import { MCPMUX_CONTROLLER_NAME } from '../../control-plane/translate/kinds.ts';
import { parseCommandArgs } from '../../shared/cli/command.ts';
import { ROOT } from '../support/processes.ts';
import { ensureGatewayApiCrds, GATEWAY_API_VERSION } from '../support/kube-tools.ts';
import { ALL_ON_VALUES, CHART, container, flattenRules, helm, NAMESPACE, one, parseDocs, podSpec, render, renderNotes, type KubeDoc, type PolicyRule } from './chart.ts';

const rulesOf = (doc: KubeDoc): string[] => flattenRules((doc as unknown as { rules: PolicyRule[] }).rules);

/** The ClusterRole with the default values: every line is a request the control plane makes. */
const DEFAULT_CLUSTER_RULES = [
  // kubernetes source (kube/resources.ts WATCHED): list, then watch
  'core namespaces: list,watch',
  'discovery.k8s.io endpointslices: list,watch',
  'gateway.networking.k8s.io gatewayclasses: list,watch',
  'gateway.networking.k8s.io gateways: list,watch',
  'gateway.networking.k8s.io httproutes: list,watch',
  'gateway.networking.k8s.io referencegrants: list,watch',
  'mcpmux.dev mcpbackends: list,watch',
  'agentgateway.dev agentgatewaybackends: list,watch',
  // Secrets backends reference, each watched by name (field selector): no get, no write
  'core secrets: list,watch',
  // status writer: merge patches of status subresources, Events for NACKs
  'gateway.networking.k8s.io gatewayclasses/status: patch',
  'gateway.networking.k8s.io gateways/status: patch',
  'gateway.networking.k8s.io httproutes/status: patch',
  'mcpmux.dev mcpbackends/status: patch',
  'agentgateway.dev agentgatewaybackends/status: patch',
  'core events: create',
  // provisioner: server-side apply (create + patch), list by label, delete orphans; Services are also watched
  'core services: create,delete,list,patch,watch',
  'apps deployments: create,delete,list,patch',
  'autoscaling horizontalpodautoscalers: create,delete,list,patch',
  'policy poddisruptionbudgets: create,delete,list,patch',
  // tls.mode ca (the default): proxy tokens checked; each Gateway's proxy ServiceAccount and CA-bundle ConfigMap, by name (never listed)
  'authentication.k8s.io tokenreviews: create',
  'core serviceaccounts: create,delete,patch',
  'core configmaps: create,delete,patch',
].sort();

const DEFAULT_NAMESPACE_RULES = [
  'coordination.k8s.io leases: create',
  'coordination.k8s.io leases/mcpmux-control-plane: get,update',
  'core configmaps/mcpmux-proxy-defaults: get',
  // requestState master keys (kube/request-state-secret.ts): the leader creates the one Secret, every replica reads and watches it by name
  'core secrets: create',
  'core secrets/mcpmux-request-state: get,watch',
  // the control plane's CA (pki/ca-secret.ts): created by the leader, read and watched by name
  'core secrets/mcpmux-ca: get,watch',
].sort();

let defaults: KubeDoc[];
let allOn: KubeDoc[];

test.before(async () => {
  defaults = (await render()).docs;
  allOn = (await render(['-f', ALL_ON_VALUES])).docs;
});

test('helm lint --strict passes with no warning, with the default values and with every option on', async () => {
  for (const args of [[], ['-f', ALL_ON_VALUES]]) {
    const result = await helm(['lint', '--strict', '--with-subcharts', CHART, ...args]);
    const output = `${result.stdout}${result.stderr}`;
    assert.is(result.code, 0, output);
    assert.match(output, /3 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.not.match(output, /\[(WARNING|ERROR)\]/, output);
  }
  const rendered = await render(['-f', ALL_ON_VALUES]);
  assert.is(rendered.stderr.trim(), '', 'helm template warns about nothing');
});

test('Chart.yaml: apiVersion v2, version 0.1.0, appVersion the package.json version; the image defaults to it', () => {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is(chart.apiVersion, 'v2');
  assert.is(chart.name, 'mcpmux');
  assert.is(chart.version, '0.1.0');
  assert.is(chart.appVersion, pkg.version);
  assert.is(container(one(defaults, 'Deployment')).image, `mcpmux:${pkg.version}`);
});

test('the default objects, all in the release namespace except the cluster-scoped ones', () => {
  const kinds = defaults.map((d) => `${d.kind}/${d.metadata.name}`).sort();
  assert.equal(kinds, [
    'ClusterRole/mcpmux-control-plane',
    'ClusterRoleBinding/mcpmux-control-plane',
    'ConfigMap/mcpmux-proxy-defaults',
    'Deployment/mcpmux-control-plane',
    'GatewayClass/mcpmux',
    'NetworkPolicy/mcpmux-control-plane',
    'Pod/mcpmux-test-readyz',
    'Role/mcpmux-control-plane',
    'RoleBinding/mcpmux-control-plane',
    'Service/mcpmux-control-plane',
    'ServiceAccount/mcpmux-control-plane',
  ]);
  for (const doc of defaults) {
    if (['ClusterRole', 'ClusterRoleBinding', 'GatewayClass'].includes(doc.kind)) assert.is(doc.metadata.namespace, undefined);
    else assert.is(doc.metadata.namespace, NAMESPACE, `${doc.kind}/${doc.metadata.name}`);
  }
});

test('RBAC: the ClusterRole and the release-namespace Role grant exactly what the control plane sends, no wildcard', () => {
  assert.equal(rulesOf(one(defaults, 'ClusterRole')), DEFAULT_CLUSTER_RULES);
  assert.equal(rulesOf(one(defaults, 'Role')), DEFAULT_NAMESPACE_RULES);
  // Every kind the source watches is listable and watchable (a kind added to WATCHED fails here first).
  for (const type of WATCHED) {
    const line = DEFAULT_CLUSTER_RULES.find((l) => l.startsWith(`${type.group || 'core'} ${type.plural}:`));
    assert.ok(line && /list/.test(line) && /watch/.test(line), `${type.plural} is watched: ${line}`);
  }
  assert.ok(!WATCHED.includes(Resources.Secret), 'Secrets are watched one by one, not as a kind');
  for (const docs of [defaults, allOn]) {
    for (const role of docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) {
      for (const rule of (role as unknown as { rules: PolicyRule[] }).rules) {
        for (const field of [rule.apiGroups ?? [], rule.resources ?? [], rule.verbs]) assert.not.ok(field.includes('*'), `${role.kind}/${role.metadata.name}: ${JSON.stringify(rule)}`);
        assert.is(rule.nonResourceURLs, undefined);
        assert.not.ok(rule.verbs.some((v) => ['escalate', 'bind', 'impersonate', 'deletecollection'].includes(v)), JSON.stringify(rule));
      }
    }
  }
  const binding = one(defaults, 'ClusterRoleBinding') as unknown as { roleRef: { name: string }; subjects: Array<Record<string, string>> };
  assert.is(binding.roleRef.name, 'mcpmux-control-plane');
  assert.equal(binding.subjects, [{ kind: 'ServiceAccount', name: 'mcpmux-control-plane', namespace: NAMESPACE }]);
});

test('RBAC follows the options: no provisioning or status rules when those are off; Roles per watched namespace', async () => {
  const { docs } = await render(['--set', 'controlPlane.provision=false', '--set', 'controlPlane.writeStatus=false']);
  assert.equal(rulesOf(one(docs, 'ClusterRole')), [
    'agentgateway.dev agentgatewaybackends: list,watch',
    'authentication.k8s.io tokenreviews: create',
    'core namespaces: list,watch',
    'core secrets: list,watch',
    'core services: list,watch',
    'discovery.k8s.io endpointslices: list,watch',
    'gateway.networking.k8s.io gatewayclasses: list,watch',
    'gateway.networking.k8s.io gateways: list,watch',
    'gateway.networking.k8s.io httproutes: list,watch',
    'gateway.networking.k8s.io referencegrants: list,watch',
    'mcpmux.dev mcpbackends: list,watch',
  ]);
  assert.equal(rulesOf(one(docs, 'Role')), [
    'coordination.k8s.io leases/mcpmux-control-plane: get,update',
    'coordination.k8s.io leases: create',
    'core secrets/mcpmux-ca: get,watch',
    'core secrets/mcpmux-request-state: get,watch',
    'core secrets: create',
  ]);
  assert.ok(container(one(docs, 'Deployment')).args!.includes('--no-provision'));
  assert.ok(container(one(docs, 'Deployment')).args!.includes('--no-write-status'));

  // watchNamespaces: cluster-wide only what is cluster-scoped; the rest in a Role per namespace.
  assert.equal(rulesOf(one(allOn, 'ClusterRole')), ['gateway.networking.k8s.io gatewayclasses/status: patch', 'gateway.networking.k8s.io gatewayclasses: list,watch']);
  // All on uses tls.mode secret: no TokenReviews, no proxy ServiceAccounts or CA-bundle ConfigMaps.
  const namespaced = DEFAULT_CLUSTER_RULES.filter((l) => !/gatewayclasses|namespaces|tokenreviews|serviceaccounts|core configmaps/.test(l));
  for (const namespace of ['team-a', 'team-b']) {
    const role = allOn.find((d) => d.kind === 'Role' && d.metadata.namespace === namespace)!;
    assert.equal(rulesOf(role), namespaced, namespace);
    const binding = allOn.find((d) => d.kind === 'RoleBinding' && d.metadata.namespace === namespace) as unknown as { roleRef: { name: string }; subjects: Array<{ namespace: string }> };
    assert.is(binding.roleRef.name, role.metadata.name);
    assert.is(binding.subjects[0]!.namespace, NAMESPACE);
  }
  assert.ok(container(one(allOn, 'Deployment')).args!.includes('--namespace=team-a,team-b'));
});

test('the control plane: its arguments parse with the real CLI; leader election, identity, proxy settings, probes', async () => {
  const deployment = one(defaults, 'Deployment');
  const spec = (deployment as unknown as { spec: { replicas: number } }).spec;
  assert.is(spec.replicas, 1, 'no NATS: one replica, whose history is its own');
  const c = container(deployment, 'control-plane');
  const [subcommand, ...argv] = c.args!;
  assert.is(subcommand, 'control-plane');
  // The env var the pod's downward API fills in: $(POD_NAME) is expanded by the kubelet.
  const { flags } = parseCommandArgs(controlPlaneCommand, argv.map((a) => a.replace('$(POD_NAME)', 'mcpmux-control-plane-abc12')), {});
  assert.equal(
    {
      source: flags.source,
      address: flags.address,
      grpc: flags['grpc-port'],
      http: flags['http-port'],
      classes: flags['gateway-class'],
      leaseNamespace: flags['leader-election-namespace'],
      leaseName: flags['leader-election-name'],
      requestStateSecret: flags['request-state-secret'],
      identity: flags.identity,
      writeStatus: flags['write-status'],
      provision: flags.provision,
      proxyImage: flags['proxy-image'],
      proxyControlPlane: flags['proxy-control-plane'],
    },
    {
      source: 'kubernetes',
      address: '0.0.0.0',
      grpc: 18000,
      http: 15001,
      classes: 'mcpmux',
      leaseNamespace: NAMESPACE,
      leaseName: 'mcpmux-control-plane',
      requestStateSecret: 'mcpmux-request-state',
      identity: 'mcpmux-control-plane-abc12',
      writeStatus: true,
      provision: true,
      proxyImage: 'mcpmux:0.1.0',
      proxyControlPlane: `mcpmux-control-plane.${NAMESPACE}.svc:18000`,
    },
  );
  const env = c.env as Array<{ name: string; valueFrom?: { fieldRef: { fieldPath: string } } }>;
  assert.is(env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef.fieldPath, 'metadata.name');
  assert.is(env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef.fieldPath, 'metadata.namespace');
  assert.equal((c.readinessProbe as { httpGet: unknown }).httpGet, { path: '/readyz', port: 'http' });
  assert.equal((c.livenessProbe as { httpGet: unknown }).httpGet, { path: '/healthz', port: 'http' });
  assert.equal(c.ports, [{ name: 'grpc', containerPort: 18000, protocol: 'TCP' }, { name: 'http', containerPort: 15001, protocol: 'TCP' }]);
  assert.ok((c.resources as { requests: unknown }).requests);

  const service = one(defaults, 'Service') as unknown as { spec: { ports: Array<{ name: string; port: number; targetPort: string }>; selector: Record<string, string> } };
  assert.equal(service.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['grpc', 18000, 'grpc'], ['http', 15001, 'http']]);
  const podLabels = (deployment as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
  for (const [key, value] of Object.entries(service.spec.selector)) assert.is(podLabels[key], value);
  // The PDB comes with more than one replica: with NATS (the history shared).
  const pdb = one((await render(['--set', 'nats.enabled=true'])).docs, 'PodDisruptionBudget') as unknown as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
  assert.is(pdb.spec.minAvailable, 1);
  assert.equal(pdb.spec.selector.matchLabels, service.spec.selector);

  // Everything on: more classes, mTLS files, extra args still parse.
  const all = container(one(allOn, 'Deployment'), 'control-plane');
  const parsed = parseCommandArgs(controlPlaneCommand, all.args!.slice(1).map((a) => a.replace('$(POD_NAME)', 'p')), {}).flags;
  assert.is(parsed['gateway-class'], 'mcpmux-internal,agentgateway');
  assert.is(parsed['tls-cert'], '/etc/mcpmux/tls/tls.crt');
  assert.is(parsed['tls-key'], '/etc/mcpmux/tls/tls.key');
  assert.is(parsed['tls-ca'], '/etc/mcpmux/tls/ca.crt');
  assert.is(parsed['proxy-image'], 'registry.example/mcpmux-proxy:0.1.0-test');
  assert.is(parsed['event-log-retention'], 5000, 'extraArgs come last and win');
  assert.is(parsed['otlp-endpoint'], 'http://otel-collector.observability:4318', 'tracing.otlpEndpoint');
  assert.not.ok(c.args!.some((a) => a.startsWith('--otlp-endpoint')), 'no tracing by default');
  assert.is(all.image, 'registry.example/mcpmux:0.1.0-test');
  const volumes = podSpec(one(allOn, 'Deployment')).volumes as Array<{ name: string; secret?: { secretName: string } }>;
  assert.is(volumes.find((v) => v.name === 'tls')?.secret?.secretName, 'mcpmux-control-plane-tls');
});

test('security contexts: non-root 10001, read-only root filesystem, no privilege escalation, ALL dropped (NET_BIND_SERVICE kept for node)', () => {
  for (const [doc, name] of [[one(defaults, 'Deployment'), 'control-plane'], [one(defaults, 'Pod'), 'readyz']] as const) {
    const pod = doc.kind === 'Pod' ? (doc as unknown as { spec: Record<string, unknown> & { securityContext: Record<string, unknown> } }).spec : podSpec(doc);
    assert.equal(pod.securityContext, { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } }, doc.kind);
    const c = (pod.containers as Array<{ name: string; securityContext: unknown }>).find((x) => x.name === name)!;
    // The image's node carries the file capability cap_net_bind_service: without it in the bounding
    // set, execve fails, so it is added back after dropping ALL (the "restricted" profile allows it).
    assert.equal(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } }, doc.kind);
  }
  const nats = one(allOn, 'StatefulSet');
  assert.equal(podSpec(nats).securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(container(nats, 'nats').securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  for (const doc of [...defaults, ...allOn]) {
    if (!['Deployment', 'StatefulSet'].includes(doc.kind)) continue;
    const pod = podSpec(doc);
    assert.not.ok(pod.hostNetwork || pod.hostPID || pod.hostIPC, `${doc.kind}/${doc.metadata.name} shares no host namespace`);
  }
  assert.is(one(defaults, 'ServiceAccount').automountServiceAccountToken, false, 'the token is mounted only where the pod asks (the control plane)');
  assert.is(podSpec(one(defaults, 'Deployment')).automountServiceAccountToken, true);
  assert.is(podSpec(one(allOn, 'StatefulSet')).automountServiceAccountToken, false);
});

test('the GatewayClass names our controller; its parameters ConfigMap parses in the provisioner with no problem', () => {
  const gatewayClass = one(defaults, 'GatewayClass') as unknown as { metadata: { name: string; annotations: Record<string, string> }; spec: { controllerName: string; parametersRef: Record<string, string> } };
  assert.is(gatewayClass.metadata.name, 'mcpmux');
  assert.is(gatewayClass.spec.controllerName, MCPMUX_CONTROLLER_NAME);
  assert.equal(gatewayClass.spec.parametersRef, { group: '', kind: 'ConfigMap', name: 'mcpmux-proxy-defaults', namespace: NAMESPACE });
  const data = (one(defaults, 'ConfigMap', 'mcpmux-proxy-defaults') as unknown as { data: Record<string, string> }).data;
  assert.equal(Object.keys(data).sort(), ['image', 'imagePullPolicy', 'probes', 'replicas', 'resources', 'serviceType', 'topologySpread', 'workers']);
  const parsed = parseParameters(data);
  assert.equal(parsed.problems, []);
  assert.equal(parsed.overrides, {
    image: 'mcpmux:0.1.0',
    imagePullPolicy: 'IfNotPresent',
    replicas: 1,
    workers: 1,
    serviceType: 'ClusterIP',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    probes: { readiness: { periodSeconds: 5, failureThreshold: 3 }, liveness: { periodSeconds: 10, failureThreshold: 3 } },
    topologySpread: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }],
  });

  const all = parseParameters((one(allOn, 'ConfigMap', 'mcpmux-proxy-defaults') as unknown as { data: Record<string, string> }).data);
  assert.equal(all.problems, []);
  assert.equal(all.overrides.nats, `nats://mcpmux-nats.${NAMESPACE}.svc:4222`);
  assert.equal(all.overrides.autoscaling, { minReplicas: 3, maxReplicas: 12, targetCPUUtilization: 65 });
  assert.equal(all.overrides.disruptionBudget, { minAvailable: '50%' });
  assert.equal(all.overrides.tls, { secretName: 'mcpmux-proxy-tls', serverName: 'control-plane.mcpmux.example' });
  assert.is(all.overrides.serviceType, 'LoadBalancer');
  assert.is(all.overrides.otlpEndpoint, 'http://otel-collector.observability:4318', 'tracing.otlpEndpoint reaches the proxies');
  assert.is((one(allOn, 'GatewayClass') as KubeDoc).metadata.name, 'mcpmux-internal');

  // An external NATS reaches the proxies the same way.
  return render(['--set', 'nats.url=nats://nats.shared.svc:4222']).then(({ docs }) => {
    const external = parseParameters((one(docs, 'ConfigMap', 'mcpmux-proxy-defaults') as unknown as { data: Record<string, string> }).data);
    assert.is(external.overrides.nats, 'nats://nats.shared.svc:4222');
    assert.is(docs.some((d) => d.kind === 'StatefulSet'), false);
  });
});

test('a change of the proxy defaults changes the GatewayClass (watched), so an upgrade re-provisions at once', async () => {
  const checksum = (docs: KubeDoc[]): string => one(docs, 'GatewayClass').metadata.annotations!['mcpmux.dev/parameters-checksum']!;
  const changed = (await render(['--set', 'proxy.replicas=3'])).docs;
  assert.match(checksum(defaults), /^[0-9a-f]{16}$/);
  assert.is.not(checksum(changed), checksum(defaults));
  assert.is(checksum((await render()).docs), checksum(defaults), 'the same values render the same checksum');
});

test('NATS: a JetStream StatefulSet (3 clustered replicas with PVCs), client and headless Services, a PDB', () => {
  const sts = one(allOn, 'StatefulSet') as unknown as {
    spec: { replicas: number; serviceName: string; volumeClaimTemplates: Array<{ spec: { storageClassName: string; resources: { requests: { storage: string } } } }> };
  };
  assert.is(sts.spec.replicas, 3);
  assert.is(sts.spec.serviceName, 'mcpmux-nats-headless');
  assert.is(sts.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage, '5Gi');
  assert.is(sts.spec.volumeClaimTemplates[0]!.spec.storageClassName, 'fast');
  const nats = container(one(allOn, 'StatefulSet'), 'nats');
  assert.is(nats.image, 'nats:2.14-alpine');
  const conf = (one(allOn, 'ConfigMap', 'mcpmux-nats') as unknown as { data: Record<string, string> }).data['nats.conf']!;
  assert.match(conf, /jetstream \{\n\s+store_dir: \/data\n\s+max_memory_store: 512Mi\n\s+max_file_store: 4Gi/);
  for (const i of [0, 1, 2]) assert.match(conf, new RegExp(`nats://mcpmux-nats-${i}\\.mcpmux-nats-headless\\.${NAMESPACE}\\.svc:6222`));
  const headless = one(allOn, 'Service', 'mcpmux-nats-headless') as unknown as { spec: { clusterIP: string } };
  assert.is(headless.spec.clusterIP, 'None');
  assert.ok(one(allOn, 'Service', 'mcpmux-nats'));
  assert.ok(one(allOn, 'PodDisruptionBudget', 'mcpmux-nats'));

  // One replica by default: no cluster block, an emptyDir store, no PDB.
  return render(['--set', 'nats.enabled=true']).then(({ docs }) => {
    const single = (one(docs, 'ConfigMap', 'mcpmux-nats') as unknown as { data: Record<string, string> }).data['nats.conf']!;
    assert.not.match(single, /cluster/);
    const volumes = podSpec(one(docs, 'StatefulSet')).volumes as Array<{ name: string; emptyDir?: unknown }>;
    assert.ok(volumes.find((v) => v.name === 'data')?.emptyDir);
    assert.is(docs.some((d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === 'mcpmux-nats'), false);
  });
});

/** The control plane's Deployment as the history tests see it: replicas, strategy, the history's arguments (parsed by the real CLI too), volumes. */
function controlPlaneOf(docs: readonly KubeDoc[]) {
  const deployment = one(docs, 'Deployment', 'mcpmux-control-plane');
  const spec = (deployment as unknown as { spec: { replicas: number; strategy?: { type: string } } }).spec;
  const c = container(deployment, 'control-plane');
  const args = c.args!;
  return {
    replicas: spec.replicas,
    strategy: spec.strategy?.type,
    args,
    // In order; --event-log-retention is there whatever the mode.
    history: args.filter((a) => /^--(event-log|nats)/.test(a) && !a.startsWith('--event-log-retention=')),
    flags: parseCommandArgs(controlPlaneCommand, args.slice(1).map((a) => a.replace('$(POD_NAME)', 'p')), {}).flags,
    volumes: podSpec(deployment).volumes as Array<Record<string, unknown> & { name: string }>,
    mounts: c.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>,
    pdb: docs.some((d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === 'mcpmux-control-plane'),
    pvcs: docs.filter((d) => d.kind === 'PersistentVolumeClaim'),
  };
}

test('history, without NATS: in the memory of ONE replica (whatever controlPlane.replicas says), no PDB, no --event-log flag', async () => {
  const cp = controlPlaneOf(defaults);
  assert.is(cp.replicas, 1, 'never two replicas with private in-memory histories');
  assert.equal(cp.history, []);
  assert.is(cp.flags['event-log'], 'memory', "the CLI's default");
  assert.is(cp.pdb, false, 'a PDB on one pod would block every drain');
  assert.equal(cp.pvcs, []);
  assert.is(cp.strategy, undefined, 'rolling updates');
  assert.equal(cp.volumes.map((v) => v.name), ['tmp']);
  // Asked for in memory while NATS is there: still one replica.
  const memory = controlPlaneOf((await render(['--set', 'nats.enabled=true', '--set', 'controlPlane.history.mode=memory', '--set', 'controlPlane.replicas=3'])).docs);
  assert.equal([memory.replicas, memory.history, memory.pdb], [1, [], false]);
});

test("history with NATS on: a JetStream stream on the chart's NATS, shared by controlPlane.replicas replicas, with a PDB", async () => {
  const cp = controlPlaneOf((await render(['--set', 'nats.enabled=true'])).docs);
  assert.is(cp.replicas, 2);
  assert.is(cp.pdb, true);
  assert.is(cp.strategy, undefined, 'rolling updates');
  assert.equal(cp.history, [
    '--event-log=nats',
    `--nats=nats://mcpmux-nats.${NAMESPACE}.svc:4222`,
    '--nats-replicas=1',
    '--event-log-stream=MCPMUX_EVENTS',
    '--event-log-max-age=604800',
    '--event-log-max-bytes=268435456',
  ]);
  const flags = (f: Record<string, unknown>) => [f['event-log'], f.nats, f['nats-replicas'], f['event-log-stream'], f['event-log-max-age'], f['event-log-max-bytes']];
  assert.equal(flags(cp.flags), ['nats', `nats://mcpmux-nats.${NAMESPACE}.svc:4222`, 1, 'MCPMUX_EVENTS', 604800, 268435456], 'as the real CLI parses them');
  assert.equal(cp.volumes.map((v) => v.name), ['tmp'], 'no credentials to mount');

  // A JetStream cluster: the history gets the proxies' copies (nats.streamReplicas, 3 here); values set
  // on the command line arrive whole (helm would print a large float as 4.294967296e+09).
  const { docs } = await render(['--set', 'nats.enabled=true', '--set', 'nats.replicas=3', '--set', 'controlPlane.replicas=3', '--set', 'controlPlane.history.stream=TEAM_HISTORY', '--set', 'controlPlane.history.maxAgeSeconds=0', '--set', 'controlPlane.history.maxBytes=4294967296']);
  const clustered = controlPlaneOf(docs);
  assert.is(clustered.replicas, 3);
  assert.equal(flags(clustered.flags), ['nats', `nats://mcpmux-nats.${NAMESPACE}.svc:4222`, 3, 'TEAM_HISTORY', 0, 4294967296]);
  assert.is(parseParameters((one(docs, 'ConfigMap', 'mcpmux-proxy-defaults') as unknown as { data: Record<string, string> }).data).overrides.natsReplicas, 3, "the proxies' copies, from the same helper");
  assert.is(controlPlaneOf((await render(['--set', 'nats.enabled=true', '--set', 'nats.replicas=3', '--set', 'nats.streamReplicas=1'])).docs).flags['nats-replicas'], 1);
  // Numbers from a values file (or JSON) are floats to helm: printed whole all the same.
  const floats = controlPlaneOf((await render(['--set', 'nats.enabled=true', '--set-json', 'controlPlane.eventLogRetention=1000000', '--set-json', 'controlPlane.history.maxAgeSeconds=2592000'])).docs);
  for (const arg of ['--event-log-retention=1000000', '--event-log-max-age=2592000']) assert.ok(floats.args.includes(arg), `${arg} in ${floats.args.join(' ')}`);

  // An external NATS turns it on the same way; a NATS of the history's own, without one for the proxies, too.
  const external = controlPlaneOf((await render(['--set', 'nats.url=nats://nats.shared.svc:4222'])).docs);
  assert.equal([external.replicas, external.flags.nats, external.pdb], [2, 'nats://nats.shared.svc:4222', true]);
  const { docs: ownDocs } = await render(['--set', 'controlPlane.history.nats.url=nats://history.example:4222']);
  assert.equal([controlPlaneOf(ownDocs).replicas, controlPlaneOf(ownDocs).flags.nats], [2, 'nats://history.example:4222']);
  assert.is(parseParameters((one(ownDocs, 'ConfigMap', 'mcpmux-proxy-defaults') as unknown as { data: Record<string, string> }).data).overrides.nats, undefined, 'the proxies still share nothing');
});

test('history in its own NATS account: credentialsSecret mounted read-only as --nats-creds, caSecret as --nats-ca (all-on: its own URL over TLS)', async () => {
  const withCreds = controlPlaneOf((await render(['--set', 'nats.enabled=true', '--set', 'controlPlane.history.nats.credentialsSecret=mcpmux-history-nats'])).docs);
  assert.ok(withCreds.history.includes('--nats-creds=/etc/mcpmux/nats-creds/nats.creds'), withCreds.history.join(' '));
  assert.is(withCreds.flags['nats-creds'], '/etc/mcpmux/nats-creds/nats.creds');
  assert.is(withCreds.flags['nats-ca'], undefined);
  assert.equal(withCreds.volumes.find((v) => v.name === 'nats-creds'), { name: 'nats-creds', secret: { secretName: 'mcpmux-history-nats', defaultMode: 0o440, items: [{ key: 'nats.creds', path: 'nats.creds' }] } });
  assert.equal(withCreds.mounts.find((m) => m.name === 'nats-creds'), { name: 'nats-creds', mountPath: '/etc/mcpmux/nats-creds', readOnly: true });
  assert.not.ok(withCreds.volumes.some((v) => v.name === 'nats-ca'));

  const cp = controlPlaneOf(allOn);
  assert.is(cp.replicas, 3);
  assert.equal(cp.history, [
    '--event-log=nats',
    '--nats=tls://nats.history.svc:4222',
    '--nats-creds=/etc/mcpmux/nats-creds/nats.creds',
    '--nats-ca=/etc/mcpmux/nats-ca/ca.crt',
    '--nats-replicas=3',
    '--event-log-stream=MCPMUX_HISTORY',
    '--event-log-max-age=86400',
    '--event-log-max-bytes=1073741824',
  ], 'a large number from a values file is printed whole');
  assert.equal(cp.volumes.find((v) => v.name === 'nats-ca'), { name: 'nats-ca', secret: { secretName: 'mcpmux-history-nats-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  assert.equal(cp.mounts.find((m) => m.name === 'nats-ca'), { name: 'nats-ca', mountPath: '/etc/mcpmux/nats-ca', readOnly: true });
  assert.is(cp.pdb, true);
});

test('history in a file: a ReadWriteOnce PVC, one replica recreated (never rolled), --event-log=/var/lib/mcpmux/events.jsonl', async () => {
  const cp = controlPlaneOf((await render(['--set', 'controlPlane.history.mode=file'])).docs);
  assert.is(cp.replicas, 1);
  assert.is(cp.strategy, 'Recreate', 'two pods cannot mount a ReadWriteOnce volume during a rolling update');
  assert.equal(cp.history, ['--event-log=/var/lib/mcpmux/events.jsonl']);
  assert.is(cp.flags['event-log'], '/var/lib/mcpmux/events.jsonl');
  assert.is(cp.pdb, false);
  assert.equal(cp.pvcs.map((p) => [p.metadata.name, p.metadata.namespace, (p as unknown as { spec: unknown }).spec]), [
    ['mcpmux-control-plane-history', NAMESPACE, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }],
  ]);
  assert.equal(cp.volumes.find((v) => v.name === 'history'), { name: 'history', persistentVolumeClaim: { claimName: 'mcpmux-control-plane-history' } });
  assert.equal(cp.mounts.find((m) => m.name === 'history'), { name: 'history', mountPath: '/var/lib/mcpmux' });

  // Asked for while NATS is on: still a file and one replica; the size and class as given.
  const withNats = controlPlaneOf((await render(['--set', 'nats.enabled=true', '--set', 'controlPlane.history.mode=file', '--set', 'controlPlane.history.file.size=5Gi', '--set', 'controlPlane.history.file.storageClassName=fast'])).docs);
  assert.equal([withNats.replicas, withNats.strategy, withNats.history, withNats.pdb], [1, 'Recreate', ['--event-log=/var/lib/mcpmux/events.jsonl'], false]);
  assert.equal((withNats.pvcs[0] as unknown as { spec: unknown }).spec, { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } });
});

test('history mode nats without any NATS: helm fails, saying what to set', async () => {
  // (helm lint reports a template's fail as INFO only: install, upgrade and template fail.)
  const result = await helm(['template', 'mcpmux', CHART, '--set', 'controlPlane.history.mode=nats']);
  assert.is.not(result.code, 0);
  assert.match(result.stderr, /controlPlane\.history\.mode nats needs a NATS with JetStream: set nats\.enabled=true, nats\.url or controlPlane\.history\.nats\.url/);
  assert.is((await helm(['template', 'mcpmux', CHART, '--set', 'controlPlane.history.mode=nats', '--set', 'nats.enabled=true'])).code, 0);
});

test('NOTES: which history the control plane keeps, and why it runs one replica without NATS', async () => {
  const memory = await renderNotes();
  assert.match(memory, /The control plane \(1 replica, the leader on Lease mcpmux-system\/mcpmux-control-plane\)/);
  assert.match(memory, /History: in memory of the one control plane replica \(lost when it restarts; nats\.enabled=true or nats\.url\s+shares it and allows more replicas\)\./);
  assert.match(memory, /The control plane runs 1 replica, not controlPlane\.replicas \(2\): with a history of its own,\s+each replica would list different versions\./);
  assert.not.match(await renderNotes(['--set', 'controlPlane.replicas=1']), /runs 1 replica, not/, 'nothing to explain');

  const nats = await renderNotes(['--set', 'nats.enabled=true']);
  assert.match(nats, /The control plane \(2 replicas, one leader on Lease mcpmux-system\/mcpmux-control-plane\)/);
  assert.match(nats, /History: NATS JetStream stream MCPMUX_EVENTS on nats:\/\/mcpmux-nats\.mcpmux-system\.svc:4222,\s+shared by the 2 control plane replicas\./);
  assert.not.match(nats, /runs 1 replica|in memory/);

  const file = await renderNotes(['--set', 'controlPlane.history.mode=file']);
  assert.match(file, /History: file \/var\/lib\/mcpmux\/events\.jsonl on PVC mcpmux-system\/mcpmux-control-plane-history \(1Gi\), kept across\s+restarts of the one control plane replica \(nats\.enabled=true or nats\.url shares it and allows more replicas\)\./);
  assert.match(file, /The control plane runs 1 replica, not controlPlane\.replicas \(2\)/);
  // NATS is there but the history was kept out of it: the way to share it is the mode.
  assert.match(await renderNotes(['--set', 'nats.enabled=true', '--set', 'controlPlane.history.mode=memory']), /History: in memory of the one control plane replica \(lost when it restarts; controlPlane\.history\.mode=nats\s+shares it/);

  // Credentials in URLs stay out of NOTES; the credentials Secret is named.
  const account = await renderNotes([
    '--set', 'nats.url=nats://proxy:pw-proxies@nats.shared.svc:4222',
    '--set', 'controlPlane.history.nats.url=nats://history:pw-history@nats.shared.svc:4222',
    '--set', 'controlPlane.history.nats.credentialsSecret=mcpmux-history-nats',
  ]);
  assert.match(account, /History: NATS JetStream stream MCPMUX_EVENTS on nats:\/\/\*\*\*@nats\.shared\.svc:4222,\s+shared by the 2 control plane replicas \(NATS credentials from Secret mcpmux-system\/mcpmux-history-nats\)\./);
  assert.match(account, /Proxies share sessions through NATS at nats:\/\/\*\*\*@nats\.shared\.svc:4222\./);
  assert.not.match(account, /pw-/);
});

test('monitoring: a ServiceMonitor for the control plane and a PodMonitor for the proxies, only when asked', () => {
  assert.is(defaults.some((d) => d.apiVersion === 'monitoring.coreos.com/v1'), false);
  const sm = one(allOn, 'ServiceMonitor') as unknown as { metadata: { labels: Record<string, string> }; spec: { endpoints: Array<{ port: string; path: string }> } };
  assert.equal(sm.spec.endpoints.map((e) => [e.port, e.path]), [['http', '/metrics']]);
  assert.is(sm.metadata.labels.release, 'prometheus');
  const pm = one(allOn, 'PodMonitor') as unknown as { spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: unknown; podMetricsEndpoints: Array<{ port: string }> } };
  assert.equal(pm.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'mcpmux-proxy', 'app.kubernetes.io/managed-by': 'mcpmux' });
  assert.equal(pm.spec.namespaceSelector, { matchNames: ['team-a', 'team-b'] });
  assert.is(pm.spec.podMetricsEndpoints[0]!.port, 'health', 'the port name the provisioner gives the proxies');
});

test('the helm test pod asks the control plane Service for /readyz', () => {
  const pod = one(defaults, 'Pod') as unknown as { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ command: string[] }> } };
  assert.is(pod.metadata.annotations['helm.sh/hook'], 'test');
  const command = pod.spec.containers[0]!.command;
  assert.is(command.at(-1), `http://mcpmux-control-plane.${NAMESPACE}.svc:15001/readyz`);
  assert.is(command[0], 'node');
});

test('NOTES: how to connect (port-forward to the Gateway\'s Service, the /mcp URL) and grpcurl against the control plane', async () => {
  const notes = await renderNotes();
  assert.match(notes, /kubectl -n <namespace> port-forward svc\/<gateway> 8080:80/);
  assert.match(notes, /http:\/\/127\.0\.0\.1:8080\/mcp/);
  assert.match(notes, /kubectl -n <namespace> port-forward svc\/<gateway> 8443:443/, 'an HTTPS listener, reached by its name');
  assert.match(notes, /HTTPS listeners are served over TLS with the kubernetes\.io\/tls\s+Secret of their tls\.certificateRefs, no longer as plain HTTP/);
  assert.match(notes, /kubectl -n mcpmux-system port-forward svc\/mcpmux-control-plane 18000:18000/);
  assert.match(notes, /npx mcpmux admin-cert --namespace mcpmux-system --ca-secret mcpmux-ca --out mcpmux-admin/);
  assert.match(notes, /grpcurl -cacert mcpmux-admin\/ca\.crt -cert mcpmux-admin\/admin\.crt -key mcpmux-admin\/admin\.key 127\.0\.0\.1:18000 list/);
  assert.match(notes, /only provisioned proxies and pods in mcpmux-system reach the gRPC port/);
  const plaintext = await renderNotes(['--set', 'tls.mode=off']);
  assert.match(plaintext, /grpcurl -plaintext 127\.0\.0\.1:18000 list/);
  assert.match(plaintext, /WARNING: discovery is plaintext .* Targets with upstream credentials are left out/s);
  assert.match(notes, /kubectl get gatewayclass mcpmux /);
  assert.not.match(notes, /WARNING/);
  assert.match(notes, /Secret mcpmux-system\/mcpmux-request-state/);
  assert.not.match(notes, /Without mTLS/, 'one proxy replica: nothing to share');
  const replicated = await renderNotes(['--set', 'proxy.replicas=3']);
  assert.match(replicated, /WARNING: proxies run more than one replica without NATS/);
  assert.not.match(replicated, /Without mTLS/, 'mTLS is the default: replicas get the keys');
  assert.match(await renderNotes(['--set', 'proxy.replicas=3', '--set', 'tls.mode=off']), /Without mTLS \(tls\.mode off\) no proxy gets them/);
  const secured = await renderNotes(['-f', ALL_ON_VALUES]);
  assert.match(secured, /grpcurl -cacert ca\.crt -cert client\.crt -key client\.key -servername mcpmux-control-plane\.mcpmux-system\.svc 127\.0\.0\.1:18000 list/);
  assert.match(secured, /Secret mcpmux-proxy-tls/);
  assert.not.match(secured, /Without mTLS/);
  assert.match(secured, /never install agentgateway itself/);
});

test('NetworkPolicy: the gRPC port admits provisioned proxies from any namespace and the release namespace (and allowFrom); the HTTP port stays open; off with networkPolicy.enabled=false', async () => {
  type Peer = { namespaceSelector?: Record<string, unknown>; podSelector?: { matchLabels?: Record<string, string> } };
  type Policy = { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Array<{ ports: Array<{ port: string }>; from?: Peer[] }> } };
  const policy = one(defaults, 'NetworkPolicy') as unknown as Policy;
  const service = one(defaults, 'Service') as unknown as { spec: { selector: Record<string, string> } };
  assert.equal(policy.spec.podSelector.matchLabels, service.spec.selector, 'the control plane pods');
  assert.equal(policy.spec.policyTypes, ['Ingress']);
  const grpc = policy.spec.ingress.find((rule) => rule.ports.some((p) => p.port === 'grpc'))!;
  assert.equal(grpc.from, [
    { namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'mcpmux-proxy', 'app.kubernetes.io/managed-by': 'mcpmux' } } },
    { podSelector: {} },
  ]);
  const http = policy.spec.ingress.find((rule) => rule.ports.some((p) => p.port === 'http'))!;
  assert.is(http.from, undefined, 'probes and scrapes from anywhere');
  const extra = (one(allOn, 'NetworkPolicy') as unknown as Policy).spec.ingress.find((rule) => rule.ports.some((p) => p.port === 'grpc'))!;
  assert.equal(extra.from!.at(-1), { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'platform-ops' } } });
  const { docs } = await render(['--set', 'networkPolicy.enabled=false']);
  assert.not.ok(docs.some((d) => d.kind === 'NetworkPolicy'));
});

test('the schema and the templates refuse bad values with a message naming them', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--set', 'bogus=1'], /additional properties 'bogus' not allowed/],
    [['--set', 'proxy.serviceType=Internal'], /serviceType/],
    [['--set', 'controlPlane.replicas=0'], /replicas/],
    [['--set', 'nats.url=localhost:4222'], /url/],
    [['--set', 'proxy.podDisruptionBudget.minAvailable=half'], /minAvailable/],
    [['--set', 'controlPlane.logLevel=loud'], /logLevel/],
    [['--set', 'tls.mode=secret'], /secretName is required with tls\.mode secret/],
    [['--set', 'tls.mode=auto'], /mode/],
    [['--set', 'nats.enabled=true', '--set', 'nats.url=nats://x:4222'], /nats\.enabled .* or nats\.url .*not both/],
    [['--set', 'nats.enabled=true', '--set', 'nats.replicas=2'], /odd number/],
    [['--set', 'controlPlane.history.mode=nats'], /controlPlane\.history\.mode nats needs a NATS/],
    [['--set', 'controlPlane.history.mode=shared'], /mode/],
    [['--set', 'controlPlane.history.stream=mcpmux.events'], /stream/],
    [['--set', 'controlPlane.history.maxBytes=-1'], /maxBytes/],
    [['--set', 'controlPlane.history.nats.url=nats.shared:4222'], /url/],
    [['--set', 'controlPlane.history.nats.credentialsSecret=History_Creds'], /credentialsSecret/],
    [['--set', 'controlPlane.history.file.size=lots'], /size/],
    [['--set-string', 'gatewayClass.description=' + 'x'.repeat(65)], /description/],
    [['--set', 'tracing.otlpEndpoint=otel-collector:4318'], /otlpEndpoint/],
  ];
  for (const [args, message] of cases) {
    const result = await helm(['template', 'mcpmux', CHART, ...args]);
    assert.is.not(result.code, 0, args.join(' '));
    assert.match(result.stderr, message, `${args.join(' ')}: ${result.stderr}`);
  }
});

test('CRDs: ours always (crds/, a byte copy of deploy/crds); Gateway API and the compat CRD only on request', async () => {
  assert.equal(readFileSync(join(CHART, 'crds/mcpbackend.yaml')), readFileSync(join(ROOT, 'deploy/crds/mcpbackend.yaml')), 'crds/mcpbackend.yaml is deploy/crds/mcpbackend.yaml');
  assert.equal(readdirSync(join(CHART, 'crds')), ['mcpbackend.yaml']);
  assert.equal(
    readFileSync(join(CHART, 'charts/agentgateway-compat-crds/crds/agentgatewaybackend.yaml')),
    readFileSync(join(ROOT, 'deploy/crds/compat/agentgatewaybackend.yaml')),
    'the compat subchart holds deploy/crds/compat/agentgatewaybackend.yaml',
  );
  const crdNames = (docs: KubeDoc[]): string[] => docs.filter((d) => d.kind === 'CustomResourceDefinition').map((d) => d.metadata.name).sort();
  assert.equal(crdNames((await render(['--include-crds'])).docs), ['mcpbackends.mcpmux.dev']);
  assert.equal(crdNames((await render(['--include-crds', '-f', ALL_ON_VALUES])).docs), [
    'agentgatewaybackends.agentgateway.dev',
    'backendtlspolicies.gateway.networking.k8s.io',
    'gatewayclasses.gateway.networking.k8s.io',
    'gateways.gateway.networking.k8s.io',
    'grpcroutes.gateway.networking.k8s.io',
    'httproutes.gateway.networking.k8s.io',
    'mcpbackends.mcpmux.dev',
    'referencegrants.gateway.networking.k8s.io',
  ]);
});

test(`the vendored Gateway API CRDs are upstream's ${GATEWAY_API_VERSION} standard-install.yaml: license header, then each file of config/crd/standard unchanged`, async () => {
  const standard = await ensureGatewayApiCrds();
  const vendored = readFileSync(join(CHART, 'charts/gateway-api-crds/crds/standard-install.yaml'), 'utf8');
  const files = readdirSync(standard).filter((f) => f.startsWith('gateway') && f.endsWith('.yaml')).sort();
  // hack/build-install-yaml.sh: boilerplate (YEAR of the release), a title, then "---", a comment naming the file, the file.
  let expected = `# Copyright 2025 The Kubernetes Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

#
# Gateway API Standard channel install
#
`;
  for (const file of files) expected += `---\n#\n# config/crd/standard/${file}\n#\n${readFileSync(join(standard, file), 'utf8')}`;
  assert.ok(files.length >= 6, files.join(', '));
  assert.ok(vendored === expected, 'charts/gateway-api-crds/crds/standard-install.yaml differs from the cached module files: rebuild it (see its Chart.yaml)');
  const docs = parseDocs(vendored, 'standard-install.yaml');
  for (const doc of docs) assert.is(doc.metadata.annotations?.['gateway.networking.k8s.io/bundle-version'], GATEWAY_API_VERSION, doc.metadata.name);
  assert.ok(existsSync(join(CHART, 'charts/gateway-api-crds/Chart.yaml')));
});

test('docs/helm.md lists every key of values.yaml with its default, and no key that is not there', () => {
  const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const leaves = new Map<string, unknown>();
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
    } else leaves.set(path, value);
  };
  walk(values, '');
  const lookup = (path: string): unknown => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
  const doc = readFileSync(join(ROOT, 'docs/helm.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Values'), doc.indexOf('## Proxy defaults'));
  const rows = [...section.matchAll(/^\| `([^`]+)` \| (.*?) \| .*\|$/gm)].map((m) => ({ key: m[1]!, shown: m[2]! }));
  assert.ok(rows.length > 50, `${rows.length} rows`);
  for (const { key, shown } of rows) {
    assert.ok(lookup(key) !== undefined || leaves.has(key), `docs/helm.md documents ${key}, which values.yaml does not have`);
    const value = lookup(key);
    // A scalar (or empty list/map) row shows its default exactly, in backticks.
    if (value === null || typeof value !== 'object' || (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0)) {
      const expected = value === '' ? '""' : value === null ? 'null' : Array.isArray(value) ? '[]' : typeof value === 'object' ? '{}' : String(value);
      assert.is(shown, `\`${expected}\``, `default of ${key}`);
    }
  }
  for (const leaf of leaves.keys()) assert.ok(rows.some(({ key }) => leaf === key || leaf.startsWith(`${key}.`)), `docs/helm.md does not document ${leaf}`);
});

test.run();
