// A real single-node Kubernetes cluster for the cluster tier (issue 17): etcd + kube-apiserver (from
// kube-cluster.ts), kube-controller-manager, kube-scheduler, a kubelet on containerd v2 + runc with a
// CNI bridge, kube-proxy (iptables) and CoreDNS, all as processes of the test.
//
// Everything runs inside namespaces the test makes for itself, never in the machine's own network:
// runInClusterNamespaces() re-runs the test file under `unshare --net --mount --pid` with tini as
// PID 1, and startNodeCluster() (inside) then
//   - mounts private tmpfs over /tmp, /run, /var/lib and /var/log, so that kubelet's and
//     containerd's state (including paths they hard-code) never reaches the machine's disk;
//   - masks the kernel settings kubelet insists on (vm.overcommit_memory, kernel.panic,
//     kernel.panic_on_oops) with bind-mounted files, so that kubelet never writes the machine's;
//   - gives loopback the node address, so pods reach the node (CoreDNS, the kube-apiserver) on it.
// The pod and Service ranges exist only there. When the test process exits (or is SIGKILLed), the
// kernel ends the PID namespace, so every process of the cluster, shims and containers included, goes
// with it, and the network and mount namespaces with them. Only kubelet's cgroups (cgroup v1 has no
// namespaces) live outside: stop() removes them, and the next start removes any a crash left.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startProcess, type Managed } from '../../shared/testing/processes.ts';
import { startKubeCluster, type CommandResult, type KubeCluster } from './kube-cluster.ts';
import { buildHash, ensureKubeTools, go, type KubeTools } from './kube-tools.ts';
import { ensureNodeTools, type NodeTools } from './node-tools.ts';
import { buildOciArchive } from './oci-image.ts';
import { CACHE_DIR } from './tools.ts';

const run = promisify(execFile);

/** Set in the re-run test process: it is inside the cluster's own namespaces. */
const INSIDE_ENV = 'MCPMUX_CLUSTER_NAMESPACES';
export const NODE_NAME = 'mcpmux-node';
/** The node's address, on loopback inside the network namespace: kubelet, CoreDNS and the kube-apiserver listen on it. */
export const NODE_IP = '10.200.0.1';
export const POD_CIDR = '10.244.0.0/24';
/** kube-cluster.ts' --service-cluster-ip-range; the `kubernetes` Service is its first address. */
export const SERVICE_CIDR = '10.96.0.0/16';
export const CLUSTER_DOMAIN = 'cluster.local';
/** Images the harness imports before the node starts (nothing can be pulled here). */
export const SMOKE_IMAGE = 'mcpmux.test/smoke:1';
export const PAUSE_IMAGE = 'mcpmux.test/pause:1';
/** Where the other images (mcpmux, server-everything, the Python fetcher, NATS) are built to, as OCI or docker archives. */
export const IMAGES_DIR = join(CACHE_DIR, 'images');

const STATE_DIR = '/run/mcpmux-node';
const CGROUP_FS = '/sys/fs/cgroup';
const CGROUP_PREFIX = 'mcpmux-node-';
const SMOKE_MODULE = fileURLToPath(new URL('./kube/smoke/', import.meta.url));

/** Thrown when the cluster cannot start or a step fails; the message carries the failing process' output. */
export class NodeClusterError extends Error {
  override name = 'NodeClusterError';
}

export interface NodeClusterTimings {
  totalMs: number;
  namespaceMs: number;
  controlPlaneMs: number;
  containerdMs: number;
  imagesMs: number;
  nodeReadyMs: number;
  proxyMs: number;
  dnsMs: number;
}

export interface NodeCluster {
  kube: KubeCluster;
  kubeconfigPath: string;
  timings: NodeClusterTimings;
  kubectl(args: string[], input?: string): Promise<CommandResult>;
  applyYaml(pathOrYaml: string): Promise<CommandResult>;
  /** Imports an OCI or docker image archive into the node's image store (namespace k8s.io); returns ctr's output. */
  importImage(archive: string): Promise<string>;
  /** Output of one of the node's processes (containerd, kubelet, kube-proxy, coredns, kube-scheduler, kube-controller-manager). */
  logs(name: string): string;
  stop(): Promise<void>;
}

export interface NodeClusterOptions {
  /** How long the whole start may take once the tools are built (default 240 s). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags (appended last). */
  apiserverArgs?: string[];
}

const tail = (text: string, chars = 4000): string => (text.length > chars ? `…${text.slice(-chars)}` : text).trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a command to completion; throws NodeClusterError (with its output) when it fails. */
async function sh(command: string, args: string[], what = `${command} ${args.join(' ')}`, timeoutMs = 60_000): Promise<string> {
  try {
    return (await run(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message: string };
    throw new NodeClusterError(`${what} failed: ${tail(stderr || stdout || message)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The namespaces

/** Whether this process is the re-run one, inside the cluster's namespaces. */
export function insideClusterNamespaces(): boolean {
  return process.env[INSIDE_ENV] === '1';
}

/**
 * Outside: builds the tools (this needs the registries, which the new network namespace cannot
 * reach), then re-runs this very script (same node flags and arguments) inside new network, mount and
 * PID namespaces, and exits with its exit code. Never returns. setpriv's parent-death signal ends
 * unshare, and --kill-child then tini, if this process is killed: the kernel ends the rest.
 */
export async function runInClusterNamespaces(): Promise<never> {
  if (insideClusterNamespaces()) throw new NodeClusterError('runInClusterNamespaces() called inside the cluster namespaces already');
  if (process.getuid?.() !== 0) throw new NodeClusterError('the cluster tier needs root (namespaces, mounts, cgroups, iptables); run it as root');
  await ensureKubeTools();
  const tools = await ensureNodeTools();
  await ensureSmokeBinary();
  const child = spawn('setpriv', [
    '--pdeathsig', 'KILL', '--',
    'unshare', '--net', '--mount', '--pid', '--fork', '--kill-child=SIGKILL', '--mount-proc', '--propagation', 'private', '--',
    tools.tini, '-g', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1),
  ], { stdio: 'inherit', env: { ...process.env, [INSIDE_ENV]: '1', TMPDIR: '/tmp' } });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`node-cluster: could not start setpriv/unshare: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
  process.exit(code);
}

/** Kernel settings kubelet requires (pkg/kubelet/cm, setupKernelTunables) that differ from the machine's. */
const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

let prepared = false;

/** The one-time set-up inside the namespaces (see the file comment). Refuses to run anywhere else. */
async function prepareNamespaces(): Promise<void> {
  if (prepared) return;
  if (!insideClusterNamespaces()) throw new NodeClusterError('startNodeCluster() must run inside runInClusterNamespaces() (call that first, at the top of the test file)');
  // A fresh network namespace has loopback only: anything else means this is not ours to change.
  const links = (await sh('ip', ['-o', 'link', 'show'])).split('\n').filter(Boolean).map((line) => line.split(':')[1]!.trim().split('@')[0]!);
  if (links.some((name) => name !== 'lo')) throw new NodeClusterError(`refusing to set up the node: this network namespace already has ${links.join(', ')}; it must be a fresh one from runInClusterNamespaces()`);
  if (readlinkSync('/proc/1/exe').split('/').pop() !== 'tini') throw new NodeClusterError(`PID 1 here is ${readlinkSync('/proc/1/exe')}, not tini: not the cluster's PID namespace`);
  // What must stay visible under a masked folder: the repository (a clone in /tmp, as .ci/run makes)
  // and the tool cache (MCPMUX_CACHE may point there). Each is held open before its folder is masked
  // and bound back from that handle after (/proc/PID/fd/N still names the hidden directory).
  const keep = [fileURLToPath(new URL('../../', import.meta.url)), CACHE_DIR].filter(existsSync).map((path) => realpathSync(path));
  for (const [dir, mode] of [['/tmp', '1777'], ['/run', '0755'], ['/var/lib', '0755'], ['/var/log', '0755']] as const) {
    const under = keep.filter((path) => path === dir || path.startsWith(`${dir}/`)).filter((path, i, all) => !all.some((other, j) => j !== i && path.startsWith(`${other}/`)));
    const held = under.map((path) => ({ path, fd: openSync(path, 'r') }));
    await sh('mount', ['-t', 'tmpfs', '-o', `mode=${mode}`, 'mcpmux-node', dir]);
    for (const { path, fd } of held) {
      mkdirSync(path, { recursive: true });
      // --no-canonicalize: mount(8) would otherwise resolve the handle's path to the new, empty folder.
      await sh('mount', ['--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${fd}`, path]);
      closeSync(fd);
    }
  }
  mkdirSync(join(STATE_DIR, 'sysctl'), { recursive: true });
  for (const [key, value] of Object.entries(KUBELET_SYSCTLS)) {
    const path = `/proc/sys/${key}`;
    if (readFileSync(path, 'utf8').trim() === value) continue;
    const mask = join(STATE_DIR, 'sysctl', key.replaceAll('/', '.'));
    writeFileSync(mask, `${value}\n`);
    await sh('mount', ['--bind', '-o', 'ro', mask, path]);
    await sh('mount', ['-o', 'remount,bind,ro', mask, path]);
  }
  // Name lookups in here go to the cluster's CoreDNS (on the node address) and never to the
  // machine's resolver, which this network cannot reach anyway; the node's name is in /etc/hosts.
  writeFileSync(join(STATE_DIR, 'resolv.conf'), `nameserver ${NODE_IP}\nsearch default.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\noptions ndots:5 timeout:1 attempts:1\n`);
  writeFileSync(join(STATE_DIR, 'hosts'), `127.0.0.1 localhost\n${NODE_IP} ${NODE_NAME}\n`);
  for (const file of ['resolv.conf', 'hosts']) await sh('mount', ['--bind', join(STATE_DIR, file), `/etc/${file}`]);
  await sh('ip', ['link', 'set', 'lo', 'up']);
  await sh('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  // A route for the Service range (there is no default route here): without one, a connection to a
  // ClusterIP from this namespace fails before kube-proxy's OUTPUT rules could rewrite it to a pod.
  await sh('ip', ['route', 'add', SERVICE_CIDR, 'dev', 'lo', 'src', NODE_IP]);
  // Per network namespace: forwarding between the pods' bridge and the node (and to Services).
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');
  prepared = true;
}

// ---------------------------------------------------------------------------------------------
// cgroups (v1: the machine's own hierarchies, so named per cluster and removed at the end)

/** Every mounted hierarchy, the hybrid layout's cgroup2 `unified` one included (runc makes its cgroups there too). */
function cgroupHierarchies(): string[] {
  return readdirSync(CGROUP_FS).filter((name) => statSync(join(CGROUP_FS, name)).isDirectory());
}

/** rmdir of a cgroup and everything below it, deepest first; false if one still holds processes. */
function removeCgroupTree(path: string): boolean {
  if (!existsSync(path)) return true;
  let ok = true;
  for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) ok = removeCgroupTree(join(path, entry.name)) && ok;
  try {
    rmdirSync(path);
  } catch {
    ok = false;
  }
  return ok;
}

/** Removes cgroups of earlier clusters whose processes are gone (their PID namespace ended them). */
function sweepStaleCgroups(): void {
  for (const hierarchy of cgroupHierarchies()) {
    for (const entry of readdirSync(join(CGROUP_FS, hierarchy))) if (entry.startsWith(CGROUP_PREFIX)) removeCgroupTree(join(CGROUP_FS, hierarchy, entry));
  }
}

/** kubelet requires its --cgroup-root to exist in every hierarchy; cpuset needs its cpus and mems filled in. */
function createCgroupRoot(name: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    const path = join(CGROUP_FS, hierarchy, name);
    mkdirSync(path, { recursive: true });
    if (hierarchy === 'cpuset') {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(path, file), readFileSync(join(CGROUP_FS, hierarchy, file)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Images

let smokeBinary: Promise<string> | undefined;

/** The smoke/pause binary (test/support/kube/smoke), built once into the cache. */
export function ensureSmokeBinary(): Promise<string> {
  smokeBinary ??= (async () => {
    const flags = ['-trimpath', '-ldflags=-s -w'];
    const path = join(CACHE_DIR, 'kube', `smoke-${buildHash([SMOKE_MODULE], flags)}`, 'smoke');
    if (existsSync(path)) return path;
    mkdirSync(join(path, '..'), { recursive: true });
    const partial = `${path}.partial-${process.pid}`;
    await go('go build of the smoke image binary', ['build', ...flags, '-o', partial, '.'], SMOKE_MODULE);
    await run('mv', [partial, path]);
    return path;
  })();
  smokeBinary.catch(() => (smokeBinary = undefined));
  return smokeBinary;
}

export interface BuiltImage {
  /** The name pods use, e.g. localhost/mcpmux:0.1.0. */
  ref: string;
  /** docker or OCI archive, for importImage(). */
  archive: string;
}

/**
 * The images `npm run image` built into IMAGES_DIR, each described by a <name>.json beside its
 * archive ({ref, archive, ...}); none when that has not run. This is where the real images come in.
 */
export function builtImages(): BuiltImage[] {
  if (!existsSync(IMAGES_DIR)) return [];
  const images: BuiltImage[] = [];
  for (const name of readdirSync(IMAGES_DIR).filter((n) => n.endsWith('.json')).sort()) {
    try {
      const { ref, archive } = JSON.parse(readFileSync(join(IMAGES_DIR, name), 'utf8')) as { ref?: unknown; archive?: unknown };
      if (typeof ref === 'string' && typeof archive === 'string' && existsSync(archive)) images.push({ ref, archive });
    } catch {
      // Not an image description (or one being written): skip it.
    }
  }
  return images;
}

// ---------------------------------------------------------------------------------------------
// Configuration files

function containerdConfig(tools: NodeTools, dir: string): string {
  // TOML by hand: few keys, and the quoting is simple. Paths are the defaults where the tmpfs mounts
  // make them private anyway (kubelet and the shim hard-code some of them).
  return `version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs", "io.containerd.mount-handler.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "${dir}/opt"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "${PAUSE_IMAGE}"
  [plugins.'io.containerd.cri.v1.runtime']
    # No CAP_SYS_RESOURCE here: the sandbox's oom_score_adj (-998) must not go below containerd's own.
    restrict_oom_score_adj = true
    disable_apparmor = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "${tools.runc}"
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["${tools.cniBin}"]
      conf_dir = "${dir}/cni"
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
`;
}

function cniConfig(): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'mcpmux',
    plugins: [{
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/var/lib/cni/networks' },
    }],
  }, null, 2);
}

function kubeletConfig(cgroupRoot: string, dir: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The machine's cgroups are v1 (hybrid); kubelet 1.35+ refuses them unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    failSwapOn: false,
    containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
    address: NODE_IP,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    // The kube-apiserver's log/exec calls: nothing else can reach this network namespace.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false }, x509: {} },
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [NODE_IP],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: join(dir, 'kubelet-resolv.conf'),
    // No CAP_SYS_RESOURCE: kubelet may neither raise its open-files limit nor lower its OOM score.
    maxOpenFiles: hardOpenFilesLimit(),
    oomScoreAdj: 0,
    // The settings it wants are masked in (prepareNamespaces): never write the machine's.
    protectKernelDefaults: true,
    // A test node: no evictions for the disk or memory a busy CI box has.
    evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    nodeStatusUpdateFrequency: '5s',
    registerNode: true,
  }, null, 2);
}

function hardOpenFilesLimit(): number {
  // /proc/self/limits: "Max open files            20000                20000                files"
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = Number(line?.trim().split(/\s{2,}/)[2]);
  return Number.isFinite(hard) && hard > 0 ? hard : 1024;
}

function kubeProxyConfig(kubeconfig: string): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    clusterCIDR: POD_CIDR,
    // nf_conntrack_max is the machine's (global): leave it and the timeouts alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { localhostNodePorts: false, syncPeriod: '5s', minSyncPeriod: '0s' },
  }, null, 2);
}

function corefile(kubeconfig: string): string {
  // No upstream: nothing outside can be reached anyway.
  return `.:53 {
    bind ${NODE_IP}
    errors
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} mcpmux-test
        pods insecure
        ttl 5
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}

// ---------------------------------------------------------------------------------------------
// Start and stop

async function waitFor(what: string, managed: Managed | undefined, probe: () => Promise<boolean>, deadline: number): Promise<void> {
  let last = '';
  for (;;) {
    if (managed && (managed.child.exitCode !== null || managed.child.signalCode !== null)) {
      throw new NodeClusterError(`${managed.name} exited (${managed.child.exitCode ?? managed.child.signalCode}) before ${what}; output:\n${tail(managed.output())}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new NodeClusterError(`timed out waiting for ${what}${last ? ` (${last})` : ''}${managed ? `; ${managed.name} output:\n${tail(managed.output())}` : ''}`);
    await sleep(250);
  }
}

/** SIGKILLs every process of this PID namespace but PID 1 (tini) and this one, and waits until they are gone. */
async function killNamespaceProcesses(): Promise<void> {
  const others = (): number[] => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => pid !== 1 && pid !== process.pid);
  const deadline = Date.now() + 15_000;
  for (let pids = others(); pids.length > 0 && Date.now() < deadline; pids = others()) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await sleep(100);
  }
}

/** Starts the whole node; must run inside runInClusterNamespaces(). */
export async function startNodeCluster(options: NodeClusterOptions = {}): Promise<NodeCluster> {
  const started = Date.now();
  await prepareNamespaces();
  const kubeTools: KubeTools = await ensureKubeTools();
  const tools = await ensureNodeTools();
  const smoke = await ensureSmokeBinary();
  const namespaceMs = Date.now() - started;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 240_000);

  sweepStaleCgroups();
  const cgroupRoot = `/${CGROUP_PREFIX}${randomBytes(4).toString('hex')}`;
  const dir = STATE_DIR;
  for (const sub of ['cni', 'opt', 'images', 'kubelet']) mkdirSync(join(dir, sub), { recursive: true });
  const processes = new Map<string, Managed>();
  let kube: KubeCluster | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // kubelet first, or it restarts what goes next; then everything else of the namespace at once
    // (containers and shims have no other handle); kube.stop() then finds its processes gone.
    await processes.get('kubelet')?.stop('SIGKILL');
    for (const managed of processes.values()) await managed.stop('SIGKILL');
    await killNamespaceProcesses();
    await kube?.stop();
    const left: string[] = [];
    for (const hierarchy of cgroupHierarchies()) {
      const path = join(CGROUP_FS, hierarchy, cgroupRoot);
      // A killed process leaves its cgroup a moment later.
      for (let attempt = 0; attempt < 20 && !removeCgroupTree(path); attempt++) await sleep(100);
      if (existsSync(path)) left.push(path);
    }
    if (left.length) process.stderr.write(`node-cluster: could not remove ${left.join(', ')} (still in use); the next start removes it\n`);
  };

  try {
    // The control plane: the kube-apiserver listens on the node address, so that pods reach it
    // through the `kubernetes` Service (its self-signed certificate names that address).
    kube = await startKubeCluster({
      address: NODE_IP,
      serviceAccountAdmission: true,
      readyTimeoutMs: Math.max(30_000, deadline - Date.now()),
      // logs and exec: reach the kubelet on the node address, without a name lookup.
      apiserverArgs: ['--kubelet-preferred-address-types=InternalIP', ...(options.apiserverArgs ?? [])],
    });
    const controlPlaneMs = Date.now() - started - namespaceMs;
    const env = { MCPMUX_DIE_WITH_PARENT: '1' };
    const kubeconfig = kube.kubeconfigPath;
    const start = (name: string, command: string, args: string[], extraEnv: Record<string, string> = {}): Managed => {
      const managed = startProcess(name, command, args, { ...env, ...extraEnv });
      processes.set(name, managed);
      return managed;
    };

    // containerd (finds its shim on PATH), with the CNI bridge config.
    writeFileSync(join(dir, 'cni', '10-mcpmux.conflist'), cniConfig());
    writeFileSync(join(dir, 'containerd.toml'), containerdConfig(tools, dir));
    createCgroupRoot(cgroupRoot);
    const ctrArgs = ['--address', '/run/containerd/containerd.sock', '--namespace', 'k8s.io'];
    const containerd = start('containerd', tools.containerd, ['--config', join(dir, 'containerd.toml'), '--log-level', 'warn'], { PATH: `${tools.containerdBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` });
    await waitFor('containerd answered `ctr version`', containerd, async () => {
      await sh(tools.ctr, [...ctrArgs, 'version'], 'ctr version', 5000);
      return true;
    }, deadline);
    const containerdMs = Date.now() - started - namespaceMs - controlPlaneMs;

    const importImage = async (archive: string): Promise<string> => sh(tools.ctr, [...ctrArgs, 'images', 'import', '--platform', 'linux/amd64', archive], `ctr images import ${archive}`, 300_000);
    for (const [name, entrypoint] of [[SMOKE_IMAGE, ['/smoke']], [PAUSE_IMAGE, ['/smoke', 'pause']]] as const) {
      const archive = await buildOciArchive({ name, files: [{ path: '/smoke', source: smoke }], entrypoint }, join(dir, 'images', `${name.replace(/[/:]/g, '_')}.tar`));
      await importImage(archive);
    }
    const imagesMs = Date.now() - started - namespaceMs - controlPlaneMs - containerdMs;

    start('kube-controller-manager', tools.kubeControllerManager, [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      `--root-ca-file=${kube.caPath}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--secure-port=0',
      '--v=1',
    ]);
    start('kube-scheduler', tools.kubeScheduler, [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1']);

    // The pods' upstream resolvers (dnsPolicy Default): none, nothing outside is reachable.
    writeFileSync(join(dir, 'kubelet-resolv.conf'), '');
    writeFileSync(join(dir, 'kubelet.json'), kubeletConfig(cgroupRoot, dir));
    const kubelet = start('kubelet', tools.kubelet, [
      `--config=${join(dir, 'kubelet.json')}`,
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      `--root-dir=/var/lib/kubelet`,
      '--v=1',
    ], { PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` });
    await waitFor(`node ${NODE_NAME} Ready`, kubelet, async () => {
      const { stdout, stderr, code } = await kube!.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}']);
      if (code === 0 && stdout.startsWith('True')) return true;
      throw new Error(code === 0 ? `Ready=${stdout}` : stderr.trim());
    }, deadline);
    const nodeReadyMs = Date.now() - started - namespaceMs - controlPlaneMs - containerdMs - imagesMs;

    writeFileSync(join(dir, 'kube-proxy.json'), kubeProxyConfig(kubeconfig));
    const proxy = start('kube-proxy', tools.kubeProxy, [`--config=${join(dir, 'kube-proxy.json')}`, '--v=1']);
    await waitFor('kube-proxy /healthz', proxy, async () => {
      const response = await fetch('http://127.0.0.1:10256/healthz', { signal: AbortSignal.timeout(2000) });
      if (response.ok) return true;
      throw new Error(`kube-proxy /healthz ${response.status}`);
    }, deadline);
    const proxyMs = Date.now() - started - namespaceMs - controlPlaneMs - containerdMs - imagesMs - nodeReadyMs;

    writeFileSync(join(dir, 'Corefile'), corefile(kubeconfig));
    const coredns = start('coredns', tools.coredns, ['-conf', join(dir, 'Corefile')]);
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([NODE_IP]);
    await waitFor('CoreDNS resolving kubernetes.default.svc', coredns, async () => {
      const [address] = await resolver.resolve4(`kubernetes.default.svc.${CLUSTER_DOMAIN}`);
      if (address === '10.96.0.1') return true;
      throw new Error(`kubernetes.default.svc resolved to ${address}`);
    }, deadline);
    const dnsMs = Date.now() - started - namespaceMs - controlPlaneMs - containerdMs - imagesMs - nodeReadyMs - proxyMs;

    const cluster = kube;
    return {
      kube: cluster,
      kubeconfigPath: kubeconfig,
      timings: { totalMs: Date.now() - started, namespaceMs, controlPlaneMs, containerdMs, imagesMs, nodeReadyMs, proxyMs, dnsMs },
      kubectl: (args, input) => cluster.kubectl(args, input),
      applyYaml: (pathOrYaml) => cluster.applyYaml(pathOrYaml),
      importImage,
      logs: (name) => processes.get(name)?.output() ?? '',
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
