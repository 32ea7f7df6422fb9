// The chart's proxy defaults as the provisioner meets them, against the fake apiserver: the
// GatewayClass's parametersRef ConfigMap (rendered by the chart) reaches the proxy Deployment, and a
// ConfigMap edited by hand (read, not watched) reaches it at the next resync, with no other change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../control-plane/kube/client.ts';
import { Provisioner } from '../../control-plane/kube/provisioner.ts';
import { emptyState, reduceAll } from '../../control-plane/state/reducer.ts';
import { MCPMUX_CONTROLLER_NAME } from '../../control-plane/translate/kinds.ts';
import { createLogger } from '../../shared/log.ts';
import { startFakeApiserver } from '../fixtures/fake-apiserver.ts';
import { until } from '../support/processes.ts';
import { NAMESPACE, one, render } from './chart.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

test("the chart's GatewayClass and ConfigMap drive the proxy; a hand edit of the ConfigMap lands at the next resync", async () => {
  const { docs } = await render(['--set', 'nats.url=nats://nats.shared.svc:4222']);
  const api = await startFakeApiserver();
  const provisioner = new Provisioner({
    client: new KubeClient(api.kubeConfig()),
    logger,
    settings: { image: 'mcpmux/mcpmux:flags', replicas: 1, controlPlane: `mcpmux-control-plane.${NAMESPACE}.svc:18000`, serviceType: 'ClusterIP' },
    gatewayClasses: ['mcpmux'],
    controllerName: MCPMUX_CONTROLLER_NAME,
    namespaces: [],
    resyncMs: 100,
  });
  try {
    const configMap = api.apply(one(docs, 'ConfigMap', 'mcpmux-proxy-defaults') as never);
    const gatewayClass = api.apply(one(docs, 'GatewayClass') as never);
    const gateway = api.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'mcp', namespace: 'team-a' },
      spec: { gatewayClassName: 'mcpmux', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    });
    const state = reduceAll(emptyState(), [gatewayClass, gateway].map((object) => ({ type: 'upsert' as const, object: object as never })));
    provisioner.setEnabled(true);
    provisioner.update(state);
    await provisioner.idle();
    const args = (): string => {
      const deployment = api.get('apps/v1', 'Deployment', 'team-a', 'mcp') as unknown as { spec: { template: { spec: { containers: Array<{ args: string[]; image: string }> } } } } | undefined;
      return deployment ? `${deployment.spec.template.spec.containers[0]!.image} ${deployment.spec.template.spec.containers[0]!.args.join(' ')}` : '';
    };
    assert.match(args(), /^mcpmux:0\.1\.0 /, "the ConfigMap's image over the flag's");
    assert.match(args(), /--nats nats:\/\/nats\.shared\.svc:4222/);

    // kubectl edit of the ConfigMap: nothing the control plane watches changes.
    api.apply({ ...configMap, data: { ...(configMap as unknown as { data: Record<string, string> }).data, nats: 'nats://nats-2.shared.svc:4222' } } as never);
    await until(() => args().includes('--nats nats://nats-2.shared.svc:4222'), 'the edited NATS URL applied by a resync', 3000);
  } finally {
    provisioner.setEnabled(false);
    await provisioner.idle();
    await api.stop();
  }
});

test("a served class with no GatewayClass object (the tutorial's agentgateway) takes the chart's parameters, not the flags alone", async () => {
  const { docs } = await render(['--set', 'nats.enabled=true', '--set', 'proxy.replicas=3', '--set', 'proxy.workers=auto', '--set', 'controlPlane.extraGatewayClasses={agentgateway}']);
  const api = await startFakeApiserver();
  const provisioner = new Provisioner({
    client: new KubeClient(api.kubeConfig()),
    logger,
    settings: { image: 'mcpmux/mcpmux:flags', replicas: 1, controlPlane: `mcpmux-control-plane.${NAMESPACE}.svc:18000`, serviceType: 'ClusterIP' },
    gatewayClasses: ['mcpmux', 'agentgateway'],
    controllerName: MCPMUX_CONTROLLER_NAME,
    namespaces: [],
    resyncMs: 100,
  });
  try {
    api.apply(one(docs, 'ConfigMap', 'mcpmux-proxy-defaults') as never);
    const gatewayClass = api.apply(one(docs, 'GatewayClass') as never);
    const gateway = api.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'mcp-gateway', namespace: 'agentgateway-system' },
      spec: { gatewayClassName: 'agentgateway', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    });
    const state = reduceAll(emptyState(), [gatewayClass, gateway].map((object) => ({ type: 'upsert' as const, object: object as never })));
    provisioner.setEnabled(true);
    provisioner.update(state);
    await provisioner.idle();
    const deployment = api.get('apps/v1', 'Deployment', 'agentgateway-system', 'mcp-gateway') as unknown as { spec: { replicas: number; template: { spec: { containers: Array<{ args: string[]; image: string }> } } } };
    assert.is(deployment.spec.replicas, 3, "the chart's proxy.replicas");
    assert.match(deployment.spec.template.spec.containers[0]!.args.join(' '), new RegExp(`--nats nats://mcpmux-nats\\.${NAMESPACE}\\.svc:4222`), "the chart's NATS");
    assert.is(deployment.spec.template.spec.containers[0]!.image, 'mcpmux:0.1.0', "the chart's image over the flag's");
    assert.match(deployment.spec.template.spec.containers[0]!.args.join(' '), / --workers auto /, "the chart's proxy.workers");
  } finally {
    provisioner.setEnabled(false);
    await provisioner.idle();
    await api.stop();
  }
});

test.run();
