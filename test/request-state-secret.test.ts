// The requestState master keys' Secret (control-plane/kube/request-state-secret.ts):
//  - against the fake apiserver: the leader creates it once, followers wait for it and then read
//    the same keys, a new leader reuses it; a rotation written by an operator reaches every replica
//    through its watch; an unusable Secret is reported and never written; a deleted one is made
//    again with the last current key as previous;
//  - against a real kube-apiserver (test/support/kube-cluster.ts): two control planes started
//    through the CLI, one leading, hand their proxies the same keys for a Gateway; a
//    `kubectl patch` rotation reaches both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { KubeClient } from '../control-plane/kube/client.ts';
import { RequestStateSecret } from '../control-plane/kube/request-state-secret.ts';
import { deriveGroupKey, sameKeys, type MasterKeys } from '../control-plane/request-state/keys.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import { createLogger } from '../shared/log.ts';
import { startFakeApiserver, type FakeApiserver } from './fixtures/fake-apiserver.ts';
import { startKubeCluster, type KubeCluster } from './support/kube-cluster.ts';
import { CLI, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const NAMESPACE = 'mcpmux-system';
const NAME = 'mcpmux-request-state';

interface Replica {
  secret: RequestStateSecret;
  keys: MasterKeys[];
  lines: string[];
}

function replica(api: FakeApiserver, leading: boolean): Replica {
  const keys: MasterKeys[] = [];
  const lines: string[] = [];
  const secret = new RequestStateSecret({
    client: new KubeClient(api.kubeConfig()),
    namespace: NAMESPACE,
    name: NAME,
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    onKeys: (k) => void keys.push(k),
    retryMs: 50,
  });
  secret.setLeading(leading);
  secret.start();
  return { secret, keys, lines };
}

const creates = (api: FakeApiserver): number => api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/secrets')).length;
const writes = (api: FakeApiserver): number => api.requests.filter((r) => r.method !== 'GET' && r.path.includes('/secrets')).length;
const stored = (api: FakeApiserver) => api.get('v1', 'Secret', NAMESPACE, NAME) as { data?: Record<string, string>; metadata: { resourceVersion?: string } } | undefined;

function secretYaml(data: Record<string, Buffer>): Parameters<FakeApiserver['apply']>[0] {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: NAME, namespace: NAMESPACE },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
  };
}

test('the leader creates the Secret once; a follower waits for it and reads the same keys; a new leader reuses it', async () => {
  const api = await startFakeApiserver();
  const replicas: Replica[] = [];
  try {
    const follower = replica(api, false);
    replicas.push(follower);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.is(creates(api), 0, 'a follower never creates it');
    assert.is(follower.keys.length, 0);
    const leader = replica(api, false);
    replicas.push(leader);
    leader.secret.setLeading(true); // wins the Lease later
    await until(() => leader.keys.length === 1 && follower.keys.length === 1, 'both replicas holding keys', 5000);
    assert.is(creates(api), 1, 'created once');
    assert.ok(sameKeys(leader.keys[0], follower.keys[0]), 'the same master keys on both replicas');
    assert.is(leader.keys[0]!.current.length, 32);
    assert.is(leader.keys[0]!.previous, undefined);
    const data = stored(api)!.data!;
    assert.equal(Object.keys(data), ['current']);
    assert.ok(Buffer.from(data.current!, 'base64').equals(leader.keys[0]!.current));

    // The leader steps down and another replica starts leading: it reads the Secret, creates nothing.
    await leader.secret.stop();
    const next = replica(api, true);
    replicas.push(next);
    await until(() => next.keys.length === 1, 'the new leader reading the keys', 5000);
    assert.ok(sameKeys(next.keys[0], follower.keys[0]));
    assert.is(creates(api), 1, 'still created once');
    for (const r of replicas) for (const line of r.lines) assert.not.ok(line.includes(data.current!), 'no key in a log line');
  } finally {
    await Promise.all(replicas.map((r) => r.secret.stop()));
    await api.stop();
  }
});

test('rotation: an operator moves current to previous and writes a new current; every replica gets it through its watch', async () => {
  const api = await startFakeApiserver();
  const old = Buffer.alloc(32, 1);
  api.apply(secretYaml({ current: old }));
  const a = replica(api, true);
  const b = replica(api, false);
  try {
    await until(() => a.keys.length === 1 && b.keys.length === 1, 'keys read', 5000);
    assert.is(creates(api), 0, 'an existing Secret is used as it is');
    const rotated = Buffer.alloc(40, 2);
    api.apply(secretYaml({ current: rotated, previous: old }));
    await until(() => a.keys.length === 2 && b.keys.length === 2, 'the rotation on both', 5000);
    for (const r of [a, b]) {
      assert.ok(r.keys[1]!.current.equals(rotated));
      assert.ok(r.keys[1]!.previous!.equals(old));
    }
    // A watch that breaks, or renews, misses nothing: the next read compares and finds nothing new.
    api.breakWatches();
    const newest = Buffer.alloc(32, 3);
    api.apply(secretYaml({ current: newest, previous: rotated }));
    await until(() => a.keys.length === 3 && b.keys.length === 3, 'a change after a broken watch', 10_000);
    assert.ok(a.keys[2]!.current.equals(newest));
    assert.is(writes(api), 0, 'the control plane never writes an existing Secret');
  } finally {
    await Promise.all([a.secret.stop(), b.secret.stop()]);
    await api.stop();
  }
});

test('an unusable Secret is reported, never written; the keys in use stay', async () => {
  const api = await startFakeApiserver();
  const good = Buffer.alloc(32, 5);
  api.apply(secretYaml({ current: good }));
  const leader = replica(api, true);
  try {
    await until(() => leader.keys.length === 1, 'keys read', 5000);
    api.apply(secretYaml({ current: Buffer.alloc(16, 6) }));
    await until(() => leader.lines.some((l) => l.includes('unusable')), 'the problem logged', 5000);
    assert.match(leader.lines.find((l) => l.includes('unusable'))!, /data\.current is 16 bytes/);
    api.apply(secretYaml({ previous: good }));
    await until(() => leader.lines.some((l) => l.includes('no data.current')), 'a Secret without current logged', 5000);
    assert.is(leader.keys.length, 1, 'the keys in use stay');
    assert.is(writes(api), 0, 'nothing written, not even by the leader');
  } finally {
    await leader.secret.stop();
    await api.stop();
  }
});

test('a deleted Secret: the leader makes a new one whose previous is the last current key, so tokens already out still open', async () => {
  const api = await startFakeApiserver();
  const old = Buffer.alloc(32, 9);
  api.apply(secretYaml({ current: old }));
  const leader = replica(api, true);
  const follower = replica(api, false);
  try {
    await until(() => leader.keys.length === 1 && follower.keys.length === 1, 'keys read', 5000);
    api.delete('v1', 'Secret', NAMESPACE, NAME);
    await until(() => leader.keys.length === 2 && follower.keys.length === 2, 'new keys on both', 5000);
    assert.is(creates(api), 1);
    assert.ok(leader.keys[1]!.previous!.equals(old));
    assert.not.ok(leader.keys[1]!.current.equals(old));
    assert.ok(sameKeys(leader.keys[1], follower.keys[1]));
  } finally {
    await Promise.all([leader.secret.stop(), follower.secret.stop()]);
    await api.stop();
  }
});

test('forbidden: the log names the RBAC the control plane needs, and it keeps trying', async () => {
  const api = await startFakeApiserver();
  api.failNext(2, { status: 403, method: 'GET', path: /\/secrets\// });
  const r = replica(api, true);
  try {
    await until(() => r.keys.length === 1, 'keys once allowed', 10_000);
    assert.ok(r.lines.some((l) => /RBAC: the control plane needs get and watch on Secret mcpmux-system\/mcpmux-request-state/.test(l)), r.lines.join('\n'));
  } finally {
    await r.secret.stop();
    await api.stop();
  }
});

// ---- A real kube-apiserver: two control planes through the CLI ----

let cluster: KubeCluster | undefined;
test.after(async () => {
  await cluster?.stop();
});

test('real kube-apiserver: the leader creates the Secret once, a second control plane reuses it; both give a Gateway\'s proxies the same keys; kubectl patch rotates', async () => {
  cluster = await startKubeCluster({ gatewayApi: true });
  await cluster.applyYaml(`apiVersion: v1
kind: Namespace
metadata: {name: ${NAMESPACE}}
---
apiVersion: v1
kind: Namespace
metadata: {name: keys}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: keys}
spec:
  gatewayClassName: mcpmux
  listeners:
  - {name: http, port: 80, protocol: HTTP}
`);
  const processes: Managed[] = [];
  const clients: ConfigClient[] = [];
  try {
    const planes: Array<{ grpc: number; process: Managed }> = [];
    for (const identity of ['cp-a', 'cp-b']) {
      const [grpc, http] = [await freePort(), await freePort()];
      const process = startNode(identity, [
        CLI, 'control-plane', '--source', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--identity', identity,
        '--leader-election-namespace', NAMESPACE, '--lease-duration', '4', '--no-provision', '--no-write-status',
        '--grpc-port', String(grpc), '--http-port', String(http),
      ], { MCPMUX_LOG_LEVEL: 'info' });
      processes.push(process);
      planes.push({ grpc, process });
      await waitForHttpOk(`http://127.0.0.1:${http}/readyz`, 30_000);
    }
    const secret = async (): Promise<{ data: Record<string, string>; metadata: { resourceVersion: string } } | undefined> => {
      const got = await cluster!.kubectl(['get', 'secret', NAME, '-n', NAMESPACE, '-o', 'json']);
      return got.code === 0 ? JSON.parse(got.stdout) : undefined;
    };
    await until(async () => (await secret()) !== undefined, 'the Secret created by the leader', 30_000);
    const created = (await secret())!;
    const master = Buffer.from(created.data.current!, 'base64');
    assert.is(master.length, 32);
    await Promise.all(planes.map((p) => p.process.waitFor(/requestState master keys read from their Secret/, 20_000)));
    const said = planes.map((p) => /created their Secret/.test(p.process.output()));
    assert.equal(said.filter(Boolean).length, 1, 'exactly one control plane (the leader) created it');

    // A proxy of the Gateway on each control plane: the same keys, derived from that master key.
    const received: Array<Array<{ current: Buffer; previous: Buffer | undefined }>> = [];
    for (const [i, plane] of planes.entries()) {
      const keys: Array<{ current: Buffer; previous: Buffer | undefined }> = [];
      received.push(keys);
      const client = new ConfigClient({
        controlPlane: `127.0.0.1:${plane.grpc}`, nodeId: `proxy-${i}`, group: 'keys/gw', logger, apply: () => {},
        applyRequestStateKeys: (k) => void keys.push({ current: Buffer.from(k.current), previous: k.previous && Buffer.from(k.previous) }),
      });
      clients.push(client);
      client.start();
    }
    await until(() => received.every((k) => k.length >= 1), 'keys on both proxies', 20_000);
    const expected = deriveGroupKey(master, 'keys/gw');
    for (const keys of received) assert.ok(keys[0]!.current.equals(expected), 'the same Gateway key from either control plane');

    // Rotation, as docs/security.md gives it: current moves to previous, a new current.
    const fresh = Buffer.alloc(32, 0x42).toString('base64');
    const patched = await cluster.kubectl(['patch', 'secret', NAME, '-n', NAMESPACE, '--type', 'merge', '-p', JSON.stringify({ data: { previous: created.data.current, current: fresh } })]);
    assert.is(patched.code, 0, patched.stderr);
    await until(() => received.every((k) => k.length >= 2), 'the rotation on both proxies', 20_000);
    for (const keys of received) {
      assert.ok(keys.at(-1)!.current.equals(deriveGroupKey(Buffer.from(fresh, 'base64'), 'keys/gw')));
      assert.ok(keys.at(-1)!.previous!.equals(expected));
    }
    for (const p of planes) {
      assert.not.match(p.process.output(), /forbidden|\b403\b/i);
      for (const spelling of [created.data.current!, fresh]) assert.not.ok(p.process.output().includes(spelling), 'no key in the logs');
    }
  } finally {
    for (const client of clients) client.close();
    await Promise.all(processes.map((p) => p.stop()));
  }
});

test.run();
