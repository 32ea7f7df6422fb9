// A real kube-apiserver, etcd and kubectl for the tests, built from Go modules (the wrapper modules in
// ./kube/) and cached under $MCPMUX_CACHE/kube/, plus the official Gateway API standard-channel CRDs.
// Usage: node test/support/kube-tools.ts   (installs everything, prints paths and timings)
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CACHE_DIR } from './tools.ts';

const run = promisify(execFile);

const MODULES_DIR = fileURLToPath(new URL('./kube/', import.meta.url));
export const KUBERNETES_MODULE = join(MODULES_DIR, 'kubernetes');
const ETCD_MODULE = join(MODULES_DIR, 'etcd');

export const GATEWAY_API_MODULE = 'sigs.k8s.io/gateway-api';
export const GATEWAY_API_VERSION = 'v1.4.1';

/** Thrown when a tool cannot be built or fetched; the message says what failed and why. */
export class KubeToolsError extends Error {
  override name = 'KubeToolsError';
}

export interface KubeTools {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
}

/** How long the last ensureKubeTools/ensureGatewayApiCrds call in this process took, and whether it built. */
export const kubeToolsTiming: { built: boolean; steps: Record<string, number> } = { built: false, steps: {} };

/** The version a wrapper module's go.mod requires of `path` (so the cache key follows go.mod). */
export function requiredVersion(moduleDir: string, path: string): string {
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${path.replaceAll('.', '\\.')}\\s+(v\\S+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new KubeToolsError(`${join(moduleDir, 'go.mod')} does not require ${path}`);
  return match[1];
}

export const KUBERNETES_VERSION = requiredVersion(KUBERNETES_MODULE, 'k8s.io/kubernetes');
export const ETCD_VERSION = requiredVersion(ETCD_MODULE, 'go.etcd.io/etcd/server/v3');

/**
 * What `go build` is asked for: release version stamped in the way Kubernetes' own build
 * (hack/lib/version.sh) does it, without which `kubectl version` and /version report v0.0.0-master;
 * stripped symbols (-s -w) and no local paths (-trimpath) for smaller, reproducible binaries.
 */
export function buildFlags(): { kubernetes: string[]; etcd: string[] } {
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  const stamp = Object.entries({ gitVersion: KUBERNETES_VERSION, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' })
    .flatMap(([key, value]) => [`-X k8s.io/client-go/pkg/version.${key}=${value}`, `-X k8s.io/component-base/version.${key}=${value}`]);
  return { kubernetes: ['-trimpath', `-ldflags=-s -w ${stamp.join(' ')}`], etcd: ['-trimpath', '-ldflags=-s -w'] };
}

/**
 * Hash of every file in the given wrapper modules and of the build flags: any change gets fresh
 * binaries. Each cache folder hashes only the modules it is built from, so adding a module (the
 * cluster tier's containerd, say) does not throw away the kube-apiserver.
 */
export function buildHash(modules: readonly string[], flags: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(flags));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(MODULES_DIR, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  for (const module of modules) walk(module);
  return hash.digest('hex').slice(0, 10);
}

/** $CACHE/kube/<k8s version>-etcd-<etcd version>-<build hash>; binaries in its bin/ */
export function kubeToolsDir(): string {
  return join(CACHE_DIR, 'kube', `${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}-${buildHash([KUBERNETES_MODULE, ETCD_MODULE], buildFlags())}`);
}

const BINARIES = ['kube-apiserver', 'kubectl', 'etcd'] as const;

function toolsIn(bin: string): KubeTools {
  return { kubeApiserver: join(bin, 'kube-apiserver'), etcd: join(bin, 'etcd'), kubectl: join(bin, 'kubectl') };
}

const complete = (bin: string): boolean => BINARIES.every((name) => existsSync(join(bin, name)));

export function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Never fetch another Go toolchain behind our back; a newer one must be asked for explicitly.
    GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
    // go.sum is committed: builds must use exactly it (these come last, so they win over the caller's
    // GOFLAGS, which may still add e.g. -p=1). Static binaries need no C compiler.
    GOFLAGS: [process.env.GOFLAGS, '-mod=readonly', '-buildvcs=false'].filter(Boolean).join(' '),
    CGO_ENABLED: '0',
  };
}

const tail = (text: string, chars = 3000): string => (text.length > chars ? `…${text.slice(-chars)}` : text).trim();

export async function go(what: string, args: string[], cwd: string): Promise<string> {
  try {
    return (await run(process.env.GO ?? 'go', args, { cwd, env: goEnv(), maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { code, stderr, message } = error as { code?: string | number; stderr?: string; message: string };
    if (code === 'ENOENT') throw new KubeToolsError(`${what} failed: no \`go\` on PATH (install Go >= 1.26 or set GO=/path/to/go)`);
    throw new KubeToolsError(`${what} failed (exit ${code}): ${tail(stderr || message)}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process with this pid exists (for locks and temp folders whose owner may be gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` holding an exclusive lock file, so two test processes never build the same thing twice;
 * `done()` says whether another holder already produced the result. A lock whose holder died is taken over.
 */
export async function withLock<T>(lockPath: string, done: () => boolean, work: () => Promise<T>, waitMs = 60 * 60_000): Promise<T | undefined> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    if (done()) return undefined;
    let fd: number | undefined;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, String(process.pid));
        closeSync(fd);
        if (done()) return undefined; // finished between our check and the lock
        return await work();
      } finally {
        rmSync(lockPath, { force: true });
      }
    }
    let holder = 0;
    let ageMs = 0;
    try {
      holder = Number(readFileSync(lockPath, 'utf8').trim());
      ageMs = Date.now() - statSync(lockPath).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    // A dead holder, or one that died between creating the file and writing its pid.
    if (holder > 0 ? !alive(holder) : ageMs > 10_000) {
      rmSync(lockPath, { force: true });
      continue;
    }
    if (!told) {
      process.stderr.write(`kube-tools: waiting for process ${holder || '?'} that holds ${lockPath}\n`);
      told = true;
    }
    if (Date.now() > deadline) throw new KubeToolsError(`timed out after ${waitMs / 1000} s waiting for ${lockPath} (held by pid ${holder}); delete it if that process is gone`);
    await sleep(1000);
  }
}

async function buildKubeTools(dir: string): Promise<void> {
  const bin = join(dir, 'bin');
  // Build into a private folder and rename it into place: `bin` only ever exists complete.
  const staging = join(dir, `bin.partial-${process.pid}`);
  // We hold the lock: partial folders left by killed builds are garbage.
  for (const entry of readdirSync(dir)) if (entry.startsWith('bin.partial-')) rmSync(join(dir, entry), { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const flags = buildFlags();
  // One `go build` for both Kubernetes binaries: their shared packages compile once.
  const steps: Array<[string, string[], string]> = [
    ['kube-apiserver + kubectl', ['build', ...flags.kubernetes, '-o', `${staging}/`, './cmd/kube-apiserver', './cmd/kubectl'], KUBERNETES_MODULE],
    ['etcd', ['build', ...flags.etcd, '-o', join(staging, 'etcd'), '.'], ETCD_MODULE],
  ];
  try {
    for (const [what, args, cwd] of steps) {
      const started = Date.now();
      process.stderr.write(`kube-tools: building ${what} (${KUBERNETES_VERSION}, etcd ${ETCD_VERSION}); a cold build takes minutes…\n`);
      await go(`go build of ${what}`, args, cwd);
      kubeToolsTiming.steps[what] = Date.now() - started;
      process.stderr.write(`kube-tools: built ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    for (const name of BINARIES) {
      if (!existsSync(join(staging, name))) throw new KubeToolsError(`go build finished but ${join(staging, name)} is missing`);
    }
    renameSync(staging, bin);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

let kubeTools: Promise<KubeTools> | undefined;

/** Paths of kube-apiserver, etcd and kubectl, building them (once, cached) the first time. */
export function ensureKubeTools(): Promise<KubeTools> {
  kubeTools ??= (async () => {
    const dir = kubeToolsDir();
    const bin = join(dir, 'bin');
    if (complete(bin)) return toolsIn(bin);
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    await withLock(join(dir, 'build.lock'), () => complete(bin), async () => {
      await buildKubeTools(dir);
      kubeToolsTiming.built = true;
      process.stderr.write(`kube-tools: kube-apiserver, kubectl and etcd built into ${bin} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    });
    return toolsIn(bin);
  })();
  kubeTools.catch(() => (kubeTools = undefined)); // a failed build may be retried
  return kubeTools;
}

let gatewayCrds: Promise<string> | undefined;

/** A folder holding the official Gateway API standard-channel CRD YAMLs (from the Go module, cached). */
export function ensureGatewayApiCrds(): Promise<string> {
  gatewayCrds ??= (async () => {
    const dir = join(CACHE_DIR, 'gateway-api', GATEWAY_API_VERSION);
    const standard = join(dir, 'standard');
    const present = (): boolean => existsSync(standard) && readdirSync(standard).some((f) => f.endsWith('.yaml'));
    if (present()) return standard;
    mkdirSync(dir, { recursive: true });
    await withLock(join(dir, 'fetch.lock'), present, async () => {
      const started = Date.now();
      const module = `${GATEWAY_API_MODULE}@${GATEWAY_API_VERSION}`;
      // Outside any module, `go mod download` just fetches (and checksums) this one module.
      const downloaded = JSON.parse(await go(`go mod download ${module}`, ['mod', 'download', '-json', module], tmpdir())) as { Dir?: string; Error?: string };
      const source = join(downloaded.Dir ?? '', 'config', 'crd', 'standard');
      if (!downloaded.Dir || !existsSync(source)) throw new KubeToolsError(`${module} has no config/crd/standard (${downloaded.Error ?? downloaded.Dir})`);
      const staging = `${standard}.partial-${process.pid}`;
      cpSync(source, staging, { recursive: true, filter: (path) => statSync(path).isDirectory() || path.endsWith('.yaml') });
      renameSync(staging, standard);
      kubeToolsTiming.steps['gateway-api CRDs'] = Date.now() - started;
    });
    return standard;
  })();
  gatewayCrds.catch(() => (gatewayCrds = undefined));
  return gatewayCrds;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  try {
    const tools = await ensureKubeTools();
    const crds = await ensureGatewayApiCrds();
    for (const [name, path] of Object.entries(tools)) console.log(`${name}: ${path} (${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB)`);
    console.log(`gateway-api ${GATEWAY_API_VERSION} standard CRDs: ${crds}`);
    for (const [step, ms] of Object.entries(kubeToolsTiming.steps)) console.log(`  ${step}: ${seconds(ms)}`);
    console.log(`kube tools ${kubeToolsTiming.built ? 'built' : 'cached'}; total ${seconds(Date.now() - started)}`);
  } catch (error) {
    console.error(error instanceof KubeToolsError ? `kube-tools: ${error.message}` : error);
    process.exitCode = 1;
  }
}
