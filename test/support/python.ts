// Python MCP servers the tests run for real, each from its own virtualenv built once into the cache
// from the pinned requirements.txt beside its script, and reused while that file is unchanged and the
// packages import:
// - the tutorial's website fetcher: FastMCP from `mcp<2` (test/fixtures/website_fetcher/app.py),
//   in ~/.cache/mcpmux/venv-fetcher (or $MCPMUX_CACHE/venv-fetcher);
// - a modern (2026-07-28) server on the Python SDK's 2.x line, `mcp==2.3.0`
//   (test/fixtures/python-modern/server.py), in ~/.cache/mcpmux/venv-modern.
// Usage outside tests: node test/support/install-tools.ts python-fetcher python-modern
import { withLock } from '../../deploy/image/lock.ts';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type Managed } from '../../shared/testing/processes.ts';
import { CACHE_DIR } from './tools.ts';

export const FETCHER_APP = fileURLToPath(new URL('../fixtures/website_fetcher/app.py', import.meta.url));
export const FETCHER_REQUIREMENTS = fileURLToPath(new URL('../fixtures/website_fetcher/requirements.txt', import.meta.url));
export const FETCHER_VENV = join(CACHE_DIR, 'venv-fetcher');
/** What uvicorn prints (to stderr) once the fetcher accepts connections. */
export const FETCHER_READY = /Uvicorn running on (http:\/\/\S+)/;

export const MODERN_SERVER = fileURLToPath(new URL('../fixtures/python-modern/server.py', import.meta.url));
export const MODERN_REQUIREMENTS = fileURLToPath(new URL('../fixtures/python-modern/requirements.txt', import.meta.url));
export const MODERN_VENV = join(CACHE_DIR, 'venv-modern');
/** What server.py prints (to stdout) once it accepts connections: the `mcp` version and its URL. */
export const MODERN_READY = /python-modern MCP server \(mcp (\S+)\) listening on (http:\/\/\S+)/;

const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** One cached virtualenv: where it lives, what it installs, and what must import for it to count. */
interface VenvSpec {
  /** For messages: what the venv runs. */
  what: string;
  dir: string;
  requirements: string;
  /** Python statements that must run in the venv (its server's imports). */
  check: string;
  /** The oldest base interpreter the pinned packages install on. */
  minPython: readonly [number, number];
}

/** How long the last `ensure…Venv()` of a venv took in this process, and whether it had to install. */
export interface VenvTiming {
  ms: number;
  installed: boolean;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' } },
      (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') }),
    );
  });
}

/** One installer of a venv at a time across test processes (the runner runs files in parallel). */
const installLock = <T>(lock: string, work: () => Promise<T>): Promise<T> => withLock(lock, INSTALL_TIMEOUT_MS, work);

/** A venv's python, built on first use: `ensure()` once per process, retried after a failure. */
class CachedVenv {
  readonly timing: VenvTiming = { ms: 0, installed: false };
  readonly #spec: VenvSpec;
  #ensured: Promise<string> | undefined;

  constructor(spec: VenvSpec) {
    this.#spec = spec;
  }

  get python(): string {
    return join(this.#spec.dir, 'bin', 'python');
  }

  ensure(): Promise<string> {
    // Once per process: a failure is retried by the next call, a success is remembered.
    this.#ensured ??= this.#install().catch((error: unknown) => {
      this.#ensured = undefined;
      throw error;
    });
    return this.#ensured;
  }

  get #marker(): string {
    return join(this.#spec.dir, '.mcpmux-requirements');
  }

  #requirementsHash(): string {
    return createHash('sha256').update(readFileSync(this.#spec.requirements)).digest('hex');
  }

  /** True when the venv was built from the current requirements and its imports work. */
  async #ready(): Promise<boolean> {
    if (!existsSync(this.#marker) || readFileSync(this.#marker, 'utf8').trim() !== this.#requirementsHash()) return false;
    return (await run(this.python, ['-c', this.#spec.check], 60_000)).ok;
  }

  async #install(): Promise<string> {
    const { what, dir, requirements, check, minPython } = this.#spec;
    const started = Date.now();
    this.timing.installed = false;
    if (!(await this.#ready())) {
      await installLock(`${dir}.lock`, async () => {
        if (await this.#ready()) return; // another test process built it while we waited
        const base = process.env.MCPMUX_PYTHON ?? 'python3';
        const [major, minor] = minPython;
        const version = await run(base, ['-c', `import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(sys.version_info < (${major}, ${minor}))`], 30_000);
        if (!version.ok) throw new Error(`${what} needs Python >= ${major}.${minor} as \`${base}\` (set MCPMUX_PYTHON to choose another): ${version.output}`);
        rmSync(dir, { recursive: true, force: true });
        const venv = await run(base, ['-m', 'venv', dir], 120_000);
        if (!venv.ok) throw new Error(`\`${base} -m venv ${dir}\` failed (on Debian/Ubuntu: apt-get install python3-venv): ${venv.output}`);
        const pip = await run(this.python, ['-m', 'pip', 'install', '--quiet', '-r', requirements], INSTALL_TIMEOUT_MS);
        if (!pip.ok) throw new Error(`pip install -r ${requirements} into ${dir} failed (is PyPI reachable?):\n${pip.output.slice(-4000)}`);
        const imports = await run(this.python, ['-c', check], 60_000);
        if (!imports.ok) throw new Error(`the venv of ${what} was installed into ${dir} but \`${check}\` fails: ${imports.output}`);
        writeFileSync(this.#marker, `${this.#requirementsHash()}\n`);
        this.timing.installed = true;
        process.stderr.write(`installed ${what} (Python ${version.output}) into ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      });
    }
    this.timing.ms = Date.now() - started;
    return this.python;
  }
}

const fetcherVenv = new CachedVenv({
  what: 'the Python website fetcher',
  dir: FETCHER_VENV,
  requirements: FETCHER_REQUIREMENTS,
  check: 'import httpx, mcp.server.fastmcp',
  minPython: [3, 10],
});

const modernVenv = new CachedVenv({
  what: 'the modern Python MCP server (mcp 2.x)',
  dir: MODERN_VENV,
  requirements: MODERN_REQUIREMENTS,
  check: 'import uvicorn, mcp.server.mcpserver, mcp.server.mcpserver.resolve',
  // httpx2, which `mcp` 2.x uses, installs only on 3.11 or newer.
  minPython: [3, 11],
});

/** How long `ensurePythonVenv()` (the fetcher's) took in this process, and whether it had to install. */
export const venvTiming: VenvTiming = fetcherVenv.timing;
/** How long `ensureModernPythonVenv()` took in this process, and whether it had to install. */
export const modernVenvTiming: VenvTiming = modernVenv.timing;

/**
 * The fetcher venv's python, creating the venv and installing requirements.txt into it the first
 * time (the tutorial's `pip install "mcp<2" httpx`, pinned). `MCPMUX_PYTHON` picks the base
 * interpreter (default `python3`, 3.10 or newer as `mcp` requires).
 */
export function ensurePythonVenv(): Promise<string> {
  return fetcherVenv.ensure();
}

/**
 * The modern server's venv python, creating the venv and installing
 * test/fixtures/python-modern/requirements.txt (`mcp==2.3.0`, pinned) into it the first time.
 * `MCPMUX_PYTHON` picks the base interpreter (default `python3`, 3.11 or newer).
 */
export function ensureModernPythonVenv(): Promise<string> {
  return modernVenv.ensure();
}

/** Starts app.py with `python` (from `ensurePythonVenv()`) on 127.0.0.1:`port`; does not wait. */
export function spawnPythonFetcher(python: string, port: number, name = 'python-fetcher'): Managed {
  return startProcess(name, python, [FETCHER_APP], { HOST: '127.0.0.1', PORT: String(port), PYTHONUNBUFFERED: '1' });
}

/** The venv (installed if needed), then app.py on 127.0.0.1:`port`, resolved once uvicorn listens. */
export async function startPythonFetcher(port: number): Promise<Managed> {
  const fetcher = spawnPythonFetcher(await ensurePythonVenv(), port);
  try {
    await fetcher.waitFor(FETCHER_READY, 30_000);
  } catch (error) {
    await fetcher.stop('SIGKILL');
    throw error;
  }
  return fetcher;
}

/**
 * Starts server.py with `python` (from `ensureModernPythonVenv()`) on 127.0.0.1:`port` (0: a port
 * it picks and prints, so no other process can take it first); does not wait.
 */
export function spawnPythonModern(python: string, port = 0, name = 'python-modern'): Managed {
  return startProcess(name, python, [MODERN_SERVER], { HOST: '127.0.0.1', PORT: String(port), PYTHONUNBUFFERED: '1' });
}

export interface PythonModernServer {
  process: Managed;
  /** Its MCP endpoint, http://127.0.0.1:PORT/mcp. */
  url: string;
  /** The `mcp` package version it runs. */
  mcpVersion: string;
  stop(): Promise<void>;
}

/** The venv (installed if needed), then server.py on 127.0.0.1:`port`, resolved once it listens. */
export async function startPythonModern(port = 0): Promise<PythonModernServer> {
  const server = spawnPythonModern(await ensureModernPythonVenv(), port);
  let match: RegExpMatchArray;
  try {
    match = await server.waitFor(MODERN_READY, 30_000);
  } catch (error) {
    await server.stop('SIGKILL');
    throw error;
  }
  return {
    process: server,
    url: match[2]!,
    mcpVersion: match[1]!,
    stop: async () => {
      await server.stop();
    },
  };
}
