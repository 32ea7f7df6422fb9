// The tutorial's website fetcher as it really runs: Python, FastMCP from the `mcp` package
// (test/fixtures/website_fetcher/app.py). Its virtualenv is built once into the cache
// (~/.cache/mcpmux/venv-fetcher, or $MCPMUX_CACHE/venv-fetcher) from the pinned requirements.txt
// beside app.py, and reused while that file is unchanged and the packages import.
// Usage outside tests: node test/support/install-tools.ts python-fetcher
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type Managed } from '../../shared/testing/processes.ts';
import { CACHE_DIR } from './tools.ts';

export const FETCHER_APP = fileURLToPath(new URL('../fixtures/website_fetcher/app.py', import.meta.url));
export const FETCHER_REQUIREMENTS = fileURLToPath(new URL('../fixtures/website_fetcher/requirements.txt', import.meta.url));
export const FETCHER_VENV = join(CACHE_DIR, 'venv-fetcher');
/** What uvicorn prints (to stderr) once the fetcher accepts connections. */
export const FETCHER_READY = /Uvicorn running on (http:\/\/\S+)/;

const MARKER = join(FETCHER_VENV, '.mcpmux-requirements');
const LOCK = `${FETCHER_VENV}.lock`;
const INSTALL_TIMEOUT_MS = 10 * 60_000;

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

const requirementsHash = (): string => createHash('sha256').update(readFileSync(FETCHER_REQUIREMENTS)).digest('hex');
const venvPython = (): string => join(FETCHER_VENV, 'bin', 'python');

/** True when the venv was built from the current requirements and the fetcher's imports work. */
async function venvReady(): Promise<boolean> {
  if (!existsSync(MARKER) || readFileSync(MARKER, 'utf8').trim() !== requirementsHash()) return false;
  return (await run(venvPython(), ['-c', 'import httpx, mcp.server.fastmcp'], 60_000)).ok;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** One installer at a time across test processes (the runner runs files in parallel). */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = 0;
      let age = 0;
      try {
        holder = Number(readFileSync(LOCK, 'utf8')) || 0;
        age = Date.now() - statSync(LOCK).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      // A lock left by a process that died (killed mid-install) is taken over; an empty one may be
      // mid-write, so it is only taken over once it is a few seconds old.
      if (holder > 0 ? !alive(holder) : age > 5_000) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK} (held by pid ${holder})`);
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** How long `ensurePythonVenv()` took in this process, and whether it had to install. */
export const venvTiming = { ms: 0, installed: false };

/**
 * The fetcher venv's python, creating the venv and installing requirements.txt into it the first
 * time (the tutorial's `pip install "mcp<2" httpx`, pinned). `MCPMUX_PYTHON` picks the base
 * interpreter (default `python3`, 3.10 or newer as `mcp` requires).
 */
export function ensurePythonVenv(): Promise<string> {
  // Once per process: a failure is retried by the next call, a success is remembered.
  ensured ??= installVenv().catch((error: unknown) => {
    ensured = undefined;
    throw error;
  });
  return ensured;
}
let ensured: Promise<string> | undefined;

async function installVenv(): Promise<string> {
  const started = Date.now();
  venvTiming.installed = false;
  if (!(await venvReady())) {
    await withLock(async () => {
      if (await venvReady()) return; // another test process built it while we waited
      const base = process.env.MCPMUX_PYTHON ?? 'python3';
      const version = await run(base, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(sys.version_info < (3, 10))'], 30_000);
      if (!version.ok) throw new Error(`the website fetcher needs Python >= 3.10 as \`${base}\` (set MCPMUX_PYTHON to choose another): ${version.output}`);
      rmSync(FETCHER_VENV, { recursive: true, force: true });
      const venv = await run(base, ['-m', 'venv', FETCHER_VENV], 120_000);
      if (!venv.ok) throw new Error(`\`${base} -m venv ${FETCHER_VENV}\` failed (on Debian/Ubuntu: apt-get install python3-venv): ${venv.output}`);
      const pip = await run(venvPython(), ['-m', 'pip', 'install', '--quiet', '-r', FETCHER_REQUIREMENTS], INSTALL_TIMEOUT_MS);
      if (!pip.ok) throw new Error(`pip install -r ${FETCHER_REQUIREMENTS} into ${FETCHER_VENV} failed (is PyPI reachable?):\n${pip.output.slice(-4000)}`);
      const check = await run(venvPython(), ['-c', 'import httpx, mcp.server.fastmcp'], 60_000);
      if (!check.ok) throw new Error(`the fetcher venv was installed but does not import mcp/httpx: ${check.output}`);
      writeFileSync(MARKER, `${requirementsHash()}\n`);
      venvTiming.installed = true;
      process.stderr.write(`installed the Python website fetcher (Python ${version.output}) into ${FETCHER_VENV} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    });
  }
  venvTiming.ms = Date.now() - started;
  return venvPython();
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
