// MCP conformance, directly and through the gateway (`npm run conformance`).
//
// Runs the server scenarios of the pinned suite (@modelcontextprotocol/conformance 0.2.0-alpha.12)
// for both requirement sets it ships, 2025-11-25 (stateful sessions) and 2026-07-28 (stateless,
// per-request `_meta`), against four configurations:
//
//   direct          test/fixtures/dual-era-server.ts --mode dual, no gateway;
//   mcpmux-dual     a real mcpmux stack (control plane on a temp folder of manifests + one proxy,
//                   started through the CLI) routing /mcp to the dual fixture;
//   mcpmux-legacy   the same stack in front of the fixture in --mode legacy (2025 only): 2026-07-28
//                   clients are bridged by the gateway;
//   mcpmux-modern   the same stack in front of the fixture in --mode modern (2026-07-28 only): 2025
//                   clients are bridged by the gateway.
//
// Each configuration × set is held to test/conformance/expected-failures.<configuration>.yaml
// (requirement set → scenario → check id → {reason, level?, flaky?}): the run fails on a failed check
// (FAILURE, or WARNING: a SHOULD) that file does not list, and on a listed check that now passes, so
// the lists stay honest; an entry marked `flaky: <why>` may do either. `--write-expected` rewrites
// those files from what was observed (reasons kept, "TODO reason" for new entries).
//
// Usage: node test/conformance/run.ts [--config NAME[,NAME]] [--requirements SET[,SET]]
//                                     [--write-expected] [scenario ...]
// Env:   MCPMUX_CONFORMANCE_TIMEOUT_MS (whole run, 300000), MCPMUX_CONFORMANCE_BATCH_TIMEOUT_MS
//        (one configuration × set in one suite process, 120000), MCPMUX_CONFORMANCE_SCENARIO_TIMEOUT_MS
//        (one scenario, 20000), MCPMUX_CONFORMANCE_CONCURRENCY (scenarios re-run one by one, 4),
//        MCPMUX_CONFORMANCE_PARALLEL (configurations at once, 4), MCPMUX_LOG_LEVEL (control plane
//        and proxy; their logs land in results/logs/<configuration>/).
// docs/conformance.md describes the configurations, the files and the counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CLI, ROOT, freePort, startNode, type Managed } from '../support/processes.ts';
import { gatewayAndRoute } from '../support/manifests.ts';

/** The suite version the scenario lists, the extra and skipped scenarios and the expected failures belong to. */
export const SUITE_VERSION = '0.2.0-alpha.12';
export const SETS = ['2025-11-25', '2026-07-28'] as const;
export type RequirementSet = (typeof SETS)[number];
export const CONFIGS = ['direct', 'mcpmux-dual', 'mcpmux-legacy', 'mcpmux-modern'] as const;
export type Config = (typeof CONFIGS)[number];

type FixtureMode = 'dual' | 'legacy' | 'modern';
const FIXTURE_MODE: Record<Config, FixtureMode> = { direct: 'dual', 'mcpmux-dual': 'dual', 'mcpmux-legacy': 'legacy', 'mcpmux-modern': 'modern' };

/**
 * Unscored scenarios of each set that run anyway (besides every scored server scenario), and why.
 * Every other unscored server scenario the suite lists is skipped, with the reason in SKIPPED.
 */
const EXTRA: Record<RequirementSet, Readonly<Record<string, string>>> = {
  '2025-11-25': {
    'server-sse-polling': 'pending: SEP-1699 resumable SSE (priming event, retry hint, Last-Event-ID replay after the server closes a POST stream)',
    'json-schema-2020-12': 'pending: JSON Schema 2020-12 keywords survive tools/list (SEP-1613, SEP-2106)',
    'server-session-lifecycle': 'added after the 2025-11-25 release: session ids, DELETE, 404 for a deleted session',
  },
  '2026-07-28': {
    'http-header-validation': 'pending: SEP-2243 Mcp-Method / Mcp-Name validation (400 + -32020)',
    'http-custom-header-server-validation': 'pending: SEP-2243 Mcp-Param-* validation of x-mcp-header tool parameters',
    'json-schema-2020-12': 'pending: JSON Schema 2020-12 keywords survive tools/list (SEP-1613, SEP-2106)',
  },
};
/** Why an unscored scenario not in EXTRA is skipped, by the category `conformance list` gives it. */
const SKIPPED: Readonly<Record<string, string>> = {
  extension: 'extension scenario (io.modelcontextprotocol/tasks, SEP-2663): neither the fixture nor mcpmux implements the tasks extension',
  pending: 'pending in the suite, and nothing of ours implements it',
  'added-after-release': 'added after the release, and nothing of ours implements it',
};

const SUITE_DIR = join(ROOT, 'node_modules/@modelcontextprotocol/conformance');
const SUITE_BIN = join(SUITE_DIR, 'dist/index.js');
const FIXTURE = fileURLToPath(new URL('../fixtures/dual-era-server.ts', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const EXPECTED_DIR = fileURLToPath(new URL('./', import.meta.url));
/** Timestamped result files kept in RESULTS_DIR. */
const KEEP_RESULTS = 20;

const envNumber = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${value}"`);
  return n;
};
const TOTAL_TIMEOUT_MS = envNumber('MCPMUX_CONFORMANCE_TIMEOUT_MS', 300_000);
const BATCH_TIMEOUT_MS = envNumber('MCPMUX_CONFORMANCE_BATCH_TIMEOUT_MS', 120_000);
const SCENARIO_TIMEOUT_MS = envNumber('MCPMUX_CONFORMANCE_SCENARIO_TIMEOUT_MS', 20_000);
const CONCURRENCY = Math.max(1, envNumber('MCPMUX_CONFORMANCE_CONCURRENCY', 4));
const PARALLEL = Math.max(1, envNumber('MCPMUX_CONFORMANCE_PARALLEL', 4));

export interface Check {
  id: string;
  name: string;
  description?: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO' | string;
  errorMessage?: string;
  details?: unknown;
}

interface ScenarioResult {
  scenario: string;
  /** No check is a FAILURE (the suite's own verdict; warnings do not fail a scenario). */
  passed: boolean;
  counts: { success: number; failure: number; warning: number };
  checks: Check[];
}

/** A failed check as the expected-failures files name it: FAILURE, or WARNING (a SHOULD). */
interface Failure {
  scenario: string;
  check: string;
  level: 'failure' | 'warning';
  message: string;
}

interface ExpectedEntry {
  reason: string;
  /** What the check was when listed (informative: a warning is a SHOULD). */
  level?: 'failure' | 'warning';
  /**
   * Why this check fails in some runs and passes in others (a timing window of the scenario, say).
   * A flaky entry tolerates both outcomes: it is never stale. Humans set it; --write-expected keeps it.
   */
  flaky?: string;
}
/** expected-failures.<config>.yaml: set → scenario → check id → entry. */
type Expected = Partial<Record<RequirementSet, Record<string, Record<string, ExpectedEntry>>>>;

interface SetOutcome {
  config: Config;
  set: RequirementSet;
  url?: string;
  error?: string;
  ms: number;
  results: ScenarioResult[];
  totals: { passed: number; failed: number; warnings: number; scenariosPassed: number; scenarios: number };
  failures: Failure[];
  /** Failed, not listed. */
  unexpected: Failure[];
  /** Listed, and the check passed this time. */
  stale: Array<{ scenario: string; check: string }>;
  /** Failed, and listed. */
  expected: Failure[];
  /** Listed as flaky, and the check passed this time (not stale). */
  flakyPassed: Array<{ scenario: string; check: string }>;
}

// ---------------------------------------------------------------------------------------------
// Processes

const children: Managed[] = [];
/** Suite processes running, each with a promise of its exit. */
const suiteRuns = new Map<ChildProcess, Promise<void>>();
const tempDirs: string[] = [];

async function cleanup(): Promise<void> {
  for (const run of suiteRuns.keys()) run.kill('SIGKILL');
  // A killed suite process may still be writing results: let it go before its folder is removed.
  await Promise.allSettled([...suiteRuns.values(), ...children.map((child) => child.stop())]);
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** `node <suite> args...`, with stdout+stderr captured (the tail of them). */
function runSuite(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SUITE_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    suiteRuns.set(child, new Promise((done) => child.once('close', () => done())));
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

async function startFixture(config: Config): Promise<{ url: string; port: number }> {
  const mode = FIXTURE_MODE[config];
  const fixture = startNode(`${config}/fixture-${mode}`, [FIXTURE, '--mode', mode], { PORT: '0' });
  children.push(fixture);
  const match = await fixture.waitFor(/dual-era-server \(\w+\) listening on (http:\/\/127\.0\.0\.1:(\d+)\/mcp)/);
  return { url: match[1]!, port: Number(match[2]) };
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

/** A control plane on a temp folder holding `manifests(fixturePort)` and one proxy, via the CLI. */
async function startGateway(config: Config, fixturePort: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `mcpmux-conformance-${config}-`));
  tempDirs.push(dir);
  writeFileSync(join(dir, 'conformance.yaml'), manifests(fixturePort));
  const [grpc, controlPlaneHttp, proxyPort, proxyHttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const logs = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'info' };
  const controlPlane = startNode(`${config}/control-plane`, [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpc), '--http-port', String(controlPlaneHttp)], logs);
  children.push(controlPlane);
  const proxy = startNode(
    `${config}/proxy`,
    [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpc}`, '--port', String(proxyPort), '--http-port', String(proxyHttp), '--replica-id', `conformance-${config}`],
    logs,
  );
  children.push(proxy);
  await waitReady(`http://127.0.0.1:${controlPlaneHttp}/readyz`, [controlPlane, proxy]);
  await waitReady(`http://127.0.0.1:${proxyHttp}/readyz`, [controlPlane, proxy]);
  return `http://127.0.0.1:${proxyPort}/mcp`;
}

/** The URL the suite talks to for `config`: the fixture itself, or an mcpmux stack in front of it. */
async function startConfig(config: Config): Promise<string> {
  const fixture = await startFixture(config);
  return config === 'direct' ? fixture.url : startGateway(config, fixture.port);
}

// ---------------------------------------------------------------------------------------------
// Scenario lists

interface SetPlan {
  set: RequirementSet;
  scored: string[];
  /** Unscored scenarios the suite lists for this set, with their category (extension, pending, …). */
  unscored: Array<{ scenario: string; category: string }>;
  /** What runs: scored + EXTRA, in the suite's order, after the command line's filters. */
  run: string[];
  skipped: Array<{ scenario: string; reason: string }>;
}

/** `conformance list --server --requirements SET`, parsed. */
async function listSet(set: RequirementSet): Promise<Pick<SetPlan, 'scored' | 'unscored'>> {
  const { code, output } = await runSuite(['list', '--server', '--requirements', set], 30_000);
  if (code !== 0) throw new Error(`conformance list --server --requirements ${set} exited ${code}:\n${output}`);
  const scored: string[] = [];
  const unscored: SetPlan['unscored'] = [];
  let section: 'server' | 'other' | 'unscored' = 'other';
  let category = '';
  for (const line of output.split('\n')) {
    if (/^Server scenarios/.test(line)) section = 'server';
    else if (/^Client scenarios/.test(line)) section = 'other';
    else if (/^Run and reported, but never scored/.test(line)) section = 'unscored';
    const item = /^\s+- (\S+)(?: \[(\w+)\])?/.exec(line);
    const heading = /^ {2}([\w-]+) \(\d+\):/.exec(line);
    if (section === 'unscored' && heading) category = heading[1]!;
    if (!item) continue;
    if (section === 'server') scored.push(item[1]!);
    else if (section === 'unscored' && item[2] === 'server') unscored.push({ scenario: item[1]!, category });
  }
  if (scored.length === 0) throw new Error(`conformance list --server --requirements ${set} listed no server scenarios:\n${output}`);
  return { scored, unscored };
}

function plan(set: RequirementSet, listed: Pick<SetPlan, 'scored' | 'unscored'>, filters: string[]): SetPlan {
  const extra = listed.unscored.map((u) => u.scenario).filter((s) => s in EXTRA[set]);
  const all = [...listed.scored, ...extra];
  const missing = Object.keys(EXTRA[set]).filter((s) => !extra.includes(s));
  if (missing.length) throw new Error(`the suite no longer lists ${missing.join(', ')} for ${set}: update EXTRA in test/conformance/run.ts`);
  return {
    set,
    ...listed,
    run: filters.length ? all.filter((s) => filters.includes(s)) : all,
    skipped: listed.unscored
      .filter((u) => !(u.scenario in EXTRA[set]))
      .map((u) => ({ scenario: u.scenario, reason: `${u.category}: ${SKIPPED[u.category] ?? 'not run'}` })),
  };
}

// ---------------------------------------------------------------------------------------------
// Running one configuration × set

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

function toResult(scenario: string, checks: Check[]): ScenarioResult {
  const counts = {
    success: checks.filter((c) => c.status === 'SUCCESS').length,
    failure: checks.filter((c) => c.status === 'FAILURE').length,
    warning: checks.filter((c) => c.status === 'WARNING').length,
  };
  return { scenario, passed: checks.length > 0 && counts.failure === 0, counts, checks };
}

/** A scenario that left no results: one synthetic failed check named after the scenario (as the suite does). */
function noResults(scenario: string, why: string): ScenarioResult {
  return toResult(scenario, [{ id: scenario, name: scenario, description: 'Failed to run scenario', status: 'FAILURE', errorMessage: why }]);
}

function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** One scenario in its own suite process, at the set's wire. */
async function runScenario(url: string, set: RequirementSet, scenario: string, outDir: string): Promise<ScenarioResult> {
  const args = ['server', '--url', url, '--scenario', scenario, '--spec-version', set, '--force', '--timeout', String(SCENARIO_TIMEOUT_MS), '-o', outDir];
  const { code, output, timedOut } = await runSuite(args, SCENARIO_TIMEOUT_MS + 15_000);
  const checks = timedOut ? undefined : findChecks(outDir, scenario);
  if (checks) return toResult(scenario, checks);
  return noResults(scenario, timedOut ? `the suite process timed out after ${SCENARIO_TIMEOUT_MS + 15_000} ms` : `no results (suite exited ${code}): ${oneLine(output.slice(-400))}`);
}

/**
 * Every scenario of `plan` against `url`. Without filters, the whole requirement set first runs in
 * one suite process (`--requirements SET`, a few seconds; a process per scenario costs about a second
 * of start-up each); any scenario that left no results there (the batch hung and was killed, or the
 * scenario threw) runs again on its own, bounded. With filters, the chosen scenarios run one by one.
 */
async function runSet(label: string, url: string, setPlan: SetPlan, outDir: string, filtered: boolean): Promise<ScenarioResult[]> {
  mkdirSync(outDir, { recursive: true });
  const byName = new Map<string, ScenarioResult>();
  if (!filtered) {
    const batch = await runSuite(['server', '--url', url, '--requirements', setPlan.set, '--timeout', String(SCENARIO_TIMEOUT_MS), '-o', outDir], BATCH_TIMEOUT_MS);
    if (batch.timedOut) console.error(`conformance: ${label} ${setPlan.set}: the batch run timed out after ${BATCH_TIMEOUT_MS} ms; re-running what it left unfinished one by one`);
    for (const scenario of setPlan.run) {
      const checks = findChecks(outDir, scenario);
      if (checks) byName.set(scenario, toResult(scenario, checks));
    }
  }
  const queue = setPlan.run.filter((s) => !byName.has(s));
  const worker = async (): Promise<void> => {
    for (let scenario = queue.shift(); scenario; scenario = queue.shift()) {
      byName.set(scenario, await runScenario(url, setPlan.set, scenario, join(outDir, 'single', scenario)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return setPlan.run.map((s) => byName.get(s)!);
}

// ---------------------------------------------------------------------------------------------
// Expected failures

export function expectedFile(config: Config): string {
  return join(EXPECTED_DIR, `expected-failures.${config}.yaml`);
}

function loadExpected(config: Config): Expected {
  const file = expectedFile(config);
  if (!existsSync(file)) return {};
  const parsed = parseYaml(readFileSync(file, 'utf8')) as unknown;
  if (parsed === null || parsed === undefined) return {};
  const where = relative(ROOT, file);
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${where}: expected a map of requirement set → scenario → check id → {reason}`);
  const expected: Expected = {};
  for (const [set, scenarios] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(SETS as readonly string[]).includes(set)) throw new Error(`${where}: unknown requirement set "${set}" (known: ${SETS.join(', ')})`);
    const bySet: Record<string, Record<string, ExpectedEntry>> = {};
    for (const [scenario, checks] of Object.entries((scenarios ?? {}) as Record<string, unknown>)) {
      if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) throw new Error(`${where}: ${set}.${scenario} must map check ids to {reason}`);
      bySet[scenario] = {};
      for (const [check, entry] of Object.entries(checks as Record<string, unknown>)) {
        const reason = (entry as { reason?: unknown } | null)?.reason;
        if (typeof reason !== 'string' || reason.trim() === '') throw new Error(`${where}: ${set}.${scenario}.${check} needs a reason: string`);
        const { level, flaky } = entry as { level?: unknown; flaky?: unknown };
        if (flaky !== undefined && (typeof flaky !== 'string' || flaky.trim() === '')) throw new Error(`${where}: ${set}.${scenario}.${check}.flaky must say why (a string)`);
        bySet[scenario][check] = { reason, ...(level === 'warning' || level === 'failure' ? { level } : {}), ...(typeof flaky === 'string' ? { flaky } : {}) };
      }
    }
    expected[set as RequirementSet] = bySet;
  }
  return expected;
}

const SEVERITY: Record<string, number> = { FAILURE: 4, WARNING: 3, SUCCESS: 2, SKIPPED: 1, INFO: 0 };

/** Each check id once, at its most severe status (ids repeat within a scenario: one per case). */
function collapse(checks: Check[]): Map<string, Check> {
  const byId = new Map<string, Check>();
  for (const check of checks) {
    const seen = byId.get(check.id);
    if (!seen || (SEVERITY[check.status] ?? 0) > (SEVERITY[seen.status] ?? 0)) byId.set(check.id, check);
  }
  return byId;
}

function evaluate(config: Config, set: RequirementSet, results: ScenarioResult[], expected: Expected, ms: number, url?: string, error?: string): SetOutcome {
  const listed = expected[set] ?? {};
  const failures: Failure[] = [];
  const stale: SetOutcome['stale'] = [];
  const flakyPassed: SetOutcome['stale'] = [];
  for (const result of results) {
    const collapsed = collapse(result.checks);
    for (const check of collapsed.values()) {
      if (check.status !== 'FAILURE' && check.status !== 'WARNING') continue;
      failures.push({
        scenario: result.scenario,
        check: check.id,
        level: check.status === 'FAILURE' ? 'failure' : 'warning',
        message: oneLine(check.errorMessage ?? check.description ?? check.name),
      });
    }
    // Only a demonstrated pass makes an entry stale; an absent or skipped check says nothing, and a
    // flaky entry may pass.
    for (const [check, entry] of Object.entries(listed[result.scenario] ?? {})) {
      if (collapsed.get(check)?.status !== 'SUCCESS') continue;
      (entry.flaky ? flakyPassed : stale).push({ scenario: result.scenario, check });
    }
  }
  const isListed = (f: Failure): boolean => listed[f.scenario]?.[f.check] !== undefined;
  const sum = (pick: (r: ScenarioResult) => number): number => results.reduce((n, r) => n + pick(r), 0);
  return {
    config,
    set,
    ...(url ? { url } : {}),
    ...(error ? { error } : {}),
    ms,
    results,
    totals: {
      passed: sum((r) => r.counts.success),
      failed: sum((r) => r.counts.failure),
      warnings: sum((r) => r.counts.warning),
      scenariosPassed: results.filter((r) => r.passed).length,
      scenarios: results.length,
    },
    failures,
    unexpected: failures.filter((f) => !isListed(f)),
    stale,
    flakyPassed,
    expected: failures.filter(isListed),
  };
}

const yamlKey = (key: string): string => (/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key) && !/^\d{4}-\d\d-\d\d$/.test(key) ? key : JSON.stringify(key));

function renderExpected(config: Config, expected: Expected): string {
  const lines = [
    `# Expected conformance failures of configuration ${config} (test/conformance/run.ts, docs/conformance.md).`,
    `# Per requirement set: scenario → check id → reason (the spec sentence or issue item it waits for).`,
    `# The run fails on a failed check not listed here and on a listed check that passes, unless the entry`,
    `# says why it is flaky (flaky: …; then it may pass or fail). level: warning marks a SHOULD.`,
    `# Regenerate with: node test/conformance/run.ts --config ${config} --write-expected`,
  ];
  for (const set of SETS) {
    const scenarios = expected[set] ?? {};
    const names = Object.keys(scenarios).filter((s) => Object.keys(scenarios[s]!).length > 0).sort();
    if (names.length === 0) {
      lines.push(`${JSON.stringify(set)}: {}`);
      continue;
    }
    lines.push(`${JSON.stringify(set)}:`);
    for (const scenario of names) {
      lines.push(`  ${yamlKey(scenario)}:`);
      for (const check of Object.keys(scenarios[scenario]!).sort()) {
        const entry = scenarios[scenario]![check]!;
        lines.push(`    ${yamlKey(check)}:`);
        lines.push(`      reason: ${JSON.stringify(entry.reason)}`);
        if (entry.level === 'warning') lines.push('      level: warning');
        if (entry.flaky) lines.push(`      flaky: ${JSON.stringify(entry.flaky)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The expected-failures file of `config` after a run: every failed check listed (existing reasons
 * kept, "TODO reason" for new entries), every stale entry (the check passed) dropped; entries whose
 * check did not run or was not emitted this time are kept, as are sets and scenarios not run.
 */
function rewriteExpected(config: Config, outcomes: SetOutcome[], previous: Expected): Expected {
  const next: Expected = structuredClone(previous);
  for (const outcome of outcomes) {
    if (outcome.config !== config || outcome.error) continue;
    const bySet = (next[outcome.set] ??= {});
    for (const { scenario, check } of outcome.stale) {
      delete bySet[scenario]?.[check];
      if (bySet[scenario] && Object.keys(bySet[scenario]).length === 0) delete bySet[scenario];
    }
    for (const failure of outcome.failures) {
      const old = previous[outcome.set]?.[failure.scenario]?.[failure.check];
      (bySet[failure.scenario] ??= {})[failure.check] = {
        reason: old?.reason ?? 'TODO reason',
        ...(failure.level === 'warning' ? { level: 'warning' as const } : {}),
        ...(old?.flaky ? { flaky: old.flaky } : {}),
      };
    }
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Reporting

/** The line per configuration × set the tests read: `conformance: <config> <set>: …`. */
export const SUMMARY_PATTERN =
  /^conformance: (\S+) (\S+): checks (\d+) passed, (\d+) failed, (\d+) warnings; scenarios (\d+)\/(\d+) passed; expected failures (\d+), unexpected (\d+), stale (\d+)(?:; (.*))?$/gm;

function summaryLine(o: SetOutcome): string {
  const t = o.totals;
  return (
    `conformance: ${o.config} ${o.set}: checks ${t.passed} passed, ${t.failed} failed, ${t.warnings} warnings; ` +
    `scenarios ${t.scenariosPassed}/${t.scenarios} passed; expected failures ${o.expected.length}, unexpected ${o.unexpected.length}, stale ${o.stale.length}` +
    (o.error ? `; error: ${oneLine(o.error, 300)}` : `; ${Math.round(o.ms / 100) / 10} s`)
  );
}

function report(o: SetOutcome): void {
  const failing = o.results.filter((r) => !r.passed || r.counts.warning > 0);
  if (failing.length) {
    const width = Math.max(...failing.map((r) => r.scenario.length)) + 2;
    console.log(`\n${o.config} ${o.set}: scenarios with failed checks or warnings`);
    for (const r of failing) console.log(`  ${r.scenario.padEnd(width)}${r.passed ? 'pass' : 'FAIL'}  ${r.counts.success} ok, ${r.counts.failure} failed, ${r.counts.warning} warnings`);
  }
  for (const f of o.unexpected) console.log(`  UNEXPECTED ${f.level} ${f.scenario}:${f.check}: ${f.message}`);
  for (const s of o.stale) console.log(`  STALE ${s.scenario}:${s.check}: passes now; remove it from ${relative(ROOT, expectedFile(o.config))}`);
  for (const s of o.flakyPassed) console.log(`  flaky ${s.scenario}:${s.check}: listed as flaky, passed this time`);
}

// ---------------------------------------------------------------------------------------------

interface Options {
  configs: Config[];
  sets: RequirementSet[];
  filters: string[];
  writeExpected: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { configs: [...CONFIGS], sets: [...SETS], filters: [], writeExpected: false };
  const list = (value: string | undefined, flag: string): string[] => {
    if (!value) throw new Error(`${flag} needs a value`);
    return value.split(',').map((v) => v.trim()).filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--config') {
      const names = list(inline ?? argv[++i], '--config');
      const unknown = names.filter((n) => !(CONFIGS as readonly string[]).includes(n));
      if (unknown.length) throw new Error(`unknown configuration(s) ${unknown.join(', ')}; known: ${CONFIGS.join(', ')}`);
      options.configs = CONFIGS.filter((c) => names.includes(c));
    } else if (flag === '--requirements') {
      const names = list(inline ?? argv[++i], '--requirements');
      const unknown = names.filter((n) => !(SETS as readonly string[]).includes(n));
      if (unknown.length) throw new Error(`unknown requirement set(s) ${unknown.join(', ')}; known: ${SETS.join(', ')}`);
      options.sets = SETS.filter((s) => names.includes(s));
    } else if (flag === '--write-expected') {
      options.writeExpected = true;
    } else if (flag.startsWith('-')) {
      throw new Error(`unknown flag ${flag} (usage: run.ts [--config NAME[,NAME]] [--requirements SET[,SET]] [--write-expected] [scenario ...])`);
    } else {
      options.filters.push(arg);
    }
  }
  return options;
}

/** Runs `items` through `fn` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

async function main(argv: string[]): Promise<number> {
  const started = Date.now();
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (error) {
    console.error(`conformance: ${(error as Error).message}`);
    return 2;
  }
  const installed = (JSON.parse(readFileSync(join(SUITE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  if (installed !== SUITE_VERSION) {
    console.error(`conformance: expected @modelcontextprotocol/conformance ${SUITE_VERSION}, found ${installed}; run npm ci (or update SUITE_VERSION, EXTRA and the expected-failures files together)`);
    return 1;
  }

  const plans = new Map<RequirementSet, SetPlan>();
  for (const [set, listed] of await Promise.all(options.sets.map(async (set) => [set, await listSet(set)] as const))) {
    plans.set(set, plan(set, listed, options.filters));
  }
  const known = new Set([...plans.values()].flatMap((p) => [...p.scored, ...Object.keys(EXTRA[p.set]).filter((s) => p.unscored.some((u) => u.scenario === s))]));
  const unknown = options.filters.filter((f) => !known.has(f));
  if (unknown.length) {
    console.error(`conformance: unknown or skipped scenario(s) ${unknown.join(', ')}; runnable: ${[...known].join(', ')}`);
    return 2;
  }
  const expected = new Map(options.configs.map((config) => [config, loadExpected(config)] as const));

  console.log(
    `conformance: suite ${SUITE_VERSION}; configurations ${options.configs.join(', ')}; ` +
      [...plans.values()].map((p) => `${p.set}: ${p.run.length} scenarios (${p.scored.filter((s) => p.run.includes(s)).length} scored)`).join(', '),
  );

  const workDir = mkdtempSync(join(tmpdir(), 'mcpmux-conformance-checks-'));
  tempDirs.push(workDir);
  const outcomes: SetOutcome[] = [];
  try {
    await pool(options.configs, PARALLEL, async (config) => {
      let url: string | undefined;
      let error: string | undefined;
      try {
        url = await startConfig(config);
        console.log(`conformance: ${config} at ${url}`);
      } catch (e) {
        error = `the ${config} stack did not start: ${(e as Error).message}`;
        console.error(`conformance: ${error}`);
      }
      for (const set of options.sets) {
        const setPlan = plans.get(set)!;
        if (setPlan.run.length === 0) continue; // the filters name no scenario of this set
        const setStarted = Date.now();
        const results = url ? await runSet(config, url, setPlan, join(workDir, config, set), options.filters.length > 0) : setPlan.run.map((s) => noResults(s, error ?? 'not run'));
        const outcome = evaluate(config, set, results, expected.get(config)!, Date.now() - setStarted, url, error);
        outcomes.push(outcome);
        console.log(summaryLine(outcome));
      }
    });
  } finally {
    const logs = join(RESULTS_DIR, 'logs');
    for (const child of children) {
      const file = join(logs, `${child.name}.log`);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, child.output());
    }
    await cleanup();
  }

  const ordered = options.configs.flatMap((c) => options.sets.flatMap((s) => outcomes.filter((o) => o.config === c && o.set === s)));
  for (const outcome of ordered) report(outcome);
  for (const p of plans.values()) {
    const byReason = new Map<string, string[]>();
    for (const s of p.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.scenario]);
    for (const [reason, scenarios] of byReason) console.log(`\nskipped in ${p.set} (unscored, ${reason}): ${scenarios.join(', ')}`);
  }
  console.log('');
  for (const outcome of ordered) console.log(summaryLine(outcome));

  if (options.writeExpected) {
    for (const config of options.configs) {
      const previous = expected.get(config)!;
      writeFileSync(expectedFile(config), renderExpected(config, rewriteExpected(config, ordered, previous)));
      console.log(`conformance: wrote ${relative(ROOT, expectedFile(config))}`);
    }
  }

  const seconds = Math.round((Date.now() - started) / 100) / 10;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultFile = join(RESULTS_DIR, `conformance-${stamp}-${options.configs.join('+')}.json`);
  const record = {
    suite: `@modelcontextprotocol/conformance@${SUITE_VERSION}`,
    date: new Date().toISOString(),
    seconds,
    argv,
    plans: [...plans.values()].map(({ set, run, skipped }) => ({ set, run, skipped })),
    outcomes: ordered,
  };
  writeFileSync(resultFile, `${JSON.stringify(record, null, 2)}\n`);
  for (const config of options.configs) {
    writeFileSync(join(RESULTS_DIR, `latest-${config}.json`), `${JSON.stringify({ ...record, outcomes: ordered.filter((o) => o.config === config) }, null, 2)}\n`);
  }
  const older = readdirSync(RESULTS_DIR).filter((f) => /^conformance-.*\.json$/.test(f)).sort().reverse().slice(KEEP_RESULTS);
  for (const f of older) rmSync(join(RESULTS_DIR, f), { force: true });
  console.log(`results: ${relative(ROOT, resultFile)} (logs in ${relative(ROOT, join(RESULTS_DIR, 'logs'))}/), ${seconds} s`);

  const problems = ordered.filter((o) => o.error || (!options.writeExpected && (o.unexpected.length || o.stale.length)));
  if (problems.length === 0) {
    console.log(`conformance: OK${options.writeExpected ? ' (expected-failures files rewritten)' : ''}`);
    return 0;
  }
  for (const o of problems) {
    const what = o.error ? o.error : `${o.unexpected.length} unexpected failure(s), ${o.stale.length} stale entr${o.stale.length === 1 ? 'y' : 'ies'} in ${relative(ROOT, expectedFile(o.config))}`;
    console.error(`conformance: FAIL ${o.config} ${o.set}: ${what}`);
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// For the uvu tests (test/conformance/<configuration>.test.ts): the runner as a child process.

/** Runs this file with `args` in a child process; resolves with its exit code and output. */
export function runConformance(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', MCPMUX_CONFORMANCE_TIMEOUT_MS: String(Math.max(10_000, timeoutMs - 10_000)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

/** The summary lines of a runner's output, one per configuration × set. */
export function summaries(output: string): Array<{ config: string; set: string; passed: number; failed: number; warnings: number; scenariosPassed: number; scenarios: number; unexpected: number; stale: number; error?: string }> {
  return [...output.matchAll(SUMMARY_PATTERN)].map((m) => ({
    config: m[1]!,
    set: m[2]!,
    passed: Number(m[3]),
    failed: Number(m[4]),
    warnings: Number(m[5]),
    scenariosPassed: Number(m[6]),
    scenarios: Number(m[7]),
    unexpected: Number(m[9]),
    stale: Number(m[10]),
    ...(m[11]?.startsWith('error: ') ? { error: m[11].slice('error: '.length) } : {}),
  }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const overall = setTimeout(() => {
    console.error(`conformance: overall timeout after ${TOTAL_TIMEOUT_MS} ms; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, TOTAL_TIMEOUT_MS);
  overall.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`conformance: ${signal}; stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  main(process.argv.slice(2)).then(
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
}
