// The images this repository builds, and building them: buildah from the Dockerfiles as they are
// (the same files `docker build` takes on a user's machine), on bases made here (bases.ts), each
// saved as a docker archive under ~/.cache/mcpmux/images/NAME-TAG.tar that `podman load`,
// `docker load`, `kind load image-archive` and `ctr -n k8s.io images import` all read. Its tags:
// docker.io/library/NAME:TAG (what a pod's `image: NAME:TAG` means) and localhost/NAME:TAG.
//
// An image is rebuilt only when its key changes: the Dockerfile, the build arguments, the base's
// recipe and every file of the build context (for deploy/Dockerfile, the files .dockerignore lets
// through: editing a test rebuilds nothing). Within a rebuild, buildah's layer cache keeps the steps
// whose inputs did not change (npm ci, apt-get), so a source edit costs seconds.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR, GO_TOOLS } from '../../test/support/tools.ts';
import { baseKey, ensureBase, IMAGES_DIR, type BaseName } from './bases.ts';
import { buildah, imageId, podman, run, runtimePath, ulimitFlags } from './containers.ts';
import { contextFiles, readDockerignore } from './dockerignore.ts';
import { ensureHostPackages } from './host.ts';
import { withLock } from './lock.ts';

export { IMAGES_DIR } from './bases.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const NATS_MODULE = GO_TOOLS['nats-server'];
const NATS_VERSION = NATS_MODULE.replace(/^.*@v/, '');

/** Bump when the way images are built changes in a way the key's other parts do not show. */
const RECIPE_VERSION = '1';

export interface ImageSpec {
  /** Image name, without a registry: pods say `image: NAME:TAG`. */
  name: string;
  tag: string;
  /** What it is, for --help and the build's report. */
  what: string;
  /** The Dockerfile, relative to the repository. */
  dockerfile: string;
  /** The base made here, passed as `baseArg` (the Dockerfile's ARG naming its public default). */
  base?: { name: BaseName; arg: string };
  buildArgs: Record<string, string>;
  /** The build context: a folder of the repository, or a folder staged in the cache. */
  context: () => Promise<string>;
  /** The files of the context that a build sees, relative to it. */
  contextFiles: (dir: string) => string[];
}

/** Every regular file under `dir`, relative and sorted. */
function allFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(join(dir, at), { withFileTypes: true })) {
      const path = at ? `${at}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else found.push(path);
    }
  };
  walk('');
  return found.sort();
}

/** A static nats-server built from the pinned module (cgo off: the image has no libc), staged alone. */
async function stagedNats(): Promise<string> {
  const dir = join(IMAGES_DIR, 'context', `nats-server-${NATS_VERSION}`);
  if (existsSync(join(dir, 'nats-server'))) return dir;
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    await run('env', ['CGO_ENABLED=0', `GOBIN=${partial}`, 'GOFLAGS=-mod=mod', 'go', 'install', '-trimpath', '-ldflags=-s -w', NATS_MODULE], { timeoutMs: 20 * 60_000 });
  } catch (error) {
    throw new Error(`go install ${NATS_MODULE} (static) failed (is Go installed, the Go module proxy reachable?): ${(error as Error).message}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return dir;
}

export const IMAGES: readonly ImageSpec[] = [
  {
    name: 'mcpmux',
    tag: pkg.version,
    what: 'mcpmux itself, both roles (deploy/Dockerfile)',
    dockerfile: 'deploy/Dockerfile',
    base: { name: 'node', arg: 'NODE_IMAGE' },
    buildArgs: { VERSION: pkg.version },
    context: async () => ROOT,
    contextFiles: (dir) => contextFiles(dir, readDockerignore(dir)),
  },
  {
    name: 'mcp-server-everything',
    tag: pkg.dependencies['@modelcontextprotocol/server-everything']!,
    what: "the tutorial's @modelcontextprotocol/server-everything, installed",
    dockerfile: 'deploy/image/server-everything.Dockerfile',
    base: { name: 'node', arg: 'NODE_IMAGE' },
    buildArgs: { EVERYTHING_VERSION: pkg.dependencies['@modelcontextprotocol/server-everything']! },
    // Nothing is copied from it: an empty folder keeps unrelated files out of the key.
    context: async () => {
      const dir = join(IMAGES_DIR, 'context', 'empty');
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    contextFiles: allFiles,
  },
  {
    name: 'mcp-website-fetcher',
    tag: pkg.version,
    what: "the tutorial's Python website fetcher (test/fixtures/website_fetcher)",
    dockerfile: 'deploy/image/website-fetcher.Dockerfile',
    base: { name: 'python', arg: 'PYTHON_IMAGE' },
    buildArgs: {},
    context: async () => join(ROOT, 'test/fixtures/website_fetcher'),
    contextFiles: allFiles,
  },
  {
    name: 'mcpmux-nats',
    tag: NATS_VERSION,
    what: `nats-server ${NATS_VERSION} alone (static, from ${NATS_MODULE})`,
    dockerfile: 'deploy/image/nats.Dockerfile',
    buildArgs: { NATS_VERSION },
    context: stagedNats,
    contextFiles: allFiles,
  },
];

export function imageSpec(name: string): ImageSpec {
  const spec = IMAGES.find((i) => i.name === name);
  if (!spec) throw new Error(`no image ${name}; these are built here: ${IMAGES.map((i) => i.name).join(', ')}`);
  return spec;
}

/** Where the docker archive of `spec` is written, and its record beside it. */
export function archivePath(spec: Pick<ImageSpec, 'name' | 'tag'>): string {
  return join(IMAGES_DIR, `${spec.name}-${spec.tag}.tar`);
}

interface Record_ {
  key: string;
  id: string;
  ref: string;
  archive: string;
  bytes: number;
  seconds: number;
  built: string;
}

const recordPath = (spec: ImageSpec): string => archivePath(spec).replace(/\.tar$/, '.json');

function readRecord(spec: ImageSpec): Record_ | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(spec), 'utf8')) as Record_;
  } catch {
    return undefined;
  }
}

export interface BuildResult {
  spec: ImageSpec;
  /** The name in the store, localhost/NAME:TAG. */
  ref: string;
  id: string;
  archive: string;
  bytes: number;
  /** False: the key matched, nothing was built. */
  built: boolean;
  /** Whether the base had to be made for it. */
  baseMade: boolean;
  seconds: number;
  key: string;
}

export interface BuildOptions {
  /** Build even when the key matches (buildah's layer cache still applies). */
  rebuild?: boolean;
  /** Make the base images again (a new mmdebstrap, current Debian packages). */
  freshBase?: boolean;
  log?: (line: string) => void;
}

/**
 * A folder to mount at /root in every RUN of a build: npm's and pip's user configuration pointing at
 * a copy of this machine's CA bundle. Behind a TLS-intercepting proxy, npm ci and pip then trust
 * what the host trusts; elsewhere the bundle is the usual public roots. /root already exists in the
 * bases, so the mount leaves no mount point behind in the image, and nothing written there (npm's
 * cache) ends up in a layer. The Dockerfiles do not depend on it: docker build needs none of it.
 */
function buildHome(): string {
  const home = mkdtempSync(join(IMAGES_DIR, 'work', 'home-'));
  const bundle = [process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt'].find((f) => f && existsSync(f));
  if (bundle) {
    copyFileSync(bundle, join(home, '.mcpmux-build-ca.crt'));
    writeFileSync(join(home, '.npmrc'), 'cafile=/root/.mcpmux-build-ca.crt\n');
    mkdirSync(join(home, '.config', 'pip'), { recursive: true });
    writeFileSync(join(home, '.config', 'pip', 'pip.conf'), '[global]\ncert = /root/.mcpmux-build-ca.crt\n');
  }
  return home;
}

/** The key of `spec` with this context folder and base key. */
export function imageKey(spec: ImageSpec, context: string, baseKeyValue: string): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ v: RECIPE_VERSION, name: spec.name, tag: spec.tag, args: spec.buildArgs, base: baseKeyValue }));
  hash.update(readFileSync(join(ROOT, spec.dockerfile)));
  for (const file of spec.contextFiles(context)) {
    hash.update(`\0${file}\0`);
    hash.update(readFileSync(join(context, file)));
  }
  return hash.digest('hex').slice(0, 24);
}

/** The image of `spec` in the store and as an archive: built when its key changed, else reused. */
export async function ensureImage(spec: ImageSpec, options: BuildOptions = {}): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  await ensureHostPackages(log);
  return withLock(
    join(IMAGES_DIR, '.build.lock'),
    60 * 60_000,
    () => buildLocked(spec, options, log),
    (holder) => log(`waiting for another image build (pid ${holder})`),
  );
}

const freshBases = new Set<BaseName>();

async function buildLocked(spec: ImageSpec, options: BuildOptions, log: (line: string) => void): Promise<BuildResult> {
  const started = Date.now();
  const ref = `localhost/${spec.name}:${spec.tag}`;
  const archive = archivePath(spec);
  mkdirSync(join(IMAGES_DIR, 'work'), { recursive: true });
  const context = await spec.context();
  // Keyed by the base's recipe, not its id: a base made again from the same recipe (a cleaned store)
  // does not make a current archive stale.
  const key = imageKey(spec, context, spec.base ? baseKey(spec.base.name) : 'none');
  const record = readRecord(spec);

  if (!options.rebuild && !options.freshBase && record?.key === key && existsSync(archive)) {
    // The archive is current; the store may have lost the image (a cleaned store): load it back.
    let id = await imageId(ref);
    if (id !== record.id) {
      log(`${spec.name}:${spec.tag}: loading ${relative(CACHE_DIR, archive)} into the store`);
      await podman(['load', '--quiet', '--input', archive], { timeoutMs: 10 * 60_000 });
      id = await imageId(ref);
    }
    if (id === record.id) return { spec, ref, id, archive, bytes: statSync(archive).size, built: false, baseMade: false, seconds: (Date.now() - started) / 1000, key };
    log(`${spec.name}:${spec.tag}: the archive holds another image than its record says; building`);
  }

  // --fresh-base makes each base once per process, not once per image built on it.
  const fresh = Boolean(options.freshBase && spec.base && !freshBases.has(spec.base.name));
  const base = spec.base ? await ensureBase(spec.base.name, { fresh, log }) : undefined;
  if (base?.made) freshBases.add(spec.base!.name);
  if (base?.made) log(`base ${spec.base!.name}: made ${base.ref} in ${base.seconds.toFixed(1)} s`);
  const home = buildHome();
  const logFile = archive.replace(/\.tar$/, '.log');
  let transcript = '';
  try {
    log(`${spec.name}:${spec.tag}: buildah build -f ${spec.dockerfile}${base ? ` --build-arg ${spec.base!.arg}=${base.ref}` : ''}`);
    const args = [
      'build',
      '--layers',
      '--pull=never',
      // RUN steps reach package registries only (npm ci, apt-get, pip); the host's network saves a
      // bridge (CNI, iptables) that a build does not need, and nothing in a build listens.
      '--network',
      'host',
      '--runtime',
      runtimePath(),
      ...ulimitFlags(),
      '--volume',
      `${home}:/root`,
      ...Object.entries({ ...spec.buildArgs, ...(base ? { [spec.base!.arg]: base.ref } : {}) }).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      '--file',
      join(ROOT, spec.dockerfile),
      '--tag',
      ref,
      context,
    ];
    await buildah(args, {
      timeoutMs: 30 * 60_000,
      onOutput: (chunk) => {
        transcript += chunk;
        for (const line of chunk.split('\n')) if (/^\[\d+\/\d+\] STEP \d+\/\d+: |^STEP \d+\/\d+: /.test(line)) log(`  ${line.slice(0, 160)}`);
      },
    });
  } catch (error) {
    writeFileSync(logFile, transcript);
    throw new Error(`building ${spec.name}:${spec.tag} failed (whole log: ${logFile}): ${(error as Error).message}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  writeFileSync(logFile, transcript);
  const id = await imageId(ref);
  if (!id) throw new Error(`buildah built ${ref} but the store does not have it`);

  // Written beside, then renamed: a reader never sees half an archive.
  const partial = `${archive}.partial`;
  rmSync(partial, { force: true });
  await buildah(['push', '--quiet', ref, `docker-archive:${partial}:${spec.name}:${spec.tag}`], { timeoutMs: 10 * 60_000 });
  renameSync(partial, archive);
  const bytes = statSync(archive).size;
  const seconds = (Date.now() - started) / 1000;
  const written: Record_ = { key, id, ref, archive, bytes, seconds, built: new Date().toISOString() };
  writeFileSync(recordPath(spec), `${JSON.stringify(written, null, 2)}\n`);
  return { spec, ref, id, archive, bytes, built: true, baseMade: base?.made ?? false, seconds, key };
}
