// The leader's jobs against the fake apiserver: Lease election and hand-over, the status writer
// (conditions on the status subresource, once, never on objects that already say the same), NACK
// Events, and the provisioner's Deployment and Service.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../shared/log.ts';
import { KubeClient } from '../control-plane/kube/client.ts';
import { LeaderElector } from '../control-plane/kube/leader.ts';
import { Provisioner } from '../control-plane/kube/provisioner.ts';
import { StatusWriter } from '../control-plane/kube/status-writer.ts';
import { parseManifests } from '../control-plane/sources/yaml.ts';
import { emptyState, reduceAll } from '../control-plane/state/reducer.ts';
import { MCPMUX_CONTROLLER_NAME } from '../control-plane/translate/kinds.ts';
import { translate, TranslateCache } from '../control-plane/translate/translate.ts';
import { startFakeApiserver, type FakeApiserver } from './fixtures/fake-apiserver.ts';
import { until } from './support/processes.ts';
import { tutorialManifests } from './support/tutorial.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const TUTORIAL = tutorialManifests();

function elector(api: FakeApiserver, identity: string): LeaderElector {
  return new LeaderElector({
    client: new KubeClient(api.kubeConfig()),
    namespace: 'default',
    name: 'mcpmux-control-plane',
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 600,
    retryPeriodMs: 100,
    logger,
  });
}

test('one of two replicas leads; a leader that stops hands over at once; one that cannot renew steps down', async () => {
  const api = await startFakeApiserver();
  const a = elector(api, 'a');
  const b = elector(api, 'b');
  try {
    a.start();
    await until(() => a.leading, 'a leading');
    b.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.is(b.leading, false, 'b waits while a renews');
    await a.stop(); // releases the lease
    const released = Date.now();
    await until(() => b.leading, 'b leading', 3000);
    assert.ok(Date.now() - released < 1000, `b took over ${Date.now() - released} ms after the release`);
    assert.is(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'mcpmux-control-plane')?.spec?.['holderIdentity' as never], 'b');

    // b is cut off from the apiserver (every Lease write fails): it steps down after the renew
    // deadline, before its lease could run out, so two leaders never overlap.
    api.failNext(1000, { status: 503, method: 'PUT', path: /leases/ });
    const cut = Date.now();
    await until(() => !b.leading, 'b stepping down when it cannot renew', 3000);
    assert.ok(Date.now() - cut < 1000, `stepped down ${Date.now() - cut} ms after losing the apiserver (lease 1000 ms)`);
  } finally {
    await a.stop();
    await b.stop();
    await api.stop();
  }
});

test('the status writer writes each object once, from the translator, and records a NACK Event once', async () => {
  const api = await startFakeApiserver();
  const { objects } = parseManifests(TUTORIAL, 'tutorial.yaml');
  for (const object of objects) if (!['Deployment', 'ConfigMap'].includes(object.kind)) api.apply(object);
  const stored = objects.filter((o) => !['Deployment', 'ConfigMap'].includes(o.kind)).map((o) => api.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)!);
  const state = reduceAll(emptyState(), stored.map((object) => ({ type: 'upsert' as const, object: object as never })));
  const { statuses } = translate(state, { gatewayClasses: ['agentgateway'] }, new TranslateCache());
  const writer = new StatusWriter({ client: new KubeClient(api.kubeConfig()), logger, controllerName: MCPMUX_CONTROLLER_NAME, instance: 'cp-test' });
  try {
    writer.update(statuses, state);
    await writer.idle();
    assert.is(writer.writes, 0, 'nothing is written before it leads');
    writer.setEnabled(true);
    await writer.idle();
    const route = api.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'agentgateway-system', 'mcp-route')!;
    const parents = (route.status as { parents: Array<{ controllerName: string; conditions: Array<{ type: string; status: string }> }> }).parents;
    assert.equal(parents.map((p) => p.controllerName), [MCPMUX_CONTROLLER_NAME]);
    assert.ok(parents[0]!.conditions.some((c) => c.type === 'Accepted' && c.status === 'True'));
    const gateway = api.get('gateway.networking.k8s.io/v1', 'Gateway', 'agentgateway-system', 'mcp-gateway')!;
    assert.ok((gateway.status as { conditions: Array<{ type: string }> }).conditions.some((c) => c.type === 'Programmed'));
    const backend = api.get('agentgateway.dev/v1alpha1', 'AgentgatewayBackend', 'agentgateway-system', 'mcp-federated')!;
    assert.ok((backend.status as { conditions: unknown[] }).conditions.length > 0);
    const written = writer.writes;
    assert.is(written, 3, 'route, Gateway, backend');

    // The same statuses against the objects as they are now: nothing to write.
    const now = stored.map((o) => api.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)!);
    writer.update(statuses, reduceAll(emptyState(), now.map((object) => ({ type: 'upsert' as const, object: object as never }))));
    await writer.idle();
    assert.is(writer.writes, written);

    await writer.recordNack(gateway as never, 'proxy-1', 'v9', 'bad listener');
    await writer.recordNack(gateway as never, 'proxy-2', 'v9', 'bad listener');
    const events = api.list('v1', 'Event', 'agentgateway-system');
    assert.is(events.length, 1, 'one Event per version and error');
    assert.is(events[0]!['reason' as never], 'SnapshotRejected');
    assert.match(String(events[0]!['message' as never]), /rejected configuration version v9: bad listener/);
  } finally {
    writer.stop();
    await api.stop();
  }
});

test('the provisioner applies the Gateway\'s proxy once and deletes it when the Gateway is no longer ours', async () => {
  const api = await startFakeApiserver();
  const gateway = api.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'mcp-gateway', namespace: 'agentgateway-system' },
    spec: { gatewayClassName: 'agentgateway', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  });
  const provisioner = new Provisioner({
    client: new KubeClient(api.kubeConfig()),
    logger,
    settings: { image: 'mcpmux/mcpmux:test', replicas: 1, controlPlane: 'cp:18000', serviceType: 'ClusterIP' },
    gatewayClasses: ['agentgateway'],
    controllerName: MCPMUX_CONTROLLER_NAME,
    namespaces: [],
  });
  try {
    const state = reduceAll(emptyState(), [{ type: 'upsert', object: gateway as never }]);
    provisioner.setEnabled(true);
    provisioner.update(state);
    await provisioner.idle();
    provisioner.update(state);
    await provisioner.idle();
    assert.is(provisioner.applies, 2, 'Deployment and Service, applied once');
    const deployment = api.get('apps/v1', 'Deployment', 'agentgateway-system', 'mcp-gateway')!;
    assert.is((deployment.metadata.ownerReferences as Array<{ uid: string }>)[0]!.uid, gateway.metadata.uid);
    assert.ok(api.get('v1', 'Service', 'agentgateway-system', 'mcp-gateway'));

    // The listener moves to 8080: both are applied again with the new port.
    const moved = api.apply({ ...gateway, spec: { gatewayClassName: 'agentgateway', listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }] } });
    provisioner.update(reduceAll(emptyState(), [{ type: 'upsert', object: moved as never }]));
    await provisioner.idle();
    assert.is(provisioner.applies, 4);
    const redeployed = api.get('apps/v1', 'Deployment', 'agentgateway-system', 'mcp-gateway') as unknown as {
      spec: { template: { spec: { containers: Array<{ ports: Array<{ containerPort: number }> }> } } };
    };
    assert.is(redeployed.spec.template.spec.containers[0]!.ports[0]!.containerPort, 8080);
    const service = api.get('v1', 'Service', 'agentgateway-system', 'mcp-gateway') as unknown as { spec: { ports: Array<{ port: number }> } };
    assert.is(service.spec.ports[0]!.port, 8080);

    provisioner.update(emptyState());
    await provisioner.idle();
    assert.is(api.get('apps/v1', 'Deployment', 'agentgateway-system', 'mcp-gateway'), undefined);
    assert.is(api.get('v1', 'Service', 'agentgateway-system', 'mcp-gateway'), undefined);
  } finally {
    await api.stop();
  }
});

test.run();
