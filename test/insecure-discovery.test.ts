// A control plane serving plaintext discovery on a non-loopback address (issue 16 §1): credentials
// would cross the network readable by anyone there, so targets carrying one are left out of the
// snapshot (the proxy ACKs it: nothing half-built), the backend says CredentialsWithheld, and the
// log says why. `--insecure-discovery` sends them anyway, saying so. On loopback (`mcpmux dev`)
// nothing changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startControlPlane } from '../control-plane/control-plane.ts';
import { FilesSource } from '../control-plane/sources/files.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import { compileRoutingTable } from '../proxy/routing/table.ts';
import type { Snapshot } from '../shared/config/types.ts';
import { gatewayAndRoute } from './support/manifests.ts';
import { until } from './support/processes.ts';

const CREDENTIAL = 'upstream-credential-7c1e';
let dir: string;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-insecure-'));
  writeFileSync(join(dir, 'objects.yaml'), `${gatewayAndRoute({ namespace: 'team', gateway: 'gw', route: 'route', backend: 'secured' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: secured, namespace: team}
spec:
  upstreamAuth:
    secretRef: {name: upstream, key: token}
  targets:
  - static: {name: echo, host: 127.0.0.1, port: 9}
---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: open, namespace: team}
spec:
  targets:
  - static: {name: open, host: 127.0.0.1, port: 9}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: open, namespace: team}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /open}}]
    backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: open}]
---
apiVersion: v1
kind: Secret
metadata: {name: upstream, namespace: team}
stringData: {token: ${CREDENTIAL}}
`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A control plane on `address`, a proxy's config client on loopback, and what it applied and logged. */
async function served(address: string, insecureDiscovery: boolean): Promise<{ snapshot: Snapshot; lines: string[]; nacked: boolean }> {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const cp = await startControlPlane({ source: new FilesSource({ dir, logger }), gatewayClasses: ['mcpmux'], address, grpcPort: 0, httpPort: 0, eventLogRetention: 100, logger, insecureDiscovery });
  let snapshot: Snapshot | undefined;
  let nacked = false;
  const client = new ConfigClient({
    controlPlane: `127.0.0.1:${cp.grpcPort}`,
    nodeId: 'p',
    group: 'team/gw',
    logger,
    apply: (s) => {
      try {
        compileRoutingTable(s, { allowStdio: false });
      } catch (error) {
        nacked = true;
        throw error;
      }
      snapshot = s;
    },
  });
  client.start();
  try {
    await until(() => snapshot !== undefined || nacked, 'a snapshot applied', 5000);
    return { snapshot: snapshot!, lines, nacked };
  } finally {
    client.close();
    await cp.close();
  }
}

test('plaintext on a non-loopback address: the credential-bearing target is left out, the rest is served, and the log says why', async () => {
  const { snapshot, lines, nacked } = await served('0.0.0.0', false);
  assert.not.ok(nacked, 'the proxy takes the snapshot');
  assert.equal(snapshot.targets.map((t) => t.name), ['open']);
  assert.equal(snapshot.secrets, []);
  assert.not.ok(JSON.stringify(snapshot).includes(CREDENTIAL));
  assert.ok(lines.some((l) => l.includes('targets with upstream credentials are left out of snapshots')));
  assert.ok(lines.some((l) => l.includes('CredentialsWithheld')), 'the backend status says why');
});

test('--insecure-discovery sends them anyway, and says so', async () => {
  const { snapshot, lines } = await served('0.0.0.0', true);
  assert.equal(snapshot.targets.map((t) => t.name).sort(), ['echo', 'open']);
  assert.ok(JSON.stringify(snapshot.secrets).includes(CREDENTIAL));
  assert.ok(lines.some((l) => l.includes('--insecure-discovery: upstream credentials go to proxies in plaintext')));
});

test('on loopback (mcpmux dev) the credential is served as before', async () => {
  const { snapshot, lines } = await served('127.0.0.1', false);
  assert.equal(snapshot.targets.map((t) => t.name).sort(), ['echo', 'open']);
  assert.not.ok(lines.some((l) => l.includes('left out of snapshots')));
});

test.run();
