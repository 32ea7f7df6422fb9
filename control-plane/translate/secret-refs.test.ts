import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyState, reduceAll } from '../state/reducer.ts';
import { MCPMUX_CONTROLLER_NAME } from './kinds.ts';
import { referencedSecrets } from './secret-refs.ts';

const OPTIONS = { gatewayClasses: ['mcpmux'], controllerName: MCPMUX_CONTROLLER_NAME };

test('MCPBackends name the Secrets of their namespace; sorted, each once; other kinds name none', () => {
  const backend = (name: string, namespace: string, secret?: string) => ({
    apiVersion: 'mcpmux.dev/v1alpha1',
    kind: 'MCPBackend',
    metadata: { name, namespace },
    spec: { targets: [], ...(secret ? { upstreamAuth: { secretRef: { name: secret, key: 'token' } } } : {}) },
  });
  const state = reduceAll(emptyState(), [
    backend('b', 'team-b', 'token'),
    backend('a', 'team-a', 'token'),
    backend('a2', 'team-a', 'token'),
    backend('none', 'team-a'),
    { apiVersion: 'agentgateway.dev/v1alpha1', kind: 'AgentgatewayBackend', metadata: { name: 'x', namespace: 'team-c' }, spec: { upstreamAuth: { secretRef: { name: 'ignored' } } } },
  ].map((object) => ({ type: 'upsert' as const, object })));
  assert.equal(referencedSecrets(state, OPTIONS), [{ namespace: 'team-a', name: 'token' }, { namespace: 'team-b', name: 'token' }]);
});

test('HTTPS listeners of our Gateways name their certificates: in the Gateway namespace, or another one a ReferenceGrant opens; never another controller\'s', () => {
  const gateway = (name: string, gatewayClassName: string, refs: Array<{ name: string; namespace?: string; kind?: string }>) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: 'edge' },
    spec: { gatewayClassName, listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: refs } }, { name: 'http', port: 80, protocol: 'HTTP' }] },
  });
  const state = reduceAll(emptyState(), [
    gateway('ours', 'mcpmux', [{ name: 'cert' }, { name: 'granted', namespace: 'certs' }, { name: 'not-granted', namespace: 'certs' }, { name: 'cm', kind: 'ConfigMap' }]),
    gateway('theirs', 'other-class', [{ name: 'their-cert' }]),
    {
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'grant', namespace: 'certs' },
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'edge' }], to: [{ group: '', kind: 'Secret', name: 'granted' }] },
    },
  ].map((object) => ({ type: 'upsert' as const, object })));
  assert.equal(referencedSecrets(state, OPTIONS), [{ namespace: 'certs', name: 'granted' }, { namespace: 'edge', name: 'cert' }]);
});

test.run();
