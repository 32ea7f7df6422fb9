// Peer MCP gateways measured beside mcpmux, in front of the same upstream and driven by the same
// driver in the same run: mcp-hub (npm; legacy SSE on its unified /mcp endpoint), FastMCP's proxy
// (PyPI `fastmcp`, create_proxy over streamable HTTP; once with a fresh backend session per
// request, its default, and once sharing one connected session), magg (PyPI, an MCP
// aggregator built on FastMCP), IBM ContextForge (PyPI `mcp-contextforge-gateway`, on its
// embedded SQLite), LiteLLM's MCP gateway (PyPI `litellm[proxy]`) and Lasso's MCP gateway (PyPI
// `mcp-gateway`; stdio only towards its servers, so each upstream is reached through a stdio
// bridge, see startLasso). Each is installed once into the cache, never into the project:
//   npm packages   $MCPMUX_CACHE/peers/<name>        (npm install --prefix, pinned)
//   PyPI packages  $MCPMUX_CACHE/peers/venv-<name>   (python -m venv + pip install, pinned)
// with a marker naming what was installed, so a later run reuses it. A peer that cannot be
// installed or started is skipped with the reason; it never fails the run.
//
// Self-check (not a test, so `npm test` never installs peers):  node test/bench/peers.ts
// starts an echo upstream, every peer in front of it, and prints each one's p50 beside the direct one.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNode, startProcess, type Managed } from '../../shared/testing/processes.ts';
import { CACHE_DIR } from '../support/tools.ts';
import { streamableEndpoint, type BenchEndpoint } from './lib/clients.ts';
import { legacySseEndpoint } from './lib/legacy-sse-client.ts';

export interface Peer {
  name: string;
  /** The peer's process, for its memory (its children, uvicorn workers say, included by the caller). */
  pid: number;
  /** The peer's own version (and what it runs on, where that matters). */
  version: string;
  endpoint: BenchEndpoint;
  /** Where it serves streamable HTTP, and the headers every request needs (absent: it does not). */
  streamable?: { url: string; headers?: Record<string, string> };
  stop(): Promise<void>;
}

/** An upstream a peer fronts; the first is `echo`, the driver calls its echo tool. */
interface Upstream {
  name: string;
  url: string;
}

/** `echo`, `echo1`, `echo2`… for one URL or several (a fan-out). */
const named = (urls: string | readonly string[]): Upstream[] => (typeof urls === 'string' ? [urls] : urls).map((url, i) => ({ name: i === 0 ? 'echo' : `echo${i}`, url }));

export interface Skipped {
  name: string;
  reason: string;
}

export const PEERS_DIR = join(CACHE_DIR, 'peers');

const MCP_HUB = { name: 'mcp-hub', version: '4.2.1' };
const FASTMCP = { name: 'fastmcp', version: '4.2.3' };
const MAGG = { name: 'magg', version: '1.3.0' };
const CONTEXTFORGE = { name: 'mcp-contextforge-gateway', version: '1.1.0' };
// 1.110.x's `proxy` extra requires `litellm-proxy==<same version>`, which PyPI does not serve
// (pip: "No matching distribution found for litellm-proxy==1.110.2"); 1.100.0's extra lists
// its dependencies itself.
const LITELLM = { name: 'litellm', version: '1.100.0' };
// mcp-gateway 1.2.1 imports mcp.server.fastmcp, which mcp 2.x removed: pinned to the last 1.x.
const LASSO = { name: 'mcp-gateway', version: '1.2.1', mcp: '1.30.0' };

const INSTALL_TIMEOUT_MS = 10 * 60_000;
const READY_TIMEOUT_MS = 60_000;
const MARKER = '.mcpmux-installed';

// ---------------------------------------------------------------------------------------------
// Installing into the cache

function run(command: string, args: readonly string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', npm_config_update_notifier: 'false' } },
      (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') }),
    );
  });
}

const readMarker = (dir: string): string => {
  try {
    return readFileSync(join(dir, MARKER), 'utf8').trim();
  } catch {
    return '';
  }
};

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** `npm install --prefix $PEERS_DIR/<name> <name>@<version>`, unless the marker says it is there. */
async function ensureNpmPackage(pkg: { name: string; version: string }, entry: string): Promise<string> {
  const dir = join(PEERS_DIR, pkg.name);
  const spec = `${pkg.name}@${pkg.version}`;
  const entryPath = join(dir, 'node_modules', pkg.name, entry);
  if (readMarker(dir) === spec && existsSync(entryPath)) return entryPath;
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const npm = await run('npm', ['install', '--prefix', dir, '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', spec], INSTALL_TIMEOUT_MS);
  if (!npm.ok) throw new Error(`npm install --prefix ${dir} ${spec} failed: ${npm.output.slice(-2000)}`);
  if (!existsSync(entryPath)) throw new Error(`npm installed ${spec} but ${entryPath} is missing`);
  writeFileSync(join(dir, MARKER), `${spec}\n`);
  process.stderr.write(`installed ${spec} into ${dir} in ${seconds(started)}\n`);
  return entryPath;
}

interface Python {
  path: string;
  version: string;
  /** [major, minor] */
  tuple: [number, number];
}

/** Interpreters worth trying: MCPMUX_PYTHON alone when set, else python3, python3.N and pyenv's. */
function pythonCandidates(): string[] {
  if (process.env.MCPMUX_PYTHON) return [process.env.MCPMUX_PYTHON];
  const candidates = ['python3', 'python3.14', 'python3.13', 'python3.12'];
  const pyenvVersions = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  try {
    for (const version of readdirSync(pyenvVersions)) if (/^3\.\d+/.test(version)) candidates.push(join(pyenvVersions, version, 'bin', 'python3'));
  } catch {
    // no pyenv
  }
  return candidates;
}

/**
 * The newest Python 3 found (MCPMUX_PYTHON picks one instead). Both Python peers run on it, so
 * they differ in the gateway only; magg needs 3.12 or newer, FastMCP 3.10.
 */
function findPython(): Promise<Python | undefined> {
  found ??= (async () => {
    const probes = await Promise.all(
      pythonCandidates().map(async (candidate) => {
        const probe = await run(candidate, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3]); print(sys.executable)'], 30_000);
        const [version, executable] = probe.output.split('\n');
        const match = probe.ok ? /^3\.(\d+)\.\d+$/.exec(version ?? '') : null;
        return match && executable ? { path: executable.trim(), version: String(version), tuple: [3, Number(match[1])] as [number, number] } : undefined;
      }),
    );
    let best: Python | undefined;
    for (const python of probes) if (python && (!best || python.tuple[1] > best.tuple[1])) best = python;
    return best;
  })();
  return found;
}
let found: Promise<Python | undefined> | undefined;

const atLeast = (python: Python, minor: number): boolean => python.tuple[1] >= minor;

/**
 * A venv at $PEERS_DIR/venv-<name> with `requirement` installed by pip, unless its marker says
 * it was built from the same requirement and interpreter and `check` (Python code) still runs.
 * Resolves with the venv's python and what `check` printed.
 */
function ensureVenv(name: string, requirement: string | readonly string[], python: Python, check: string): Promise<{ python: string; checked: string }> {
  // Once per process and venv: two peers on one venv wait for the same install.
  let ensured = venvs.get(name);
  if (!ensured) {
    ensured = installVenv(name, requirement, python, check);
    venvs.set(name, ensured);
    ensured.catch(() => venvs.delete(name));
  }
  return ensured;
}
const venvs = new Map<string, Promise<{ python: string; checked: string }>>();

async function installVenv(name: string, requirements: string | readonly string[], python: Python, check: string): Promise<{ python: string; checked: string }> {
  const list = typeof requirements === 'string' ? [requirements] : requirements;
  const requirement = list.join(' ');
  const dir = join(PEERS_DIR, `venv-${name}`);
  const venvPython = join(dir, 'bin', 'python');
  const marker = `${requirement} on ${python.path} ${python.version}`;
  if (readMarker(dir) === marker) {
    const probe = await run(venvPython, ['-c', check], 60_000);
    if (probe.ok) return { python: venvPython, checked: probe.output };
  }
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(PEERS_DIR, { recursive: true });
  const venv = await run(python.path, ['-m', 'venv', dir], 120_000);
  if (!venv.ok) throw new Error(`\`${python.path} -m venv ${dir}\` failed (on Debian/Ubuntu: apt-get install python3-venv): ${venv.output}`);
  const pip = await run(venvPython, ['-m', 'pip', 'install', '--quiet', ...list], INSTALL_TIMEOUT_MS);
  if (!pip.ok) throw new Error(`pip install ${requirement} (Python ${python.version}) failed: ${pip.output.slice(-2000)}`);
  const probe = await run(venvPython, ['-c', check], 60_000);
  if (!probe.ok) throw new Error(`${requirement} installed into ${dir} but does not import: ${probe.output.slice(-2000)}`);
  writeFileSync(join(dir, MARKER), `${marker}\n`);
  process.stderr.write(`installed ${requirement} (Python ${python.version}) into ${dir} in ${seconds(started)}\n`);
  return { python: venvPython, checked: probe.output };
}

// ---------------------------------------------------------------------------------------------
// Starting

/** The last lines of a child's output, each cut short (mcp-hub prints minified source lines). */
function outputTail(output: string, lines = 25, width = 300): string {
  return output
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => (line.length > width ? `${line.slice(0, width)}…` : line))
    .join('\n');
}

/**
 * Opens a session, makes one echo call and closes it, again and again until that works: the
 * peer is then listening, connected to the upstream and routing to it. Fails at once if the
 * process exits.
 */
async function waitUntilEchoes(endpoint: BenchEndpoint, child: Managed, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  const exited = (): boolean => child.child.exitCode !== null || child.child.signalCode !== null;
  while (Date.now() < deadline) {
    if (exited()) break;
    try {
      const session = await endpoint.open();
      try {
        await session.call();
        return;
      } finally {
        await session.close();
      }
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const status = exited() ? `exited (${child.child.exitCode ?? child.child.signalCode})` : `did not echo within ${timeoutMs} ms`;
  throw new Error(`${child.name} ${status}; last error: ${last || 'none'}; output:\n${outputTail(child.output())}`);
}

/** Waits until `endpoint` on the started `child` echoes, and makes the Peer (or cleans up when it never does). */
async function launch(name: string, version: string, endpoint: BenchEndpoint, child: Managed, workDir: string | undefined, streamable?: Peer['streamable']): Promise<Peer> {
  const stop = async (): Promise<void> => {
    await endpoint.close().catch(() => {});
    await child.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  };
  try {
    await waitUntilEchoes(endpoint, child);
    // Once more in a new session, the first one ended: the driver's sessions come after it.
    try {
      const session = await endpoint.open();
      try {
        await session.call();
      } finally {
        await session.close();
      }
    } catch (error) {
      throw new Error(`${name} echoed in a first session but not in a second one: ${(error as Error).message}`, { cause: error });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, pid: child.child.pid ?? 0, version, endpoint, ...(streamable ? { streamable } : {}), stop };
}

// mcp-hub listens on every interface and has no option for the host: this preload makes a
// listen() given only a port bind 127.0.0.1, so nothing is reachable from off the machine.
const LOOPBACK_ONLY = `data:text/javascript,${encodeURIComponent(
  'import net from "node:net"; const listen = net.Server.prototype.listen; net.Server.prototype.listen = function (...args) { if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1"); return listen.apply(this, args); };',
)}`;

/**
 * mcp-hub: `mcp-hub --port P --config mcp-hub.json` with one remote server, {"url": upstream}
 * (it tries streamable HTTP first, then SSE). Its /mcp endpoint is legacy SSE and names tools
 * `<server>__<tool>`. HOME and XDG dirs point at a scratch folder, where a fresh marketplace cache
 * is seeded so it does not fetch its registry from the internet at start.
 */
async function startMcpHub(upstreams: readonly Upstream[], connections: number): Promise<Peer> {
  const cli = await ensureNpmPackage(MCP_HUB, 'dist/cli.js');
  const home = mkdtempSync(join(tmpdir(), 'mcpmux-peer-mcp-hub-'));
  const xdg = { XDG_DATA_HOME: join(home, 'data'), XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
  const registryCache = join(xdg.XDG_DATA_HOME, 'mcp-hub', 'cache');
  mkdirSync(registryCache, { recursive: true });
  const now = Date.now();
  writeFileSync(
    join(registryCache, 'registry.json'),
    JSON.stringify({
      registry: { version: 'mcpmux-bench', generatedAt: now, totalServers: 1, servers: [{ id: 'mcpmux-bench-none', name: 'none', description: 'offline placeholder' }] },
      lastFetchedAt: now,
      serverDocumentation: {},
    }),
  );
  const config = join(home, 'mcp-hub.json');
  writeFileSync(config, JSON.stringify({ mcpServers: Object.fromEntries(upstreams.map((u) => [u.name, { url: u.url }])) }, null, 2));
  const port = await freePort();
  const child = startNode('mcp-hub', ['--import', LOOPBACK_ONLY, cli, '--port', String(port), '--config', config], { HOME: home, ...xdg }, home);
  const endpoint = legacySseEndpoint({ name: 'mcp-hub', url: `http://127.0.0.1:${port}/mcp`, tool: 'echo__echo', connections });
  return launch('mcp-hub', MCP_HUB.version, endpoint, child, home);
}

// FastMCP's proxy, served over streamable HTTP (stateful sessions, SSE-framed answers: the
// defaults) without the banner, update check or access log, in its two documented set-ups:
//   fastmcp-proxy         create_proxy(url): a fresh backend session for every request (the
//                         default, which the docs recommend: no context mixing between clients)
//   fastmcp-proxy-shared  create_proxy(connected Client): one backend session reused by all
const FASTMCP_PROXY = `
import asyncio, sys
from fastmcp import Client
from fastmcp.server import create_proxy
upstream, port, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "shared"
serve = dict(transport="http", host="127.0.0.1", port=port, path="/mcp", show_banner=False, uvicorn_config={"access_log": False})
async def main():
    if shared:
        async with Client(upstream) as client:
            await create_proxy(client, name="fastmcp-proxy-shared").run_http_async(**serve)
    else:
        await create_proxy(upstream, name="fastmcp-proxy").run_http_async(**serve)
asyncio.run(main())
`;

const PYTHON_ENV = { PYTHONUNBUFFERED: '1', FASTMCP_CHECK_FOR_UPDATES: 'off', FASTMCP_SHOW_SERVER_BANNER: 'false' };

async function startFastmcpProxy(upstreams: readonly Upstream[], connections: number, python: Python, shared: boolean): Promise<Peer> {
  const name = shared ? 'fastmcp-proxy-shared' : 'fastmcp-proxy';
  const upstreamUrl = upstreams[0]?.url ?? '';
  if (upstreams.length !== 1) throw new Error(`${name} fronts one server here (create_proxy(url)), not ${upstreams.length}`);
  const venv = await ensureVenv('fastmcp', `${FASTMCP.name}==${FASTMCP.version}`, python, 'import fastmcp.server; print(fastmcp.__version__)');
  const port = await freePort();
  const child = startProcess(name, venv.python, ['-c', FASTMCP_PROXY, upstreamUrl, String(port), shared ? 'shared' : 'fresh'], PYTHON_ENV);
  const url = `http://127.0.0.1:${port}/mcp`;
  const endpoint = streamableEndpoint({ name, url, tool: 'echo', connections });
  return launch(name, `${venv.checked.split('\n').pop()} (Python ${python.version})`, endpoint, child, undefined, { url });
}

/**
 * magg: `python -m magg serve --http --host 127.0.0.1 --port P --no-banner` in a scratch folder
 * whose .magg/config.json names the upstream as an HTTP server with prefix `echo` (tool
 * `echo_echo`). HOME is the scratch folder too, so no ~/.ssh/magg key turns bearer auth on.
 */
async function startMagg(upstreams: readonly Upstream[], connections: number, python: Python): Promise<Peer> {
  const requirement = `${MAGG.name}==${MAGG.version}`;
  const venv = await ensureVenv('magg', requirement, python, 'import importlib.metadata as m, magg.server; print(m.version("fastmcp"))');
  const home = mkdtempSync(join(tmpdir(), 'mcpmux-peer-magg-'));
  const config = join(home, '.magg', 'config.json');
  mkdirSync(join(home, '.magg'));
  writeFileSync(config, JSON.stringify({ servers: Object.fromEntries(upstreams.map((u) => [u.name, { name: u.name, source: 'mcpmux-bench', uri: u.url, prefix: u.name, enabled: true }])) }, null, 2));
  const port = await freePort();
  const env = { ...PYTHON_ENV, HOME: home, MAGG_CONFIG_PATH: config, MAGG_AUTO_RELOAD: 'false', MAGG_LOG_LEVEL: 'WARNING', MAGG_PRIVATE_KEY: '' };
  const child = startProcess('magg', venv.python, ['-m', 'magg', 'serve', '--http', '--host', '127.0.0.1', '--port', String(port), '--no-banner'], env, home);
  const url = `http://127.0.0.1:${port}/mcp`;
  const endpoint = streamableEndpoint({ name: 'magg', url, tool: 'echo_echo', connections });
  return launch('magg', `${MAGG.version} (fastmcp ${venv.checked.split('\n').pop()}, Python ${python.version})`, endpoint, child, home, { url });
}

/** GETs `url` until it answers 2xx; fails at once if `child` exits. */
async function waitForOk(url: string, child: Managed, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline && child.child.exitCode === null && child.child.signalCode === null) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await response.body?.cancel();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const status = child.child.exitCode !== null || child.child.signalCode !== null ? `exited (${child.child.exitCode ?? child.child.signalCode})` : `did not answer ${url} within ${timeoutMs} ms`;
  throw new Error(`${child.name} ${status}; last error: ${last || 'none'}; output:\n${outputTail(child.output())}`);
}

/** A secret no strength check rejects (ContextForge refuses weak or placeholder ones). */
const secret = (): string => `Mb1-${randomBytes(24).toString('base64url')}`;

/**
 * IBM ContextForge: `mcpgateway --host 127.0.0.1 --port P` (uvicorn, one worker) on its default
 * embedded SQLite in a scratch folder, with JWT auth on (its default) and a token made by its own
 * `mcpgateway.utils.create_jwt_token` for the admin user it bootstraps. The upstream is registered
 * through the admin API (POST /gateways, transport STREAMABLEHTTP; SSRF_ALLOW_LOCALHOST so a
 * loopback URL is accepted), and the driver calls its global streamable HTTP /mcp, where the tool
 * is `<gateway>-<tool>`: `echo-echo`. At start it forks process pools of its own (a sandboxed jq
 * worker pool and a validation pool: 4 children here), which its RSS includes. Its rate limiter (100 tool calls a minute by default) is
 * off, as it would otherwise be what is measured.
 */
async function startContextForge(upstreams: readonly Upstream[], connections: number, python: Python): Promise<Peer> {
  const venv = await ensureVenv('contextforge', `${CONTEXTFORGE.name}==${CONTEXTFORGE.version}`, python, `import importlib.metadata as m; print(m.version("${CONTEXTFORGE.name}"))`);
  const home = mkdtempSync(join(tmpdir(), 'mcpmux-peer-contextforge-'));
  const port = await freePort();
  const env = {
    ...PYTHON_ENV,
    HOME: home,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: `sqlite:///${join(home, 'mcp.db')}`,
    JWT_SECRET_KEY: secret(),
    AUTH_ENCRYPTION_SECRET: secret(),
    PLATFORM_ADMIN_PASSWORD: secret(),
    DEFAULT_USER_PASSWORD: secret(),
    BASIC_AUTH_PASSWORD: secret(),
    MCPGATEWAY_ADMIN_API_ENABLED: 'true',
    MCPGATEWAY_UI_ENABLED: 'false',
    PLUGINS_ENABLED: 'false',
    SSRF_ALLOW_LOCALHOST: 'true',
    RATE_LIMITING_ENABLED: 'false',
    TOOL_RATE_LIMIT: '100000000',
    LOG_LEVEL: 'WARNING',
  };
  const child = startProcess('contextforge', venv.python.replace(/python$/, 'mcpgateway'), ['--host', '127.0.0.1', '--port', String(port), '--no-access-log'], env, home);
  const stopEarly = async (): Promise<void> => {
    await child.stop();
    rmSync(home, { recursive: true, force: true });
  };
  let token: string;
  try {
    const made = await run(venv.python, ['-c', `import os, sys; os.environ.update(${JSON.stringify(env)}); sys.argv = ["create_jwt_token", "-u", "admin@example.com", "--admin", "-e", "600"]; import runpy; runpy.run_module("mcpgateway.utils.create_jwt_token", run_name="__main__")`], 120_000);
    // Its output holds the token on a line of its own, and warnings about elevated claims.
    token = made.output.split('\n').find((line) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(line.trim()))?.trim() ?? '';
    if (!made.ok || !token) throw new Error(`mcpgateway.utils.create_jwt_token failed: ${outputTail(made.output, 5)}`);
    await waitForOk(`http://127.0.0.1:${port}/health`, child, 120_000);
    for (const upstream of upstreams) {
      const registered = await fetch(`http://127.0.0.1:${port}/gateways`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: upstream.name, url: upstream.url, transport: 'STREAMABLEHTTP' }),
      });
      const body = await registered.text();
      if (!registered.ok) throw new Error(`POST /gateways (${upstream.name}): HTTP ${registered.status}: ${body.slice(0, 500)}`);
    }
  } catch (error) {
    await stopEarly();
    throw error;
  }
  const streamable = { url: `http://127.0.0.1:${port}/mcp`, headers: { authorization: `Bearer ${token}` } };
  const endpoint = streamableEndpoint({ name: 'contextforge', ...streamable, tool: 'echo-echo', connections });
  return launch('contextforge', `${venv.checked.split('\n').pop()} (SQLite, Python ${python.version})`, endpoint, child, home, streamable);
}

/**
 * LiteLLM's MCP gateway: `litellm --config config.yaml --host 127.0.0.1 --port P` (uvicorn, one
 * worker, no database) with no models, one `mcp_servers` entry {url: upstream, transport: http}
 * and a master key; its streamable HTTP endpoint is /mcp/ and names the tool `<server>-<tool>`:
 * `echo-echo`. The model cost map is read from the package (no fetch at start); uvicorn's access
 * log is off.
 */
async function startLiteLlm(upstreams: readonly Upstream[], connections: number, python: Python): Promise<Peer> {
  const venv = await ensureVenv('litellm', `${LITELLM.name}[proxy]==${LITELLM.version}`, python, 'import importlib.metadata as m, fastapi, uvicorn, mcp; print(m.version("litellm"))');
  const home = mkdtempSync(join(tmpdir(), 'mcpmux-peer-litellm-'));
  const key = `sk-${randomBytes(16).toString('hex')}`;
  const config = join(home, 'config.yaml');
  writeFileSync(
    config,
    `model_list: []\nmcp_servers:\n${upstreams.map((u) => `  ${u.name}:\n    url: ${JSON.stringify(u.url)}\n    transport: http\n`).join('')}general_settings:\n  master_key: ${key}\nlitellm_settings:\n  telemetry: false\n`,
  );
  const logConfig = join(home, 'log.json');
  writeFileSync(logConfig, JSON.stringify({ version: 1, disable_existing_loggers: false, loggers: { 'uvicorn.access': { level: 'WARNING' } } }));
  const port = await freePort();
  const env = { ...PYTHON_ENV, HOME: home, LITELLM_LOCAL_MODEL_COST_MAP: 'True', LITELLM_LOG: 'ERROR' };
  const child = startProcess('litellm', venv.python.replace(/python$/, 'litellm'), ['--config', config, '--host', '127.0.0.1', '--port', String(port), '--log_config', logConfig], env, home);
  const streamable = { url: `http://127.0.0.1:${port}/mcp/`, headers: { authorization: `Bearer ${key}` } };
  const endpoint = streamableEndpoint({ name: 'litellm', ...streamable, tool: 'echo-echo', connections });
  return launch('litellm', `${venv.checked.split('\n').pop()} (Python ${python.version})`, endpoint, child, home, streamable);
}

// Lasso's gateway serves its FastMCP (mcp 1.x) object, which runs streamable HTTP as well as
// the stdio its CLI hardcodes; it reaches its servers over stdio only, so each upstream is this
// bridge: a stdio MCP server passing tools/list and tools/call to the upstream's streamable HTTP
// over one session.
const LASSO_SERVE = `
import sys
from mcp_gateway import gateway
gateway.cli_args = gateway.parse_args(["--mcp-json-path", sys.argv[1]])
gateway.mcp.settings.host = "127.0.0.1"
gateway.mcp.settings.port = int(sys.argv[2])
gateway.mcp.settings.log_level = "WARNING"
gateway.mcp.run(transport="streamable-http")
`;
const STDIO_BRIDGE = `
import sys, anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
async def main():
    async with streamablehttp_client(sys.argv[1]) as (read, write, _):
        async with ClientSession(read, write) as upstream:
            await upstream.initialize()
            server = Server("stdio-bridge")
            @server.list_tools()
            async def list_tools():
                return (await upstream.list_tools()).tools
            @server.call_tool(validate_input=False)
            async def call_tool(name, arguments):
                return (await upstream.call_tool(name, arguments)).content
            async with stdio_server() as (r, w):
                await server.run(r, w, server.create_initialization_options())
anyio.run(main)
`;

/**
 * Lasso's MCP gateway 1.2.1 (`lasso+stdio-bridge`): mcp_gateway.gateway's FastMCP served over
 * streamable HTTP at /mcp (its CLI, `mcp-gateway`, serves stdio only), no plugins, with an
 * mcp.json whose servers are STDIO_BRIDGE processes, one per upstream: Lasso starts its servers as
 * subprocesses over stdio (server.py: stdio_client(StdioServerParameters(command=…))) and has no
 * HTTP client. The bridge is a hop the other sides do not have, so the row measures Lasso and the
 * bridge together. Tools are `<server>_<tool>`: `echo_echo`.
 *
 * With mcp 1.30 this fails after the first session: FastMCP runs Lasso's lifespan (which starts
 * its servers and registers their tools) for each MCP session over HTTP, and the tools the first
 * session registered keep calling that session's servers, closed when it ends (anyio
 * ClosedResourceError, which Lasso turns into a result mcp 1.30 rejects). launch()'s second
 * session check then skips it with that error.
 */
async function startLasso(upstreams: readonly Upstream[], connections: number, python: Python): Promise<Peer> {
  const venv = await ensureVenv('lasso', [`${LASSO.name}==${LASSO.version}`, `mcp==${LASSO.mcp}`], python, `import importlib.metadata as m, mcp_gateway.gateway; print(m.version("${LASSO.name}"))`);
  const home = mkdtempSync(join(tmpdir(), 'mcpmux-peer-lasso-'));
  const config = join(home, 'mcp.json');
  const servers = Object.fromEntries(upstreams.map((u) => [u.name, { command: venv.python, args: ['-c', STDIO_BRIDGE, u.url] }]));
  writeFileSync(config, JSON.stringify({ mcpServers: { 'mcp-gateway': { command: 'mcp-gateway', servers } } }, null, 2));
  const port = await freePort();
  const child = startProcess('lasso', venv.python, ['-c', LASSO_SERVE, config, String(port)], { ...PYTHON_ENV, HOME: home }, home);
  const url = `http://127.0.0.1:${port}/mcp`;
  const endpoint = streamableEndpoint({ name: 'lasso+stdio-bridge', url, tool: 'echo_echo', connections });
  return launch('lasso+stdio-bridge', `${venv.checked.split('\n').pop()} (mcp ${LASSO.mcp}, Python ${python.version}; a stdio bridge per upstream)`, endpoint, child, home, { url });
}

/**
 * Installs (once, into the cache) and starts every peer (or those `only` names) in front of
 * `upstreamUrls` (named echo, echo1, echo2…; the driver calls echo's tool), each on a free
 * loopback port, resolved once one echo call through it worked. Peers that could not be
 * installed or started are in `skipped` with the reason.
 */
export async function startPeers(upstreamUrls: string | readonly string[], options: { connections: number; only?: readonly string[] }): Promise<{ peers: Peer[]; skipped: Skipped[] }> {
  const { connections } = options;
  const upstreams = named(upstreamUrls);
  const python = findPython();
  const needPython = async (minor: number, why: string): Promise<Python> => {
    const found = await python;
    if (!found) throw new Error(`no Python 3 found (tried ${pythonCandidates().join(', ')}; set MCPMUX_PYTHON)`);
    if (!atLeast(found, minor)) throw new Error(`${why} needs Python >= 3.${minor}; the newest found is ${found.version} at ${found.path} (set MCPMUX_PYTHON)`);
    return found;
  };
  const starters: { name: string; start: () => Promise<Peer> }[] = [
    { name: 'mcp-hub', start: () => startMcpHub(upstreams, connections) },
    { name: 'fastmcp-proxy', start: async () => startFastmcpProxy(upstreams, connections, await needPython(10, `fastmcp ${FASTMCP.version}`), false) },
    { name: 'fastmcp-proxy-shared', start: async () => startFastmcpProxy(upstreams, connections, await needPython(10, `fastmcp ${FASTMCP.version}`), true) },
    { name: 'magg', start: async () => startMagg(upstreams, connections, await needPython(12, `magg ${MAGG.version}`)) },
    { name: 'contextforge', start: async () => startContextForge(upstreams, connections, await needPython(12, `${CONTEXTFORGE.name} ${CONTEXTFORGE.version}`)) },
    { name: 'litellm', start: async () => startLiteLlm(upstreams, connections, await needPython(10, `litellm ${LITELLM.version}`)) },
    { name: 'lasso+stdio-bridge', start: async () => startLasso(upstreams, connections, await needPython(10, `${LASSO.name} ${LASSO.version}`)) },
  ];
  const chosen = options.only ? starters.filter((starter) => options.only?.includes(starter.name)) : starters;
  // Installs run side by side (the cold start is mostly waiting on registries).
  const outcomes = await Promise.allSettled(chosen.map((starter) => starter.start()));
  const peers: Peer[] = [];
  const skipped: Skipped[] = [];
  outcomes.forEach((outcome, i) => {
    const name = (chosen[i] as { name: string }).name;
    if (outcome.status === 'fulfilled') peers.push(outcome.value);
    else skipped.push({ name, reason: outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason) });
  });
  return { peers, skipped };
}

// ---------------------------------------------------------------------------------------------
// Self-check: node test/bench/peers.ts [--calls N]

async function p50(endpoint: BenchEndpoint, calls: number): Promise<number> {
  const session = await endpoint.open();
  try {
    for (let i = 0; i < 20; i++) await session.call(); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      await session.call();
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)] as number;
  } finally {
    await session.close();
  }
}

if (import.meta.main) {
  const { parseArgs } = await import('node:util');
  const { startEcho } = await import('./lib/stack.ts');
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '200' } } });
  const calls = Number(values.calls);
  const echo = await startEcho();
  const direct = streamableEndpoint({ name: 'direct', url: echo.url, tool: 'echo', connections: 2 });
  let peers: Peer[] = [];
  try {
    const started = Date.now();
    const result = await startPeers(echo.url, { connections: 2 });
    peers = result.peers;
    console.log(`startPeers (installs included) took ${seconds(started)}; peers cache: ${PEERS_DIR}`);
    for (const skip of result.skipped) console.log(`skipped ${skip.name}: ${skip.reason}`);
    const directP50 = await p50(direct, calls);
    console.log(`${'direct'.padEnd(21)} ${''.padEnd(40)} p50 ${directP50.toFixed(3)} ms`);
    for (const peer of peers) {
      const peerP50 = await p50(peer.endpoint, calls);
      console.log(`${peer.name.padEnd(21)} ${peer.version.padEnd(40)} p50 ${peerP50.toFixed(3)} ms (+${(peerP50 - directP50).toFixed(3)} ms over direct)`);
    }
  } finally {
    await Promise.allSettled(peers.map((peer) => peer.stop()));
    await direct.close();
    await echo.process.stop();
  }
}
