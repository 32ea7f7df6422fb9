// HTTPS listener certificates: what readTlsSecret accepts and refuses, and how a translation carries
// them: the Secret's content reaches the snapshot (the listener names it), a rotation is a new
// version without a new route layout, a Secret that goes away is InvalidCertificateRef on the
// listener. Certificates are made with the openssl CLI in a temp folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import { emptyState, reduceAll, type StateChange } from '../state/reducer.ts';
import { ClusterIndex } from './cluster-index.ts';
import { layoutOf } from './layout.ts';
import { MCPMUX_CONTROLLER_NAME } from './kinds.ts';
import { readTlsSecret, tlsSecretName } from './tls-secrets.ts';
import { translate, TranslateCache } from './translate.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcpmux-tls-secrets-'));
function pair(name: string, ...extra: string[]): { cert: string; key: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', '/CN=mcp.example.test', '-addext', 'subjectAltName=DNS:mcp.example.test', ...extra], { cwd: dir, stdio: 'ignore' });
  return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}
const first = pair('first');
const second = pair('second');
execFileSync('openssl', ['pkcs8', '-topk8', '-in', 'first.key', '-out', 'encrypted.key', '-passout', 'pass:secret'], { cwd: dir, stdio: 'ignore' });
const encryptedKey = readFileSync(join(dir, 'encrypted.key'), 'utf8');
rmSync(dir, { recursive: true, force: true });

const b64 = (text: string): string => Buffer.from(text).toString('base64');
function secret(name: string, data: Record<string, string>, type: string | null = 'kubernetes.io/tls', plain = false): KubeObject {
  const values = plain ? { stringData: data } : { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'edge' }, ...(type ? { type } : {}), ...values } as KubeObject;
}

test('a kubernetes.io/tls Secret with a certificate and its key is read, from data (base64) or stringData', () => {
  assert.equal(readTlsSecret(secret('c', { 'tls.crt': first.cert, 'tls.key': first.key }), 'edge', 'c'), first);
  assert.equal(readTlsSecret(secret('c', { 'tls.crt': first.cert, 'tls.key': first.key }, 'kubernetes.io/tls', true), 'edge', 'c'), first);
});

test('what cannot be served is refused, saying why and naming the Secret', () => {
  const cases: Array<[KubeObject | undefined, RegExp]> = [
    [undefined, /Secret edge\/c does not exist/],
    [secret('c', { 'tls.crt': first.cert, 'tls.key': first.key }, 'Opaque'), /is of type Opaque, not kubernetes\.io\/tls/],
    [secret('c', { 'tls.crt': first.cert, 'tls.key': first.key }, null), /is of type \(none, Opaque\)/],
    [secret('c', { 'tls.key': first.key }), /has no tls\.crt/],
    [secret('c', { 'tls.crt': first.cert, 'tls.key': '' }), /has no tls\.key/],
    [secret('c', { 'tls.crt': 'not a certificate', 'tls.key': first.key }), /tls\.crt is not a PEM certificate/],
    [secret('c', { 'tls.crt': first.cert, 'tls.key': second.key }), /tls\.key is not the private key of the certificate/],
    [secret('c', { 'tls.crt': first.cert, 'tls.key': encryptedKey }), /tls\.key is not a PEM private key \(an encrypted key cannot be used\)/],
  ];
  for (const [object, expected] of cases) {
    const result = readTlsSecret(object, 'edge', 'c');
    assert.type(result, 'string', String(expected));
    assert.match(result as string, expected);
  }
});

const gateway: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'gw', namespace: 'edge' },
  spec: {
    gatewayClassName: 'mcpmux',
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'https', port: 443, protocol: 'HTTPS', hostname: 'mcp.example.test', tls: { certificateRefs: [{ name: 'mcp-cert' }] } },
    ],
  },
} as KubeObject;
const route: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: 'edge' },
  spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ group: 'mcpmux.dev', kind: 'MCPBackend', name: 'b' }] }] },
} as KubeObject;
const backend: KubeObject = { apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'edge' }, spec: { targets: [{ static: { name: 't', host: '127.0.0.1', port: 3001 } }] } } as KubeObject;

const upsert = (object: KubeObject): StateChange => ({ type: 'upsert', object });
const OPTIONS = { gatewayClasses: ['mcpmux'] };
const cache = new TranslateCache();

function httpsListenerStatus(result: ReturnType<typeof translate>): Record<string, string> {
  const status = result.statuses.find((s) => s.kind === 'Gateway')!;
  const https = status.listeners!.find((l) => l.name === 'https')!;
  return Object.fromEntries(https.conditions.map((c) => [c.type, `${c.status} ${c.reason}`]));
}

test('the certificate reaches the snapshot under the name its listener gives; a rotation is a new version with the same layout; a deletion is InvalidCertificateRef', () => {
  const name = tlsSecretName('edge', 'mcp-cert');
  let state = reduceAll(emptyState(), [gateway, route, backend, secret('mcp-cert', { 'tls.crt': first.cert, 'tls.key': first.key })].map(upsert));
  const before = translate(state, OPTIONS, cache);
  const snapshot = before.snapshots[0]!;
  assert.equal(snapshot.listeners.find((l) => l.name === 'https')!.certificateSecrets, [name]);
  assert.equal(snapshot.listeners.find((l) => l.name === 'http')!.certificateSecrets, []);
  assert.equal(snapshot.secrets.find((s) => s.name === name)?.data, { 'tls.crt': first.cert, 'tls.key': first.key });
  assert.equal(httpsListenerStatus(before), { Accepted: 'True Accepted', Programmed: 'True Programmed', ResolvedRefs: 'True ResolvedRefs' });
  const layout = layoutOf(state, { gatewayClasses: OPTIONS.gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME }, new ClusterIndex(state), cache);

  state = reduceAll(state, [upsert(secret('mcp-cert', { 'tls.crt': second.cert, 'tls.key': second.key }))]);
  const rotated = translate(state, OPTIONS, cache);
  assert.is.not(rotated.snapshots[0]!.version, snapshot.version, 'a rotated certificate is a new version');
  assert.equal(rotated.snapshots[0]!.secrets.find((s) => s.name === name)?.data, { 'tls.crt': second.cert, 'tls.key': second.key });
  assert.is(layoutOf(state, { gatewayClasses: OPTIONS.gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME }, new ClusterIndex(state), cache), layout, 'no route work: the layout is reused');

  state = reduceAll(state, [{ type: 'delete', object: secret('mcp-cert', {}) }]);
  const deleted = translate(state, OPTIONS, cache);
  assert.not.ok(deleted.snapshots[0]!.secrets.some((s) => s.name === name), 'no certificate in the snapshot');
  assert.equal(deleted.snapshots[0]!.listeners.find((l) => l.name === 'https')!.certificateSecrets, [name], 'the listener still names it (the proxy refuses its handshakes)');
  assert.equal(httpsListenerStatus(deleted), { Accepted: 'True Accepted', Programmed: 'False Invalid', ResolvedRefs: 'False InvalidCertificateRef' });
  const gatewayStatus = deleted.statuses.find((s) => s.kind === 'Gateway')!;
  assert.equal(gatewayStatus.conditions.find((c) => c.type === 'Programmed')?.status, 'True', 'the HTTP listener is still served');
  assert.ok(Object.isFrozen(gatewayStatus) && Object.isFrozen(gatewayStatus.listeners), 'statuses are handed out frozen');
});

test.run();
