// k6 load test of one MCP endpoint over streamable HTTP (k6 >= 0.57 runs TypeScript as it is):
//
//   k6 run test/load/mcp-session.ts -e MCP_URL=http://127.0.0.1:8080/mcp
//
// Each iteration is one MCP session as a client holds it: initialize, notifications/initialized,
// tools/list, then CALLS_PER_SESSION tools/call of TOOL on that session (Mcp-Session-Id and
// MCP-Protocol-Version on every request after initialize), then DELETE. Answers may come as JSON or
// as an SSE stream; both are read. A VU starts its next session when one ends, so the load is a
// closed model: VUs, not a request rate, set it. Environment variables are listed in
// docs/load-testing.md. Type-checked against @types/k6 by test/load/k6-scripts.test.ts; k6 itself
// is not needed for that.
import { check, fail, sleep } from 'k6';
import http from 'k6/http';
import type { RefinedResponse } from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

// --- configuration (environment, read once per VU in the init context) -----------------------------

function env(name: string, fallback: string): string {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

function envNumber(name: string, fallback: number): number {
  const value = Number(env(name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, not "${__ENV[name]}"`);
  return value;
}

const MCP_URL = env('MCP_URL', 'http://127.0.0.1:8080/mcp');
const TOOL = env('TOOL', 'mcp-server-everything-3001_echo');
const TOOL_ARGUMENTS = JSON.parse(env('TOOL_ARGUMENTS', '{"message":"hello from k6"}')) as Record<string, unknown>;
const PROTOCOL_VERSION = env('MCP_PROTOCOL_VERSION', '2025-11-25');
const CALLS_PER_SESSION = envNumber('CALLS_PER_SESSION', 50);
/** Seconds between two tool calls of a VU (0: back to back). */
const THINK_TIME = envNumber('THINK_TIME', 0);
const P95_MS = envNumber('P95_MS', 50);
const MAX_ERROR_RATE = envNumber('MAX_ERROR_RATE', 0.01);
/** Extra request headers, JSON: '{"Authorization":"Bearer …"}' for a Gateway with authentication. */
const EXTRA_HEADERS = JSON.parse(env('HEADERS', '{}')) as Record<string, string>;

interface Stage {
  duration: string;
  target: number;
}

/** STAGES="10s:20,1m:20,10s:0" (duration:VUs, comma-separated), else a ramp to VUS, a hold, a ramp down. */
function stages(): Stage[] {
  const spec = env('STAGES', '');
  if (spec === '') {
    const vus = envNumber('VUS', 10);
    return [
      { duration: env('RAMP_UP', '10s'), target: vus },
      { duration: env('DURATION', '30s'), target: vus },
      { duration: env('RAMP_DOWN', '5s'), target: 0 },
    ];
  }
  return spec.split(',').map((part) => {
    const match = /^\s*(\w+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!match) throw new Error(`STAGES: "${part}" is not duration:VUs (e.g. 30s:10)`);
    return { duration: match[1] as string, target: Number(match[2]) };
  });
}

export const options: Options = {
  scenarios: {
    mcp_sessions: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: stages(),
      // A VU stopped by a ramp down finishes its session, DELETE included.
      gracefulRampDown: '30s',
      gracefulStop: '30s',
    },
  },
  thresholds: {
    mcp_tools_call_duration: [`p(95)<${P95_MS}`],
    mcp_errors: [`rate<${MAX_ERROR_RATE}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

// --- metrics -------------------------------------------------------------------------------------

const toolsCallDuration = new Trend('mcp_tools_call_duration', true);
const toolsListDuration = new Trend('mcp_tools_list_duration', true);
const initializeDuration = new Trend('mcp_initialize_duration', true);
/** One sample per MCP exchange: true when it failed (HTTP status, JSON-RPC error, tool error). */
const errors = new Rate('mcp_errors');
const toolCalls = new Counter('mcp_tool_calls');
const sessionsOpened = new Counter('mcp_sessions');

// --- JSON-RPC over streamable HTTP ----------------------------------------------------------------

interface Session {
  id: string;
  protocolVersion: string;
}

interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

interface Exchange {
  response: RefinedResponse<'text'>;
  /** The JSON-RPC response to our request, from a JSON body or from the SSE stream. */
  answer: JsonRpcResponse | undefined;
}

let nextId = 1;

function headerValue(response: RefinedResponse<'text'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const key of Object.keys(response.headers)) {
    if (key.toLowerCase() === lower) return response.headers[key];
  }
  return undefined;
}

function requestHeaders(session: Session | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...EXTRA_HEADERS, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  if (session) {
    headers['Mcp-Session-Id'] = session.id;
    headers['MCP-Protocol-Version'] = session.protocolVersion;
  }
  return headers;
}

function isResponseTo(message: unknown, id: number): message is JsonRpcResponse {
  return typeof message === 'object' && message !== null && (message as { id?: unknown }).id === id && ('result' in message || 'error' in message);
}

/** The response to request `id` in a JSON body (one message or a batch) or in an SSE stream's data. */
function readAnswer(response: RefinedResponse<'text'>, id: number): JsonRpcResponse | undefined {
  const body = typeof response.body === 'string' ? response.body : '';
  const type = headerValue(response, 'Content-Type') ?? '';
  const messages: unknown[] = [];
  try {
    if (/text\/event-stream/i.test(type)) {
      for (const event of body.split(/\r?\n\r?\n/)) {
        const data = event
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data !== '') messages.push(JSON.parse(data));
      }
    } else if (/application\/json/i.test(type)) {
      const parsed: unknown = JSON.parse(body);
      messages.push(...(Array.isArray(parsed) ? parsed : [parsed]));
    }
  } catch {
    return undefined; // not JSON: the check on the answer fails and says so
  }
  return messages.find((m): m is JsonRpcResponse => isResponseTo(m, id));
}

function post(session: Session | undefined, message: object, method: string): RefinedResponse<'text'> {
  return http.post(MCP_URL, JSON.stringify(message), { headers: requestHeaders(session), tags: { mcp_method: method }, responseType: 'text' });
}

function exchange(session: Session | undefined, method: string, params: Record<string, unknown>): Exchange {
  const id = nextId++;
  const response = post(session, { jsonrpc: '2.0', id, method, params }, method);
  return { response, answer: response.status === 200 ? readAnswer(response, id) : undefined };
}

/** A request whose outcome counts: checked, timed into `trend`, and sampled into mcp_errors. */
function measured(session: Session, method: string, params: Record<string, unknown>, trend: Trend): JsonRpcResponse | undefined {
  const { response, answer } = exchange(session, method, params);
  trend.add(response.timings.duration);
  const ok = check(response, {
    [`${method}: HTTP 200`]: (r) => r.status === 200,
    [`${method}: a JSON-RPC result`]: () => answer?.result !== undefined,
    [`${method}: not a tool error`]: () => answer?.result?.isError !== true,
  });
  errors.add(!ok, { mcp_method: method });
  return ok ? answer : undefined;
}

function initialize(): Session | undefined {
  const { response, answer } = exchange(undefined, 'initialize', {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'mcpmux-k6', version: '1.0.0' },
  });
  initializeDuration.add(response.timings.duration);
  const id = headerValue(response, 'Mcp-Session-Id');
  const version = answer?.result?.protocolVersion;
  const ok = check(response, {
    'initialize: HTTP 200': (r) => r.status === 200,
    'initialize: an Mcp-Session-Id header': () => id !== undefined && id !== '',
    'initialize: a protocol version': () => typeof version === 'string',
  });
  errors.add(!ok, { mcp_method: 'initialize' });
  if (!ok || id === undefined || typeof version !== 'string') return undefined;
  sessionsOpened.add(1);
  return { id, protocolVersion: version };
}

function sendInitialized(session: Session): boolean {
  const response = post(session, { jsonrpc: '2.0', method: 'notifications/initialized' }, 'notifications/initialized');
  const ok = check(response, { 'notifications/initialized: HTTP 202': (r) => r.status === 202 });
  errors.add(!ok, { mcp_method: 'notifications/initialized' });
  return ok;
}

function close(session: Session): void {
  const response = http.del(MCP_URL, null, { headers: requestHeaders(session), tags: { mcp_method: 'DELETE' }, responseType: 'text' });
  // 405: the server does not let clients end sessions (allowed by the spec); it expires them.
  const ok = check(response, { 'DELETE: session ended': (r) => r.status === 200 || r.status === 204 || r.status === 405 });
  errors.add(!ok, { mcp_method: 'DELETE' });
}

// --- the test --------------------------------------------------------------------------------------

/** Once, before the VUs start: fail early, with the names on offer, when TOOL is not there. */
export function setup(): void {
  const { response, answer } = exchange(undefined, 'initialize', { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpmux-k6-setup', version: '1.0.0' } });
  const id = headerValue(response, 'Mcp-Session-Id');
  const version = answer?.result?.protocolVersion;
  if (id === undefined || typeof version !== 'string') fail(`initialize at ${MCP_URL} failed: HTTP ${response.status} ${response.error} ${String(response.body).slice(0, 200)}`);
  const session: Session = { id, protocolVersion: version };
  post(session, { jsonrpc: '2.0', method: 'notifications/initialized' }, 'notifications/initialized');
  const listed = exchange(session, 'tools/list', {}).answer?.result?.tools;
  const names = Array.isArray(listed) ? listed.map((t: { name?: unknown }) => String(t.name)) : [];
  http.del(MCP_URL, null, { headers: requestHeaders(session), responseType: 'text' });
  if (!names.includes(TOOL)) fail(`TOOL ${TOOL} is not offered at ${MCP_URL}; set -e TOOL=<name>. Offered: ${names.slice(0, 20).join(', ')}`);
}

export default function (): void {
  const session = initialize();
  if (!session) {
    sleep(1); // the endpoint is down or refusing: do not spin
    return;
  }
  try {
    if (!sendInitialized(session)) return;
    measured(session, 'tools/list', {}, toolsListDuration);
    for (let i = 0; i < CALLS_PER_SESSION; i++) {
      if (measured(session, 'tools/call', { name: TOOL, arguments: TOOL_ARGUMENTS }, toolsCallDuration)) toolCalls.add(1);
      if (THINK_TIME > 0) sleep(THINK_TIME);
    }
  } finally {
    close(session);
  }
}
