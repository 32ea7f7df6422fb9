// `mcpmux admin-cert` and `mcpmux ca rotate`: what an operator who can read the control plane's CA
// Secret does with it, through their own kubeconfig.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flag, type Command, type FlagSpec, type FlagValues } from '../../shared/cli/command.ts';
import { McpmuxError } from '../../shared/errors.ts';
import { ADMIN_URI } from '../../shared/net/tls.ts';
import { certificateFacts, createCa, issueCertificate, newKeyPair } from '../../shared/pki/x509.ts';
import { isNotFound, KubeClient, loadKubeConfig } from '../kube/client.ts';
import { objectPath, Resources } from '../kube/resources.ts';
import { CA_VALIDITY_MS, caSecretData, DEFAULT_CA_SECRET, parseCaSecret, type CaState } from './ca-secret.ts';
import type { SecretObject } from '../kube/leader-created-secret.ts';

const CLUSTER_FLAGS: FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', description: 'kubeconfig file (default: KUBECONFIG, ~/.kube/config)' },
  { name: 'context', type: 'string', description: 'kubeconfig context (default: its current context)' },
  { name: 'namespace', type: 'string', default: 'mcpmux-system', description: 'the control plane\'s namespace (where its CA Secret is)' },
  { name: 'ca-secret', type: 'string', default: DEFAULT_CA_SECRET, description: 'the CA Secret\'s name (the control plane\'s --ca-secret)' },
];

interface CaSecretAccess {
  client: KubeClient;
  path: string;
  where: string;
}

function access(flags: FlagValues): CaSecretAccess {
  const kubeconfig = (flags.kubeconfig as string | undefined) || undefined;
  const context = (flags.context as string | undefined) || undefined;
  const namespace = flag.string(flags, 'namespace');
  const name = flag.string(flags, 'ca-secret');
  return { client: new KubeClient(loadKubeConfig({ kubeconfig, context })), path: objectPath(Resources.Secret, namespace, name), where: `${namespace}/${name}` };
}

async function readCa(secret: CaSecretAccess): Promise<{ state: CaState; resourceVersion: string | undefined }> {
  let object: SecretObject;
  try {
    object = await secret.client.request<SecretObject>('GET', secret.path);
  } catch (error) {
    if (isNotFound(error)) throw new McpmuxError('MCPMUX_USAGE', `Secret ${secret.where} not found: is the control plane running with --discovery-tls ca in that namespace (--namespace)?`);
    throw new McpmuxError('MCPMUX_USAGE', `cannot read Secret ${secret.where} (reading it is what allows issuing admin certificates): ${(error as Error).message}`);
  }
  const parsed = parseCaSecret(object);
  if ('error' in parsed) throw new McpmuxError('MCPMUX_USAGE', `Secret ${secret.where} holds no usable CA: ${parsed.error}`);
  return { state: parsed, resourceVersion: object.metadata?.resourceVersion };
}

export const adminCertCommand: Command = {
  name: 'admin-cert',
  summary: 'Issue a client certificate for the control plane\'s admin API (URI SAN mcpmux:admin) from its CA Secret.',
  usage: 'mcpmux admin-cert [--out DIR] [--ttl SECONDS] [--namespace mcpmux-system] [--kubeconfig FILE]',
  description:
    'Whoever can read the CA Secret may issue one. Writes admin.crt, admin.key and ca.crt (the trust bundle) into --out.\n' +
    'The admin API (grpcurl, mcpmux snapshot/proxies) accepts it; discovery refuses it.',
  examples: [
    'mcpmux admin-cert --out ./mcpmux-admin',
    'kubectl -n mcpmux-system port-forward svc/mcpmux-control-plane 18000 &',
    'mcpmux proxies --control-plane localhost:18000 --tls-ca mcpmux-admin/ca.crt --tls-cert mcpmux-admin/admin.crt --tls-key mcpmux-admin/admin.key',
    'grpcurl -cacert mcpmux-admin/ca.crt -cert mcpmux-admin/admin.crt -key mcpmux-admin/admin.key localhost:18000 mcpmux.v1.AdminService/ListProxies',
  ],
  flags: [...CLUSTER_FLAGS, { name: 'out', type: 'string', default: 'mcpmux-admin', description: 'folder to write admin.crt, admin.key and ca.crt into' }, { name: 'ttl', type: 'number', default: 86_400, description: 'seconds the certificate is valid' }],
  async run(flags) {
    const ttl = flag.number(flags, 'ttl');
    if (!(ttl >= 60)) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux admin-cert: --ttl must be at least 60 seconds');
    const { state } = await readCa(access(flags));
    const { keys, keyPem } = await newKeyPair();
    const cert = await issueCertificate({ ca: state.signing, publicKey: keys.publicKey, commonName: 'mcpmux admin', names: { uris: [ADMIN_URI] }, validityMs: ttl * 1000, usage: 'client' });
    const out = flag.string(flags, 'out');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'admin.crt'), cert);
    writeFileSync(join(out, 'admin.key'), keyPem, { mode: 0o600 });
    chmodSync(join(out, 'admin.key'), 0o600);
    writeFileSync(join(out, 'ca.crt'), state.bundle);
    process.stdout.write(`wrote ${join(out, 'admin.crt')}, ${join(out, 'admin.key')} and ${join(out, 'ca.crt')} (valid until ${new Date(certificateFacts(cert).notAfter).toISOString()})\n`);
    return 0;
  },
};

const STEPS = ['stage', 'promote', 'retire'] as const;
type Step = (typeof STEPS)[number];

/** The CA Secret's next state for a rotation step, or why that step does not apply now. */
export async function rotated(state: CaState, step: Step): Promise<Omit<CaState, 'bundle'> | string> {
  switch (step) {
    case 'stage':
      if (state.next) return 'a CA is staged already: promote it (or retire first if a previous one is still trusted)';
      if (state.previous) return 'a previous CA is still trusted: retire it first';
      return { ...state, next: await createCa('mcpmux control plane CA', CA_VALIDITY_MS) };
    case 'promote':
      if (!state.next) return 'no CA is staged: stage one first';
      return { signing: state.next, previous: state.signing.cert };
    case 'retire':
      if (!state.previous) return 'no previous CA is trusted: nothing to retire';
      return { signing: state.signing, ...(state.next ? { next: state.next } : {}) };
  }
}

export const caCommand: Command = {
  name: 'ca',
  summary: 'Rotate the control plane\'s CA in three steps: stage a new CA, promote it, retire the old one.',
  usage: 'mcpmux ca rotate stage|promote|retire [--namespace mcpmux-system] [--kubeconfig FILE]',
  description:
    'stage: a new CA is trusted everywhere, not yet signing. Wait until every proxy renewed (two thirds of --proxy-certificate-ttl).\n' +
    'promote: the new CA signs (the control plane\'s certificate at once, proxies\' at their next renewal); the old one stays trusted. Wait again.\n' +
    'retire: the old CA is no longer trusted. No proxy reconnects at any step: established streams stay, new handshakes use the new material.',
  examples: ['mcpmux ca rotate stage', 'mcpmux ca rotate promote', 'mcpmux ca rotate retire'],
  flags: CLUSTER_FLAGS,
  async run(flags, positionals) {
    const [verb, step, ...extra] = positionals;
    if (verb !== 'rotate' || !STEPS.includes(step as Step) || extra.length > 0) throw new McpmuxError('MCPMUX_USAGE', 'usage: mcpmux ca rotate stage|promote|retire (see mcpmux ca --help)');
    const secret = access(flags);
    const { state, resourceVersion } = await readCa(secret);
    const next = await rotated(state, step as Step);
    if (typeof next === 'string') throw new McpmuxError('MCPMUX_USAGE', `mcpmux ca rotate ${step}: ${next}`);
    // A replace guarded by resourceVersion: two operators rotating at once do not lose a CA.
    const object = await secret.client.request<SecretObject>('GET', secret.path);
    if (object.metadata?.resourceVersion !== resourceVersion) throw new McpmuxError('MCPMUX_USAGE', `Secret ${secret.where} changed while rotating; run the step again`);
    await secret.client.request('PUT', secret.path, { body: { ...object, data: caSecretData(next) } });
    process.stdout.write(`${step}: done (${secret.where}). ${step === 'stage' ? 'Next, once every proxy renewed: mcpmux ca rotate promote' : step === 'promote' ? 'Next, once every proxy renewed: mcpmux ca rotate retire' : 'The old CA is no longer trusted.'}\n`);
    return 0;
  },
};
