import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseManifests } from '../sources/yaml.ts';
import { emptyState, reduceAll } from '../state/reducer.ts';
import { ownedGateways } from '../translate/gateways.ts';
import { MCPMUX_CONTROLLER_NAME } from '../translate/kinds.ts';
import { renderProxy } from './provisioner.ts';
import { parseParameters, settingsFrom, type ProxySettings } from './proxy-settings.ts';

const SETTINGS: ProxySettings = { image: 'mcpmux/mcpmux:test', replicas: 2, controlPlane: 'mcpmux-control-plane.mcpmux-system.svc:18000', serviceType: 'ClusterIP' };

function tutorialGateway() {
  const text = readFileSync(new URL('../../deploy/examples/tutorial/tutorial.yaml', import.meta.url), 'utf8');
  const { objects } = parseManifests(text, 'tutorial.yaml');
  const gateway = objects.find((o) => o.kind === 'Gateway')!;
  gateway.metadata.uid = 'uid-1';
  const state = reduceAll(emptyState(), [{ type: 'upsert', object: gateway }]);
  return ownedGateways(state, ['agentgateway'], MCPMUX_CONTROLLER_NAME).gateways[0]!;
}

type Container = {
  args: string[];
  ports: Array<{ containerPort: number; name: string }>;
  securityContext: { capabilities: { add: string[]; drop: string[] }; allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean };
  readinessProbe: { httpGet: { path: string; port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  image: string;
};

test("the tutorial's Gateway gets deploy/mcp-gateway listening on port 80, non-root with NET_BIND_SERVICE, owned by the Gateway", () => {
  const { deployment, service } = renderProxy(tutorialGateway(), SETTINGS);
  const d = deployment as {
    metadata: { name: string; namespace: string; ownerReferences: Array<Record<string, unknown>> };
    spec: { replicas: number; template: { spec: { securityContext: { runAsNonRoot: boolean; sysctls: Array<{ name: string; value: string }> }; containers: Container[] } } };
  };
  assert.is(d.metadata.name, 'mcp-gateway');
  assert.is(d.metadata.namespace, 'agentgateway-system');
  assert.equal(d.metadata.ownerReferences, [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'mcp-gateway', uid: 'uid-1', controller: true, blockOwnerDeletion: true },
  ]);
  assert.is(d.spec.replicas, 2);
  const pod = d.spec.template.spec;
  assert.is(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
  const container = pod.containers[0]!;
  assert.is(container.image, 'mcpmux/mcpmux:test');
  assert.equal(container.ports[0], { name: 'http', containerPort: 80, protocol: 'TCP' });
  assert.equal(container.securityContext.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
  assert.is(container.securityContext.allowPrivilegeEscalation, false);
  assert.is(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.readinessProbe.httpGet, { path: '/readyz', port: 15000 });
  assert.equal(container.livenessProbe.httpGet, { path: '/healthz', port: 15000 });
  // A deleted pod keeps serving until Services have dropped it, then drains within the grace period.
  assert.equal((container as unknown as { lifecycle: unknown }).lifecycle, { preStop: { sleep: { seconds: 5 } } });
  assert.is((pod as unknown as { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds, 35);
  const args = container.args.join(' ');
  assert.match(args, /^proxy /);
  assert.match(args, /--gateway agentgateway-system\/mcp-gateway/);
  assert.match(args, /--listener-ports 80=80 /, 'the listener port, served as itself');
  assert.match(args, /--allowed-hosts \*( |$)/, 'a listener without hostnames takes any Host, as before');
  assert.match(args, /--address 0\.0\.0\.0/);
  assert.match(args, /--control-plane mcpmux-control-plane\.mcpmux-system\.svc:18000/);

  const s = service as { metadata: { name: string }; spec: { ports: Array<Record<string, unknown>>; selector: Record<string, string>; type: string } };
  assert.is(s.metadata.name, 'mcp-gateway');
  assert.equal(s.spec.ports, [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }]);
  assert.is(s.spec.type, 'ClusterIP');
  const podLabels = (deployment as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
  for (const [key, value] of Object.entries(s.spec.selector)) assert.is(podLabels[key], value, `pod has the Service's selector label ${key}`);
});

/** A Gateway of ours with these listeners (and a uid, as the apiserver gives one). */
function gatewayWith(listeners: unknown[]) {
  const gateway = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'edge', uid: 'uid-2' }, spec: { gatewayClassName: 'mcpmux', listeners } };
  return ownedGateways(reduceAll(emptyState(), [{ type: 'upsert', object: gateway }]), ['mcpmux'], MCPMUX_CONTROLLER_NAME).gateways[0]!;
}

const https = (name: string, hostname: string) => ({ name, port: 443, protocol: 'HTTPS', hostname, tls: { certificateRefs: [{ name: `${name}-cert` }] } });

test('each listener port is a container port and a Service port targeting it; HTTPS listeners sharing 443 share it; the proxy is told the mapping', () => {
  const gateway = gatewayWith([https('mcp', 'mcp.example.test'), { name: 'http', port: 80, protocol: 'HTTP' }, https('other', 'other.example.test'), { name: 'tcp', port: 9000, protocol: 'TCP' }]);
  const { deployment, service } = renderProxy(gateway, SETTINGS);
  const pod = (deployment as { spec: { template: { spec: { containers: Container[]; securityContext: { sysctls: unknown } } } } }).spec.template.spec;
  const container = pod.containers[0]!;
  assert.equal(container.ports, [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { name: 'mcp', containerPort: 443, protocol: 'TCP' }, { name: 'health', containerPort: 15000, protocol: 'TCP' }] as never);
  const args = container.args.join(' ');
  assert.match(args, / --listener-ports 80=80,443=443 /);
  assert.not.match(args, /--port /);
  assert.match(args, / --allowed-hosts \*( |$)/, 'the HTTP listener has no hostname: any Host, as before');
  assert.equal((service as { spec: { ports: unknown } }).spec.ports, [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }, { name: 'mcp', port: 443, targetPort: 443, protocol: 'TCP' }]);
  assert.equal(pod.securityContext.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
});

test('when every listener has hostnames, the proxy allows exactly those Hosts (no *)', () => {
  const gateway = gatewayWith([https('mcp', 'mcp.example.test'), { name: 'web', port: 8080, protocol: 'HTTP', hostname: '*.example.test' }]);
  const container = (renderProxy(gateway, SETTINGS).deployment as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0]!;
  const args = container.args.join(' ');
  assert.match(args, / --allowed-hosts \*\.example\.test,mcp\.example\.test( |$)/);
  assert.match(args, / --listener-ports 443=443,8080=8080 /);
});

test('GatewayClass parameters override the flags; bad values fall back to them', () => {
  assert.equal(settingsFrom(SETTINGS, { image: 'registry.example/mcpmux:1', replicas: '3', serviceType: 'LoadBalancer' }), {
    ...SETTINGS,
    image: 'registry.example/mcpmux:1',
    replicas: 3,
    serviceType: 'LoadBalancer',
  });
  assert.equal(settingsFrom(SETTINGS, { replicas: 'many', serviceType: 'Bogus' }), SETTINGS);
  assert.equal(settingsFrom(SETTINGS, undefined), SETTINGS);
});

type Rendered = {
  spec: {
    replicas?: number;
    template: {
      spec: {
        containers: Array<Container & { resources: unknown; volumeMounts?: unknown[] }>;
        volumes?: unknown[];
        topologySpreadConstraints?: unknown[];
      };
    };
  };
};

test('the chart\'s parameters: NATS, resources, probes, topology spread, HPA, PDB and mTLS reach the proxy objects', () => {
  const data = {
    nats: 'nats://mcpmux-nats.mcpmux-system.svc:4222',
    natsReplicas: '3',
    resources: '{"requests":{"cpu":"200m","memory":"256Mi"},"limits":{"memory":"1Gi"}}',
    probes: '{"readiness":{"periodSeconds":2,"failureThreshold":5},"liveness":{"initialDelaySeconds":3}}',
    topologySpread: '[{"maxSkew":1,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"ScheduleAnyway"}]',
    'hpa.minReplicas': '2',
    'hpa.maxReplicas': '10',
    'hpa.targetCPU': '70',
    'pdb.minAvailable': '1',
    tlsSecret: 'mcpmux-proxy-tls',
    tlsServerName: 'mcpmux-control-plane.mcpmux-system.svc',
    imagePullPolicy: 'Always',
    otlpEndpoint: 'http://otel-collector.observability:4318',
    workers: '4',
  };
  const { overrides, problems } = parseParameters(data);
  assert.equal(problems, []);
  assert.equal(overrides.autoscaling, { minReplicas: 2, maxReplicas: 10, targetCPUUtilization: 70 });
  assert.equal(overrides.disruptionBudget, { minAvailable: 1 });
  const gateway = tutorialGateway();
  const rendered = renderProxy(gateway, settingsFrom(SETTINGS, data));
  const d = rendered.deployment as Rendered;
  assert.is(d.spec.replicas, undefined, 'the HPA owns the replica count');
  const pod = d.spec.template.spec;
  const container = pod.containers[0]!;
  const args = container.args.join(' ');
  assert.match(args, / --workers 4 --nats /);
  assert.match(args, / --nats nats:\/\/mcpmux-nats\.mcpmux-system\.svc:4222 --nats-replicas 3 --otlp-endpoint http:\/\/otel-collector\.observability:4318 /);
  assert.match(args, / --tls-cert \/etc\/mcpmux\/tls\/tls\.crt --tls-key \/etc\/mcpmux\/tls\/tls\.key --tls-ca \/etc\/mcpmux\/tls\/ca\.crt --tls-server-name mcpmux-control-plane\.mcpmux-system\.svc$/);
  assert.equal(container.resources, { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } });
  assert.equal(container.readinessProbe, { httpGet: { path: '/readyz', port: 15000 }, periodSeconds: 2, failureThreshold: 5 } as never);
  assert.equal(container.livenessProbe, { httpGet: { path: '/healthz', port: 15000 }, periodSeconds: 10, failureThreshold: 3, initialDelaySeconds: 3 } as never);
  assert.equal(container.volumeMounts, [{ name: 'tls', mountPath: '/etc/mcpmux/tls', readOnly: true }]);
  assert.equal(pod.volumes, [{ name: 'tls', secret: { secretName: 'mcpmux-proxy-tls' } }]);
  const selector = { 'app.kubernetes.io/name': 'mcpmux-proxy', 'app.kubernetes.io/instance': 'mcp-gateway' };
  assert.equal(pod.topologySpreadConstraints, [
    { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
  ]);

  const hpa = rendered.autoscaler as { apiVersion: string; kind: string; metadata: { name: string; namespace: string; ownerReferences: unknown[] }; spec: Record<string, unknown> };
  assert.is(hpa.apiVersion, 'autoscaling/v2');
  assert.is(hpa.metadata.name, 'mcp-gateway');
  assert.is(hpa.metadata.namespace, 'agentgateway-system');
  assert.is(hpa.metadata.ownerReferences.length, 1, 'owned by the Gateway: deleted with it');
  assert.equal(hpa.spec, {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mcp-gateway' },
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
  });
  const pdb = rendered.disruptionBudget as { apiVersion: string; spec: Record<string, unknown> };
  assert.is(pdb.apiVersion, 'policy/v1');
  assert.equal(pdb.spec, { minAvailable: 1, selector: { matchLabels: selector } });
});

test('without parameters a proxy has no NATS, TLS, HPA or PDB, and keeps its replicas', () => {
  const rendered = renderProxy(tutorialGateway(), SETTINGS);
  assert.is(rendered.autoscaler, undefined);
  assert.is(rendered.disruptionBudget, undefined);
  const d = rendered.deployment as Rendered;
  assert.is(d.spec.replicas, 2);
  const pod = d.spec.template.spec;
  assert.is(pod.volumes, undefined);
  assert.is(pod.topologySpreadConstraints, undefined);
  assert.not.match(pod.containers[0]!.args.join(' '), /--nats|--tls|--otlp|--workers/);
  assert.equal(pod.containers[0]!.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
});

test('each bad parameter is reported by key and ignored, the rest still applies', () => {
  const table: Array<[Record<string, string>, string]> = [
    [{ nats: 'localhost:4222' }, 'nats'],
    [{ natsReplicas: '2' }, 'natsReplicas'],
    [{ resources: '{"requests":{"cpu":"lots"}}' }, 'resources'],
    [{ resources: '{"request":{}}' }, 'resources'],
    [{ resources: 'not json' }, 'resources'],
    [{ probes: '{"readiness":{"periodSeconds":0}}' }, 'probes'],
    [{ probes: '{"startup":{}}' }, 'probes'],
    [{ topologySpread: '[{"maxSkew":0,"topologyKey":"zone"}]' }, 'topologySpread'],
    [{ topologySpread: '{"maxSkew":1}' }, 'topologySpread'],
    [{ 'hpa.maxReplicas': 'ten' }, 'hpa.maxReplicas'],
    [{ 'hpa.maxReplicas': '3', 'hpa.minReplicas': '5' }, 'hpa.minReplicas'],
    [{ 'hpa.maxReplicas': '3', 'hpa.targetCPU': '0' }, 'hpa.targetCPU'],
    [{ 'hpa.minReplicas': '2' }, 'hpa.maxReplicas'],
    [{ 'pdb.minAvailable': 'half' }, 'pdb.minAvailable'],
    [{ 'pdb.minAvailable': '150%' }, 'pdb.minAvailable'],
    [{ tlsSecret: 'Not_A_Name' }, 'tlsSecret'],
    [{ tlsServerName: 'cp.example' }, 'tlsServerName'],
    [{ imagePullPolicy: 'Sometimes' }, 'imagePullPolicy'],
    [{ replicas: '-1' }, 'replicas'],
    [{ workers: '0' }, 'workers'],
    [{ workers: 'many' }, 'workers'],
    [{ otlpEndpoint: 'otel-collector:4318' }, 'otlpEndpoint'],
    [{ otlpEndpoint: 'grpc://otel-collector:4317' }, 'otlpEndpoint'],
  ];
  for (const [data, key] of table) {
    const { overrides, problems } = parseParameters({ ...data, image: 'registry.example/mcpmux:2' });
    assert.is(problems.length, 1, `${JSON.stringify(data)}: ${problems.join('; ')}`);
    assert.ok(problems[0]!.startsWith(`${key}: `), problems[0]);
    assert.equal(overrides, { image: 'registry.example/mcpmux:2' }, JSON.stringify(data));
  }
  assert.equal(parseParameters({ workers: 'auto' }).overrides, { workers: 'auto' });
  // Defaults of the optional HPA keys, a percentage budget, empty values ignored.
  assert.equal(parseParameters({ 'hpa.maxReplicas': '4', 'pdb.minAvailable': '50%', nats: ' ', image: '' }), {
    overrides: { autoscaling: { minReplicas: 1, maxReplicas: 4, targetCPUUtilization: 80 }, disruptionBudget: { minAvailable: '50%' } },
    problems: [],
  });
});

test('with the control plane\'s CA: a ServiceAccount of the Gateway\'s own, the CA bundle ConfigMap once the CA is known, a projected token for our audience; a Secret made by hand wins', () => {
  const gateway = tutorialGateway();
  const settings: ProxySettings = { ...SETTINGS, controlPlaneCa: {} };
  const before = renderProxy(gateway, settings);
  assert.ok(before.serviceAccount);
  assert.is(before.caBundle, undefined, 'no ConfigMap before the CA is read');
  const after = renderProxy(gateway, settings, 'BUNDLE');
  assert.equal((after.caBundle as { data: Record<string, string> }).data, { 'ca.crt': 'BUNDLE' });
  assert.equal(after.deployment, before.deployment, 'the bundle is not in the pod template: a rotation rolls no pod');
  const sa = after.serviceAccount as { metadata: { name: string; namespace: string; ownerReferences: unknown[] }; automountServiceAccountToken: boolean };
  assert.is(sa.metadata.name, 'mcpmux-proxy-mcp-gateway');
  assert.is(sa.metadata.namespace, 'agentgateway-system');
  assert.is(sa.metadata.ownerReferences.length, 1, 'owned by the Gateway: removed with it');
  assert.is(sa.automountServiceAccountToken, false);
  const pod = (after.deployment as { spec: { template: { spec: { serviceAccountName: string; automountServiceAccountToken: boolean; volumes: Array<{ name: string; projected?: unknown }>; containers: Container[] } } } }).spec.template.spec;
  assert.is(pod.serviceAccountName, 'mcpmux-proxy-mcp-gateway');
  assert.is(pod.automountServiceAccountToken, false);
  assert.equal(pod.volumes.find((v) => v.name === 'mcpmux-token')?.projected, { sources: [{ serviceAccountToken: { audience: 'mcpmux-control-plane', expirationSeconds: 3600, path: 'token' } }] });
  assert.match(pod.containers[0]!.args.join(' '), /--control-plane-ca \/etc\/mcpmux\/ca\/ca\.crt --token-file \/var\/run\/secrets\/mcpmux\/token/);
  const byHand = renderProxy(gateway, { ...settings, tls: { secretName: 'proxy-tls' } }, 'BUNDLE');
  assert.is(byHand.serviceAccount, undefined);
  assert.not.match((byHand.deployment as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0]!.args.join(' '), /--token-file/);
});

test.run();
