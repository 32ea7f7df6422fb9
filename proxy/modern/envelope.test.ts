import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError, type ErrorCode } from '../../shared/errors.ts';
import { buildUpstreamMeta, checkModernRequest, modernRequestHeaders, traceMeta, type HeaderLookup } from './envelope.ts';
import { decodeHeaderValue } from './header-value.ts';
import { META_KEYS, MODERN_PROTOCOL_VERSIONS } from './wire.ts';

const V = '2026-07-28';
const META = { [META_KEYS.protocolVersion]: V, [META_KEYS.clientCapabilities]: {} };

/** Headers as Node gives them: names lowercase. */
function lookup(headers: Record<string, string>): HeaderLookup {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower[name];
}

interface Case {
  what: string;
  method: string;
  params: unknown;
  headers: Record<string, string>;
  /** The error expected, or undefined when the request passes. */
  error?: { code: ErrorCode; jsonRpc: number; status: number; data?: Record<string, unknown> };
}

const ok = (method: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Pick<Case, 'method' | 'params' | 'headers'> => ({
  method,
  params: { _meta: META, ...extra },
  headers: { 'MCP-Protocol-Version': V, 'Mcp-Method': method, ...headers },
});

const ENVELOPE = { code: 'MCPMUX_INVALID_ENVELOPE', jsonRpc: -32602, status: 400 } as const;
const HEADER = { code: 'MCPMUX_HEADER_MISMATCH', jsonRpc: -32020, status: 400 } as const;
const REMOVED = { code: 'MCPMUX_REMOVED_METHOD', jsonRpc: -32601, status: 404 } as const;
const PARAMS = { code: 'MCPMUX_INVALID_PARAMS', jsonRpc: -32602, status: 200 } as const;

const cases: Case[] = [
  // Passing requests.
  { what: 'tools/list with the full envelope', ...ok('tools/list') },
  { what: 'tools/call with Mcp-Name', ...ok('tools/call', { name: 'echo_echo', arguments: {} }, { 'Mcp-Name': 'echo_echo' }) },
  { what: 'Mcp-Name with OWS is trimmed', ...ok('tools/call', { name: 'tool' }, { 'Mcp-Name': '  tool  ' }) },
  { what: 'Mcp-Name in Base64', ...ok('prompts/get', { name: 'grüße' }, { 'Mcp-Name': '=?base64?Z3LDvMOfZQ==?=' }) },
  { what: 'resources/read names the uri', ...ok('resources/read', { uri: 'test://static-text' }, { 'Mcp-Name': 'test://static-text' }) },
  { what: 'tasks/get names the taskId', ...ok('tasks/get', { taskId: 't-1' }, { 'Mcp-Name': 't-1' }) },
  { what: 'header names in any case', ...ok('tools/list', {}, { 'mcp-method': 'tools/list' }) },
  { what: 'versions with OWS', method: 'tools/list', params: { _meta: META }, headers: { 'MCP-Protocol-Version': ` ${V} `, 'Mcp-Method': '\ttools/list' } },
  { what: 'no clientInfo is fine', ...ok('server/discover') },
  // 1. The envelope.
  { what: 'empty params + modern header → -32602', method: 'server/discover', params: {}, headers: { 'MCP-Protocol-Version': V, 'Mcp-Method': 'server/discover' }, error: ENVELOPE },
  { what: 'no params → -32602', method: 'server/discover', params: undefined, headers: { 'MCP-Protocol-Version': V }, error: ENVELOPE },
  { what: 'params an array → -32602', method: 'tools/list', params: [], headers: {}, error: ENVELOPE },
  { what: '_meta an array → -32602', method: 'tools/list', params: { _meta: [] }, headers: {}, error: ENVELOPE },
  { what: 'protocolVersion missing → -32602', method: 'server/discover', params: { _meta: { [META_KEYS.clientCapabilities]: {} } }, headers: { 'MCP-Protocol-Version': V, 'Mcp-Method': 'server/discover' }, error: { ...ENVELOPE, data: { key: META_KEYS.protocolVersion, problem: 'is missing (required on every request)' } } },
  { what: 'protocolVersion empty → -32602', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: '' } }, headers: {}, error: ENVELOPE },
  { what: 'protocolVersion a number → -32602', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: 20260728 } }, headers: {}, error: ENVELOPE },
  { what: 'clientCapabilities missing → -32602', method: 'server/discover', params: { _meta: { [META_KEYS.protocolVersion]: V } }, headers: { 'MCP-Protocol-Version': V, 'Mcp-Method': 'server/discover' }, error: ENVELOPE },
  { what: 'clientCapabilities null → -32602', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.clientCapabilities]: null } }, headers: {}, error: ENVELOPE },
  { what: 'clientCapabilities an array → -32602', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.clientCapabilities]: [] } }, headers: {}, error: ENVELOPE },
  { what: 'clientInfo without version → -32602', ...ok('tools/list', { _meta: { ...META, [META_KEYS.clientInfo]: { name: 'c' } } }), error: ENVELOPE },
  { what: 'clientInfo null → -32602', ...ok('tools/list', { _meta: { ...META, [META_KEYS.clientInfo]: null } }), error: ENVELOPE },
  { what: 'logLevel a number → -32602', ...ok('tools/list', { _meta: { ...META, [META_KEYS.logLevel]: 3 } }), error: ENVELOPE },
  { what: 'logLevel not a level → -32602', ...ok('tools/list', { _meta: { ...META, [META_KEYS.logLevel]: 'verbose' } }), error: ENVELOPE },
  { what: 'progressToken a fraction → -32602', ...ok('tools/list', { _meta: { ...META, progressToken: 1.5 } }), error: ENVELOPE },
  { what: 'progressToken an object → -32602', ...ok('tools/list', { _meta: { ...META, progressToken: {} } }), error: ENVELOPE },
  { what: 'a bad envelope beats a bad header', method: 'tools/list', params: { _meta: { [META_KEYS.protocolVersion]: 'v999.0.0' } }, headers: { 'MCP-Protocol-Version': V, 'Mcp-Method': 'TOOLS/LIST' }, error: ENVELOPE },
  // 2. Version header and Mcp-Method mismatch, before -32022.
  { what: '_meta v999 + header 2026-07-28 → -32020', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: 'v999.0.0' } }, headers: { 'MCP-Protocol-Version': V, 'Mcp-Method': 'tools/list' }, error: HEADER },
  { what: 'version header missing → -32020', method: 'tools/list', params: { _meta: META }, headers: { 'Mcp-Method': 'tools/list' }, error: { ...HEADER, data: { header: 'MCP-Protocol-Version' } } },
  { what: 'version header missing, even for v999 → -32020', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: 'v999.0.0' } }, headers: { 'Mcp-Method': 'tools/list' }, error: HEADER },
  { what: 'Mcp-Method: TOOLS/LIST → -32020', ...ok('tools/list', {}, { 'Mcp-Method': 'TOOLS/LIST' }), error: { ...HEADER, data: { header: 'Mcp-Method' } } },
  { what: 'Mcp-Method: prompts/list for tools/list → -32020', ...ok('tools/list', {}, { 'Mcp-Method': 'prompts/list' }), error: HEADER },
  { what: 'Mcp-Method mismatch beats -32022', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: 'v999.0.0' } }, headers: { 'MCP-Protocol-Version': 'v999.0.0', 'Mcp-Method': 'x' }, error: HEADER },
  // 3. Unsupported version.
  { what: 'both v999 → -32022 with data', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: 'v999.0.0' } }, headers: { 'MCP-Protocol-Version': 'v999.0.0', 'Mcp-Method': 'tools/list' }, error: { code: 'MCPMUX_UNSUPPORTED_VERSION', jsonRpc: -32022, status: 400, data: { supported: ['2026-07-28'], requested: 'v999.0.0' } } },
  { what: 'a legacy version claimed in _meta → -32022', method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: '2025-11-25' } }, headers: { 'MCP-Protocol-Version': '2025-11-25', 'Mcp-Method': 'tools/list' }, error: { code: 'MCPMUX_UNSUPPORTED_VERSION', jsonRpc: -32022, status: 400, data: { supported: ['2026-07-28'], requested: '2025-11-25' } } },
  { what: '-32022 beats a missing Mcp-Method', method: 'initialize', params: { _meta: { ...META, [META_KEYS.protocolVersion]: 'v999.0.0' } }, headers: { 'MCP-Protocol-Version': 'v999.0.0' }, error: { code: 'MCPMUX_UNSUPPORTED_VERSION', jsonRpc: -32022, status: 400 } },
  // 4. Mcp-Method missing.
  { what: 'Mcp-Method missing → -32020', method: 'tools/list', params: { _meta: META }, headers: { 'MCP-Protocol-Version': V }, error: { ...HEADER, data: { header: 'Mcp-Method' } } },
  { what: 'Mcp-Method missing beats a removed method', method: 'ping', params: { _meta: META }, headers: { 'MCP-Protocol-Version': V }, error: HEADER },
  // 5. Removed and unknown methods.
  ...['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'tasks/result', 'tasks/list', 'unknown/method', 'constructor'].map(
    (method): Case => ({ what: `${method} with a valid envelope → 404 -32601`, ...ok(method), error: REMOVED }),
  ),
  { what: 'a removed method beats a bad Mcp-Name', ...ok('resources/subscribe', { uri: 'x' }, { 'Mcp-Name': '=?base64?!?=' }), error: REMOVED },
  // 6. The name field and Mcp-Name.
  { what: 'tools/call without params.name → -32602 in band', ...ok('tools/call', {}, { 'Mcp-Name': 'x' }), error: PARAMS },
  { what: 'resources/read with a numeric uri → -32602 in band', ...ok('resources/read', { uri: 7 }, { 'Mcp-Name': '7' }), error: PARAMS },
  { what: 'Mcp-Name missing on tools/call → -32020', ...ok('tools/call', { name: 'tool' }), error: { ...HEADER, data: { header: 'Mcp-Name' } } },
  { what: 'Mcp-Name: wrong_tool_name → -32020', ...ok('tools/call', { name: 'tool' }, { 'Mcp-Name': 'wrong_tool_name' }), error: HEADER },
  { what: 'Mcp-Name differs in case → -32020', ...ok('tools/call', { name: 'tool' }, { 'Mcp-Name': 'TOOL' }), error: HEADER },
  { what: 'Mcp-Name with bad Base64 → -32020', ...ok('tools/call', { name: 'Hello' }, { 'Mcp-Name': '=?base64?SGVsbG8?=' }), error: { ...HEADER, data: { header: 'Mcp-Name' } } },
  { what: 'Mcp-Name literal half sentinel differs → -32020', ...ok('tools/call', { name: 'Hello' }, { 'Mcp-Name': '=?base64?SGVsbG8=' }), error: HEADER },
  { what: 'Mcp-Name on tasks/cancel checked against taskId', ...ok('tasks/cancel', { taskId: 'a' }, { 'Mcp-Name': 'b' }), error: HEADER },
];

for (const c of cases) {
  test(c.what, () => {
    const run = (): ReturnType<typeof checkModernRequest> => checkModernRequest({ method: c.method, params: c.params as Record<string, unknown> }, lookup(c.headers), MODERN_PROTOCOL_VERSIONS);
    if (!c.error) {
      const checked = run();
      assert.is(checked.envelope.protocolVersion, V);
      return;
    }
    try {
      run();
      assert.unreachable('accepted');
    } catch (error) {
      if (!(error instanceof McpmuxError)) throw error;
      assert.is(error.code, c.error.code, error.message);
      assert.is(error.jsonRpcCode, c.error.jsonRpc);
      assert.is(error.httpStatus, c.error.status);
      if (c.error.data) assert.equal(error.data, c.error.data);
    }
  });
}

test('the checked request: envelope as sent, and the name Mcp-Name was checked against', () => {
  const meta = { ...META, [META_KEYS.clientInfo]: { name: 'c', version: '1', title: 'C' }, [META_KEYS.logLevel]: 'debug', progressToken: 'progress-test-1', traceparent: '00-x' };
  const checked = checkModernRequest({ method: 'tools/call', params: { name: 'a_b', _meta: meta } }, lookup({ 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'a_b' }), MODERN_PROTOCOL_VERSIONS);
  assert.is(checked.name, 'a_b');
  assert.equal(checked.envelope.clientCapabilities, {});
  assert.equal(checked.envelope.clientInfo, { name: 'c', version: '1', title: 'C' });
  assert.is(checked.envelope.logLevel, 'debug');
  assert.is(checked.envelope.progressToken, 'progress-test-1');
  assert.is(checked.envelope.meta, meta);
  const list = checkModernRequest({ method: 'tools/list', params: { _meta: { ...META, progressToken: 7 } } }, lookup({ 'mcp-protocol-version': V, 'mcp-method': 'tools/list' }), MODERN_PROTOCOL_VERSIONS);
  assert.is(list.name, undefined);
  assert.is(list.envelope.progressToken, 7);
  assert.is(list.envelope.clientInfo, undefined);
});

test('the removed-method error says what to use instead', () => {
  try {
    checkModernRequest({ method: 'resources/subscribe', params: { _meta: META } }, lookup({ 'mcp-protocol-version': V, 'mcp-method': 'resources/subscribe' }), MODERN_PROTOCOL_VERSIONS);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, McpmuxError);
    assert.match((error as Error).message, 'subscriptions/listen');
  }
});

test('supported versions come from the caller', () => {
  const request = { method: 'tools/list', params: { _meta: { ...META, [META_KEYS.protocolVersion]: '2027-01-01' } } };
  const headers = lookup({ 'mcp-protocol-version': '2027-01-01', 'mcp-method': 'tools/list' });
  assert.is(checkModernRequest(request, headers, ['2026-07-28', '2027-01-01']).envelope.protocolVersion, '2027-01-01');
  assert.throws(() => checkModernRequest(request, headers, MODERN_PROTOCOL_VERSIONS), (e: unknown) => e instanceof McpmuxError && e.code === 'MCPMUX_UNSUPPORTED_VERSION');
});

test('upstream _meta: the options decide the reserved keys, extra carries the rest', () => {
  const meta = buildUpstreamMeta({
    protocolVersion: V,
    clientCapabilities: { elicitation: {} },
    clientInfo: { name: 'c', version: '1' },
    logLevel: 'info',
    progressToken: 3,
    extra: { traceparent: '00-abc', [META_KEYS.protocolVersion]: 'forged', [META_KEYS.clientInfo]: { name: 'forged' }, progressToken: 'forged', skipped: undefined },
  });
  assert.equal(meta, {
    traceparent: '00-abc',
    [META_KEYS.protocolVersion]: V,
    [META_KEYS.clientCapabilities]: { elicitation: {} },
    [META_KEYS.clientInfo]: { name: 'c', version: '1' },
    [META_KEYS.logLevel]: 'info',
    progressToken: 3,
  });
  const bare = buildUpstreamMeta({ protocolVersion: V, clientCapabilities: {}, extra: { [META_KEYS.logLevel]: 'debug' } });
  assert.equal(bare, { [META_KEYS.protocolVersion]: V, [META_KEYS.clientCapabilities]: {} });
});

test('traceMeta picks traceparent, tracestate and baggage only', () => {
  assert.equal(traceMeta({ ...META, traceparent: 't', tracestate: 's', baggage: 'b', other: 1 }), { traceparent: 't', tracestate: 's', baggage: 'b' });
  assert.equal(traceMeta(META), {});
});

test('upstream headers: version, method, and an encoded Mcp-Name only for methods that have one', () => {
  assert.equal(modernRequestHeaders('tools/list', V, undefined), { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
  assert.equal(modernRequestHeaders('tools/list', V, 'ignored'), { 'mcp-protocol-version': V, 'mcp-method': 'tools/list' });
  assert.equal(modernRequestHeaders('tools/call', V, 'echo'), { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
  const encoded = modernRequestHeaders('resources/read', V, 'file:///ü ')['mcp-name']!;
  assert.ok(encoded.startsWith('=?base64?'), encoded);
  assert.is(decodeHeaderValue(encoded), 'file:///ü ');
});

test('what the gateway sends upstream passes its own inbound checks', () => {
  for (const [method, field, name] of [['tools/call', 'name', 'ünïcode tool'], ['resources/read', 'uri', ' x '], ['tasks/update', 'taskId', '=?base64?x?='], ['prompts/get', 'name', 'plain']] as const) {
    const params = { [field]: name, _meta: buildUpstreamMeta({ protocolVersion: V, clientCapabilities: {} }) };
    const checked = checkModernRequest({ method, params }, lookup(modernRequestHeaders(method, V, name)), MODERN_PROTOCOL_VERSIONS);
    assert.is(checked.name, name);
  }
});

test.run();
