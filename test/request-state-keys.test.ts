// requestState keys from the control plane to its proxies (docs/security.md, "requestState keys"):
//  - in process, over real gRPC: the keys arrive before the first snapshot, derived per Gateway
//    exactly as the proxy derives them; a rotation of the master key file reaches the proxy as a
//    response of its own, while the snapshot, its version and every admin answer stay byte for byte
//    the same and carry no key;
//  - over this machine's non-loopback address (when it has one): a plaintext stream gets no keys,
//    an mTLS stream does;
//  - through the CLI: a control plane, two proxies on loopback and the 2026-07-28 demo server: a
//    multi round-trip request answered by proxy A (its requestState sealed there) completes on
//    proxy B; a proxy given --request-state-key-file keeps its own keys (and refuses A's token);
//    no process prints a key.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startControlPlane, type RunningControlPlane } from '../control-plane/control-plane.ts';
import { deriveGroupKey } from '../control-plane/request-state/keys.ts';
import { FilesSource } from '../control-plane/sources/files.ts';
import { startModernDemo, type ModernDemo } from '../deploy/examples/modern-demo/server.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import { deriveGatewayKey } from '../proxy/modern/request-state.ts';
import { createLogger } from '../shared/log.ts';
import type { TlsMaterial } from '../shared/net/tls.ts';
import { serviceDefinition } from '../shared/proto/load.ts';
import { gatewayAndRoute } from './support/manifests.ts';
import { CLI, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const GROUP = 'keys/gw';
const MODERN = '2026-07-28';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-rs-keys-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function manifests(host: string, port: number): string {
  return `${gatewayAndRoute({ namespace: 'keys', gateway: 'gw', route: 'mcp', backend: 'demo' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: demo, namespace: keys}
spec:
  targets:
  - static: {name: modern, host: ${host}, port: ${port}, path: /mcp}
`;
}

const key = (byte: number): Buffer => Buffer.alloc(32, byte);
const keyFile = (...keys: Buffer[]): string => keys.map((k) => k.toString('base64')).join('\n') + '\n';

async function controlPlaneOn(dir: string, options: { address?: string; tls?: TlsMaterial; keyFile?: string; logger?: typeof logger } = {}): Promise<RunningControlPlane> {
  return startControlPlane({
    source: new FilesSource({ dir, logger }),
    gatewayClasses: ['mcpmux'],
    address: options.address ?? '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    eventLogRetention: 100,
    logger: options.logger ?? logger,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.keyFile ? { requestStateKeyFile: options.keyFile } : {}),
  });
}

interface Received {
  events: string[];
  keys: Array<{ current: Buffer; previous: Buffer | undefined }>;
  client: ConfigClient;
}

/** A config client that records, in order, the keys and the snapshots it is given. */
function subscribe(address: string, tls?: TlsMaterial): Received {
  const received: Received = { events: [], keys: [], client: undefined as unknown as ConfigClient };
  received.client = new ConfigClient({
    controlPlane: address,
    nodeId: `p-${Math.random().toString(36).slice(2)}`,
    group: GROUP,
    logger,
    ...(tls ? { tls, tlsServerName: 'control-plane' } : {}),
    apply: (snapshot) => void received.events.push(`snapshot ${snapshot.version}`),
    applyRequestStateKeys: (keys) => {
      received.events.push('keys');
      received.keys.push({ current: Buffer.from(keys.current), previous: keys.previous && Buffer.from(keys.previous) });
    },
  });
  received.client.start();
  return received;
}

/** An admin call's raw answer bytes. */
function adminRaw(address: string, method: string, request: Record<string, unknown>): Promise<Buffer> {
  const definition = serviceDefinition('AdminService')[method]!;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(definition.path, definition.requestSerialize as (v: unknown) => Buffer, (bytes: Buffer) => bytes, request, (error, bytes) => {
      client.close();
      if (error) reject(error);
      else resolve(bytes!);
    });
  });
}

test('keys arrive before the first snapshot, derived per Gateway as the proxy derives them; a rotation changes no snapshot, version or admin answer', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'gw.yaml'), manifests('127.0.0.1', 9));
  const file = join(dir, '..', `${dir.split('/').pop()}.keys`);
  dirs.push(file);
  writeFileSync(file, keyFile(key(1)));
  const cp = await controlPlaneOn(dir, { keyFile: file });
  const address = `127.0.0.1:${cp.grpcPort}`;
  const proxy = subscribe(address);
  try {
    await proxy.client.firstApplied;
    const version = cp.cache.get(GROUP)!.version;
    assert.equal(proxy.events, ['keys', `snapshot ${version}`], 'the keys first, then the snapshot');
    const expected = deriveGroupKey(key(1), GROUP);
    assert.ok(proxy.keys[0]!.current.equals(expected));
    assert.ok(proxy.keys[0]!.current.equals(Buffer.from(deriveGatewayKey(key(1), GROUP))), "the control plane's derivation is the proxy's");
    assert.is(proxy.keys[0]!.previous, undefined);

    const snapshotBefore = await adminRaw(address, 'GetSnapshot', { group: GROUP, version: '' });
    const proxiesBefore = await adminRaw(address, 'ListProxies', {});
    const pushedBefore = cp.proxies.list()[0]!.sentVersion;

    // Rotation: a new current key, the old one second.
    writeFileSync(file, keyFile(key(2), key(1)));
    await until(() => proxy.keys.length === 2, 'the rotated keys', 5000);
    assert.ok(proxy.keys[1]!.current.equals(deriveGroupKey(key(2), GROUP)));
    assert.ok(proxy.keys[1]!.previous!.equals(expected), 'the previous master key still opens its tokens');
    assert.equal(proxy.events.slice(2), ['keys'], 'keys alone: no snapshot applied again');
    await until(() => cp.proxies.list()[0]!.ackedVersion === version && proxy.client.state.version === version, 'the keys-only response ACKed with the version served');

    assert.is(cp.cache.get(GROUP)!.version, version, 'the version does not depend on the keys');
    assert.is(cp.cache.versions(GROUP).length, 1, 'no new version');
    assert.is(cp.proxies.list()[0]!.sentVersion, pushedBefore);
    const snapshotAfter = await adminRaw(address, 'GetSnapshot', { group: GROUP, version: '' });
    assert.ok(snapshotAfter.equals(snapshotBefore), 'GetSnapshot answers the same bytes');
    const proxiesAfter = await adminRaw(address, 'ListProxies', {});
    const events = await adminRaw(address, 'ListEvents', { fromSeq: '0', limit: 0 });
    for (const [what, bytes] of [['GetSnapshot', snapshotAfter], ['ListProxies', proxiesAfter], ['ListProxies before', proxiesBefore], ['ListEvents', events]] as const) {
      for (const secret of [key(1), key(2), expected, proxy.keys[1]!.current]) {
        assert.is(bytes.indexOf(secret), -1, `${what} carries no key`);
        assert.is(bytes.indexOf(secret.toString('base64')), -1, `${what} carries no key (base64)`);
      }
    }
  } finally {
    proxy.client.close();
    await cp.close();
  }
});

test('a proxy reconnecting with the version it serves gets the keys alone, ACKs them, and nothing counts as a push', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'gw.yaml'), manifests('127.0.0.1', 9));
  const cp = await controlPlaneOn(dir);
  const first = subscribe(`127.0.0.1:${cp.grpcPort}`);
  try {
    await first.client.firstApplied;
    assert.equal(first.events.length, 2);
    const version = cp.cache.get(GROUP)!.version;
    // A second stream: a random master key (no file), the same for every proxy of this control plane.
    const second = subscribe(`127.0.0.1:${cp.grpcPort}`);
    await second.client.firstApplied;
    assert.ok(second.keys[0]!.current.equals(first.keys[0]!.current), 'two proxies of one Gateway: the same key');
    second.client.close();
    assert.is(version, cp.cache.get(GROUP)!.version);
  } finally {
    first.client.close();
    await cp.close();
  }
});

// ---- Off loopback: plaintext gets none, mTLS gets them ----

const nonLoopback = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
const run = promisify(execFile);

test('over a non-loopback address: a plaintext stream gets the snapshot and never a key; an mTLS stream gets the keys', async () => {
  if (!nonLoopback) {
    console.log('no non-loopback IPv4 address on this machine: covered by control-plane/request-state/delivery.test.ts only');
    return;
  }
  const dir = tempDir();
  writeFileSync(join(dir, 'gw.yaml'), manifests('127.0.0.1', 9));
  const lines: string[] = [];
  const capture = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const plain = await controlPlaneOn(dir, { address: nonLoopback, logger: capture });
  const proxy = subscribe(`${nonLoopback}:${plain.grpcPort}`);
  try {
    await proxy.client.firstApplied;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(proxy.events, [`snapshot ${plain.cache.get(GROUP)!.version}`], 'the snapshot, no keys');
    const said = lines.filter((line) => line.includes('requestState keys not sent'));
    assert.is(said.length, 1, 'said once for the stream');
    assert.match(said[0]!, /plaintext and not on loopback/);
    assert.match(said[0]!, /retry must come back to the replica that answered it/);
  } finally {
    proxy.client.close();
    await plain.close();
  }

  const certs = tempDir();
  const openssl = (...args: string[]) => run('openssl', args, { cwd: certs });
  const issue = async (name: string, san: string): Promise<void> => {
    writeFileSync(join(certs, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ca');
  await issue('server', `DNS:control-plane,IP:${nonLoopback}`);
  await issue('proxy', `URI:mcpmux:gateway:${GROUP}`);
  const material = (name: string): TlsMaterial => ({ ca: readFileSync(join(certs, 'ca.crt')), cert: readFileSync(join(certs, `${name}.crt`)), key: readFileSync(join(certs, `${name}.key`)) });
  const secured = await controlPlaneOn(dir, { address: nonLoopback, tls: material('server') });
  const mtls = subscribe(`${nonLoopback}:${secured.grpcPort}`, material('proxy'));
  try {
    await mtls.client.firstApplied;
    assert.equal(mtls.events, ['keys', `snapshot ${secured.cache.get(GROUP)!.version}`], 'over mTLS: the keys, then the snapshot');
  } finally {
    mtls.client.close();
    await secured.close();
  }
});

// ---- Through the CLI: a token sealed on proxy A opens on proxy B ----

test('through the CLI: a 2026-07-28 multi round-trip request answered by proxy A completes on proxy B; a proxy with its own key file refuses the token', async () => {
  const demo: ModernDemo = await startModernDemo();
  const dir = tempDir();
  writeFileSync(join(dir, 'gw.yaml'), manifests('127.0.0.1', demo.port));
  const master = key(0x5a);
  const masterFile = join(tempDir(), 'master.keys');
  writeFileSync(masterFile, keyFile(master));
  const ownFile = join(tempDir(), 'own.keys');
  writeFileSync(ownFile, keyFile(key(0x77)));
  const processes: Managed[] = [];
  const env = { MCPMUX_LOG_LEVEL: 'debug' };
  try {
    const [grpcPort, cpHttp] = [await freePort(), await freePort()];
    processes.push(startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpcPort), '--http-port', String(cpHttp), '--request-state-key-file', masterFile], env));
    await waitForHttpOk(`http://127.0.0.1:${cpHttp}/readyz`);
    const proxies: Array<{ url: string; process: Managed }> = [];
    for (const [id, extra] of [['proxy-a', []], ['proxy-b', []], ['proxy-own', ['--request-state-key-file', ownFile]]] as const) {
      const [port, http] = [await freePort(), await freePort()];
      const process = startNode(id, [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpcPort}`, '--port', String(port), '--http-port', String(http), '--replica-id', id, ...extra], env);
      processes.push(process);
      proxies.push({ url: `http://127.0.0.1:${port}/mcp`, process });
      await waitForHttpOk(`http://127.0.0.1:${http}/readyz`);
    }
    const [a, b, own] = proxies as [(typeof proxies)[0], (typeof proxies)[0], (typeof proxies)[0]];
    await a.process.waitFor(/requestState keys from the control plane applied/);
    await b.process.waitFor(/requestState keys from the control plane applied/);
    await own.process.waitFor(/--request-state-key-file wins/);

    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} }, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
    const post = async (url: string, method: string, params: Record<string, unknown>): Promise<Record<string, any>> => {
      const name = params.name as string | undefined;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { _meta: meta, ...params } }),
      });
      const text = await response.text();
      const messages = (response.headers.get('content-type') ?? '').startsWith('text/event-stream') ? [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!)) : [JSON.parse(text)];
      return messages.at(-1)!;
    };
    const tools = (await post(a.url, 'tools/list', {})).result.tools.map((t: { name: string }) => t.name) as string[];
    const confirm = tools.find((t) => t.endsWith('confirm-action'));
    assert.ok(confirm, tools.join(', '));
    const call = { name: confirm, arguments: { action: 'deploy' } };
    const first = await post(a.url, 'tools/call', call);
    assert.is(first.result?.resultType, 'input_required', JSON.stringify(first));
    const retry = { ...call, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } }, requestState: first.result.requestState };
    const done = await post(b.url, 'tools/call', retry);
    assert.is(done.result?.content?.[0]?.text, 'confirmed: deploy', `proxy B opened proxy A's token: ${JSON.stringify(done)}`);
    const refused = await post(own.url, 'tools/call', retry);
    assert.is(refused.error?.code, -32602, `a proxy with its own key file refuses it: ${JSON.stringify(refused)}`);
    assert.match(refused.error.message, /not issued by this gateway/);

    // No process printed a key (logs at debug level), in any spelling.
    const derived = deriveGroupKey(master, GROUP);
    const spellings = [master, derived, key(0x77)].flatMap((k) => [k.toString('base64'), k.toString('base64url'), k.toString('hex')]);
    for (const managed of processes) for (const spelling of spellings) assert.not.ok(managed.output().includes(spelling), `${managed.name} printed a key`);
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await demo.close();
  }
});

test.run();
