import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyState, reduceAll } from '../state/reducer.ts';
import { referencedSecrets } from './secret-refs.ts';

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
  assert.equal(referencedSecrets(state), [{ namespace: 'team-a', name: 'token' }, { namespace: 'team-b', name: 'token' }]);
});

test.run();
