// A real, throwaway Kubernetes control plane for tests: etcd + kube-apiserver (no scheduler, controller
// manager or nodes) on free 127.0.0.1 ports, with an admin token, a kubeconfig and, on request, the
// official Gateway API CRDs. Everything lives in one temp folder that stop() (or process exit) removes.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, type Managed } from '../../shared/testing/processes.ts';
import { alive, ensureGatewayApiCrds, ensureKubeTools, type KubeTools } from './kube-tools.ts';

export interface KubeClusterOptions {
  /** Install the Gateway API standard-channel CRDs and wait until they are Established. */
  gatewayApi?: boolean;
  /** kube-apiserver --authorization-mode (default RBAC; the admin token is in system:masters either way). */
  authorizationMode?: string;
  /** Extra kube-apiserver flags, appended last (so they win). */
  apiserverArgs?: string[];
  /**
   * The address the kube-apiserver binds, advertises (the `kubernetes` Service's endpoint) and is
   * reached on; its self-signed certificate names it. Default 127.0.0.1. The cluster tier uses its
   * node's address, inside its own network namespace, so that pods reach the API too.
   */
  address?: string;
  /**
   * Keep the ServiceAccount admission plugin (pods get their account's token mounted). Only with a
   * controller manager that creates the accounts (the cluster tier's node-cluster.ts); off by default.
   */
  serviceAccountAdmission?: boolean;
  /** How long etcd plus kube-apiserver may take to become ready (default 90 s; a busy 2-core CI box is slow). */
  readyTimeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface KubeCluster {
  /** A kubeconfig (current context = the admin token) for kubectl and @kubernetes/client-node. */
  kubeconfigPath: string;
  /** https://<address>:<port> (127.0.0.1 unless options.address) */
  server: string;
  /** Bearer token of an admin in system:masters. */
  token: string;
  /** CA bundle that verifies the API server's self-signed serving certificate. */
  caPath: string;
  /** Milliseconds from the call to a ready cluster, and per phase. */
  timings: { totalMs: number; toolsMs: number; etcdMs: number; apiserverMs: number; crdsMs: number };
  /** Runs kubectl against this cluster; never throws on a non-zero exit (check `code`). */
  kubectl(args: string[], input?: string): Promise<CommandResult>;
  /** `kubectl apply --server-side` of a file, a folder, or YAML text; throws if kubectl fails. */
  applyYaml(pathOrYaml: string): Promise<CommandResult>;
  stop(): Promise<void>;
}

/** Thrown when the cluster cannot start; the message carries the failing process' output. */
export class KubeClusterError extends Error {
  override name = 'KubeClusterError';
}

const TEMP_PREFIX = 'mcpmux-kube-';
const OWNER_FILE = 'owner.pid';

/** Removes temp folders of earlier test processes that were killed before they could clean up. */
function sweepStaleDirs(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(TEMP_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
      if (owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Not ours to judge (no owner file yet, or already gone).
    }
  }
}

/** Runs a command to completion, collecting its output. */
function runCommand(command: string, args: string[], input?: string, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    child.stdin.on('error', () => undefined); // EPIPE when it exits without reading: its exit code tells
    child.stdin.end(input ?? '');
  });
}

/** GET over https, trusting only `ca`; resolves with the status even when it is not 200. */
function httpsGet(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const tail = (text: string, chars = 4000): string => (text.length > chars ? `…${text.slice(-chars)}` : text).trim();

/** Polls `probe` until it returns true; fails at once, with the process' output, if the process exits. */
async function waitUntil(managed: Managed, what: string, probe: () => Promise<boolean>, deadline: number): Promise<void> {
  let last = '';
  for (;;) {
    if (managed.child.exitCode !== null || managed.child.signalCode !== null) {
      throw new KubeClusterError(`${managed.name} exited (${managed.child.exitCode ?? managed.child.signalCode}) before ${what}; output:\n${tail(managed.output())}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new KubeClusterError(`timed out waiting for ${what} (${last}); ${managed.name} output:\n${tail(managed.output())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function writeKubeconfig(path: string, server: string, caPath: string, token: string): void {
  // JSON is valid YAML, and kubectl and client-node both read it.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'mcpmux-test', cluster: { server, 'certificate-authority': caPath } }],
    users: [{ name: 'mcpmux-test-admin', user: { token } }],
    contexts: [{ name: 'mcpmux-test', context: { cluster: 'mcpmux-test', user: 'mcpmux-test-admin', namespace: 'default' } }],
    'current-context': 'mcpmux-test',
    preferences: {},
  };
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
}

/** Starts etcd and kube-apiserver (building them first if they are not cached) and waits until ready. */
export async function startKubeCluster(options: KubeClusterOptions = {}): Promise<KubeCluster> {
  const started = Date.now();
  const tools: KubeTools = await ensureKubeTools();
  const crds = options.gatewayApi ? await ensureGatewayApiCrds() : undefined;
  const toolsMs = Date.now() - started;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);

  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  const processes: Managed[] = [];
  let stopped = false;
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir); // processes.ts SIGKILLs the children on exit; this removes their data

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // SIGKILL: the data is thrown away, so a graceful shutdown would only cost time.
    for (const managed of processes.reverse()) await managed.stop('SIGKILL');
    removeDir();
    process.off('exit', removeDir);
  };

  try {
    // Both binaries die with this process even if it is SIGKILLed (see kube/*/internal/parentdeath).
    const env = { MCPMUX_DIE_WITH_PARENT: '1' };
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = startProcess('etcd', tools.etcd, [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true', // test data: durability buys nothing, fsync costs seconds on a busy disk
      '--log-level=warn',
    ], env);
    processes.push(etcd);
    await waitUntil(etcd, 'etcd answered /health', async () => {
      const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(5000) });
      const body = await response.text();
      if (response.ok && (JSON.parse(body) as { health?: string }).health === 'true') return true;
      throw new Error(`etcd /health ${response.status}: ${body.trim()}`);
    }, deadline);
    const etcdMs = Date.now() - started - toolsMs;

    // A service-account signing key (required by kube-apiserver) and a static admin token.
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},mcpmux-test-admin,mcpmux-test-admin,"system:masters"\n`, { mode: 0o600 });
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);

    const address = options.address ?? '127.0.0.1';
    const server = `https://${address}:${apiPort}`;
    const apiserver = startProcess('kube-apiserver', tools.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${apiPort}`,
      // It writes a self-signed serving cert (with a SAN for the address, and its CA) here.
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      `--authorization-mode=${options.authorizationMode ?? 'RBAC'}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // No controller manager creates "default" service accounts, so Pods would be refused.
      ...(options.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
      // Fewer start-up hooks and background writes; nothing here tests them.
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      ...(options.apiserverArgs ?? []),
    ], env);
    processes.push(apiserver);
    const caPath = join(certDir, 'apiserver.crt');
    let ca: Buffer | undefined;
    await waitUntil(apiserver, `${server}/readyz returned 200`, async () => {
      if (!ca) {
        if (!existsSync(caPath)) throw new Error(`no serving certificate in ${certDir} yet`);
        ca = readFileSync(caPath);
      }
      const readyz = await httpsGet(`${server}/readyz?verbose`, ca, token);
      if (readyz.status === 200) return true;
      // Which checks fail ("[-]poststarthook/… failed: reason withheld"): what a timeout reports.
      const failing = readyz.body.split('\n').filter((line) => line.startsWith('[-]'));
      throw new Error(`/readyz ${readyz.status}${failing.length ? `: ${failing.join(', ')}` : ''}`);
    }, deadline);
    // /readyz can pass just before the bootstrap controller has created the "default" namespace.
    await waitUntil(apiserver, 'namespace default exists', async () => {
      const { status } = await httpsGet(`${server}/api/v1/namespaces/default`, ca!, token);
      if (status === 200) return true;
      throw new Error(`GET namespace default: ${status}`);
    }, deadline);
    const apiserverMs = Date.now() - started - toolsMs - etcdMs;

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, server, caPath, token);
    const kubectl = (args: string[], input?: string): Promise<CommandResult> => runCommand(tools.kubectl, [`--kubeconfig=${kubeconfigPath}`, ...args], input);
    const applyYaml = async (pathOrYaml: string): Promise<CommandResult> => {
      const fromFile = existsSync(pathOrYaml);
      // Server-side apply: the big CRDs overflow client-side apply's last-applied annotation.
      const result = await kubectl(['apply', '--server-side', '--field-manager=mcpmux-test', '-f', fromFile ? pathOrYaml : '-'], fromFile ? undefined : pathOrYaml);
      if (result.code !== 0) throw new KubeClusterError(`kubectl apply of ${fromFile ? pathOrYaml : 'YAML text'} failed (exit ${result.code}): ${tail(result.stderr || result.stdout)}`);
      return result;
    };

    let crdsMs = 0;
    if (crds) {
      const crdsStarted = Date.now();
      await applyYaml(crds);
      const seconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
      const waited = await kubectl(['wait', '--for=condition=Established', '-f', crds, `--timeout=${seconds}s`]);
      if (waited.code !== 0) throw new KubeClusterError(`Gateway API CRDs not Established (exit ${waited.code}): ${tail(waited.stderr || waited.stdout)}`);
      crdsMs = Date.now() - crdsStarted;
    }

    return { kubeconfigPath, server, token, caPath, timings: { totalMs: Date.now() - started, toolsMs, etcdMs, apiserverMs, crdsMs }, kubectl, applyYaml, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
