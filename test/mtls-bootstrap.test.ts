// mTLS with nothing made by hand (issue 16 §1), on the real kube-apiserver tier:
//  - the control plane (`--discovery-tls ca`) creates its CA Secret in its namespace; the provisioner
//    gives a Gateway's proxies a ServiceAccount, a ConfigMap with the CA bundle, and a Deployment
//    that mounts both (the projected token bound to our audience);
//  - a proxy started with those files (a TokenRequest token of that ServiceAccount) gets its
//    certificate over gRPC and then its snapshots, upstream credential included;
//  - nothing else gets anything: grpcurl in plaintext, with a certificate from another CA, one naming
//    another Gateway, the admin certificate on discovery, another ServiceAccount's token or one for
//    another audience; no credential value is readable through the admin API;
//  - `mcpmux admin-cert` gives an admin certificate the admin API (grpcurl, mcpmux proxies) accepts;
//  - `mcpmux ca rotate stage|promote|retire` moves every party to a new CA without one proxy
//    disconnect; after the old CA is retired, a restarted control plane is rejoined at once, and a
//    certificate of the old CA is refused.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeCluster, type KubeCluster } from './support/kube-cluster.ts';
import { CLI, freePort, ROOT, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';
import { ensureTool } from './support/tools.ts';
import { createCa, issueCertificate, newKeyPair, splitPem, type KeyAndCertificate } from '../shared/pki/x509.ts';

const run = promisify(execFile);
const CP_NAMESPACE = 'mcpmux-system';
const TEAM = 'team-a';
const GATEWAY = `${TEAM}/gw`;
const SERVICE_ACCOUNT = 'mcpmux-proxy-gw';
const UPSTREAM_TOKEN = 'upstream-token-4f1c9a';
const TTL_SECONDS = 10;

let cluster: KubeCluster;
let dir: string;
let grpcurl: string;
let grpcPort: number;
let httpPort: number;
let controlPlane: Managed | undefined;
let proxy: Managed | undefined;

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const kube = (args: string[]) => cluster.kubectl(args);

async function getJson<T>(args: string[]): Promise<T | undefined> {
  const result = await kube([...args, '-o', 'json']);
  return result.code === 0 ? (JSON.parse(result.stdout) as T) : undefined;
}

type Secret = { data: Record<string, string> };
const caSecret = () => getJson<Secret>(['get', 'secret', 'mcpmux-ca', '-n', CP_NAMESPACE]);
const decode = (secret: Secret, key: string): string => Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');

function startControlPlane(): Managed {
  return startNode('control-plane', [
    CLI, 'control-plane', '--source', 'kubernetes', '--kubeconfig', cluster.kubeconfigPath, '--identity', 'cp-0',
    '--leader-election-namespace', CP_NAMESPACE, '--lease-duration', '4', '--discovery-tls', 'ca', '--proxy-certificate-ttl', String(TTL_SECONDS),
    '--proxy-control-plane', `localhost:${grpcPort}`, '--grpc-port', String(grpcPort), '--http-port', String(httpPort),
  ], { MCPMUX_LOG_LEVEL: 'info' });
}

/** `kubectl create token`: what the kubelet projects into the proxy's pod (audience-bound). */
async function token(serviceAccount: string, audience = 'mcpmux-control-plane'): Promise<string> {
  const made = await kube(['create', 'token', serviceAccount, '-n', TEAM, '--audience', audience, '--duration', '1h']);
  assert.is(made.code, 0, made.stderr);
  return made.stdout.trim();
}

/** grpcurl against the control plane; never throws: the exit code and both streams. */
async function grpcurlCall(tls: string[], method: string, data?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(grpcurl, [...tls, '-max-time', '5', ...(data ? ['-d', data] : []), `localhost:${grpcPort}`, method], { timeout: 15_000 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, out: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const tlsArgs = (name: string, ca = join(dir, 'bundle.crt')): string[] => ['-cacert', ca, '-cert', join(dir, `${name}.crt`), '-key', join(dir, `${name}.key`)];

/** A client certificate `ca` signs, with these URI SANs, written as NAME.crt/NAME.key. */
async function clientCertificate(name: string, ca: KeyAndCertificate, uris: string[]): Promise<void> {
  const { keys, keyPem } = await newKeyPair();
  writeFileSync(join(dir, `${name}.crt`), await issueCertificate({ ca, publicKey: keys.publicKey, commonName: name, names: { uris }, validityMs: 3600_000, usage: 'client' }));
  writeFileSync(join(dir, `${name}.key`), keyPem);
}

const DISCOVERY_REQUEST = JSON.stringify({ node: { id: 'grpcurl' }, group: GATEWAY });

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-mtls-bootstrap-'));
  grpcurl = await ensureTool('grpcurl');
  cluster = await startKubeCluster({ gatewayApi: true });
  await cluster.applyYaml(join(ROOT, 'deploy/crds/mcpbackend.yaml'));
  await cluster.applyYaml(`apiVersion: v1
kind: Namespace
metadata: {name: ${CP_NAMESPACE}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${TEAM}}
---
apiVersion: v1
kind: Secret
metadata: {name: weather, namespace: ${TEAM}}
data: {api-key: ${b64(UPSTREAM_TOKEN)}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${TEAM}}
spec:
  gatewayClassName: mcpmux
  listeners:
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: ${TEAM}}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mcp}}]
    backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: weather}]
---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: weather, namespace: ${TEAM}}
spec:
  upstreamAuth:
    secretRef: {name: weather, key: api-key}
    header: X-Api-Key
  targets:
  - static: {name: weather, host: 127.0.0.1, port: 9}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: intruder, namespace: ${TEAM}}
`);
  [grpcPort, httpPort] = [await freePort(), await freePort()];
  controlPlane = startControlPlane();
  await waitForHttpOk(`http://127.0.0.1:${httpPort}/readyz`, 60_000).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n--- control plane output ---\n${controlPlane?.output()}`);
  });
});

test.after(async () => {
  await proxy?.stop();
  await controlPlane?.stop();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the leader creates its CA Secret; the provisioner gives the proxies a ServiceAccount, the CA bundle and a projected token', async () => {
  await until(async () => (await caSecret()) !== undefined, 'the CA Secret', 20_000);
  const secret = (await caSecret())!;
  const ca = new X509Certificate(decode(secret, 'ca.crt'));
  assert.ok(ca.ca, 'ca.crt is a CA certificate');
  assert.match(controlPlane!.output(), /the control plane's CA: created their Secret/);

  await until(async () => (await getJson(['get', 'configmap', SERVICE_ACCOUNT, '-n', TEAM])) !== undefined, 'the CA bundle ConfigMap', 20_000);
  const bundle = (await getJson<{ data: Record<string, string> }>(['get', 'configmap', SERVICE_ACCOUNT, '-n', TEAM]))!.data['ca.crt']!;
  assert.equal(splitPem(bundle).map((pem) => new X509Certificate(pem).fingerprint256), [ca.fingerprint256], 'the ConfigMap holds the CA certificate, nothing secret');
  assert.ok(await getJson(['get', 'serviceaccount', SERVICE_ACCOUNT, '-n', TEAM]), 'the proxies\' ServiceAccount');

  type Deployment = { spec: { template: { spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean; volumes: Array<Record<string, unknown>>; containers: Array<{ args: string[]; volumeMounts: Array<{ name: string; mountPath: string }> }> } } } };
  await until(async () => (await getJson(['get', 'deployment', 'gw', '-n', TEAM])) !== undefined, 'the proxy Deployment', 20_000);
  const pod = (await getJson<Deployment>(['get', 'deployment', 'gw', '-n', TEAM]))!.spec.template.spec;
  assert.is(pod.serviceAccountName, SERVICE_ACCOUNT);
  assert.is(pod.automountServiceAccountToken, false, 'no API token is mounted');
  assert.equal((pod.volumes.find((v) => v.name === 'mcpmux-token')?.projected as { sources?: unknown } | undefined)?.sources, [{ serviceAccountToken: { audience: 'mcpmux-control-plane', expirationSeconds: 3600, path: 'token' } }]);
  assert.is((pod.volumes.find((v) => v.name === 'mcpmux-ca')?.configMap as { name?: string } | undefined)?.name, SERVICE_ACCOUNT);
  const args = pod.containers[0]!.args.join(' ');
  assert.match(args, /--control-plane-ca \/etc\/mcpmux\/ca\/ca\.crt --token-file \/var\/run\/secrets\/mcpmux\/token/);
  assert.not.ok((await kube(['get', 'secrets', '-n', TEAM, '-o', 'name'])).stdout.includes('mcpmux'), 'no Secret written in the users\' namespace');
  writeFileSync(join(dir, 'bundle.crt'), bundle);
});

test('a proxy with those files gets its certificate, then its snapshots (credential included)', async () => {
  writeFileSync(join(dir, 'token'), await token(SERVICE_ACCOUNT));
  const proxyHttp = await freePort();
  proxy = startNode('proxy', [
    CLI, 'proxy', '--control-plane', `localhost:${grpcPort}`, '--gateway', GATEWAY, '--port', '0', '--http-port', String(proxyHttp),
    '--control-plane-ca', join(dir, 'bundle.crt'), '--token-file', join(dir, 'token'), '--replica-id', 'proxy-0',
  ], { MCPMUX_LOG_LEVEL: 'info' });
  await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`, 30_000).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n--- proxy output ---\n${proxy?.output()}`);
  });
  assert.match(proxy.output(), /proxy certificate from the control plane CA/);
  assert.match(controlPlane!.output(), /proxy certificate issued/);
  assert.match(controlPlane!.output(), /proxy connected/);
  assert.not.ok(controlPlane!.output().includes(UPSTREAM_TOKEN), 'no credential in the control plane log');
  assert.not.ok(proxy.output().includes(UPSTREAM_TOKEN), 'nor in the proxy log');
});

test('without a certificate of ours naming the Gateway, discovery gives nothing; the admin API wants an admin certificate', async () => {
  const ours = parseCa((await caSecret())!);
  const other = await createCa('another CA', 3600_000);
  await clientCertificate('other-ca', other, [`mcpmux:gateway:${GATEWAY}`]);
  await clientCertificate('other-gateway', ours, [`mcpmux:gateway:${TEAM}/other`]);

  const plaintext = await grpcurlCall(['-plaintext'], 'mcpmux.v1.AdminService/ListProxies');
  assert.is.not(plaintext.code, 0, 'plaintext is refused');
  const stranger = await grpcurlCall(tlsArgs('other-ca'), 'mcpmux.v1.DiscoveryService/StreamSnapshots', DISCOVERY_REQUEST);
  assert.is.not(stranger.code, 0);
  assert.not.match(stranger.out, /"version"/, `'a certificate from another CA gets no snapshot': ${stranger.out}`);
  const otherGateway = await grpcurlCall(tlsArgs('other-gateway'), 'mcpmux.v1.DiscoveryService/StreamSnapshots', DISCOVERY_REQUEST);
  assert.match(otherGateway.out, /PermissionDenied|names no mcpmux:gateway:team-a\/gw/, otherGateway.out);
  assert.not.match(otherGateway.out, /"version"/);
  const noCertificate = await grpcurlCall(['-cacert', join(dir, 'bundle.crt')], 'mcpmux.v1.AdminService/ListProxies');
  assert.match(noCertificate.out, /Unauthenticated|needs a client certificate/, noCertificate.out);

  // mcpmux admin-cert: the admin API answers it, discovery does not; the snapshot's credential is redacted.
  const admin = await run(process.execPath, [CLI, 'admin-cert', '--kubeconfig', cluster.kubeconfigPath, '--namespace', CP_NAMESPACE, '--out', join(dir, 'admin')], { timeout: 30_000 });
  assert.match(admin.stdout, /admin\.crt/);
  const adminTls = ['-cacert', join(dir, 'admin/ca.crt'), '-cert', join(dir, 'admin/admin.crt'), '-key', join(dir, 'admin/admin.key')];
  const proxies = await grpcurlCall(adminTls, 'mcpmux.v1.AdminService/ListProxies');
  assert.is(proxies.code, 0, proxies.out);
  assert.match(proxies.out, /proxy-0/, proxies.out);
  const snapshot = await grpcurlCall(adminTls, 'mcpmux.v1.AdminService/GetSnapshot', JSON.stringify({ group: GATEWAY }));
  assert.is(snapshot.code, 0, snapshot.out);
  assert.not.ok(snapshot.out.includes(UPSTREAM_TOKEN) || snapshot.out.includes(b64(UPSTREAM_TOKEN)), 'no credential value readable');
  const adminOnDiscovery = await grpcurlCall(adminTls, 'mcpmux.v1.DiscoveryService/StreamSnapshots', DISCOVERY_REQUEST);
  assert.match(adminOnDiscovery.out, /PermissionDenied/, adminOnDiscovery.out);
  const cli = await run(process.execPath, [CLI, 'proxies', '--control-plane', `localhost:${grpcPort}`, '--tls-ca', join(dir, 'admin/ca.crt'), '--tls-cert', join(dir, 'admin/admin.crt'), '--tls-key', join(dir, 'admin/admin.key')], { timeout: 30_000 });
  assert.match(cli.stdout, /proxy-0/);
});

test('a certificate is only for the Gateway\'s own ServiceAccount, with a token for our audience', async () => {
  const ask = async (bearer: string, gateway = GATEWAY) =>
    grpcurlCall(['-cacert', join(dir, 'bundle.crt'), '-H', `authorization: Bearer ${bearer}`], 'mcpmux.v1.CertificateService/IssueCertificate', JSON.stringify({ gateway, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n' }));
  const intruder = await ask(await token('intruder'));
  assert.match(intruder.out, /PermissionDenied/, intruder.out);
  assert.match(intruder.out, /not the proxy ServiceAccount of Gateway team-a\/gw/, intruder.out);
  const audience = await ask(await token(SERVICE_ACCOUNT, 'https://kubernetes.default.svc.cluster.local'));
  assert.match(audience.out, /Unauthenticated/, audience.out);
  const garbage = await ask('not-a-token');
  assert.match(garbage.out, /Unauthenticated/, garbage.out);
  assert.not.match(controlPlane!.output(), /forbidden|\b403\b/i, 'RBAC-less cluster calls went through (TokenReview create)');
});

test('CA rotation: stage, promote, retire; no proxy disconnects; a restarted control plane is rejoined; the old CA is refused', async () => {
  const old = parseCa((await caSecret())!);
  await clientCertificate('old-ca', old, [`mcpmux:gateway:${GATEWAY}`]);
  const disconnects = () => (controlPlane!.output().match(/proxy disconnected/g) ?? []).length;
  const before = disconnects();
  const rotate = async (step: string): Promise<void> => {
    const done = await run(process.execPath, [CLI, 'ca', 'rotate', step, '--kubeconfig', cluster.kubeconfigPath, '--namespace', CP_NAMESPACE], { timeout: 30_000 });
    assert.match(done.stdout, new RegExp(`${step}: done`));
  };
  const renewals = () => (proxy!.output().match(/proxy certificate from the control plane CA/g) ?? []).length;
  const waitRenewal = async (what: string): Promise<void> => {
    const seen = renewals();
    await until(() => renewals() >= seen + 1, what, (TTL_SECONDS + 5) * 1000);
  };

  await rotate('stage');
  await waitRenewal('a renewal after stage');
  assert.match(proxy!.output().split('\n').reverse().find((l) => l.includes('proxy certificate from the control plane CA'))!, /"trusted":2/);
  await rotate('promote');
  await until(() => /gRPC serving certificate issued/.test(controlPlane!.output().split('changed (rotation)').at(-1) ?? ''), 'the control plane serves a certificate of the new CA', 10_000);
  await waitRenewal('a renewal after promote');
  const promoted = parseCa((await caSecret())!);
  await rotate('retire');
  await until(async () => splitPem(decode((await caSecret())!, 'ca.crt')).length === 1 && !(await caSecret())!.data['previous-ca.crt'], 'retired', 5000);
  await waitRenewal('a renewal after retire');
  const duringRotation = disconnects() - before;
  assert.is(duringRotation, 0, 'no proxy disconnected during the rotation');

  // A new handshake uses only the new CA: restart the control plane; the proxy is back within a reconnect.
  await controlPlane!.stop();
  const restarted = Date.now();
  controlPlane = startControlPlane();
  await controlPlane.waitFor(/proxy connected/, 20_000);
  const rejoinMs = Date.now() - restarted;
  assert.ok(rejoinMs < 15_000, `rejoined in ${rejoinMs} ms`);
  console.error(`CA rotation: ${duringRotation} disconnects; after a control plane restart the proxy rejoined ${rejoinMs} ms after the new process started`);
  writeFileSync(join(dir, 'new-bundle.crt'), decode((await caSecret())!, 'ca.crt'));
  const oldOnDiscovery = await grpcurlCall(tlsArgs('old-ca', join(dir, 'new-bundle.crt')), 'mcpmux.v1.DiscoveryService/StreamSnapshots', DISCOVERY_REQUEST);
  assert.not.match(oldOnDiscovery.out, /"version"/, `'a certificate of the retired CA gets nothing': ${oldOnDiscovery.out}`);
  assert.ok(new X509Certificate(promoted.cert).fingerprint256 !== new X509Certificate(old.cert).fingerprint256);
});

function parseCa(secret: Secret): KeyAndCertificate {
  return { cert: decode(secret, 'ca.crt'), key: decode(secret, 'ca.key') };
}

test.run();
