// Issue 16 §2, acceptance 2, end to end: a real kube-apiserver (test/support/kube-cluster.ts) with
// the official Gateway API CRDs and ours, a control plane on the kubernetes source and a proxy run
// as processes through the CLI (`mcpmux proxy --listener-ports`), certificates made with openssl.
//
// A Gateway with an HTTP listener on 80 and an HTTPS listener on 443 for mcp.example.test (its
// kubernetes.io/tls Secret): an MCP client over TLS, resolving mcp.example.test to the proxy (so
// SNI and Host are that name), reaches the HTTPS listener's route; a plain client the HTTP one's.
// A Host no listener on 443 takes is 404. Rotating the Secret changes the certificate served on
// the next handshake, the proxy process and an open session going on. A listener whose Secret is
// missing says InvalidCertificateRef in the Gateway's status, until the Secret is created.
import type { Server } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, fetch as undiciFetch } from 'undici';
import { testCertificate, type TestCertificate } from '../proxy/testing/certificates.ts';
import { createEchoUpstream } from './bench/fixtures/echo-upstream.ts';
import { startKubeCluster, type KubeCluster } from './support/kube-cluster.ts';
import { CLI, ROOT, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';

const NS = 'edge';
const HOST = 'mcp.example.test';
const quiet = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'info' };

const FIRST = testCertificate(HOST);
const ROTATED = testCertificate(HOST);
const OTHER = testCertificate('broken.example.test');

let cluster: KubeCluster;
let upstream: Server;
const processes: Managed[] = [];
let ports: { http: number; https: number; broken: number };
let proxy: Managed;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function apply(yaml: string): Promise<void> {
  const result = await cluster.applyYaml(yaml);
  assert.is(result.code, 0, `kubectl apply: ${result.stderr}`);
}

async function getJson<T>(args: string[]): Promise<T> {
  const result = await cluster.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

function tlsSecret(name: string, pair: TestCertificate): string {
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${NS}}
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(pair.cert).toString('base64')}
  tls.key: ${Buffer.from(pair.key).toString('base64')}
`;
}

function manifests(upstreamPort: number): string {
  const backend = (name: string): string => `apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: ${name}-tools, namespace: ${NS}}
spec:
  targets:
  - static: {name: ${name}, host: 127.0.0.1, port: ${upstreamPort}}
`;
  const route = (name: string, sectionName: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: ${NS}}
spec:
  parentRefs: [{name: gw, sectionName: ${sectionName}}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mcp}}]
    backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: ${name}-tools}]
`;
  return [
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${NS}}
spec:
  gatewayClassName: mcpmux
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: ${HOST}
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: mcp-cert}]}
  - name: broken
    port: 8443
    protocol: HTTPS
    hostname: broken.example.test
    tls: {certificateRefs: [{name: no-such-cert}]}
`,
    tlsSecret('mcp-cert', FIRST),
    backend('plain'),
    backend('secure'),
    route('plain', 'http'),
    route('secure', 'https'),
  ].join('---\n');
}

/** The Gateway's status entry for one listener. */
async function listenerStatus(name: string): Promise<{ attachedRoutes: number; conditions: Condition[] } | undefined> {
  const gateway = await getJson<{ status?: { listeners?: Array<{ name: string; attachedRoutes: number; conditions: Condition[] }> } }>(['get', 'gateway', 'gw', '-n', NS]);
  return gateway.status?.listeners?.find((l) => l.name === name);
}

async function waitForListener(name: string, type: string, status: string): Promise<Condition> {
  let found: Condition | undefined;
  await until(async () => {
    found = (await listenerStatus(name))?.conditions.find((c) => c.type === type && c.status === status);
    return found !== undefined;
  }, `listener ${name} ${type}=${status}`, 20_000);
  return found!;
}

/** An MCP client whose resolver answers mcp.example.test with 127.0.0.1 and which trusts `ca`: SNI and Host are mcp.example.test. */
async function tlsClient(ca: string): Promise<Client> {
  const dispatcher = new Agent({
    connect: {
      ca,
      lookup: ((hostname: string, options: { all?: boolean }, callback: (error: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void) => {
        if (hostname !== HOST) return callback(new Error(`unexpected lookup of ${hostname}`), '');
        if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      }) as never,
    },
  });
  const client = new Client({ name: 'https-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`https://${HOST}:${ports.https}/mcp`), { fetch: ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as never }));
  return client;
}

/** The certificate a fresh TLS handshake with SNI mcp.example.test gets. */
function servedCertificate(port: number, servername = HOST): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      socket.destroy();
      resolve(certificate);
    });
    socket.on('error', reject);
  });
}

test.before(async () => {
  cluster = await startKubeCluster({ gatewayApi: true });
  const crd = await cluster.kubectl(['apply', '--server-side', '-f', `${ROOT}deploy/crds/mcpbackend.yaml`]);
  assert.is(crd.code, 0, crd.stderr);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd/mcpbackends.mcpmux.dev', '--timeout=30s']);
  upstream = createEchoUpstream({ tools: 2, stateful: true });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  assert.is((await cluster.kubectl(['create', 'namespace', NS])).code, 0);
  await apply(manifests((upstream.address() as AddressInfo).port));

  const [grpc, cpHttp, proxyHttp] = [await freePort(), await freePort(), await freePort()];
  ports = { http: await freePort(), https: await freePort(), broken: await freePort() };
  processes.push(startNode('control-plane', [
    CLI, 'control-plane', '--source', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--gateway-class', 'mcpmux',
    '--grpc-port', String(grpc), '--http-port', String(cpHttp), '--identity', 'cp-https', '--leader-election-namespace', 'default', '--lease-duration', '2',
    '--proxy-image', 'mcpmux/mcpmux:e2e',
  ], quiet));
  await waitForHttpOk(`http://127.0.0.1:${cpHttp}/readyz`, 30_000);
  proxy = startNode('proxy', [
    CLI, 'proxy', '--gateway', `${NS}/gw`, '--control-plane', `127.0.0.1:${grpc}`, '--http-port', String(proxyHttp),
    '--listener-ports', `80=${ports.http},443=${ports.https},8443=${ports.broken}`,
  ], quiet);
  processes.push(proxy);
  await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`, 30_000);
});

test.after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await new Promise((resolve) => upstream?.close(resolve));
  await cluster?.stop();
});

test('a TLS client with SNI mcp.example.test reaches the HTTPS routes, a plain client the HTTP ones', async () => {
  const secure = await tlsClient(FIRST.cert);
  const plain = new Client({ name: 'http-e2e', version: '1.0.0' });
  await plain.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ports.http}/mcp`)));
  try {
    assert.equal((await secure.listTools()).tools.map((t) => t.name).sort(), ['secure_echo', 'secure_tool-1']);
    assert.equal((await plain.listTools()).tools.map((t) => t.name).sort(), ['plain_echo', 'plain_tool-1']);
    const echoed = await secure.callTool({ name: 'secure_echo', arguments: { message: 'over TLS' } });
    assert.match(JSON.stringify(echoed.content), /over TLS/);
    assert.is((await servedCertificate(ports.https)).fingerprint256, FIRST.fingerprint);
  } finally {
    await Promise.all([secure.close(), plain.close()]);
  }
  const https = await listenerStatus('https');
  assert.is(https?.attachedRoutes, 1);
  assert.ok(https?.conditions.some((c) => c.type === 'Programmed' && c.status === 'True'), JSON.stringify(https?.conditions));
  assert.ok(https?.conditions.some((c) => c.type === 'ResolvedRefs' && c.status === 'True'), JSON.stringify(https?.conditions));
});

test('on the listener with a hostname, a Host matching none is 404 (not served another way)', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: ports.https, path: '/mcp', method: 'POST', servername: HOST, ca: FIRST.cert, agent: new HttpsAgent({ keepAlive: false }), headers: { host: 'nobody.example.test', 'content-type': 'application/json', accept: 'application/json, text/event-stream' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }));
  });
  assert.is(status, 404);
});

test('rotating the TLS Secret changes the certificate served without a restart; an open session goes on', async () => {
  const session = await tlsClient(FIRST.cert);
  try {
    const pid = proxy.child.pid;
    const rotatedAt = Date.now();
    await apply(tlsSecret('mcp-cert', ROTATED));
    await until(async () => (await servedCertificate(ports.https)).fingerprint256 === ROTATED.fingerprint, 'the rotated certificate on a new handshake', 20_000);
    console.log(`the rotated certificate was served ${Date.now() - rotatedAt} ms after the Secret was applied`);
    assert.is(proxy.child.pid, pid);
    assert.is(proxy.child.exitCode, null, 'the proxy process was not restarted');
    const echoed = await session.callTool({ name: 'secure_echo', arguments: { message: 'still here' } });
    assert.match(JSON.stringify(echoed.content), /still here/, 'the session opened before the rotation goes on');
    const fresh = await tlsClient(ROTATED.cert);
    assert.ok((await fresh.listTools()).tools.length > 0, 'a client trusting only the new certificate connects');
    await fresh.close();
  } finally {
    await session.close();
  }
});

test('a missing Secret is InvalidCertificateRef on its listener (its handshakes refused); once created, the listener is served', async () => {
  const refs = await waitForListener('broken', 'ResolvedRefs', 'False');
  assert.is(refs.reason, 'InvalidCertificateRef');
  assert.match(refs.message, /Secret edge\/no-such-cert does not exist/);
  const programmed = await waitForListener('broken', 'Programmed', 'False');
  assert.is(programmed.reason, 'Invalid');
  const refused = await servedCertificate(ports.broken, 'broken.example.test').then(() => 'served', (error: Error) => error.message);
  assert.is.not(refused, 'served', 'no certificate: the handshake is refused, never plain HTTP');
  await apply(tlsSecret('no-such-cert', OTHER));
  await waitForListener('broken', 'ResolvedRefs', 'True');
  await until(async () => (await servedCertificate(ports.broken, 'broken.example.test').then((c) => c.fingerprint256, () => '')) === OTHER.fingerprint, 'the new listener certificate', 20_000);
});

test('the provisioned Service exposes each listener port, targeting it; the proxy is told the mapping', async () => {
  const service = await getJson<{ spec: { ports: Array<{ name: string; port: number; targetPort: number }> } }>(['get', 'service', 'gw', '-n', NS]);
  assert.equal(service.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['http', 80, 80], ['https', 443, 443], ['broken', 8443, 8443]]);
  const deployment = await getJson<{ spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(['get', 'deployment', 'gw', '-n', NS]);
  const args = deployment.spec.template.spec.containers[0]!.args.join(' ');
  assert.match(args, /--listener-ports 80=80,443=443,8443=8443/);
  assert.match(args, /--allowed-hosts \*/, 'the HTTP listener has no hostname');
});

test.run();
