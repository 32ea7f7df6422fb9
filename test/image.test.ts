// The images, run for real: built by deploy/image (buildah, from deploy/Dockerfile and the upstream
// Dockerfiles as they are; reused while nothing they are made of changed) and run with podman on
// runc, with a read-only root filesystem and no network but a loopback of their own.
// - mcpmux: `--version` answers package.json's version; it runs as 10001 without being told, and
//   cannot write its root filesystem (read-only, or root-owned where writable).
// - The tutorial in containers, in one network namespace this test makes (traffic stays on its
//   loopback): the control plane (files source, the tutorial folder mounted read-only), a proxy on
//   the Gateway's port 80 as user 10001 (the file capability on node), server-everything started
//   with the tutorial's own Deployment command, the Python fetcher, and NATS for the proxy's
//   sessions. An MCP client run inside the namespace initializes, lists both servers' tools and
//   calls one of each through the gateway.
// - The fetcher image also runs the tutorial's fetcher Deployment as written (its ConfigMap's app.py
//   mounted over /app/app.py, `python3 /app/app.py` on 0.0.0.0:8000).
// A cold build takes minutes; test/run-tests.ts builds before the files run (test/support/images.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { startProcess, type Managed } from '../shared/testing/processes.ts';
import { ROOT } from './support/processes.ts';
import { TUTORIAL_MANIFESTS } from './support/tutorial.ts';
import { cannotBuildImages, ensureImages, podman, podmanFlags, ulimitFlags, type BuildResult } from './support/images.ts';

const execFileAsync = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const LABEL = 'mcpmux.test=image';
const NETNS = `mcpmux-image-${process.pid}`;
const skip = cannotBuildImages();
let images = new Map<string, BuildResult>();
const running: Managed[] = [];

const ref = (name: string): string => images.get(name)!.ref;
/** podman run flags every container here gets: read-only root, limits no higher than ours, our label. */
const RUN = ['run', '--rm', '--read-only', ...ulimitFlags(), '--label', LABEL];

/** Runs a container to its end; its output. */
async function podmanRun(args: readonly string[]): Promise<string> {
  return podman([...RUN, '--network', 'none', ...args], { timeoutMs: 60_000 });
}

/** Starts a long-running container in the test's namespace, attached (its output is the Managed's). */
function startContainer(role: string, args: readonly string[]): Managed {
  const managed = startProcess(role, 'podman', [...podmanFlags(), ...RUN, '--name', `${NETNS}-${role}`, '--network', `ns:/run/netns/${NETNS}`, ...args]);
  running.push(managed);
  return managed;
}

/** Runs `node args` from the repository inside the namespace: a client on the containers' loopback. */
async function inNamespace(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', NETNS, process.execPath, ...args], { cwd: ROOT, timeout: 60_000 });
  return stdout;
}

/** Containers and namespaces of earlier runs of this file that were killed before they cleaned up. */
async function removeLeftovers(): Promise<void> {
  const ids = (await podman(['ps', '--all', '--quiet', '--filter', `label=${LABEL}`])).split('\n').filter(Boolean);
  if (ids.length) await podman(['rm', '--force', '--time', '2', ...ids]).catch(() => {});
  const { stdout } = await execFileAsync('ip', ['netns', 'list']);
  for (const name of stdout.split('\n').map((l) => l.split(' ')[0] ?? '')) {
    const pid = Number(/^mcpmux-image-(\d+)$/.exec(name)?.[1] ?? 0);
    if (pid && pid !== process.pid && !isAlive(pid)) await execFileAsync('ip', ['netns', 'delete', name]).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

test.before(async () => {
  if (skip) return;
  images = await ensureImages(['mcpmux', 'mcp-server-everything', 'mcp-website-fetcher', 'mcpmux-nats']);
  await removeLeftovers();
  await execFileAsync('ip', ['netns', 'add', NETNS]);
  await execFileAsync('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
});

test.after(async () => {
  if (skip) return;
  await Promise.all(running.map((m) => m.stop()));
  await removeLeftovers().catch(() => {});
  await execFileAsync('ip', ['netns', 'delete', NETNS]).catch(() => {});
});

if (skip) console.log(`image tests skipped: ${skip}`);
const imageTest = skip ? test.skip : test;

imageTest('mcpmux is saved as a docker archive tagged mcpmux:VERSION, from deploy/Dockerfile on the base made here', async () => {
  const mcpmux = images.get('mcpmux')!;
  assert.is(mcpmux.ref, `localhost/mcpmux:${pkg.version}`);
  const { stdout } = await execFileAsync('tar', ['-xOf', mcpmux.archive, 'manifest.json']);
  const manifest = JSON.parse(stdout) as Array<{ Config: string; RepoTags: string[] }>;
  assert.is(manifest.length, 1);
  // What a pod's `image: mcpmux:VERSION` means to containerd once the archive is imported.
  assert.ok(manifest[0]!.RepoTags.includes(`docker.io/library/mcpmux:${pkg.version}`), manifest[0]!.RepoTags.join(', '));
  assert.is(manifest[0]!.Config.replace(/\.json$/, ''), mcpmux.id, 'the archive holds the image in the store');
  const [config] = JSON.parse(await podman(['image', 'inspect', mcpmux.ref])) as Array<{ Config: { User: string; Entrypoint: string[]; Labels: Record<string, string> } }>;
  assert.is(config!.Config.User, '10001:10001');
  assert.equal(config!.Config.Entrypoint, ['node', 'shared/cli/mcpmux.mjs']);
  assert.is(config!.Config.Labels['org.opencontainers.image.version'], pkg.version);
  assert.match(config!.Config.Labels['org.opencontainers.image.base.name'] ?? '', /^localhost\/mcpmux-base-node:/, 'built on the local base, through NODE_IMAGE');
});

imageTest('--version answers the package.json version, as user 10001, read-only, without a network', async () => {
  const out = await podmanRun(['--user', '10001', ref('mcpmux'), '--version']);
  assert.is(out.trim(), `mcpmux ${pkg.version}`);
});

imageTest('it runs as 10001:10001 unless told otherwise, and cannot write its root filesystem', async () => {
  const script = `const fs = require('node:fs');
const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };
console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), app: tryWrite('/app/x'), root: tryWrite('/x'), tmp: tryWrite('/tmp/x') }));`;
  const readOnly = JSON.parse(await podmanRun(['--entrypoint', 'node', ref('mcpmux'), '-e', script])) as Record<string, unknown>;
  assert.equal(readOnly, { uid: 10001, gid: 10001, app: 'EROFS', root: 'EROFS', tmp: 'written' });
  // Without --read-only the files are still root's: the user reads them, never writes them.
  const writable = JSON.parse(await podman(['run', '--rm', ...ulimitFlags(), '--label', LABEL, '--network', 'none', '--entrypoint', 'node', ref('mcpmux'), '-e', script], { timeoutMs: 60_000 })) as Record<string, unknown>;
  assert.is(writable.app, 'EACCES');
  assert.is(writable.root, 'EACCES');
});

imageTest('the tutorial runs in containers: control plane, proxy on port 80, both upstreams and NATS; /mcp answers initialize, tools/list and calls', async () => {
  // The tutorial's own command for server-everything (its Deployment runs it on node:20-alpine).
  const everything = parseAllDocuments(readFileSync(TUTORIAL_MANIFESTS, 'utf8'))
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { template: { spec: { containers: Array<{ command: string[]; args: string[] }> } } } })
    .find((o) => o.kind === 'Deployment' && o.metadata?.name === 'mcp-server-everything')!.spec!.template.spec.containers[0]!;
  assert.equal([...everything.command, ...everything.args], ['npx', '-y', '@modelcontextprotocol/server-everything', 'streamableHttp']);

  const nats = startContainer('nats', [ref('mcpmux-nats'), '-js', '-sd', '/tmp/jetstream', '-a', '127.0.0.1', '-m', '8222']);
  const cp = startContainer('control-plane', ['--volume', `${join(ROOT, 'deploy/examples/tutorial')}:/tutorial:ro`, ref('mcpmux'), 'control-plane', '--dir', '/tutorial']);
  // local-endpoints.yaml points the tutorial's Services at 127.0.0.1:3001 and 127.0.0.1:8081.
  const server = startContainer('everything', [ref('mcp-server-everything'), ...everything.command, ...everything.args]);
  const fetcher = startContainer('fetcher', ['--env', 'HOST=127.0.0.1', '--env', 'PORT=8081', ref('mcp-website-fetcher')]);
  await Promise.all([
    nats.waitFor(/Server is ready/, 30_000),
    cp.waitFor(/control plane ready/, 30_000),
    server.waitFor(/listening on port 3001/, 60_000),
    fetcher.waitFor(/Uvicorn running on http:\/\/127\.0\.0\.1:8081/, 60_000),
  ]);
  // Port 80 as 10001: only with cap_net_bind_service on node (the Dockerfile's setcap).
  const proxy = startContainer('proxy', [ref('mcpmux'), 'proxy', '--control-plane', '127.0.0.1:18000', '--port', '80', '--nats', 'nats://127.0.0.1:4222']);
  await proxy.waitFor(/snapshot applied/, 30_000);

  const probe = async (...args: string[]): Promise<{ server: { name: string; version: string }; tools: string[]; call?: string }> =>
    JSON.parse(await inNamespace(['test/support/mcp-probe.ts', 'http://127.0.0.1:80/mcp', ...args]));
  const echo = await probe('mcp-server-everything-3001_echo', JSON.stringify({ message: 'from the image test' }));
  assert.equal(echo.server, { name: 'mcpmux', version: pkg.version });
  for (const tool of ['mcp-server-everything-3001_echo', 'mcp-server-everything-3001_get-sum', 'mcp-website-fetcher-80_fetch']) {
    assert.ok(echo.tools.includes(tool), `${tool} in ${echo.tools.join(', ')}`);
  }
  assert.is(echo.call, 'Echo: from the image test');
  // The fetcher fetches a page on the namespace's loopback: the control plane's /healthz.
  const fetched = await probe('mcp-website-fetcher-80_fetch', JSON.stringify({ url: 'http://127.0.0.1:15001/healthz' }));
  assert.match(fetched.call ?? '', /ok/i);

  // The proxy keeps its sessions in the NATS container: it is a client there, with JetStream on.
  const connz = JSON.parse(await inNamespace(['-e', "fetch('http://127.0.0.1:8222/connz').then(r => r.text()).then(t => process.stdout.write(t))"])) as { num_connections: number };
  assert.ok(connz.num_connections >= 1, `NATS connections: ${connz.num_connections}`);
  const health = await inNamespace(['-e', "fetch('http://127.0.0.1:8222/healthz?js-enabled-only=true').then(r => r.text()).then(t => process.stdout.write(t))"]);
  assert.match(health, /"status":\s*"ok"/);
});

imageTest("the fetcher image runs the tutorial's Deployment as written: its ConfigMap's app.py mounted at /app/app.py, `python3 /app/app.py`", async () => {
  const objects = parseAllDocuments(readFileSync(TUTORIAL_MANIFESTS, 'utf8')).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string>; spec?: { template: { spec: { containers: Array<{ command: string[]; volumeMounts: Array<{ mountPath: string; subPath: string }> }> } } } });
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'mcp-website-fetcher')!.spec!.template.spec.containers[0]!;
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'mcp-website-fetcher-fix')!;
  assert.equal(deployment.command, ['python3', '/app/app.py']);
  const mount = deployment.volumeMounts[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-image-fetcher-'));
  try {
    writeFileSync(join(dir, mount.subPath), configMap.data![mount.subPath]!);
    // As written, it binds 0.0.0.0:8000: the namespace's loopback is all there is to reach.
    const fetcher = startContainer('tutorial-fetcher', ['--volume', `${join(dir, mount.subPath)}:${mount.mountPath}:ro`, ref('mcp-website-fetcher'), ...deployment.command]);
    await fetcher.waitFor(/Uvicorn running on http:\/\/0\.0\.0\.0:8000/, 60_000);
    const direct = JSON.parse(await inNamespace(['test/support/mcp-probe.ts', 'http://127.0.0.1:8000/mcp'])) as { server: { name: string }; tools: string[] };
    assert.is(direct.server.name, 'mcp-website-fetcher');
    assert.equal(direct.tools, ['fetch']);
    await fetcher.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

imageTest('mcpmux-nats answers --version with the pinned nats-server version', async () => {
  const out = await podmanRun([ref('mcpmux-nats'), '--version']);
  assert.match(out, new RegExp(`v${images.get('mcpmux-nats')!.spec.tag.replace(/\./g, '\\.')}`));
});

test.run();
