import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { listenerSnapshot } from '../shared/testing/snapshots.ts';
import type { Snapshot } from '../shared/config/types.ts';
import { createLogger } from '../shared/log.ts';
import { serviceClient } from '../shared/proto/load.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../shared/proto/messages.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import { SnapshotCache } from '../control-plane/snapshots/cache.ts';
import { startGrpcServer, stopGrpcServer } from '../control-plane/grpc/server.ts';
import { DiscoveryServer } from '../control-plane/discovery/server.ts';
import { ProxyRegistry } from '../control-plane/discovery/proxies.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

const snapshot = (group: string, port: number): Snapshot => listenerSnapshot(group, port);

async function startControlPlane(port = 0) {
  const cache = new SnapshotCache();
  const proxies = new ProxyRegistry();
  const pushes: string[] = [];
  const discovery = new DiscoveryServer({ cache, proxies, logger, callbacks: { onPush: (_n, _g, v) => pushes.push(v) } });
  const { server, port: bound } = await startGrpcServer({ address: '127.0.0.1', port, discovery: discovery.service(), admin: {} });
  return { cache, proxies, pushes, server, port: bound, address: `127.0.0.1:${bound}` };
}

async function untilLocal(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a proxy receives the snapshot and ACKs it', async () => {
  const cp = await startControlPlane();
  const v1 = snapshot('ns/gw', 80);
  cp.cache.setAll([v1], 1);
  const applied: string[] = [];
  const client = new ConfigClient({ controlPlane: cp.address, nodeId: 'p1', group: '', logger, apply: (s) => void applied.push(s.version) });
  client.start();
  try {
    await client.firstApplied;
    await untilLocal(() => cp.proxies.get('p1')?.ackedVersion === v1.version, 'ACK');
    assert.equal(applied, [v1.version]);
    assert.is(cp.proxies.get('p1')?.group, 'ns/gw');
    assert.ok(cp.proxies.get('p1')?.connected);
  } finally {
    client.close();
    await stopGrpcServer(cp.server);
  }
});

test('a NACKed version keeps the last good one, is recorded, and is never re-sent', async () => {
  const cp = await startControlPlane();
  const good = snapshot('ns/gw', 80);
  const bad = snapshot('ns/gw', 81);
  const next = snapshot('ns/gw', 82);
  cp.cache.setAll([good], 1);
  const client = new ConfigClient({
    controlPlane: cp.address,
    nodeId: 'p1',
    group: 'ns/gw',
    logger,
    apply: (s) => {
      if (s.version === bad.version) throw new Error('target "x" has an invalid URL');
    },
  });
  client.start();
  try {
    await client.firstApplied;
    await untilLocal(() => cp.proxies.get('p1')?.ackedVersion === good.version, 'first ACK');
    cp.cache.setAll([bad], 2);
    await untilLocal(() => cp.proxies.get('p1')?.lastNackVersion === bad.version, 'NACK');
    const state = cp.proxies.get('p1')!;
    assert.is(state.ackedVersion, good.version);
    assert.match(state.lastNackError, /MCPMUX_CONFIG_INVALID: target "x" has an invalid URL/);
    assert.is(client.state.version, good.version);
    await new Promise((r) => setTimeout(r, 100));
    assert.is(cp.pushes.filter((v) => v === bad.version).length, 1, 'the NACKed version was sent once only');
    cp.cache.setAll([next], 3);
    await untilLocal(() => cp.proxies.get('p1')?.ackedVersion === next.version, 'ACK of the next version');
  } finally {
    client.close();
    await stopGrpcServer(cp.server);
  }
});

type RawStream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
function rawStream(address: string): { stream: RawStream; responses: DiscoveryResponse[]; close(): void } {
  const Client = serviceClient('DiscoveryService');
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { StreamSnapshots(): RawStream };
  const stream = client.StreamSnapshots();
  const responses: DiscoveryResponse[] = [];
  stream.on('data', (r: DiscoveryResponse) => responses.push(r));
  stream.on('error', () => {});
  return { stream, responses, close: () => (stream.cancel(), client.close()) };
}
const request = (fields: Partial<DiscoveryRequest>): DiscoveryRequest => ({
  node: { id: 'raw', metadata: {} },
  group: 'ns/gw',
  versionInfo: '',
  responseNonce: '',
  errorDetail: null,
  ...fields,
});

test('stale nonces are ignored and one response is in flight per stream', async () => {
  const cp = await startControlPlane();
  const v1 = snapshot('ns/gw', 80);
  const v2 = snapshot('ns/gw', 81);
  const v3 = snapshot('ns/gw', 82);
  cp.cache.setAll([v1], 1);
  const raw = rawStream(cp.address);
  try {
    raw.stream.write(request({}));
    await untilLocal(() => raw.responses.length === 1, 'first response');
    // Two changes while the first response is unanswered: nothing more is sent yet.
    cp.cache.setAll([v2], 2);
    cp.cache.setAll([v3], 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.is(raw.responses.length, 1);
    raw.stream.write(request({ versionInfo: v1.version, responseNonce: 'not-a-nonce' }));
    await new Promise((r) => setTimeout(r, 100));
    assert.is(raw.responses.length, 1, 'a stale nonce does not count as an ACK');
    assert.is(cp.proxies.get('raw')?.ackedVersion, '');
    raw.stream.write(request({ versionInfo: v1.version, responseNonce: raw.responses[0]!.nonce }));
    await untilLocal(() => raw.responses.length === 2, 'second response');
    assert.is(raw.responses[1]!.versionInfo, v3.version, 'the latest version is sent, not every intermediate one');
    assert.is.not(raw.responses[1]!.nonce, raw.responses[0]!.nonce);
    assert.is(cp.proxies.get('raw')?.ackedVersion, v1.version);
  } finally {
    raw.close();
    await stopGrpcServer(cp.server);
  }
});

test('a proxy asking for no group is refused when several gateways exist', async () => {
  const cp = await startControlPlane();
  cp.cache.setAll([snapshot('a/one', 80), snapshot('b/two', 80)], 1);
  const raw = rawStream(cp.address);
  try {
    const status = new Promise<grpc.StatusObject>((resolve) => raw.stream.on('status', resolve));
    raw.stream.write(request({ group: '' }));
    const { code, details } = await status;
    assert.is(code, grpc.status.FAILED_PRECONDITION);
    assert.match(details, /several gateways exist \(a\/one, b\/two\).*--gateway/);
  } finally {
    raw.close();
    await stopGrpcServer(cp.server);
  }
});

test('the proxy keeps its snapshot while the control plane is down and reconverges within 2 s', async () => {
  let cp = await startControlPlane();
  const v1 = snapshot('ns/gw', 80);
  cp.cache.setAll([v1], 1);
  const applied: string[] = [];
  const client = new ConfigClient({ controlPlane: cp.address, nodeId: 'p1', group: 'ns/gw', logger, apply: (s) => void applied.push(s.version) });
  client.start();
  try {
    await client.firstApplied;
    const port = cp.port;
    await stopGrpcServer(cp.server, 0);
    await untilLocal(() => !client.state.connected, 'disconnect');
    assert.is(client.state.version, v1.version, 'still serving the last snapshot');
    const v2 = snapshot('ns/gw', 81);
    cp = await startControlPlane(port);
    cp.cache.setAll([v2], 1);
    const restarted = Date.now();
    await untilLocal(() => cp.proxies.get('p1')?.ackedVersion === v2.version, 'ACK after restart', 2000);
    assert.ok(Date.now() - restarted < 2000);
    assert.equal(applied, [v1.version, v2.version]);
    assert.ok(client.state.connected);
    assert.is(client.state.lastError, '');
  } finally {
    client.close();
    await stopGrpcServer(cp.server);
  }
});

test('a proxy already at the current version learns it is connected without a push', async () => {
  const cp = await startControlPlane();
  const v1 = snapshot('ns/gw', 80);
  cp.cache.setAll([v1], 1);
  const first = new ConfigClient({ controlPlane: cp.address, nodeId: 'p1', group: 'ns/gw', logger, apply: () => {} });
  first.start();
  try {
    await first.firstApplied;
    const port = cp.port;
    await stopGrpcServer(cp.server, 0);
    await untilLocal(() => !first.state.connected, 'disconnect');
    const again = await startControlPlane(port);
    again.cache.setAll([v1], 1);
    await untilLocal(() => first.state.connected, 'the client to see the stream accepted', 3000);
    assert.is(again.pushes.length, 0, 'nothing to push: the proxy is current');
    assert.is(again.proxies.get('p1')?.ackedVersion, v1.version);
    first.close();
    await stopGrpcServer(again.server);
  } finally {
    first.close();
  }
});

test('a reconnect is not undone when the old stream ends after it; a proxy gone for the grace period is forgotten', async () => {
  let now = 1_000_000;
  const cache = new SnapshotCache();
  const proxies = new ProxyRegistry({ now: () => now, disconnectedTtlMs: 60_000 });
  const lines: string[] = [];
  const recording = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const discovery = new DiscoveryServer({ cache, proxies, logger: recording });
  const { server, port } = await startGrpcServer({ address: '127.0.0.1', port: 0, discovery: discovery.service(), admin: {} });
  const address = `127.0.0.1:${port}`;
  const v1 = snapshot('ns/gw', 80);
  cache.setAll([v1], 1);
  const disconnects = () => lines.filter((l) => /proxy disconnected|an older stream of the proxy ended/.test(l)).length;
  const old = rawStream(address);
  const fresh = rawStream(address);
  try {
    // The proxy's first stream is half-dead (the proxy gave up on it and reconnected): the new stream
    // connects, then the old one's end reaches the control plane.
    old.stream.write(request({ node: { id: 'p1', metadata: {} } }));
    await untilLocal(() => old.responses.length === 1, 'the old stream\'s push');
    fresh.stream.write(request({ node: { id: 'p1', metadata: {} } }));
    await untilLocal(() => fresh.responses.length === 1, 'the new stream\'s push');
    old.close();
    await untilLocal(() => disconnects() === 1, 'the old stream\'s end seen');
    assert.is(proxies.get('p1')?.connected, true, 'the proxy is connected: its live stream is the new one');
    // A late ACK on the old stream would not count either; the new stream's does.
    fresh.stream.write(request({ node: { id: 'p1', metadata: {} }, versionInfo: v1.version, responseNonce: fresh.responses[0]!.nonce }));
    await untilLocal(() => proxies.get('p1')?.ackedVersion === v1.version, 'the ACK on the live stream');
    assert.ok(proxies.converged('ns/gw', v1.version));

    fresh.close();
    await untilLocal(() => proxies.get('p1')?.connected === false, 'the proxy disconnected');
    assert.ok(!proxies.converged('ns/gw', v1.version), 'no connected proxy: nothing converged');
    now += 59_000;
    assert.equal(proxies.list().map((p) => `${p.nodeId} ${p.connected}`), ['p1 false'], 'kept (disconnected) during the grace period');
    now += 2_000;
    assert.equal(proxies.list(), [], 'forgotten after it');
    assert.is(proxies.get('p1'), undefined);
  } finally {
    old.close();
    fresh.close();
    await stopGrpcServer(server);
  }
});

test.run();
