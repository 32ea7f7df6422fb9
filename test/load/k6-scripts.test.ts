// The k6 scripts, without k6: they type-check against @types/k6 (test/load/tsconfig.json), export
// what k6 needs (options, a default function), and mcp-session.ts drives a real mcpmux correctly
// when its k6 imports are replaced by a stand-in (below) whose http calls are real, synchronous
// HTTP requests, as k6's are. The stand-in records requests, checks and metric samples.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServerEverything, type EverythingServer } from '../../shared/testing/upstreams.ts';
import { startEcho, startMcpmux, type EchoProcess, type McpmuxProcesses } from '../bench/lib/stack.ts';
import { ROOT } from '../support/processes.ts';

const run = promisify(execFile);
const SCRIPT = 'test/load/mcp-session.ts';

// --- a stand-in for k6's modules ------------------------------------------------------------------

interface ShimResponse {
  status: number;
  body: string | null;
  /** Canonical header names (Mcp-Session-Id), as k6 gives them. */
  headers: Record<string, string>;
  timings: { duration: number };
  error: string;
}

interface RecordedRequest {
  method: string;
  headers: Record<string, string>;
  body: string | null;
  status: number;
  contentType: string;
}

interface RequestParams {
  headers?: Record<string, string>;
}

/** Runs one HTTP request to completion in a child process: k6's http calls block, so these do too. */
const FETCH = `
import { readFileSync } from 'node:fs';
const req = JSON.parse(readFileSync(0, 'utf8'));
const started = performance.now();
try {
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body ?? undefined });
  const body = await res.text();
  process.stdout.write(JSON.stringify({ status: res.status, headers: Object.fromEntries(res.headers), body, duration: performance.now() - started, error: '' }));
} catch (error) {
  process.stdout.write(JSON.stringify({ status: 0, headers: {}, body: null, duration: performance.now() - started, error: String(error) }));
}`;

function canonical(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1).toLowerCase())
    .join('-');
}

const shim = {
  env: {} as Record<string, string>,
  requests: [] as RecordedRequest[],
  checks: [] as Array<{ name: string; ok: boolean }>,
  samples: new Map<string, Array<number | boolean>>(),
  reset(env: Record<string, string>): void {
    this.env = env;
    this.requests = [];
    this.checks = [];
    this.samples = new Map();
    (globalThis as Record<string, unknown>).__ENV = env;
  },
  request(method: string, url: string, body: string | null, params: RequestParams | undefined): ShimResponse {
    const headers = params?.headers ?? {};
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', FETCH], { input: JSON.stringify({ method, url, headers, body }), encoding: 'utf8' })) as {
      status: number;
      headers: Record<string, string>;
      body: string | null;
      duration: number;
      error: string;
    };
    const response: ShimResponse = {
      status: out.status,
      body: out.body,
      headers: Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [canonical(k), v])),
      timings: { duration: out.duration },
      error: out.error,
    };
    this.requests.push({ method, headers, body, status: out.status, contentType: out.headers['content-type'] ?? '' });
    return response;
  },
  k6: {
    check<T>(value: T, sets: Record<string, (v: T) => boolean>): boolean {
      let all = true;
      for (const [name, fn] of Object.entries(sets)) {
        const ok = Boolean(fn(value));
        shim.checks.push({ name, ok });
        all &&= ok;
      }
      return all;
    },
    fail(message?: string): never {
      throw new Error(message);
    },
    sleep(): void {},
  },
  http: {
    post: (url: string, body: string | null, params?: RequestParams) => shim.request('POST', url, body, params),
    del: (url: string, body: string | null, params?: RequestParams) => shim.request('DELETE', url, body, params),
  },
  Metric: class {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
      shim.samples.set(name, []);
    }
    add(value: number | boolean): void {
      shim.samples.get(this.name)?.push(value);
    }
  },
};
(globalThis as Record<string, unknown>).__k6shim = shim;

const moduleSource = (code: string): string => `data:text/javascript,${encodeURIComponent(`const s = globalThis.__k6shim;\n${code}`)}`;
const STUBS: Record<string, string> = {
  k6: moduleSource('export const check = s.k6.check; export const fail = s.k6.fail; export const sleep = s.k6.sleep; export default s.k6;'),
  'k6/http': moduleSource('export const post = s.http.post; export const del = s.http.del; export default s.http;'),
  'k6/metrics': moduleSource('export const Counter = s.Metric; export const Rate = s.Metric; export const Trend = s.Metric;'),
  'k6/options': moduleSource('export {};'),
};
registerHooks({
  resolve(specifier, context, nextResolve) {
    const stub = STUBS[specifier];
    return stub ? { url: stub, shortCircuit: true } : nextResolve(specifier, context);
  },
});

interface ScriptModule {
  options: {
    scenarios: Record<string, { executor: string; stages: Array<{ duration: string; target: number }> }>;
    thresholds: Record<string, string[]>;
  };
  setup?: () => void;
  default: () => void;
}

let loads = 0;
/** A fresh evaluation of the script (k6 evaluates it once per VU) with `env` as __ENV. */
async function loadScript(env: Record<string, string>): Promise<ScriptModule> {
  shim.reset(env);
  return (await import(`${pathToFileURL(join(ROOT, SCRIPT)).href}?load=${++loads}`)) as ScriptModule;
}

function samples(name: string): Array<number | boolean> {
  return shim.samples.get(name) ?? [];
}

// --- tests ----------------------------------------------------------------------------------------

test('the k6 scripts type-check against @types/k6 (test/load/tsconfig.json)', async () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', 'test/load/tsconfig.json'], { cwd: ROOT }).then(
    () => ({ code: 0, output: '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
  assert.is(result.code, 0, result.output);
});

test('mcp-session.ts exports options and a default function', async () => {
  const source = ts.createSourceFile(SCRIPT, readFileSync(join(ROOT, SCRIPT), 'utf8'), ts.ScriptTarget.Latest, true);
  const exported = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const isDefault = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
  const statements = source.statements;
  assert.ok(
    statements.some((s) => ts.isVariableStatement(s) && exported(s) && s.declarationList.declarations.some((d) => d.name.getText(source) === 'options')),
    'export const options',
  );
  assert.ok(statements.some((s) => ts.isFunctionDeclaration(s) && exported(s) && isDefault(s)), 'export default function');

  const script = await loadScript({});
  assert.type(script.default, 'function');
  assert.type(script.setup, 'function');
  const scenario = script.options.scenarios.mcp_sessions;
  assert.is(scenario?.executor, 'ramping-vus');
  assert.equal(scenario?.stages, [
    { duration: '10s', target: 10 },
    { duration: '30s', target: 10 },
    { duration: '5s', target: 0 },
  ]);
  assert.equal(script.options.thresholds, { mcp_tools_call_duration: ['p(95)<50'], mcp_errors: ['rate<0.01'] });
});

test('the environment shapes the load: STAGES, VUS, thresholds; a bad STAGES is refused', async () => {
  const staged = await loadScript({ STAGES: '5s:2, 1m:20,10s:0' });
  assert.equal(staged.options.scenarios.mcp_sessions?.stages, [
    { duration: '5s', target: 2 },
    { duration: '1m', target: 20 },
    { duration: '10s', target: 0 },
  ]);
  const sized = await loadScript({ VUS: '3', DURATION: '2m', P95_MS: '20', MAX_ERROR_RATE: '0.001' });
  assert.equal(sized.options.scenarios.mcp_sessions?.stages.map((s) => s.target), [3, 3, 0]);
  assert.is(sized.options.scenarios.mcp_sessions?.stages[1]?.duration, '2m');
  assert.equal(sized.options.thresholds, { mcp_tools_call_duration: ['p(95)<20'], mcp_errors: ['rate<0.001'] });
  try {
    await loadScript({ STAGES: '30s' });
    assert.unreachable('a stage without VUs is refused');
  } catch (error) {
    assert.match(String(error), /STAGES: "30s" is not duration:VUs/);
  }
});

let echo: EchoProcess | undefined;
let mcpmux: McpmuxProcesses | undefined;
let everything: EverythingServer | undefined;

/** setup() then one VU iteration with CALLS_PER_SESSION=3; asserts what any MCP endpoint must give. */
async function oneIteration(mcpUrl: string, tool: string): Promise<RecordedRequest[]> {
  const script = await loadScript({ MCP_URL: mcpUrl, TOOL: tool, CALLS_PER_SESSION: '3' });
  script.setup?.();
  shim.requests = [];
  shim.checks = [];
  script.default();

  const failed = shim.checks.filter((c) => !c.ok).map((c) => c.name);
  assert.equal(failed, [], 'every check passes');
  const methods = shim.requests.map((r) => (r.body === null ? r.method : (JSON.parse(r.body) as { method: string }).method));
  assert.equal(methods, ['initialize', 'notifications/initialized', 'tools/list', 'tools/call', 'tools/call', 'tools/call', 'DELETE']);
  const [first, ...rest] = shim.requests;
  assert.is(first?.headers['Mcp-Session-Id'], undefined, 'initialize has no session yet');
  const sessionIds = new Set(rest.map((r) => r.headers['Mcp-Session-Id']));
  assert.is(sessionIds.size, 1, 'one session for the whole iteration');
  assert.ok([...sessionIds][0], 'the session id the server issued');
  const versions = new Set(rest.map((r) => r.headers['MCP-Protocol-Version']));
  assert.ok(versions.size === 1 && [...versions][0], 'the negotiated protocol version on every later request');
  assert.equal(shim.requests.map((r) => r.status), [200, 202, 200, 200, 200, 200, 200]);

  assert.equal(samples('mcp_errors'), [false, false, false, false, false, false, false], 'one mcp_errors sample per exchange, none failed');
  assert.is(samples('mcp_tools_call_duration').length, 3);
  assert.ok(samples('mcp_tools_call_duration').every((d) => typeof d === 'number' && d > 0));
  assert.equal(samples('mcp_tool_calls'), [1, 1, 1]);
  assert.equal(samples('mcp_sessions'), [1]);
  return shim.requests;
}

test('one iteration against a real mcpmux: initialize, initialized, tools/list, tools/call on the session, DELETE', async () => {
  echo = await startEcho();
  mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }]);
  const requests = await oneIteration(mcpmux.mcpUrl, 'echo_echo');
  assert.ok(requests.slice(1).every((r) => r.headers['MCP-Protocol-Version'] === '2025-11-25'), 'the version the script asks for, which mcpmux speaks');
  // A quick answer comes as JSON through mcpmux (it switches to SSE only for slow or chatty calls).
  assert.ok(requests.some((r) => r.contentType.startsWith('application/json')), 'JSON answers were read');
});

test('the same iteration straight against an MCP server that answers in SSE (server-everything)', async () => {
  everything = await startServerEverything();
  const requests = await oneIteration(everything.url, 'echo');
  assert.ok(requests.some((r) => r.contentType.startsWith('text/event-stream')), 'SSE answers were read');
});

test('setup fails early, naming the tools on offer, when TOOL is not one of them', async () => {
  assert.ok(mcpmux, 'started by the test above');
  const script = await loadScript({ MCP_URL: mcpmux.mcpUrl, TOOL: 'no-such-tool' });
  try {
    script.setup?.();
    assert.unreachable('setup fails');
  } catch (error) {
    assert.match(String(error), /TOOL no-such-tool is not offered at .*Offered: echo_echo/);
  }
  assert.is(shim.requests.at(-1)?.method, 'DELETE', 'its session is ended first');
});

test.after(async () => {
  await mcpmux?.stop();
  await echo?.process.stop();
  await everything?.stop();
});

test.run();
