// The Debian packages the image build needs on this machine, installed with apt-get when missing.
// Only the commands are checked: a machine that has them some other way is left alone.
import { tryRun, run } from './containers.ts';

/** Command → the Debian package that brings it. */
const NEEDED: Record<string, string> = {
  buildah: 'buildah',
  podman: 'podman',
  mmdebstrap: 'mmdebstrap',
  runc: 'runc',
  ip: 'iproute2',
};

export class HostSetupError extends Error {
  override name = 'HostSetupError';
}

async function has(command: string): Promise<boolean> {
  return (await tryRun('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`])).ok;
}

/** Installs the packages of the missing commands (as root, with apt-get); returns what it installed. */
export async function ensureHostPackages(log: (line: string) => void = () => {}): Promise<string[]> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(NEEDED)) if (!(await has(command))) missing.push(pkg);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new HostSetupError(`missing ${missing.join(', ')}; as root: apt-get install --no-install-recommends ${missing.join(' ')} (the image build also runs as root: mmdebstrap and buildah need it here)`);
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = ['env', 'DEBIAN_FRONTEND=noninteractive'];
  try {
    await run(env[0]!, [...env.slice(1), 'apt-get', 'update', '-q'], { timeoutMs: 10 * 60_000 });
    await run(env[0]!, [...env.slice(1), 'apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', ...missing], { timeoutMs: 15 * 60_000 });
  } catch (error) {
    throw new HostSetupError(`apt-get install ${missing.join(' ')} failed (is Debian's archive reachable?): ${(error as Error).message}`);
  }
  for (const [command, pkg] of Object.entries(NEEDED)) {
    if (missing.includes(pkg) && !(await has(command))) throw new HostSetupError(`installed ${pkg} but ${command} is still missing`);
  }
  return missing;
}
