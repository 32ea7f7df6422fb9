// buildah and podman as this project runs them: its own image store under the cache (not the
// machine's /var/lib/containers), runc, cgroupfs, and resource limits no higher than this process's.
//
// Why each setting:
// - Store: ~/.cache/mcpmux/containers, so the images, their layer cache and everything the build
//   writes live with the project's other caches and never touch another tool's images.
// - runc: crun refuses cgroup v1 hybrid hosts; runc runs on them.
// - cgroupfs: no systemd as PID 1 to ask for cgroups.
// - ulimits: both tools raise RLIMIT_NOFILE (and buildah RLIMIT_NPROC) in the container by default,
//   which needs CAP_SYS_RESOURCE; where that is not granted, runc fails to start the container. The
//   limits this process already has are passed instead: never a raise, and no tighter than the host.
// - events to a file: podman's default, journald, is not there without systemd.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR } from '../../test/support/tools.ts';

export const STORE_DIR = join(CACHE_DIR, 'containers');
const RUNTIME_CANDIDATES = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'];

/** A command of the image build that failed: what ran, how it ended, the end of its output. */
export class ContainerToolError extends Error {
  readonly command: string;
  readonly output: string;
  constructor(command: string, detail: string, output: string) {
    super(`${command}: ${detail}${output ? `\n${output.slice(-4000)}` : ''}`);
    this.name = 'ContainerToolError';
    this.command = command;
    this.output = output;
  }
}

export function runtimePath(): string {
  const found = RUNTIME_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new ContainerToolError('runc', `not found at ${RUNTIME_CANDIDATES.join(', ')}: apt-get install runc (npm run image installs it when run as root)`, '');
  return found;
}

/** Global flags both tools take: the project's store. */
export function storeFlags(): string[] {
  return ['--root', join(STORE_DIR, 'storage'), '--runroot', join(STORE_DIR, 'run'), '--storage-driver', 'overlay'];
}

/** This process's soft:hard limit of a /proc/self/limits row ("Max open files"), or undefined. */
function currentLimit(row: string): string | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(row));
  const [soft, hard] = line?.slice(row.length).trim().split(/\s+/) ?? [];
  if (!soft || !hard) return undefined;
  const value = (v: string): string => (v === 'unlimited' ? '-1' : v);
  return `${value(soft)}:${value(hard)}`;
}

/**
 * buildah and podman lower their own RLIMIT_NPROC to 32768 (their default) before they start runc:
 * asking a container for more is a raise there, which fails like any other (seen here: "error
 * setting rlimit type 6: operation not permitted" with the host's 96367).
 */
const ENGINE_NPROC = 32768;

/** --ulimit flags that keep a container's nofile at this process's limits and nproc at most ENGINE_NPROC. */
export function ulimitFlags(): string[] {
  const flags: string[] = [];
  const nofile = currentLimit('Max open files');
  const nproc = currentLimit('Max processes');
  if (nofile) flags.push('--ulimit', `nofile=${nofile}`);
  const capped = (nproc ?? `${ENGINE_NPROC}:${ENGINE_NPROC}`).split(':').map((v) => (v === '-1' || Number(v) > ENGINE_NPROC ? String(ENGINE_NPROC) : v));
  flags.push('--ulimit', `nproc=${capped.join(':')}`);
  return flags;
}

export interface RunOptions {
  /** Milliseconds before the command is killed. */
  timeoutMs?: number;
  /** Called with each chunk of output (a build's progress). */
  onOutput?: (chunk: string) => void;
  /** Text written to its standard input. */
  input?: string;
}

/** Runs `command args`, resolving with its stdout; rejects with ContainerToolError on failure. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const shown = `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
      options.onOutput?.(chunk.toString());
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      options.onOutput?.(chunk.toString());
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new ContainerToolError(shown, `could not start (${error.message})`, output));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new ContainerToolError(shown, signal ? `killed by ${signal}${options.timeoutMs ? ` (timeout ${options.timeoutMs} ms)` : ''}` : `exit ${code}`, output));
    });
    child.stdin.end(options.input ?? '');
  });
}

export function buildah(args: readonly string[], options?: RunOptions): Promise<string> {
  return run('buildah', [...storeFlags(), ...args], options);
}

/** podman's global flags: the store, runc, cgroupfs, events to a file. */
export function podmanFlags(): string[] {
  return [...storeFlags(), '--runtime', runtimePath(), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
}

export function podman(args: readonly string[], options?: RunOptions): Promise<string> {
  return run('podman', [...podmanFlags(), ...args], options);
}

/** The id of `ref` in the store, or undefined when it is not there. */
export async function imageId(ref: string): Promise<string | undefined> {
  try {
    return (await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref])).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Exit status and output of a command that is allowed to fail. */
export function tryRun(command: string, args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}` }));
  });
}
