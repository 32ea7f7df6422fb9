import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Snapshot, Target } from '../../shared/config/types.ts';
import { sealSnapshot } from '../../shared/config/version.ts';
import { listenerSnapshot } from '../../shared/testing/snapshots.ts';
import { createLogger } from '../../shared/log.ts';
import { serviceDefinition } from '../../shared/proto/load.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../../shared/proto/messages.ts';
import { startGrpcServer, stopGrpcServer } from '../grpc/server.ts';
import { SnapshotCache } from '../snapshots/cache.ts';
import { emptyState, reduceAll, type StateChange } from '../state/reducer.ts';
import { appLabel, endpointSlice, namespaceName, service, syntheticCluster, type SyntheticSize } from '../translate/synthetic-cluster.ts';
import { translate, TranslateCache } from '../translate/translate.ts';
import { discoveryResponseSerializer, ENCODED_SNAPSHOT, encodeResponse, encodeSnapshotResponse, keysResponse, SnapshotEncoder } from './encode.ts';
import { ProxyRegistry } from './proxies.ts';
import { DiscoveryServer } from './server.ts';

const method = serviceDefinition('DiscoveryService').StreamSnapshots!;
const plainSerialize = method.responseSerialize as (value: DiscoveryResponse) => Buffer;
/** The responses decoded here carry a snapshot (a keys-only one's null is asserted where it is made). */
type WithSnapshot = DiscoveryResponse & { snapshot: Snapshot };
const deserialize = method.responseDeserialize as (bytes: Buffer) => WithSnapshot;

function target(name: string, port: number): Target {
  return {
    backend: 'ns/b',
    name,
    endpoints: [{ address: '10.0.0.1', port, ready: true }],
    path: '/mcp',
    protocol: 'PROTOCOL_STREAMABLE_HTTP',
    scheme: 'http',
    timeouts: { requestMs: 0, initializeMs: 0 },
    authSecret: '',
    source: 'Service ns/x',
    stdio: null,
    protocolEra: 'PROTOCOL_ERA_AUTO',
  };
}

function snapshot(port: number): Snapshot {
  return listenerSnapshot('ns/gw', 80, { targets: [target('a', port), target('ünïcode-ok', port + 1)], secrets: [{ name: 'ns/creds', data: { token: 's3cret' } }] });
}

test('the shared encoding decodes to exactly what the plain encoding does', () => {
  const encoder = new SnapshotEncoder();
  const serialize = discoveryResponseSerializer();
  const s = snapshot(8000);
  const shared = serialize(encoder.response(s, '42'));
  const plain = plainSerialize({ versionInfo: s.version, nonce: '42', snapshot: s });
  assert.equal(deserialize(shared), deserialize(plain));
  assert.is(deserialize(shared).versionInfo, s.version);
  assert.is(deserialize(shared).nonce, '42');
  // Lengths past one varint byte, multi-byte UTF-8, and empty fields (omitted, as proto3 does).
  for (const [version, nonce] of [['v'.repeat(300), 'ñ'.repeat(200)], ['', ''], [s.version, '']]) {
    const bytes = serialize({ ...encoder.response(s, nonce!), versionInfo: version! });
    assert.equal(deserialize(bytes), deserialize(plainSerialize({ versionInfo: version!, nonce: nonce!, snapshot: s })));
  }
});

/** Our encoding of `{snapshot}` must be proto-loader's, byte for byte (and so decode the same). */
function assertSameEncoding(s: Snapshot, message: string): void {
  const ours = encodeSnapshotResponse(s);
  const plain = plainSerialize({ snapshot: s } as DiscoveryResponse);
  assert.equal(deserialize(ours), deserialize(plain), `${message}: decodes the same`);
  assert.ok(ours.equals(plain), `${message}: the same bytes (${ours.length} and ${plain.length} bytes)`);
}

const SMALL: SyntheticSize = { services: 240, backends: 40, namespaces: 4, endpointsPerService: 2 };
const upsert = (object: StateChange['object']): StateChange => ({ type: 'upsert', object });

test('a translated snapshot, encoded from its members, is what proto-loader encodes; so is every version after events', () => {
  let state = reduceAll(emptyState(), syntheticCluster(SMALL).map(upsert));
  const encoder = new SnapshotEncoder();
  const translateCache = new TranslateCache();
  const events: StateChange[][] = [
    [],
    [upsert(endpointSlice(namespaceName(1), 3, 1, 2, 1))], // one target changes, its backend does not
    [upsert(service(namespaceName(1), 4, appLabel(7), '2'))], // a Service moves: two backends change
    [upsert(service(namespaceName(2), 5, appLabel(5), '2', { 'mcpmux.dev/target-name': 'renamed' }))],
    [upsert(service(namespaceName(0), 0, appLabel(0), '2', { 'mcpmux.dev/path': '/ünïcode/😀' }))], // the platform backend, a string left to proto-loader
    [upsert(endpointSlice(namespaceName(0), 10, 0, 300, 0))], // a target with 300 endpoints (message lengths past two bytes)
  ];
  for (const [i, batch] of events.entries()) {
    state = reduceAll(state, batch);
    const [snapshot] = translate(state, { gatewayClasses: ['mcpmux'] }, translateCache).snapshots;
    assertSameEncoding(snapshot!, `after event ${i}`);
    const bytes = encoder.encode(snapshot!);
    assert.ok(bytes.equals(plainSerialize({ snapshot: snapshot! } as DiscoveryResponse)), `event ${i} through the encoder`);
    // The same content as plain, unfrozen objects: nothing kept applies, the same bytes.
    assert.ok(encodeSnapshotResponse(structuredClone(snapshot!)).equals(bytes), `event ${i}, unsealed copy`);
  }
});

test('odd snapshots: stdio targets, secrets, server info, targets of no backend, interleaved runs, wrong types: the same bytes as proto-loader', () => {
  const base = snapshot(8000);
  const backend = (name: string, over: Record<string, unknown> = {}): Snapshot['backends'][number] => ({
    name, prefixMode: 'PREFIX_MODE_ALWAYS', failureMode: 'FAILURE_MODE_CLOSED', targets: ['a', ''], toolInclude: ['x*'], toolExclude: [],
    serverInfo: null, instructions: '', ...over,
  }) as Snapshot['backends'][number];
  const t = (name: string, backendName: string, over: Record<string, unknown> = {}): Target => ({ ...target(name, 9000), backend: backendName, ...over }) as Target;
  const long = 'l'.repeat(20_000);
  const cases: Array<[string, Partial<Snapshot>]> = [
    ['every kind of member', {
      routes: [{ name: 'ns/r/0/0', listeners: ['http', 'https'], pathPrefix: '/mcp', backend: 'ns/b', hostnames: [] }],
      backends: [backend('ns/b', { serverInfo: { name: 'srv', version: '' } }), backend('ns/c', { instructions: long })],
      targets: [t('a', 'ns/b'), t('b', 'ns/b', { stdio: { command: 'npx', args: ['-y', 'pkg'], env: { B: '1', A: '2' }, cwd: '' }, protocol: 'PROTOCOL_STDIO', endpoints: [] }), t('c', 'ns/c')],
      policies: [{ name: 'p', backends: ['ns/b'], authentication: { jwt: [{ issuer: 'https://idp.example', audiences: ['mcp'], jwksUri: '', jwksJson: '{"keys":[]}' }], apiKeys: [{ principal: 'ci', sha256: 'ab'.repeat(32) }] }, authorization: { rules: [{ name: 'r', effect: 'deny', subjects: ['a'], groups: [], scopes: ['s'], tools: ['x_*'], targets: [] }] } }],
      secrets: [{ name: 'ns/creds', data: { token: 's3cret', other: '' } }],
    }],
    ['targets of no backend, runs interleaved, two backends of one name', {
      backends: [backend('ns/b'), backend('ns/b', { instructions: 'second' })],
      targets: [t('a', 'ns/b'), t('b', 'ns/zzz'), t('c', 'ns/b'), t('d', 'ns/b')],
    }],
    ['empty strings, zeros, false, no endpoints, no timeouts, empty lists', {
      listeners: [{ name: '', port: 0, protocol: '', hostnames: [], certificateSecrets: [] }],
      backends: [backend('', { targets: [], toolInclude: [], prefixMode: 'PREFIX_MODE_UNSPECIFIED' })],
      targets: [t('', '', { endpoints: [{ address: '', port: 0, ready: false }], timeouts: null, path: '', scheme: '', source: '' })],
    }],
    ['unicode, surrogate pairs and a lone surrogate, long names', {
      listeners: [{ name: 'ñ'.repeat(100), port: 65535, protocol: 'HTTP', hostnames: ['😀.example.com', 'x'.repeat(200)], certificateSecrets: [] }],
      targets: [t('ünï', 'ns/b', { path: '/😀/x' }), t('lone', 'ns/b', { source: 'a\ud800b' }), t('lone-short', 'ns/b', { path: '\udc00' })],
      backends: [backend('ns/b')],
    }],
    ['every protocol era, on every protocol; absent, unknown and numeric eras', {
      backends: [backend('ns/b'), backend('ns/c')],
      targets: [
        t('auto', 'ns/b', { protocolEra: 'PROTOCOL_ERA_AUTO' }),
        t('legacy', 'ns/b', { protocolEra: 'PROTOCOL_ERA_LEGACY' }),
        t('modern', 'ns/b', { protocolEra: 'PROTOCOL_ERA_MODERN' }),
        t('unspecified', 'ns/b', { protocolEra: 'PROTOCOL_ERA_UNSPECIFIED' }),
        t('sse', 'ns/b', { protocol: 'PROTOCOL_SSE', protocolEra: 'PROTOCOL_ERA_LEGACY' }),
        t('stdio', 'ns/b', { stdio: { command: 'srv', args: [], env: {}, cwd: '' }, protocol: 'PROTOCOL_STDIO', endpoints: [], protocolEra: 'PROTOCOL_ERA_LEGACY' }),
        t('absent', 'ns/c', { protocolEra: undefined }),
        t('null', 'ns/c', { protocolEra: null }),
        t('unknown', 'ns/c', { protocolEra: 'PROTOCOL_ERA_FUTURE' }),
        t('numeric', 'ns/c', { protocolEra: 3 }),
      ],
    }],
    ['HTTPS listeners naming their certificate Secrets, routes with hostnames, listeners sharing a port', {
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] },
        { name: 'https', port: 443, protocol: 'HTTPS', hostnames: ['mcp.example.test'], certificateSecrets: ['tls/ns/mcp-cert', 'tls/ns/mcp-ecdsa'] },
        { name: 'wild', port: 443, protocol: 'HTTPS', hostnames: ['*.example.test'], certificateSecrets: [] },
      ],
      routes: [
        { name: 'ns/r/0/0', listeners: ['http', 'https'], pathPrefix: '/mcp', backend: 'ns/b', hostnames: ['mcp.example.test', '*.a.example.test'] },
        { name: 'ns/r/1/0', listeners: ['wild'], pathPrefix: '/', backend: 'ns/b', hostnames: [] },
      ],
      backends: [backend('ns/b')],
      targets: [t('a', 'ns/b')],
      secrets: [{ name: 'tls/ns/mcp-cert', data: { 'tls.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', 'tls.key': 'k' } }],
    }],
    ['values of other types than the model gives, which proto-loader converts', {
      listeners: [{ name: 'http', port: '80', protocol: 'HTTP', hostnames: [] } as unknown as Snapshot['listeners'][number]],
      backends: [backend('ns/b', { prefixMode: 2, serverInfo: { name: 'n' } }), backend('ns/c', { failureMode: 'NOT_A_MODE' }), backend('ns/d', { toolExclude: ['a', 7] })],
      targets: [
        t('a', 'ns/b', { protocol: 1, extra: 'ignored' }),
        t('b', 'ns/b', { timeouts: { requestMs: 4_294_967_295, initializeMs: 4_294_967_296 } }),
        t('c', 'ns/b', { endpoints: [{ address: '10.0.0.1', port: -1, ready: 1 }], name: undefined }),
      ],
    }],
  ];
  for (const [name, over] of cases) {
    const plain = { ...base, ...over } as Snapshot;
    assertSameEncoding(plain, `${name} (plain objects)`);
    assertSameEncoding(sealSnapshot(structuredClone(plain)), `${name} (sealed)`);
    assertSameEncoding(sealSnapshot(structuredClone(plain)), `${name} (sealed, again)`);
  }
});

test('listener certificate Secrets and route hostnames reach a proxy as sent; an older snapshot without them decodes as none', () => {
  const s = sealSnapshot({
    ...snapshot(8000),
    listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', hostnames: ['mcp.example.test'], certificateSecrets: ['tls/ns/cert'] }],
    routes: [{ name: 'ns/r/0/0', listeners: ['https'], pathPrefix: '/mcp', backend: 'ns/b', hostnames: ['mcp.example.test'] }],
  });
  const decoded = deserialize(encodeSnapshotResponse(s)).snapshot;
  assert.equal(decoded.listeners[0]!.certificateSecrets, ['tls/ns/cert']);
  assert.equal(decoded.routes[0]!.hostnames, ['mcp.example.test']);
  // As an older control plane encodes them: no listener field 5, no route field 5.
  const older = plainSerialize({ snapshot: { ...s, listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [] }], routes: [{ name: 'r', listeners: ['http'], pathPrefix: '/mcp', backend: 'ns/b' }] } } as unknown as DiscoveryResponse);
  assert.equal(deserialize(older).snapshot.listeners[0]!.certificateSecrets, []);
  assert.equal(deserialize(older).snapshot.routes[0]!.hostnames, []);
});

test('the protocol era reaches a proxy as it was sent; a snapshot without one decodes as UNSPECIFIED (auto)', () => {
  for (const era of ['PROTOCOL_ERA_AUTO', 'PROTOCOL_ERA_LEGACY', 'PROTOCOL_ERA_MODERN'] as const) {
    const s = sealSnapshot({ ...snapshot(8000), targets: [{ ...target('a', 8000), protocolEra: era }] });
    assert.is(deserialize(encodeSnapshotResponse(s)).snapshot.targets[0]!.protocolEra, era);
  }
  // As an older control plane encodes a target: no field 12.
  const { protocolEra: _, ...older } = target('a', 8000);
  const bytes = plainSerialize({ snapshot: { ...snapshot(8000), targets: [older] } } as unknown as DiscoveryResponse);
  assert.is(deserialize(bytes).snapshot.targets[0]!.protocolEra, 'PROTOCOL_ERA_UNSPECIFIED');
});

test('each snapshot is encoded once, whatever the number of responses', () => {
  const encoder = new SnapshotEncoder();
  const s = snapshot(8000);
  const first = encoder.response(s, '1');
  const second = encoder.response(s, '2');
  assert.is(encoder.encode(s), encoder.encode(s), 'the same bytes');
  assert.is(first[ENCODED_SNAPSHOT], second[ENCODED_SNAPSHOT], 'both responses carry the one encoding');
  assert.is.not(encoder.encode(snapshot(9000)), encoder.encode(s), 'another version, other bytes');
});

test('responses without a shared encoding, and proto-loader serializing ours, both still work', () => {
  const serialize = discoveryResponseSerializer();
  const s = snapshot(8000);
  const plain = { versionInfo: s.version, nonce: '7', snapshot: s };
  assert.equal(deserialize(serialize(plain)), deserialize(plainSerialize(plain)));
  // proto-loader's own serializer, given one of our responses, ignores the extra symbol key.
  assert.equal(deserialize(plainSerialize(new SnapshotEncoder().response(s, '7'))).snapshot.version, s.version);
});

test('requestState keys: field 4 after the shared snapshot bytes, per response; the same bytes as proto-loader; never inside the snapshot part', () => {
  const encoder = new SnapshotEncoder();
  const serialize = discoveryResponseSerializer();
  const s = snapshot(8000);
  const a = { current: Buffer.alloc(32, 0xa1) };
  const b = { current: Buffer.alloc(32, 0xb2), previous: Buffer.alloc(32, 0xc3) };
  for (const [name, keys] of [['current only', a], ['current and previous', b], ['an empty previous (as protobufjs writes it)', { current: a.current, previous: Buffer.alloc(0) }]] as const) {
    const ours = serialize(encoder.response(s, '42', keys));
    const plain = plainSerialize({ versionInfo: s.version, nonce: '42', snapshot: s, requestStateKeys: keys });
    assert.ok(ours.equals(plain), `${name}: the same bytes as proto-loader (${ours.length} and ${plain.length})`);
    const decoded = deserialize(ours);
    assert.ok(Buffer.from(decoded.requestStateKeys!.current).equals(keys.current), name);
    assert.is(decoded.snapshot.version, s.version);
  }
  // The snapshot part, shared by every stream of a version, is the same whoever gets which keys.
  const first = encoder.response(s, '1', a);
  const second = encoder.response(s, '2', b);
  assert.is(first[ENCODED_SNAPSHOT], second[ENCODED_SNAPSHOT]);
  assert.is(first[ENCODED_SNAPSHOT], encoder.encode(s));
  for (const key of [a.current, b.current, b.previous]) assert.is(encoder.encode(s).indexOf(key), -1, 'no key inside the snapshot bytes');
  // Without keys, nothing of field 4.
  assert.is(deserialize(serialize(encoder.response(s, '3'))).requestStateKeys, null);
  // Lengths past one varint byte in the other fields do not move the keys.
  assert.ok(encodeResponse('v'.repeat(300), 'ñ'.repeat(100), encoder.encode(s), b).equals(plainSerialize({ versionInfo: 'v'.repeat(300), nonce: 'ñ'.repeat(100), snapshot: s, requestStateKeys: b })));
});

test('a keys-only response: no snapshot, the version the proxy serves; the same bytes as proto-loader', () => {
  const serialize = discoveryResponseSerializer();
  const keys = { current: Buffer.alloc(32, 1), previous: Buffer.alloc(32, 2) };
  const ours = serialize(keysResponse('abc123', '9', keys));
  assert.ok(ours.equals(plainSerialize({ versionInfo: 'abc123', nonce: '9', requestStateKeys: keys } as unknown as DiscoveryResponse)));
  const decoded = deserialize(ours);
  assert.is(decoded.snapshot, null);
  assert.is(decoded.versionInfo, 'abc123');
  assert.ok(Buffer.from(decoded.requestStateKeys!.previous!).equals(keys.previous));
  // A proxy that has accepted nothing yet: an empty version, still decodable.
  assert.is(deserialize(serialize(keysResponse('', '1', keys))).versionInfo, '');
});

test('over gRPC: the service definition streams the shared encoding; every stream gets its own nonce and ACKs', async () => {
  const cache = new SnapshotCache();
  const proxies = new ProxyRegistry();
  const logger = createLogger('test', { level: 'silent' });
  const discovery = new DiscoveryServer({ cache, proxies, logger });
  const { server, port } = await startGrpcServer({ address: '127.0.0.1', port: 0, discovery: discovery.service(), admin: {} });
  const v1 = snapshot(8000);
  const v2 = snapshot(8001);
  cache.setAll([v1], 1);
  const clients: grpc.Client[] = [];
  const received: WithSnapshot[][] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      clients.push(client);
      const stream = client.makeBidiStreamRequest<DiscoveryRequest, WithSnapshot>(method.path, method.requestSerialize as (v: DiscoveryRequest) => Buffer, deserialize);
      const mine: WithSnapshot[] = [];
      received.push(mine);
      const id = `p${i}`;
      stream.on('data', (r: WithSnapshot) => {
        mine.push(r);
        stream.write({ node: { id, metadata: {} }, group: '', versionInfo: r.versionInfo, responseNonce: r.nonce, errorDetail: null });
      });
      stream.on('error', () => {});
      stream.write({ node: { id, metadata: {} }, group: '', versionInfo: '', responseNonce: '', errorDetail: null });
    }
    const acked = (version: string): boolean => [0, 1, 2].every((i) => proxies.get(`p${i}`)?.ackedVersion === version);
    const deadline = Date.now() + 5000;
    while (!acked(v1.version) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    cache.setAll([v2], 2);
    while (!acked(v2.version) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(acked(v2.version), 'every stream ACKed both versions');
    for (const mine of received) {
      assert.equal(mine.map((r) => r.versionInfo), [v1.version, v2.version]);
      assert.equal(mine.map((r) => r.snapshot.version), [v1.version, v2.version]);
      assert.equal(mine[1]!.snapshot.targets[1]!.name, 'ünïcode-ok');
      assert.is.not(mine[0]!.nonce, mine[1]!.nonce);
    }
    assert.equal(proxies.list().map((p) => p.nodeId), ['p0', 'p1', 'p2']);
  } finally {
    for (const client of clients) client.close();
    await stopGrpcServer(server, 500);
  }
});

test.run();
