// Issue 18 §2, OpenTelemetry traces: a real control plane (files source) and proxy started through
// the CLI with --otlp-endpoint, two real MCP upstreams (the SDK's, recording what reaches them), and
// a real OTLP/HTTP receiver decoding the exporter's protobuf. A client with its own trace context
// fans tools/list out: client span → proxy SERVER span → one CLIENT span per upstream, and each
// upstream is told its CLIENT span as parent. A tools/call with a secret argument, an API key and an
// upstream credential leaves none of them in any span. A 2026-07-28 request continues the trace in
// its params._meta. The control plane traces builds and pushes; logs and metrics point at traces.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startRecordingServer, type RecordingServer } from '../shared/testing/upstreams.ts';
import { MCPMUX_VERSION } from '../shared/version.ts';
import { modernMeta, postModern } from '../proxy/testing/modern.ts';
import { gatewayAndRoute } from './support/manifests.ts';
import { startOtlpReceiver, type AttributeValue, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.ts';
import { CLI, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';

const API_KEY = 'k3y-tracing-e2e-7c1f0a9b2d';
const UPSTREAM_TOKEN = 'Bearer upstream-s3cret-5e8d2c4a';
const SECRET_ARGUMENT = 'hunter2-argument-value-9f3b';
const REPLICA = 'proxy-traced';

let receiver: OtlpReceiver;
let alpha: RecordingServer;
let beta: RecordingServer;
let dir: string;
let mcpUrl = '';
let proxyHttp = 0;
const processes: Managed[] = [];
let proxy: Managed;
let controlPlaneGrpc = '';

/** A W3C trace context of our own, as an instrumented client would send. */
function clientContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The Gateway, route and MCPBackend (alpha and beta, an API key, an upstream credential); `instructions` changes the snapshot. */
function writeConfig(instructions?: string): void {
  writeFileSync(
    join(dir, 'config.yaml'),
    `${gatewayAndRoute({ namespace: 'team', gateway: 'gw', route: 'route', backend: 'traced' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: { name: traced, namespace: team }
spec:
${instructions ? `  instructions: ${instructions}\n` : ''}  authentication:
    apiKeys: { secretRef: { name: api-keys } }
  upstreamAuth:
    secretRef: { name: upstream-token, key: token }
  targets:
  - static: { name: alpha, host: 127.0.0.1, port: ${alpha.port} }
  - static: { name: beta, host: 127.0.0.1, port: ${beta.port} }
---
apiVersion: v1
kind: Secret
metadata: { name: api-keys, namespace: team }
stringData:
  ci-bot: ${API_KEY}
---
apiVersion: v1
kind: Secret
metadata: { name: upstream-token, namespace: team }
stringData:
  token: ${UPSTREAM_TOKEN}
`,
  );
}

test.before(async () => {
  receiver = await startOtlpReceiver();
  alpha = await startRecordingServer({ name: 'alpha' });
  beta = await startRecordingServer({ name: 'beta' });
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-tracing-'));
  writeConfig();
  const [grpc, cpHttp, proxyPort, proxyHealth] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // Batches every 100 ms rather than 5 s: the test reads what arrived.
  const env = { MCPMUX_LOG_LEVEL: 'info', OTEL_BSP_SCHEDULE_DELAY: '100' };
  processes.push(startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpc), '--http-port', String(cpHttp), '--otlp-endpoint', receiver.url], env));
  await waitForHttpOk(`http://127.0.0.1:${cpHttp}/readyz`);
  // Debug: one 'request answered' line per request, which must carry the trace id.
  proxy = startNode(
    'proxy',
    [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpc}`, '--port', String(proxyPort), '--http-port', String(proxyHealth), '--replica-id', REPLICA, '--otlp-endpoint', receiver.url],
    { ...env, MCPMUX_LOG_LEVEL: 'debug' },
  );
  processes.push(proxy);
  await waitForHttpOk(`http://127.0.0.1:${proxyHealth}/readyz`);
  mcpUrl = `http://127.0.0.1:${proxyPort}/mcp`;
  controlPlaneGrpc = `127.0.0.1:${grpc}`;
  proxyHttp = proxyHealth;
});

test.after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await Promise.all([alpha?.close(), beta?.close()]);
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connect(traceparent: string): Promise<Client> {
  const client = new Client({ name: 'traced-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { traceparent, authorization: `Bearer ${API_KEY}` } } }));
  return client;
}

/** The spans of one trace matching `where`, once `count` of them arrived. */
async function spansOf(traceId: string, count: number, where: (span: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan[]> {
  const found = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId && where(s));
  await until(() => found().length >= count, `${what} (${count}) in trace ${traceId}; received: ${receiver.spans.map((s) => `${s.service} ${s.name} ${s.traceId}`).join('; ')}`, 10_000);
  return found();
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const matching = spans.filter((s) => s.name === name);
  assert.is(matching.length, 1, `one span named ${name} in ${spans.map((s) => s.name).join(', ')}`);
  return matching[0]!;
}

test('a fan-out tools/list: client span → proxy SERVER span → a CLIENT span per upstream, each upstream told its own parent', async () => {
  const context = clientContext();
  const client = await connect(context.traceparent);
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'alpha_echo') && tools.some((t) => t.name === 'beta_echo'), tools.map((t) => t.name).join(', '));
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId;
    const [serverSpan] = await spansOf(context.traceId, 1, (s) => s.name === 'tools/list', 'the proxy SERVER span');
    assert.ok(serverSpan);
    assert.is(serverSpan.kind, 'server');
    assert.is(serverSpan.parentSpanId, context.spanId, 'the client span is its parent');
    assert.is(serverSpan.service, 'mcpmux-proxy');
    assert.is(serverSpan.resource['service.version'], MCPMUX_VERSION);
    assert.is(serverSpan.resource['service.instance.id'], REPLICA);
    assert.is(serverSpan.attributes['mcp.method.name'], 'tools/list');
    assert.is(serverSpan.attributes['mcp.session.id'], sessionId);
    assert.is(serverSpan.attributes['mcp.protocol.version'], (client.transport as StreamableHTTPClientTransport).protocolVersion, 'the version negotiated');
    assert.type(serverSpan.attributes['jsonrpc.request.id'], 'string');
    assert.is(serverSpan.attributes['error.type'], undefined);

    const upstreamSpans = await spansOf(context.traceId, 2, (s) => s.kind === 'client', 'the upstream CLIENT spans');
    for (const [server, span] of [[alpha, one(upstreamSpans, 'tools/list alpha')], [beta, one(upstreamSpans, 'tools/list beta')]] as const) {
      assert.is(span.parentSpanId, serverSpan.spanId, `${span.name} is a child of the SERVER span`);
      assert.is(span.attributes['mcp.method.name'], 'tools/list');
      assert.is(span.attributes['mcpmux.target'], server.name);
      assert.is(span.attributes['http.request.method'], 'POST');
      assert.is(span.attributes['server.address'], '127.0.0.1');
      assert.is(span.attributes['server.port'], server.port);
      assert.is(span.attributes['url.full'], server.url, 'the upstream URL: no query, no credentials');
      assert.is(span.attributes['mcp.protocol.version'], '2025-11-25');
      // What reached the upstream names the CLIENT span, not the client's own span.
      const received = server.received.filter((r) => 'method' in r.message && r.message.method === 'tools/list').at(-1);
      assert.is(received?.traceparent, `00-${context.traceId}-${span.spanId}-01`, `${server.name} got the CLIENT span as parent`);
    }
  } finally {
    await client.close();
  }
});

test('a tools/call with a secret argument and a bearer token: the names are there, no secret is in any span', async () => {
  const context = clientContext();
  const client = await connect(context.traceparent);
  try {
    const result = await client.callTool({ name: 'alpha_echo', arguments: { text: SECRET_ARGUMENT } });
    assert.match(JSON.stringify(result.content), SECRET_ARGUMENT, 'the call went through');
    const serverSpan = one(await spansOf(context.traceId, 1, (s) => s.kind === 'server' && s.name.startsWith('tools/call'), 'the tools/call SERVER span'), 'tools/call alpha_echo');
    assert.is(serverSpan.attributes['gen_ai.tool.name'], 'alpha_echo', 'the tool as the client named it');
    assert.is(serverSpan.attributes['gen_ai.operation.name'], 'execute_tool');
    const clientSpan = one(await spansOf(context.traceId, 1, (s) => s.kind === 'client', 'the upstream CLIENT span'), 'tools/call echo');
    assert.is(clientSpan.parentSpanId, serverSpan.spanId);
    assert.is(clientSpan.attributes['gen_ai.tool.name'], 'echo', 'the tool as the upstream knows it');
    assert.is(clientSpan.attributes['mcpmux.target'], 'alpha');
    // And a call that fails: error.type and status ERROR, still no message.
    await client.callTool({ name: 'alpha_no-such-tool', arguments: { text: SECRET_ARGUMENT } }).catch(() => undefined);
    const failed = await spansOf(context.traceId, 1, (s) => s.kind === 'server' && s.name === 'tools/call alpha_no-such-tool', 'the failed call');
    assert.ok(failed[0]?.attributes['error.type'], JSON.stringify(failed[0]?.attributes));
    assert.is(failed[0]?.status.code, 2, 'status ERROR');
  } finally {
    await client.close();
  }
  // Every string of every span (names, attributes, resource, events, links, status), and the raw
  // bytes the exporter sent, are free of the argument, the client's key and the upstream credential.
  const strings = (values: Record<string, AttributeValue>): string[] => Object.entries(values).flatMap(([key, v]) => [key, JSON.stringify(v)]);
  for (const span of receiver.spans) {
    const all = [span.name, span.status.message, span.traceState, ...strings(span.attributes), ...strings(span.resource), ...span.events.flatMap((e) => [e.name, ...strings(e.attributes)]), ...span.links.flatMap((l) => strings(l.attributes))];
    for (const secret of [SECRET_ARGUMENT, API_KEY, UPSTREAM_TOKEN, 'upstream-s3cret']) {
      assert.not.ok(all.some((s) => s.includes(secret)), `span ${span.name} carries ${secret}`);
    }
  }
  for (const body of receiver.bodies) for (const secret of [SECRET_ARGUMENT, API_KEY, 'upstream-s3cret']) assert.is(body.indexOf(secret), -1, `an export carried ${secret}`);
  assert.ok(receiver.spans.length > 0);
});

test('a 2026-07-28 request continues the trace of its params._meta (the header\'s is linked), to the upstream', async () => {
  const meta = clientContext();
  const header = clientContext();
  const { status, messages } = await postModern(
    mcpUrl,
    'tools/call',
    { name: 'beta_echo', arguments: { text: 'modern' }, _meta: modernMeta({}, { traceparent: meta.traceparent }) },
    { authorization: `Bearer ${API_KEY}`, traceparent: header.traceparent },
  );
  assert.is(status, 200, JSON.stringify(messages));
  assert.match(JSON.stringify(messages.at(-1)?.result), 'beta: modern');
  const serverSpan = one(await spansOf(meta.traceId, 1, (s) => s.kind === 'server', 'the modern SERVER span'), 'tools/call beta_echo');
  assert.is(serverSpan.parentSpanId, meta.spanId, 'the _meta context is the parent');
  assert.is(serverSpan.attributes['mcp.protocol.version'], '2026-07-28');
  assert.is(serverSpan.attributes['mcp.session.id'], undefined, '2026-07-28 requests have no session');
  assert.equal(serverSpan.links.map((l) => [l.traceId, l.spanId]), [[header.traceId, header.spanId]], 'the HTTP context is linked');
  const clientSpan = one(await spansOf(meta.traceId, 1, (s) => s.kind === 'client', 'its upstream CLIENT span'), 'tools/call echo');
  assert.is(clientSpan.parentSpanId, serverSpan.spanId);
  const received = beta.received.filter((r) => 'method' in r.message && r.message.method === 'tools/call').at(-1);
  assert.is(received?.traceparent, `00-${meta.traceId}-${clientSpan.spanId}-01`, 'the upstream is told the CLIENT span');
  const upstreamMeta = (received?.message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
  if (upstreamMeta?.traceparent !== undefined) assert.is(upstreamMeta.traceparent, `00-${meta.traceId}-${clientSpan.spanId}-01`, 'and so is its _meta');
  assert.equal(receiver.spans.filter((s) => s.traceId === header.traceId), [], 'nothing joined the header\'s trace');
});

test('log lines of a request carry its trace_id and span_id', async () => {
  const context = clientContext();
  const client = await connect(context.traceparent);
  try {
    await client.ping();
    const [span] = await spansOf(context.traceId, 1, (s) => s.name === 'ping', 'the ping SERVER span');
    await until(() => proxy.output().includes(`"trace_id":"${context.traceId}"`), 'a log line with the trace id', 5_000);
    const line = proxy.output().split('\n').find((l) => l.includes(`"trace_id":"${context.traceId}"`) && l.includes('request answered'));
    assert.ok(line, 'the request answered line');
    assert.match(line, `"span_id":"${span?.spanId}"`);
  } finally {
    await client.close();
  }
});

test('/metrics speaks OpenMetrics with exemplars: the upstream latency histogram links to traces', async () => {
  const response = await fetch(`http://127.0.0.1:${proxyHttp}/metrics`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
  const text = await response.text();
  const exemplar = /^mcpmux_proxy_upstream_request_duration_seconds_bucket\{[^}]*target="(alpha|beta)"[^}]*\} \d+ # \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\}/m.exec(text);
  assert.ok(exemplar, text.split('\n').filter((l) => l.includes('upstream_request_duration_seconds_bucket')).slice(0, 5).join('\n'));
  assert.ok(receiver.spans.some((s) => s.traceId === exemplar[2] && s.spanId === exemplar[3] && s.kind === 'client'), 'the exemplar names an upstream CLIENT span that was exported');
});

test('the control plane traces each snapshot build and each push to a proxy, until its ACK; a push a build caused is its child', async () => {
  const isPush = (s: ReceivedSpan): boolean => s.service === 'mcpmux-control-plane' && s.name === 'snapshot push' && s.attributes['mcpmux.node.id'] === REPLICA;
  await until(() => receiver.spans.some(isPush), 'the first push span', 10_000);
  const first = receiver.spans.find(isPush)!;
  assert.is(first.kind, 'producer');
  assert.is(first.attributes['mcpmux.group'], 'team/gw');
  assert.type(first.attributes['mcpmux.snapshot.version'], 'string');
  assert.is(first.attributes['mcpmux.push.outcome'], 'ack');
  assert.is(first.resource['service.version'], MCPMUX_VERSION);
  // A change to the folder: a new version built, and pushed to the proxy within that build's trace.
  writeConfig('Traced tools.');
  await until(() => receiver.spans.some((s) => isPush(s) && s.attributes['mcpmux.snapshot.version'] !== first.attributes['mcpmux.snapshot.version']), 'the push of the new version', 10_000);
  const push = receiver.spans.find((s) => isPush(s) && s.attributes['mcpmux.snapshot.version'] !== first.attributes['mcpmux.snapshot.version'])!;
  const build = receiver.spans.find((s) => s.service === 'mcpmux-control-plane' && s.name === 'snapshot build' && s.spanId === push.parentSpanId);
  assert.ok(build, 'the push is a child of the build that made its version');
  assert.is(build.traceId, push.traceId);
  assert.equal(build.attributes['mcpmux.snapshot.changed'], [`team/gw@${String(push.attributes['mcpmux.snapshot.version'])}`]);
  assert.type(build.attributes['mcpmux.event_log.seq'], 'number');
  assert.is(push.attributes['mcpmux.push.outcome'], 'ack');
});

test('on SIGTERM a proxy flushes the spans its batch still holds, and exits 0', async () => {
  // A proxy of its own whose batches would wait a minute: only the shutdown's flush can send them.
  const [port, health] = [await freePort(), await freePort()];
  const late = startNode(
    'proxy-late',
    [CLI, 'proxy', '--control-plane', controlPlaneGrpc, '--port', String(port), '--http-port', String(health), '--replica-id', 'proxy-late', '--otlp-endpoint', receiver.url],
    { MCPMUX_LOG_LEVEL: 'warn', OTEL_BSP_SCHEDULE_DELAY: '60000' },
  );
  processes.push(late);
  await waitForHttpOk(`http://127.0.0.1:${health}/readyz`);
  const context = clientContext();
  const client = new Client({ name: 'late-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { traceparent: context.traceparent, authorization: `Bearer ${API_KEY}` } } }));
  await client.ping();
  await client.close();
  assert.not.ok(receiver.spans.some((s) => s.traceId === context.traceId), 'nothing exported before the shutdown');
  assert.is(await late.stop(), 0, late.output().split('\n').slice(-5).join('\n'));
  assert.ok(receiver.spans.some((s) => s.traceId === context.traceId && s.name === 'ping'), 'the batch was flushed on the way out');
});

test.run();
