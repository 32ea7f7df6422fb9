// A modern (2026-07-28) upstream on the Python SDK (`mcp` 2.x, test/fixtures/python-modern/server.py,
// which refuses every 2025-era request) joins the bridging tests: federated as `py` by an in-process
// proxy next to the TypeScript modern demo (`modern`) and server-everything (`everything`, 2025), over
// real sockets. The proxy must find it modern by probing `server/discover`; the SDK 2.x client pinned
// to 2026-07-28 and the SDK 1.x (2025) client both list and call its tools, and its MRTR elicitation
// (`resultType: "input_required"`) reaches both: as input_required for the modern client, as a real
// `elicitation/create` request for a 2025 client that declares elicitation. Its venv is built into the
// cache on first use (node test/support/install-tools.ts python-modern does it ahead of time).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../shared/log.ts';
import { Cleanup } from '../shared/testing/processes.ts';
import { startServerEverything, type EverythingServer } from '../shared/testing/upstreams.ts';
import { startModernDemo, type ModernDemo } from '../deploy/examples/modern-demo/server.ts';
import type { ProxyMetrics } from '../proxy/metrics.ts';
import { compileRoutingTable } from '../proxy/routing/table.ts';
import { ProxyServer } from '../proxy/server.ts';
import { connectClient, firstText } from '../proxy/testing/fixture.ts';
import { simpleSnapshot } from '../proxy/testing/snapshots.ts';
import { modernMeta, postModern } from '../proxy/testing/modern.ts';
import { ensureModernPythonVenv, modernVenvTiming, startPythonModern, type PythonModernServer } from './support/python.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
const MODERN = '2026-07-28';
const ELICIT_KEY = '__main__:ask_confirmation'; // the SDK keys a resolver's question by module:qualname

let python: PythonModernServer;
let everything: EverythingServer;
let demo: ModernDemo;
let proxy: ProxyServer;
let url: string;
/** What the Python server refused before the gateway used it (the first test's own initialize). */
let refusedDirectly: Record<string, number> = {};

/** What the proxy reported: each target's era verdict, and the methods it sent each target. */
const eras = new Map<string, 'legacy' | 'modern'>();
const upstreamCalls: Array<{ target: string; method: string; outcome: string }> = [];
const metrics: ProxyMetrics = {
  request() {},
  upstream(target, method, outcome) {
    upstreamCalls.push({ target, method, outcome });
  },
  adopted() {},
  clientEra() {},
  upstreamEra(target, era) {
    eras.set(target, era);
  },
};

const meta = (capabilities: Record<string, unknown> = {}) => modernMeta(capabilities);
/** One raw modern POST to `target` (the gateway by default): status, and the JSON-RPC messages of its body. */
const post = (method: string, params: Record<string, unknown>, target = url) => postModern(target, method, params, {}, 11);

async function modernClient(onElicit?: (request: { params: Record<string, any> }) => Record<string, unknown>): Promise<ModernClient> {
  const client = new ModernClient({ name: 'modern-test', version: '1.0.0' }, { capabilities: onElicit ? { elicitation: { form: {} } } : {}, versionNegotiation: { mode: { pin: MODERN } } });
  if (onElicit) client.setRequestHandler('elicitation/create', async (request) => onElicit(request as never) as never);
  await client.connect(new ModernTransport(new URL(url)));
  cleanup.add(() => client.close());
  return client;
}

/** What the Python server counted: modern requests by Mcp-Method, and 2025-era requests it refused. */
async function pythonStats(): Promise<{ modern: Record<string, number>; refused: Record<string, number> }> {
  const response = await fetch(new URL('/stats', python.url), { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as never;
}

test.before(async () => {
  const started = Date.now();
  await ensureModernPythonVenv();
  console.log(`  python modern venv (mcp 2.x): ${modernVenvTiming.installed ? 'installed' : 'cached'} in ${(modernVenvTiming.ms / 1000).toFixed(1)} s`);
  [python, everything, demo] = await Promise.all([startPythonModern(), startServerEverything(), startModernDemo()]);
  cleanup.add(() => python.stop());
  cleanup.add(() => everything.stop());
  cleanup.add(() => demo.close());
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, heldCallMs: 5_000, metrics });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { py: python.url, modern: demo.url, everything: everything.url } })));
  url = `http://127.0.0.1:${proxy.port}/mcp`;
  console.log(`  upstreams and proxy up in ${((Date.now() - started) / 1000).toFixed(1)} s (python mcp ${python.mcpVersion})`);
});

test.after(() => cleanup.run());

test('the Python server is modern-only on its own: server/discover offers 2026-07-28, initialize is refused with -32022, GET with 405', async () => {
  assert.is(python.mcpVersion, '2.3.0');
  const discover = await post('server/discover', { _meta: meta() }, python.url);
  assert.is(discover.status, 200);
  const result = discover.messages[0]!.result;
  assert.equal(result.supportedVersions, [MODERN]);
  assert.is(result.resultType, 'complete');
  assert.is(result._meta['io.modelcontextprotocol/serverInfo'].name, 'python-modern');
  const initialize = await fetch(python.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'direct', version: '1' } } }),
  });
  assert.is(initialize.status, 400);
  const refused = (await initialize.json()) as { error: { code: number; data: { supported: string[] } } };
  assert.is(refused.error.code, -32022);
  assert.equal(refused.error.data.supported, [MODERN]);
  const get = await fetch(python.url, { headers: { accept: 'text/event-stream' } });
  assert.is(get.status, 405, 'no GET stream at 2026-07-28');
  await get.body?.cancel();
  refusedDirectly = (await pythonStats()).refused;
  assert.equal(refusedDirectly, { initialize: 1, GET: 1 });
});

test('a 2026-07-28 client (SDK 2.x, pinned) lists and calls the Python tools; the proxy found `py` modern', async () => {
  const client = await modernClient();
  assert.is(client.getNegotiatedProtocolVersion(), MODERN);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  for (const name of ['py_shout', 'py_add', 'py_countdown', 'py_locate', 'py_deploy', 'modern_greet', 'everything_echo']) assert.ok(tools.includes(name), `${name} missing from ${tools.join(', ')}`);
  assert.is(eras.get('py'), 'modern', 'the server/discover probe decides py is modern');
  assert.is(eras.get('modern'), 'modern');
  assert.is(eras.get('everything'), 'legacy');
  assert.is(firstText(await client.callTool({ name: 'py_shout', arguments: { text: 'hello from node' } })), 'HELLO FROM NODE');
  const sum = await client.callTool({ name: 'py_add', arguments: { a: 2, b: 40 } });
  assert.is(firstText(sum), '42');
  assert.equal(sum.structuredContent, { result: 42 });
  // The call reached Python as a 2026-07-28 request carrying the client's (empty) capabilities.
  const seen = JSON.parse(firstText(await client.callTool({ name: 'py_protocol', arguments: {} })));
  assert.is(seen.protocolVersion, MODERN);
  assert.equal(seen.clientCapabilities, {});
});

test("server/discover through the gateway (raw POST) is the gateway's own and carries the Python server's instructions", async () => {
  const { status, messages } = await post('server/discover', { _meta: meta() });
  assert.is(status, 200);
  const result = messages[0]!.result;
  assert.ok(result.supportedVersions.includes(MODERN), JSON.stringify(result.supportedVersions));
  assert.is(result.resultType, 'complete');
  assert.is(result._meta['io.modelcontextprotocol/serverInfo'].name, 'mcpmux');
  assert.ok(result.capabilities.tools, JSON.stringify(result.capabilities));
  assert.match(result.instructions, /## py/);
  assert.match(result.instructions, /Python SDK fixture/);
  // And a raw modern tools/call with its Mcp-Name header, rewritten to `shout` for the upstream.
  const call = await post('tools/call', { _meta: meta(), name: 'py_shout', arguments: { text: 'raw' } });
  assert.is(call.status, 200);
  assert.is(call.messages.at(-1)!.result.content[0].text, 'RAW');
  assert.is(call.messages.at(-1)!.result.resultType, 'complete');
});

test('a 2025 client (SDK 1.x session) lists and calls the Python tools through the gateway', async () => {
  const client = await connectClient(url, cleanup);
  const tools = (await client.listTools()).tools;
  const shout = tools.find((t) => t.name === 'py_shout');
  assert.ok(shout, tools.map((t) => t.name).join(', '));
  assert.is(shout!.description, 'Returns the text in upper case');
  assert.equal(shout!.inputSchema.required, ['text']);
  assert.is(firstText(await client.callTool({ name: 'py_shout', arguments: { text: 'bridged' } })), 'BRIDGED');
  assert.is(firstText(await client.callTool({ name: 'py_add', arguments: { a: -1, b: 1 } })), '0');
  // The gateway owns the 2025 session and speaks 2026-07-28 upstream, with no capabilities declared.
  const seen = JSON.parse(firstText(await client.callTool({ name: 'py_protocol', arguments: {} })));
  assert.is(seen.protocolVersion, MODERN);
  assert.equal(seen.clientCapabilities, {});
  // A Python tool error (a missing argument) is a tool error for the 2025 client; its session goes on.
  const bad = await client.callTool({ name: 'py_add', arguments: { a: 1 } });
  assert.is(bad.isError, true, JSON.stringify(bad));
  assert.is(firstText(await client.callTool({ name: 'py_shout', arguments: { text: 'still here' } })), 'STILL HERE');
});

test("the Python server's progress (an SSE answer, CRLF-framed) reaches a modern client and a 2025 client", async () => {
  const { messages } = await post('tools/call', { _meta: { ...meta(), progressToken: 'py-1' }, name: 'py_countdown', arguments: { steps: 3 } });
  const progress = messages.filter((m) => m.method === 'notifications/progress');
  assert.equal(
    progress.map((m) => [m.params.progressToken, m.params.progress, m.params.total]),
    [
      ['py-1', 1, 3],
      ['py-1', 2, 3],
      ['py-1', 3, 3],
    ],
    JSON.stringify(messages),
  );
  assert.is(messages.at(-1)!.result.content[0].text, 'counted down from 3');

  const client = await connectClient(url, cleanup);
  const seen: Array<{ progress: number; message?: string | undefined }> = [];
  const result = await client.callTool({ name: 'py_countdown', arguments: { steps: 2 } }, undefined, { onprogress: (p) => seen.push({ progress: p.progress, message: p.message }) });
  assert.is(firstText(result), 'counted down from 2');
  assert.equal(seen, [
    { progress: 1, message: 'step 1 of 2' },
    { progress: 2, message: 'step 2 of 2' },
  ]);
});

test('x-mcp-header for a modern client: the Python tool that wants Mcp-Param-Region gets it through the gateway', async () => {
  const region = 'Île-de-France'; // not a safe header value: it travels Base64-encoded
  const modern = await modernClient();
  const listed = (await modern.listTools()).tools.find((t) => t.name === 'py_locate');
  assert.ok(listed, 'py_locate is listed (a client drops tools whose x-mcp-header is invalid)');
  assert.is((listed!.inputSchema.properties as Record<string, Record<string, unknown>>).region!['x-mcp-header'], 'Region');
  assert.is(firstText(await modern.callTool({ name: 'py_locate', arguments: { city: 'Paris', region } })), `Paris is in ${region}`);
  // A modern client that leaves the header out is refused by the gateway itself, as a server would.
  const raw = await post('tools/call', { _meta: meta(), name: 'py_locate', arguments: { city: 'Nice', region: 'Var' } });
  assert.is(raw.status, 400, JSON.stringify(raw.messages));
  assert.is(raw.messages[0]!.error.code, -32020);
});

test('x-mcp-header for a 2025 client: the gateway sends the Python server the Mcp-Param-Region header it requires', async () => {
  // A 2025 client knows nothing of Mcp-Param-*: the gateway, bridging its session, is the
  // 2026-07-28 client of the upstream and must send the header from the tool's declaration.
  const legacy = await connectClient(url, cleanup);
  const result = await legacy.callTool({ name: 'py_locate', arguments: { city: 'Lyon', region: 'Rhône' } });
  assert.not.ok(result.isError, JSON.stringify(result));
  assert.is(firstText(result), 'Lyon is in Rhône');
});

test('MRTR, raw: the Python input_required comes back with its key, a gateway-sealed requestState, and the retry completes', async () => {
  const args = { service: 'api' };
  const first = await post('tools/call', { _meta: meta({ elicitation: {} }), name: 'py_deploy', arguments: args });
  assert.is(first.status, 200);
  const result = first.messages.at(-1)!.result;
  assert.is(result.resultType, 'input_required', JSON.stringify(first.messages));
  assert.equal(Object.keys(result.inputRequests), [ELICIT_KEY]);
  assert.is(result.inputRequests[ELICIT_KEY].method, 'elicitation/create');
  assert.is(result.inputRequests[ELICIT_KEY].params.message, 'Deploy api now?');
  assert.type(result.requestState, 'string');
  const retry = { _meta: meta({ elicitation: {} }), name: 'py_deploy', arguments: args, inputResponses: { [ELICIT_KEY]: { action: 'accept', content: { confirm: true } } }, requestState: result.requestState };
  const done = await post('tools/call', retry);
  assert.is(done.messages.at(-1)!.result.content[0].text, 'deployed api', JSON.stringify(done.messages));
  const tampered = await post('tools/call', { ...retry, requestState: `${result.requestState}-TAMPERED` });
  assert.is(tampered.messages.at(-1)!.error?.code, -32602, JSON.stringify(tampered.messages));
});

test('MRTR from the SDK 2.x client: its elicitation handler answers the Python question, the retried call completes', async () => {
  const asked: string[] = [];
  const yes = await modernClient((request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: { confirm: true } };
  });
  assert.is(firstText(await yes.callTool({ name: 'py_deploy', arguments: { service: 'web' } })), 'deployed web');
  assert.equal(asked, ['Deploy web now?']);
  const no = await modernClient(() => ({ action: 'accept', content: { confirm: false } }));
  assert.is(firstText(await no.callTool({ name: 'py_deploy', arguments: { service: 'db' } })), 'kept db');
  const declined = await modernClient(() => ({ action: 'decline' }));
  const refused = await declined.callTool({ name: 'py_deploy', arguments: { service: 'db' } });
  assert.is(refused.isError, true, JSON.stringify(refused));
});

test('MRTR to a 2025 client: one that declares elicitation gets a real elicitation/create; one that does not gets a tool error', async () => {
  const silent = await connectClient(url, cleanup);
  const refused = await silent.callTool({ name: 'py_deploy', arguments: { service: 'x' } });
  assert.is(refused.isError, true, JSON.stringify(refused));

  const asking = new LegacyClient({ name: 'legacy-elicit', version: '1' }, { capabilities: { elicitation: {} } });
  const asked: Array<{ message: string; schema: unknown }> = [];
  asking.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push({ message: request.params.message, schema: (request.params as { requestedSchema?: unknown }).requestedSchema });
    return { action: 'accept', content: { confirm: true } };
  });
  await asking.connect(new LegacyTransport(new URL(url)));
  cleanup.add(() => asking.close());
  assert.is(firstText(await asking.callTool({ name: 'py_deploy', arguments: { service: 'ship' } })), 'deployed ship');
  assert.is(asked.length, 1);
  assert.is(asked[0]!.message, 'Deploy ship now?');
  assert.equal((asked[0]!.schema as { required: string[] }).required, ['confirm']);
  // The Python server saw the 2025 client's elicitation capability, carried per request by the gateway.
  const seen = JSON.parse(firstText(await asking.callTool({ name: 'py_protocol', arguments: {} })));
  assert.is(seen.protocolVersion, MODERN);
  assert.ok(seen.clientCapabilities.elicitation, JSON.stringify(seen.clientCapabilities));
});

test('the gateway never spoke 2025 to the Python server: no initialize, no session, no GET or DELETE', async () => {
  // A 2025 client's whole session, ended with DELETE: the gateway owns it, nothing of it goes upstream.
  const transport = new LegacyTransport(new URL(url));
  const client = new LegacyClient({ name: 'legacy-session', version: '1' });
  await client.connect(transport);
  assert.is(firstText(await client.callTool({ name: 'py_shout', arguments: { text: 'bye' } })), 'BYE');
  assert.type(transport.sessionId, 'string');
  await transport.terminateSession();
  await client.close();
  const stats = await pythonStats();
  assert.equal(stats.refused, refusedDirectly, `the Python server refused ${JSON.stringify(stats.refused)}`);
  assert.ok((stats.modern['server/discover'] ?? 0) >= 1, JSON.stringify(stats.modern));
  assert.ok((stats.modern['tools/list'] ?? 0) >= 1, JSON.stringify(stats.modern));
  assert.ok((stats.modern['tools/call'] ?? 0) >= 10, JSON.stringify(stats.modern));
  const pyMethods = new Set(upstreamCalls.filter((c) => c.target === 'py').map((c) => c.method));
  assert.not.ok(pyMethods.has('initialize'), [...pyMethods].join(', '));
  assert.ok(pyMethods.has('tools/call'), [...pyMethods].join(', '));
});

test.run();
