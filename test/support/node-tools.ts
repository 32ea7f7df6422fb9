// The single-node cluster tier's tools (issue 17), built and cached the way kube-tools.ts builds the
// kube-apiserver: kubelet, kube-controller-manager, kube-scheduler and kube-proxy from the same
// Kubernetes wrapper module (same release), containerd v2 + its runc shim + ctr, and CoreDNS, each
// from a wrapper module in ./kube/ into its own folder under $MCPMUX_CACHE/kube/; plus the Debian
// packages a node needs (runc, CNI plugins, iptables, conntrack, tini), installed when missing.
// Usage: node test/support/node-tools.ts   (installs everything, prints paths and timings)
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildFlags, buildHash, go, KubeToolsError, KUBERNETES_MODULE, KUBERNETES_VERSION, requiredVersion, withLock } from './kube-tools.ts';
import { CACHE_DIR } from './tools.ts';

const run = promisify(execFile);

const CONTAINERD_MODULE = fileURLToPath(new URL('./kube/containerd/', import.meta.url));
const COREDNS_MODULE = fileURLToPath(new URL('./kube/coredns/', import.meta.url));
const CONTAINERD_PACKAGE = 'github.com/containerd/containerd/v2';
export const CONTAINERD_VERSION = requiredVersion(CONTAINERD_MODULE, CONTAINERD_PACKAGE);
export const COREDNS_VERSION = requiredVersion(COREDNS_MODULE, 'github.com/coredns/coredns');

/** Debian packages the node needs, by a file each one installs (what is checked before apt runs). */
const DEBIAN_PACKAGES: Record<string, string> = {
  runc: '/usr/sbin/runc',
  'containernetworking-plugins': '/usr/lib/cni/bridge',
  iptables: '/usr/sbin/iptables',
  // kube-proxy flushes stale UDP conntrack entries with it.
  conntrack: '/usr/sbin/conntrack',
  // PID 1 of the cluster's PID namespace: it reaps the shims that containerd leaves orphaned.
  tini: '/usr/bin/tini',
  // setpriv (parent-death signal) and unshare (the namespaces).
  'util-linux': '/usr/bin/setpriv',
  // ip: the node address and the Service route inside the namespace.
  iproute2: '/sbin/ip',
};

export interface NodeTools {
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
  containerd: string;
  /** Folder holding containerd, containerd-shim-runc-v2 and ctr (containerd finds its shim on PATH). */
  containerdBin: string;
  ctr: string;
  coredns: string;
  runc: string;
  cniBin: string;
  tini: string;
}

/** How long the last ensureNodeTools call in this process took per step, and whether it built. */
export const nodeToolsTiming: { built: boolean; steps: Record<string, number> } = { built: false, steps: {} };

interface Build {
  /** Cache folder; its bin/ only ever exists complete. */
  dir: string;
  binaries: readonly string[];
  steps: Array<{ what: string; args: string[]; cwd: string }>;
}

/** containerd's own Makefile stamps the version this way, and builds the shim without gRPC. */
function containerdFlags(): { daemon: string[]; shim: string[] } {
  const ldflags = `-ldflags=-s -w -X ${CONTAINERD_PACKAGE}/version.Version=${CONTAINERD_VERSION}`;
  return { daemon: ['-trimpath', '-tags=urfave_cli_no_docs', ldflags], shim: ['-trimpath', '-tags=urfave_cli_no_docs,no_grpc', ldflags] };
}

function builds(): Record<'kubernetes' | 'containerd' | 'coredns', Build> {
  const kubeFlags = buildFlags().kubernetes;
  const ctrFlags = containerdFlags();
  const corednsFlags = ['-trimpath', '-ldflags=-s -w'];
  const kubeDir = join(CACHE_DIR, 'kube', `${KUBERNETES_VERSION}-node-${buildHash([KUBERNETES_MODULE], kubeFlags)}`);
  const ctrDir = join(CACHE_DIR, 'kube', `containerd-${CONTAINERD_VERSION}-${buildHash([CONTAINERD_MODULE], ctrFlags)}`);
  const corednsDir = join(CACHE_DIR, 'kube', `coredns-${COREDNS_VERSION}-${buildHash([COREDNS_MODULE], corednsFlags)}`);
  return {
    kubernetes: {
      dir: kubeDir,
      binaries: ['kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'],
      // One `go build`: the four share most packages (and the kube-apiserver's, if that is cached).
      steps: [{ what: 'kubelet + kube-controller-manager + kube-scheduler + kube-proxy', cwd: KUBERNETES_MODULE, args: ['build', ...kubeFlags, '-o', '{out}/', './cmd/kubelet', './cmd/kube-controller-manager', './cmd/kube-scheduler', './cmd/kube-proxy'] }],
    },
    containerd: {
      dir: ctrDir,
      binaries: ['containerd', 'containerd-shim-runc-v2', 'ctr'],
      steps: [
        { what: 'containerd + ctr', cwd: CONTAINERD_MODULE, args: ['build', ...ctrFlags.daemon, '-o', '{out}/', `${CONTAINERD_PACKAGE}/cmd/containerd`, `${CONTAINERD_PACKAGE}/cmd/ctr`] },
        { what: 'containerd-shim-runc-v2', cwd: CONTAINERD_MODULE, args: ['build', ...ctrFlags.shim, '-o', '{out}/', `${CONTAINERD_PACKAGE}/cmd/containerd-shim-runc-v2`] },
      ],
    },
    coredns: {
      dir: corednsDir,
      binaries: ['coredns'],
      steps: [{ what: 'coredns', cwd: COREDNS_MODULE, args: ['build', ...corednsFlags, '-o', '{out}/', 'github.com/coredns/coredns'] }],
    },
  };
}

const complete = (build: Build): boolean => build.binaries.every((name) => existsSync(join(build.dir, 'bin', name)));

async function ensureBuilt(name: string, build: Build): Promise<string> {
  const bin = join(build.dir, 'bin');
  if (complete(build)) return bin;
  mkdirSync(build.dir, { recursive: true });
  await withLock(join(build.dir, 'build.lock'), () => complete(build), async () => {
    const staging = join(build.dir, `bin.partial-${process.pid}`);
    // We hold the lock: partial folders left by killed builds are garbage.
    for (const entry of readdirSync(build.dir)) if (entry.startsWith('bin.partial-')) rmSync(join(build.dir, entry), { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      for (const step of build.steps) {
        const started = Date.now();
        process.stderr.write(`node-tools: building ${step.what} (${name}); a cold build takes minutes…\n`);
        await go(`go build of ${step.what}`, step.args.map((arg) => arg.replace('{out}', staging)), step.cwd);
        nodeToolsTiming.steps[step.what] = Date.now() - started;
        process.stderr.write(`node-tools: built ${step.what} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      }
      for (const binary of build.binaries) {
        if (!existsSync(join(staging, binary))) throw new KubeToolsError(`go build finished but ${join(staging, binary)} is missing`);
      }
      renameSync(staging, bin);
      nodeToolsTiming.built = true;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
  return bin;
}

/** Installs the Debian packages of DEBIAN_PACKAGES that are missing (as root, with apt-get). */
export async function ensureNodePackages(): Promise<void> {
  const missing = Object.entries(DEBIAN_PACKAGES).filter(([, file]) => !existsSync(file)).map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new KubeToolsError(`the cluster tier needs the Debian packages ${missing.join(', ')}; run as root or \`apt-get install ${missing.join(' ')}\``);
  const started = Date.now();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): Promise<unknown> => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, maxBuffer: 16 * 1024 * 1024 });
  try {
    await install();
  } catch {
    // A new machine has no package lists yet.
    try {
      await run('apt-get', ['update', '-qq'], { env, maxBuffer: 16 * 1024 * 1024 });
      await install();
    } catch (error) {
      throw new KubeToolsError(`apt-get install ${missing.join(' ')} failed: ${(error as { stderr?: string }).stderr || (error as Error).message}`);
    }
  }
  nodeToolsTiming.steps[`apt-get install ${missing.join(' ')}`] = Date.now() - started;
}

let nodeTools: Promise<NodeTools> | undefined;

/** Paths of every node tool, building (once, cached) and installing what is missing the first time. */
export function ensureNodeTools(): Promise<NodeTools> {
  nodeTools ??= (async () => {
    await ensureNodePackages();
    const all = builds();
    // One build at a time: each already uses both cores.
    const kubeBin = await ensureBuilt('kubernetes', all.kubernetes);
    const containerdBin = await ensureBuilt('containerd', all.containerd);
    const corednsBin = await ensureBuilt('coredns', all.coredns);
    return {
      kubelet: join(kubeBin, 'kubelet'),
      kubeControllerManager: join(kubeBin, 'kube-controller-manager'),
      kubeScheduler: join(kubeBin, 'kube-scheduler'),
      kubeProxy: join(kubeBin, 'kube-proxy'),
      containerd: join(containerdBin, 'containerd'),
      containerdBin,
      ctr: join(containerdBin, 'ctr'),
      coredns: join(corednsBin, 'coredns'),
      runc: DEBIAN_PACKAGES.runc!,
      cniBin: '/usr/lib/cni',
      tini: DEBIAN_PACKAGES.tini!,
    };
  })();
  nodeTools.catch(() => (nodeTools = undefined)); // a failed build may be retried
  return nodeTools;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  try {
    const tools = await ensureNodeTools();
    for (const [name, path] of Object.entries(tools)) {
      const stat = statSync(path);
      console.log(`${name}: ${path}${stat.isFile() ? ` (${(stat.size / 1024 / 1024).toFixed(1)} MiB)` : ''}`);
    }
    for (const [step, ms] of Object.entries(nodeToolsTiming.steps)) console.log(`  ${step}: ${seconds(ms)}`);
    console.log(`node tools ${nodeToolsTiming.built ? 'built' : 'cached'}; total ${seconds(Date.now() - started)}`);
  } catch (error) {
    console.error(error instanceof KubeToolsError ? `node-tools: ${error.message}` : error);
    process.exitCode = 1;
  }
}
