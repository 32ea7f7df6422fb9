// MCP conformance through the gateway (`npm run conformance`).
//
// Runs every active server scenario of the pinned suite (@modelcontextprotocol/conformance 0.1.16)
// twice: directly against test/fixtures/conformance-server.ts, then through a real mcpmux stack (a
// control plane on a temp folder of manifests and one proxy, started through the CLI) that routes
// /mcp to that same fixture. Prints a table per scenario and
//   conformance: direct 30/30, through mcpmux N/30 (floor F)
// writes the results to test/conformance/results/ and exits non-zero only if the direct run fails a
// scenario or the through-mcpmux count falls below the floor (MCPMUX_CONFORMANCE_MIN_THROUGH,
// default THROUGH_FLOOR below: raise it whenever the proxy passes more).
//
// Usage: node test/conformance/run.ts [scenario ...]   (a filter skips the floor check)
// Env:   MCPMUX_CONFORMANCE_MIN_THROUGH, MCPMUX_CONFORMANCE_TIMEOUT_MS (overall, 300000),
//        MCPMUX_CONFORMANCE_BATCH_TIMEOUT_MS (120000), MCPMUX_CONFORMANCE_SCENARIO_TIMEOUT_MS (45000),
//        MCPMUX_CONFORMANCE_CONCURRENCY (4, for scenarios re-run one by one),
//        MCPMUX_LOG_LEVEL (for the control plane and proxy; their logs land in results/logs/)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, ROOT, freePort, startNode, type Managed } from '../support/processes.ts';
import { gatewayAndRoute } from '../support/manifests.ts';

/** The suite version the scenario list, the pending list and the floor were measured with. */
const SUITE_VERSION = '0.1.16';
/** Scenarios passing through mcpmux at commit 0b957b1, when this runner was written (docs/conformance.md). */
const THROUGH_FLOOR = 30;
/** Server scenarios 0.1.16 lists but leaves out of its active suite. */
const EXCLUDED: Readonly<Record<string, string>> = {
  'json-schema-2020-12': `pending in suite ${SUITE_VERSION} (not in its active suite); the fixture implements json_schema_2020_12_tool anyway`,
  'server-sse-polling': `pending in suite ${SUITE_VERSION} (not in its active suite); the fixture implements test_reconnection anyway`,
};

const SUITE_DIR = join(ROOT, 'node_modules/@modelcontextprotocol/conformance');
const SUITE_BIN = join(SUITE_DIR, 'dist/index.js');
const FIXTURE = fileURLToPath(new URL('../fixtures/conformance-server.ts', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** Result files kept in RESULTS_DIR (newest first), besides latest.json. */
const KEEP_RESULTS = 20;

const envNumber = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${value}"`);
  return n;
};
const MIN_THROUGH = envNumber('MCPMUX_CONFORMANCE_MIN_THROUGH', THROUGH_FLOOR);
const TOTAL_TIMEOUT_MS = envNumber('MCPMUX_CONFORMANCE_TIMEOUT_MS', 300_000);
const SCENARIO_TIMEOUT_MS = envNumber('MCPMUX_CONFORMANCE_SCENARIO_TIMEOUT_MS', 45_000);
const BATCH_TIMEOUT_MS = envNumber('MCPMUX_CONFORMANCE_BATCH_TIMEOUT_MS', 120_000);
const CONCURRENCY = Math.max(1, envNumber('MCPMUX_CONFORMANCE_CONCURRENCY', 4));

interface Check {
  id: string;
  name: string;
  description?: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string;
  errorMessage?: string;
  details?: unknown;
}

interface ScenarioResult {
  scenario: string;
  passed: boolean;
  /** Why it failed, in one line (the first failed check, a timeout, a crash). */
  reason?: string;
  counts: { success: number; failure: number; warning: number };
  ms: number;
  checks: Check[];
}

interface Run {
  target: 'direct' | 'through mcpmux';
  url: string;
  results: ScenarioResult[];
}

const children: Managed[] = [];
const suiteRuns = new Set<ChildProcess>();
let tempDir: string | undefined;

async function cleanup(): Promise<void> {
  for (const run of suiteRuns) run.kill('SIGKILL');
  await Promise.allSettled(children.splice(0).map((child) => child.stop()));
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

/** `node <suite> args...`, with stdout+stderr captured. */
function runSuite(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SUITE_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    suiteRuns.add(child);
    let output = '';
    const append = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > 64_000) output = output.slice(-32_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      suiteRuns.delete(child);
      resolve({ code, output, timedOut });
    });
  });
}

/** The server scenarios the installed suite lists (`conformance list --server`). */
async function listServerScenarios(): Promise<string[]> {
  const { code, output } = await runSuite(['list', '--server'], 30_000);
  if (code !== 0) throw new Error(`conformance list --server exited ${code}:\n${output}`);
  return [...output.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!);
}

/** The checks.json the suite wrote for `scenario` under `dir` (as server-<scenario>-<timestamp>/). */
function findChecks(dir: string, scenario: string): Check[] | undefined {
  const prefix = `server-${scenario}-`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  // server-<scenario>-<ISO timestamp>: the rest after the prefix must be the timestamp, so that
  // "tools-call-elicitation" never picks up a longer scenario name that starts the same way.
  const mine = entries.filter((e) => e.startsWith(prefix) && /^\d{4}-\d\d-\d\dT[\d-]+Z$/.test(e.slice(prefix.length)));
  for (const entry of mine.sort().reverse()) {
    try {
      return JSON.parse(readFileSync(join(dir, entry, 'checks.json'), 'utf8')) as Check[];
    } catch {
      // killed while writing: no usable results
    }
  }
  return undefined;
}

function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function toResult(scenario: string, checks: Check[], ms: number): ScenarioResult {
  const counts = {
    success: checks.filter((c) => c.status === 'SUCCESS').length,
    failure: checks.filter((c) => c.status === 'FAILURE').length,
    warning: checks.filter((c) => c.status === 'WARNING').length,
  };
  // The suite's own verdict: a scenario passes when it has checks and none of them failed.
  const failed = checks.find((c) => c.status === 'FAILURE');
  const passed = checks.length > 0 && !failed;
  const reason = failed ? `${failed.name}: ${oneLine(failed.errorMessage ?? failed.description ?? 'failed')}` : checks.length === 0 ? 'no checks' : undefined;
  return { scenario, passed, ...(reason ? { reason } : {}), counts, ms, checks };
}

/** One scenario in its own suite process, bounded by SCENARIO_TIMEOUT_MS. */
async function runScenario(url: string, scenario: string, outDir: string): Promise<ScenarioResult> {
  const started = Date.now();
  const { code, output, timedOut } = await runSuite(['server', '--url', url, '--scenario', scenario, '-o', outDir], SCENARIO_TIMEOUT_MS);
  const ms = Date.now() - started;
  const checks = timedOut ? undefined : findChecks(outDir, scenario);
  if (checks) return toResult(scenario, checks, ms);
  const reason = timedOut ? `timed out after ${SCENARIO_TIMEOUT_MS} ms` : `no results (suite exited ${code}): ${oneLine(output.slice(-400))}`;
  return { scenario, passed: false, reason, counts: { success: 0, failure: 1, warning: 0 }, ms, checks: [] };
}

/**
 * Every scenario against `url`. The whole active suite first runs in one suite process (a few
 * seconds; a process per scenario costs about a second of start-up each); any scenario that left no
 * results there (the batch hung and was killed, or the scenario threw) runs again on its own, bounded.
 */
async function runAll(target: Run['target'], url: string, scenarios: string[], active: string[], outDir: string): Promise<Run> {
  mkdirSync(outDir, { recursive: true });
  const byName = new Map<string, ScenarioResult>();
  const sameAsActive = scenarios.length === active.length && scenarios.every((s) => active.includes(s));
  if (sameAsActive) {
    const started = Date.now();
    const batch = await runSuite(['server', '--url', url, '--suite', 'active', '-o', outDir], BATCH_TIMEOUT_MS);
    const ms = Math.round((Date.now() - started) / scenarios.length);
    if (batch.timedOut) console.error(`conformance: ${target}: the batch run timed out after ${BATCH_TIMEOUT_MS} ms; re-running what it left unfinished one by one`);
    for (const scenario of scenarios) {
      const checks = findChecks(outDir, scenario);
      if (checks) byName.set(scenario, toResult(scenario, checks, ms));
    }
  }
  const queue = scenarios.filter((s) => !byName.has(s));
  const worker = async (): Promise<void> => {
    for (let scenario = queue.shift(); scenario; scenario = queue.shift()) {
      byName.set(scenario, await runScenario(url, scenario, join(outDir, 'single', scenario)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return { target, url, results: scenarios.map((s) => byName.get(s)!) };
}

function manifests(fixturePort: number): string {
  return `# Written by test/conformance/run.ts: one Gateway, /mcp routed to the conformance fixture.
${gatewayAndRoute({ namespace: 'default', gateway: 'conformance-gateway', route: 'conformance', backend: 'conformance' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata:
  name: conformance
  namespace: default
spec:
  # One target and conditional prefixing: tool and prompt names pass through unchanged.
  prefixMode: conditional
  targets:
  - static:
      name: conformance
      host: 127.0.0.1
      port: ${fixturePort}
      path: /mcp
`;
}

async function startFixture(): Promise<{ fixture: Managed; url: string; port: number }> {
  const fixture = startNode('conformance-server', [FIXTURE], { PORT: '0' });
  children.push(fixture);
  const match = await fixture.waitFor(/conformance-server listening on (http:\/\/127\.0\.0\.1:(\d+)\/mcp)/);
  return { fixture, url: match[1]!, port: Number(match[2]) };
}

/** Polls `url` until it answers 200; fails as soon as one of `processes` has exited. */
async function waitReady(url: string, processes: Managed[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}):\n${dead.output().slice(-2000)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${last})`);
}

async function startGateway(fixturePort: number): Promise<{ url: string; controlPlane: Managed; proxy: Managed }> {
  tempDir = mkdtempSync(join(tmpdir(), 'mcpmux-conformance-'));
  writeFileSync(join(tempDir, 'conformance.yaml'), manifests(fixturePort));
  const [grpc, controlPlaneHttp, proxyPort, proxyHttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const logs = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'info' };
  const controlPlane = startNode('control-plane', [CLI, 'control-plane', '--dir', tempDir, '--grpc-port', String(grpc), '--http-port', String(controlPlaneHttp)], logs);
  children.push(controlPlane);
  const proxy = startNode(
    'proxy',
    [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpc}`, '--port', String(proxyPort), '--http-port', String(proxyHttp), '--replica-id', 'conformance-proxy'],
    logs,
  );
  children.push(proxy);
  await waitReady(`http://127.0.0.1:${controlPlaneHttp}/readyz`, [controlPlane, proxy]);
  await waitReady(`http://127.0.0.1:${proxyHttp}/readyz`, [controlPlane, proxy]);
  return { url: `http://127.0.0.1:${proxyPort}/mcp`, controlPlane, proxy };
}

function table(scenarios: string[], direct: Run, through: Run | undefined): string {
  const width = Math.max(...scenarios.map((s) => s.length), 'scenario'.length) + 2;
  const mark = (r: ScenarioResult | undefined): string => (!r ? '-' : r.passed ? (r.counts.warning ? 'pass (warn)' : 'pass') : 'FAIL');
  const lines = [`${'scenario'.padEnd(width)}${'direct'.padEnd(13)}${'through mcpmux'.padEnd(16)}reason (first failed check)`];
  for (const [i, scenario] of scenarios.entries()) {
    const d = direct.results[i];
    const t = through?.results[i];
    const reason = [d && !d.passed ? `direct: ${d.reason}` : '', t && !t.passed ? t.reason : ''].filter(Boolean).join('; ');
    lines.push(`${scenario.padEnd(width)}${mark(d).padEnd(13)}${mark(t).padEnd(16)}${reason}`);
  }
  return lines.join('\n');
}

const passedCount = (run: Run | undefined): number => run?.results.filter((r) => r.passed).length ?? 0;

async function main(): Promise<number> {
  const started = Date.now();
  const installed = (JSON.parse(readFileSync(join(SUITE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  if (installed !== SUITE_VERSION) {
    console.error(`conformance: expected @modelcontextprotocol/conformance ${SUITE_VERSION}, found ${installed}; run npm ci (or update SUITE_VERSION, EXCLUDED and THROUGH_FLOOR together)`);
    return 1;
  }
  const listed = await listServerScenarios();
  const filters = process.argv.slice(2);
  const unknown = filters.filter((f) => !listed.includes(f));
  if (unknown.length) {
    console.error(`conformance: unknown scenario(s) ${unknown.join(', ')}; the suite lists: ${listed.join(', ')}`);
    return 2;
  }
  const active = listed.filter((s) => !(s in EXCLUDED));
  const scenarios = filters.length ? filters : active;
  const excluded = listed.filter((s) => s in EXCLUDED && !filters.includes(s));

  const outDir = mkdtempSync(join(tmpdir(), 'mcpmux-conformance-checks-'));
  let direct: Run | undefined;
  let through: Run | undefined;
  let gatewayError: string | undefined;
  try {
    const { url: fixtureUrl, port: fixturePort } = await startFixture();
    // The gateway boots while the direct run goes.
    const gateway = startGateway(fixturePort);
    gateway.catch(() => undefined);
    console.log(`conformance: suite ${SUITE_VERSION}, ${scenarios.length} scenarios, direct against ${fixtureUrl}`);
    direct = await runAll('direct', fixtureUrl, scenarios, active, join(outDir, 'direct'));
    try {
      const { url } = await gateway;
      console.log(`conformance: through mcpmux at ${url}`);
      through = await runAll('through mcpmux', url, scenarios, active, join(outDir, 'mcpmux'));
    } catch (error) {
      gatewayError = (error as Error).message;
      console.error(`conformance: the mcpmux stack did not start: ${gatewayError}`);
    }
  } finally {
    mkdirSync(join(RESULTS_DIR, 'logs'), { recursive: true });
    for (const child of children) writeFileSync(join(RESULTS_DIR, 'logs', `${child.name}.log`), child.output());
    await cleanup();
    rmSync(outDir, { recursive: true, force: true });
  }

  const total = scenarios.length;
  const directPassed = passedCount(direct);
  const throughPassed = passedCount(through);
  const floorApplies = filters.length === 0;
  console.log(`\n${table(scenarios, direct!, through)}\n`);
  if (excluded.length) {
    console.log('excluded:');
    for (const s of excluded) console.log(`  ${s}: ${EXCLUDED[s]}`);
  }
  const summary = `conformance: direct ${directPassed}/${total}, through mcpmux ${throughPassed}/${total}${floorApplies ? ` (floor ${MIN_THROUGH})` : ''}`;
  const seconds = Math.round((Date.now() - started) / 100) / 10;

  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = {
    suite: `@modelcontextprotocol/conformance@${SUITE_VERSION}`,
    date: new Date().toISOString(),
    seconds,
    scenarios,
    excluded: excluded.map((s) => ({ scenario: s, reason: EXCLUDED[s] })),
    floor: floorApplies ? MIN_THROUGH : null,
    direct: { passed: directPassed, total, url: direct?.url, results: direct?.results ?? [] },
    throughMcpmux: { passed: throughPassed, total, url: through?.url, error: gatewayError, results: through?.results ?? [] },
  };
  const file = join(RESULTS_DIR, `conformance-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const older = readdirSync(RESULTS_DIR).filter((f) => /^conformance-.*\.json$/.test(f)).sort().reverse().slice(KEEP_RESULTS);
  for (const f of older) rmSync(join(RESULTS_DIR, f), { force: true });
  console.log(`results: ${relative(ROOT, file)} (logs in ${relative(ROOT, join(RESULTS_DIR, 'logs'))}/), ${seconds} s`);
  console.log(summary);

  const problems: string[] = [];
  if (directPassed < total) problems.push(`the fixture fails ${total - directPassed} scenario(s) directly; fix test/fixtures/conformance-server.ts`);
  if (gatewayError) problems.push('the mcpmux stack did not start');
  if (floorApplies && throughPassed < MIN_THROUGH) problems.push(`through mcpmux ${throughPassed} is below the floor ${MIN_THROUGH}`);
  if (floorApplies && throughPassed > MIN_THROUGH && !process.env.MCPMUX_CONFORMANCE_MIN_THROUGH) {
    console.log(`note: ${throughPassed} > floor ${MIN_THROUGH}: raise THROUGH_FLOOR in test/conformance/run.ts and the counts in docs/conformance.md`);
  }
  for (const problem of problems) console.error(`conformance: FAIL: ${problem}`);
  return problems.length ? 1 : 0;
}

const overall = setTimeout(() => {
  console.error(`conformance: overall timeout after ${TOTAL_TIMEOUT_MS} ms; stopping`);
  void cleanup().finally(() => process.exit(1));
}, TOTAL_TIMEOUT_MS);
overall.unref();

main().then(
  async (code) => {
    clearTimeout(overall);
    await cleanup();
    process.exitCode = code;
  },
  async (error: unknown) => {
    clearTimeout(overall);
    console.error(`conformance: ${(error as Error).stack ?? String(error)}`);
    await cleanup();
    process.exitCode = 1;
  },
);
