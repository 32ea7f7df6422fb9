// mTLS between proxies and the control plane (issue 7, acceptance 5): with it on, a proxy without a
// valid client certificate cannot subscribe to snapshots; one whose certificate names another
// gateway is refused (PERMISSION_DENIED); one whose certificate names its gateway (or any) gets them.
// Certificates are made with the openssl CLI in a temp folder.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../shared/log.ts';
import type { TlsMaterial } from '../shared/net/tls.ts';
import { startControlPlane, type RunningControlPlane } from '../control-plane/control-plane.ts';
import { FilesSource } from '../control-plane/sources/files.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import { TUTORIAL_YAML } from './support/stack.ts';

const run = promisify(execFile);
const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const GROUP = 'agentgateway-system/mcp-gateway';

let dir: string;
let cp: RunningControlPlane;

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A CA, and a certificate it signs with these subjectAltNames. */
async function ca(name: string): Promise<void> {
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
}

async function certificate(name: string, caName: string, san: string): Promise<void> {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
}

function material(name: string, caName = 'ca'): TlsMaterial {
  return { ca: readFileSync(join(dir, `${caName}.crt`)), cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
}

/** A config client's fate within a bound time: the version it applied, or its last error. */
async function subscribe(tls: TlsMaterial | undefined, waitMs = 3000): Promise<{ applied: string | undefined; error: string }> {
  let applied: string | undefined;
  const client = new ConfigClient({ controlPlane: `localhost:${cp.grpcPort}`, nodeId: `p-${Math.random()}`, group: GROUP, logger, tls, apply: (s) => void (applied = s.version) });
  client.start();
  const deadline = Date.now() + waitMs;
  while (applied === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const error = client.state.lastError;
  client.close();
  return { applied, error };
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-mtls-'));
  await ca('ca');
  await ca('other-ca');
  await certificate('server', 'ca', 'IP:127.0.0.1,DNS:localhost');
  await certificate('proxy', 'ca', `URI:mcpmux:gateway:${GROUP}`);
  await certificate('any-proxy', 'ca', 'URI:mcpmux:gateway:*');
  await certificate('wrong-group', 'ca', 'URI:mcpmux:gateway:other/gateway');
  await certificate('stranger', 'other-ca', `URI:mcpmux:gateway:${GROUP}`);
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'tutorial.yaml'), TUTORIAL_YAML);
  cp = await startControlPlane({
    source: new FilesSource({ dir: manifests, logger }),
    gatewayClasses: ['agentgateway'],
    address: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    eventLogRetention: 100,
    logger,
    tls: material('server'),
  });
});

test.after(async () => {
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a proxy whose certificate names its gateway (or any) gets snapshots', async () => {
  const current = cp.cache.get(GROUP)!.version;
  assert.is((await subscribe(material('proxy'))).applied, current);
  assert.is((await subscribe(material('any-proxy'))).applied, current);
});

test('without a certificate, with one from another CA, or in plaintext: no snapshot', async () => {
  const plaintext = await subscribe(undefined, 1500);
  assert.is(plaintext.applied, undefined);
  const stranger = await subscribe({ ...material('stranger', 'ca') }, 1500);
  assert.is(stranger.applied, undefined);
  const noClientCert = await subscribe({ ca: readFileSync(join(dir, 'ca.crt')) }, 1500);
  assert.is(noClientCert.applied, undefined, 'TLS without a client certificate');
});

test('a certificate naming another gateway is refused with PERMISSION_DENIED', async () => {
  const denied = await subscribe(material('wrong-group'), 1500);
  assert.is(denied.applied, undefined);
  assert.match(denied.error, /names no mcpmux:gateway:agentgateway-system\/mcp-gateway URI SAN/);
});

test.run();
