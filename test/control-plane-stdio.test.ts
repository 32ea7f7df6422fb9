// The control plane decides from its source whether stdio targets are served (files: yes; a
// cluster: never), and a stdio target survives the trip over gRPC to a proxy that compiles it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseManifests } from '../control-plane/sources/yaml.ts';
import type { Source, SourceName } from '../control-plane/sources/source.ts';
import { startControlPlane, type RunningControlPlane } from '../control-plane/control-plane.ts';
import { createLogger } from '../shared/log.ts';
import type { Snapshot } from '../shared/config/types.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import { compileRoutingTable } from '../proxy/routing/table.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

const OBJECTS = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: dev}
spec: {gatewayClassName: mcpmux, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: dev}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: local}]}]}
---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: local, namespace: dev}
spec:
  targets:
  - static: {name: dev, protocol: stdio, command: node, args: [server.js, stdio], env: {TOKEN: t0k3n}, cwd: /srv}
  - static: {name: remote, host: 127.0.0.1, port: 3001}
`;

function source(name: SourceName): Source {
  const { objects } = parseManifests(OBJECTS, 'objects.yaml');
  return {
    name,
    start: async (emit) => emit(objects.map((object) => ({ type: 'upsert', object }))),
    stop: async () => undefined,
  };
}

async function run(name: SourceName, body: (cp: RunningControlPlane) => Promise<void>): Promise<void> {
  const cp = await startControlPlane({ source: source(name), gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 100, logger });
  try {
    await body(cp);
  } finally {
    await cp.close();
  }
}

test('the files source serves stdio targets, and a proxy gets them over gRPC as they were built', async () => {
  await run('files', async (cp) => {
    const built = cp.cache.get('dev/gw')!;
    assert.equal(built.targets.map((t) => [t.name, t.protocol]), [['dev', 'PROTOCOL_STDIO'], ['remote', 'PROTOCOL_STREAMABLE_HTTP']]);
    let received: Snapshot | undefined;
    const client = new ConfigClient({ controlPlane: `127.0.0.1:${cp.grpcPort}`, nodeId: 'p1', group: 'dev/gw', logger, apply: (s) => void (received = s) });
    client.start();
    try {
      await client.firstApplied;
    } finally {
      client.close();
    }
    assert.equal(JSON.parse(JSON.stringify(received)), JSON.parse(JSON.stringify(built)));
    assert.equal(received!.targets[0]!.stdio, { command: 'node', args: ['server.js', 'stdio'], env: { TOKEN: 't0k3n' }, cwd: '/srv' });
    assert.is(received!.targets[1]!.stdio, null);
    const dev = compileRoutingTable(received!, { allowStdio: true }).routes[0]!.backend.targetsByName.get('dev')!;
    assert.is(dev.unavailable, undefined);
    assert.equal(dev.stdio, { command: 'node', args: ['server.js', 'stdio'], env: { TOKEN: 't0k3n' }, cwd: '/srv' });
  });
});

test('any other source leaves stdio targets out', async () => {
  await run('kubernetes', async (cp) => {
    const built = cp.cache.get('dev/gw')!;
    assert.equal(built.targets.map((t) => t.name), ['remote']);
  });
});

test.run();
