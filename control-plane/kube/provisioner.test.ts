import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseManifests } from '../sources/yaml.ts';
import { emptyState, reduceAll } from '../state/reducer.ts';
import { ownedGateways } from '../translate/gateways.ts';
import { MCPMUX_CONTROLLER_NAME } from '../translate/kinds.ts';
import { renderProxy, settingsFrom, type ProxySettings } from './provisioner.ts';

const SETTINGS: ProxySettings = { image: 'mcpmux/mcpmux:test', replicas: 2, controlPlane: 'mcpmux-control-plane.mcpmux-system.svc:18000', serviceType: 'ClusterIP' };

function tutorialGateway() {
  const text = readFileSync(new URL('../../../shared/reference/seed-manifests.yaml', import.meta.url), 'utf8');
  const { objects } = parseManifests(text, 'seed-manifests.yaml');
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
  const args = container.args.join(' ');
  assert.match(args, /^proxy /);
  assert.match(args, /--gateway agentgateway-system\/mcp-gateway/);
  assert.match(args, /--port 80 /);
  assert.match(args, /--address 0\.0\.0\.0/);
  assert.match(args, /--control-plane mcpmux-control-plane\.mcpmux-system\.svc:18000/);

  const s = service as { metadata: { name: string }; spec: { ports: Array<Record<string, unknown>>; selector: Record<string, string>; type: string } };
  assert.is(s.metadata.name, 'mcp-gateway');
  assert.equal(s.spec.ports, [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }]);
  assert.is(s.spec.type, 'ClusterIP');
  const podLabels = (deployment as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
  for (const [key, value] of Object.entries(s.spec.selector)) assert.is(podLabels[key], value, `pod has the Service's selector label ${key}`);
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

test.run();
