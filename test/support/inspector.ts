// The real MCP Inspector (@modelcontextprotocol/inspector, from the npm registry) for the cluster
// tier's tutorial test, which runs its CLI the way the tutorial's readers do (`npx
// @modelcontextprotocol/inspector --cli URL --transport http --method tools/list`).
//
// It is installed with `npm install --prefix` into its own cache folder, never into the repository's
// node_modules (a symlink shared by worktrees), and by test/run-tests.ts before the tests run: the
// cluster tests run inside network namespaces that reach no registry, so there it is only looked up.
// Usage: node test/support/inspector.ts   (installs when missing, prints the CLI's path)
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR } from './tools.ts';

const run = promisify(execFile);

/** Pinned, so that a new release cannot change the test under us; `--cli --help` of it was checked. */
export const INSPECTOR_VERSION = '2.12.0';
const PACKAGE = '@modelcontextprotocol/inspector';
const PREFIX = join(CACHE_DIR, 'inspector', INSPECTOR_VERSION);
/** The package's launcher (its `mcp-inspector` bin): `--cli` runs the CLI client. */
export const INSPECTOR_LAUNCHER = join(PREFIX, 'node_modules', PACKAGE, 'clients', 'launcher', 'build', 'index.js');

/** Thrown when the Inspector is neither installed nor installable here. */
export class InspectorInstallError extends Error {
  override name = 'InspectorInstallError';
}

/** The launcher's path, when installed already (no network needed). */
export function installedInspector(): string | undefined {
  return existsSync(INSPECTOR_LAUNCHER) ? INSPECTOR_LAUNCHER : undefined;
}

/** Installs the pinned Inspector into the cache (once) and returns its launcher's path. */
export async function ensureInspector(): Promise<string> {
  const found = installedInspector();
  if (found) return found;
  // Into a fresh folder renamed into place at the end: an interrupted install never looks complete.
  const partial = `${PREFIX}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  // A package.json of its own, so that npm does not walk up to some other project's.
  writeFileSync(join(partial, 'package.json'), `${JSON.stringify({ name: 'mcpmux-inspector-cache', private: true }, null, 2)}\n`);
  const npm = join(dirname(process.execPath), 'npm');
  try {
    await run(existsSync(npm) ? npm : 'npm', ['install', '--prefix', partial, '--no-audit', '--no-fund', '--omit=dev', `${PACKAGE}@${INSPECTOR_VERSION}`], {
      timeout: 300_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
      // The postinstall script only installs clients of a source checkout; the published package has them built.
      env: { ...process.env, INSPECTOR_SKIP_CLIENT_INSTALL: '1' },
    });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new InspectorInstallError(`npm install ${PACKAGE}@${INSPECTOR_VERSION} failed: ${(stderr || message).slice(-2000)}`);
  }
  if (!existsSync(join(partial, 'node_modules', PACKAGE, 'clients', 'launcher', 'build', 'index.js'))) {
    throw new InspectorInstallError(`${PACKAGE}@${INSPECTOR_VERSION} installed without clients/launcher/build/index.js: its layout changed`);
  }
  rmSync(PREFIX, { recursive: true, force: true });
  renameSync(partial, PREFIX);
  return INSPECTOR_LAUNCHER;
}

if (import.meta.main) {
  const started = Date.now();
  const path = await ensureInspector();
  console.log(`inspector ${INSPECTOR_VERSION}: ${path} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
