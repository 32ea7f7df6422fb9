// The proxy's span helpers against a real SDK (in memory): parents from _meta or headers, names and
// attributes after the MCP semantic conventions, the context upstreams are sent, outcomes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { McpmuxError } from '../shared/errors.ts';
import { endSpan, startClientSpan, startServerSpan, upstreamTrace, withTraceMeta } from './tracing.ts';
import type { CompiledTarget } from './routing/table.ts';
import type { UpstreamConnection } from './upstream/connection.ts';

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const HEADER = { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=1' };
const META_TRACE = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const META_SPAN = 'bbbbbbbbbbbbbbbb';

const target = { name: 'weather', stdio: undefined } as unknown as CompiledTarget;
const upstream = { endpoint: { url: 'http://10.0.0.7:8080/mcp', origin: 'http://10.0.0.7:8080', path: '/mcp' }, initializeResult: { protocolVersion: '2025-11-25' } } as unknown as UpstreamConnection;

function finished(name: string) {
  const span = exporter.getFinishedSpans().find((s) => s.name === name);
  assert.ok(span, `no span ${name} in ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
  return span!;
}

test.before.each(() => exporter.reset());

test('a tools/call continues the HTTP traceparent: SERVER span named for the tool, with the semconv attributes', () => {
  const server = startServerSpan(
    { method: 'tools/call', id: 7, params: { name: 'weather_forecast', arguments: { city: 'Paris' } } },
    { protocolVersion: '2025-11-25', sessionId: 'session-1', route: 'mcp-route', headers: HEADER },
  );
  endSpan(server, { result: { content: [] } });
  const span = finished('tools/call weather_forecast');
  assert.is(span.kind, SpanKind.SERVER);
  assert.is(span.spanContext().traceId, CLIENT_TRACE);
  assert.is(span.parentSpanContext?.spanId, CLIENT_SPAN);
  assert.is(span.spanContext().traceState?.get('vendor'), '1');
  assert.equal(span.attributes, {
    'mcp.method.name': 'tools/call',
    'jsonrpc.request.id': '7',
    'network.transport': 'tcp',
    'network.protocol.name': 'http',
    'mcp.protocol.version': '2025-11-25',
    'mcp.session.id': 'session-1',
    'mcpmux.route': 'mcp-route',
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'weather_forecast',
  });
  assert.is(span.status.code, SpanStatusCode.UNSET);
});

test('params._meta wins over the header as the parent; the header context is linked', () => {
  const server = startServerSpan(
    { method: 'tools/list', id: 'a', params: { _meta: { traceparent: `00-${META_TRACE}-${META_SPAN}-01` } } },
    { protocolVersion: '2026-07-28', headers: HEADER },
  );
  endSpan(server, { result: { tools: [] } });
  const span = finished('tools/list');
  assert.is(span.spanContext().traceId, META_TRACE);
  assert.is(span.parentSpanContext?.spanId, META_SPAN);
  assert.is(span.links[0]?.context.spanId, CLIENT_SPAN);
  assert.not.ok('mcp.session.id' in span.attributes, '2026-07-28 requests have no session');
});

test('without any trace context the request starts a trace of its own', () => {
  endSpan(startServerSpan({ method: 'ping', id: 1 }, { protocolVersion: undefined }), { result: {} });
  const span = finished('ping');
  assert.is(span.parentSpanContext, undefined);
  assert.ok(trace.isSpanContextValid(span.spanContext()));
});

test('an upstream request: CLIENT child named for the upstream tool, HTTP attributes, and its own context sent upstream', () => {
  const server = startServerSpan({ method: 'tools/call', id: 1, params: { name: 'weather_forecast' } }, { protocolVersion: '2025-11-25', headers: HEADER });
  const client = startClientSpan(server, target, 'tools/call', { name: 'forecast', arguments: { city: 'Paris' } });
  const headers = upstreamTrace(client, upstream, target);
  endSpan(client, { result: { content: [] } });
  endSpan(server, { result: { content: [] } });
  const span = finished('tools/call forecast');
  assert.is(span.kind, SpanKind.CLIENT);
  assert.is(span.parentSpanContext?.spanId, server.span.spanContext().spanId);
  assert.is(headers.traceparent, `00-${CLIENT_TRACE}-${span.spanContext().spanId}-01`, 'the upstream is told the client span, not the client');
  assert.is(headers.tracestate, 'vendor=1');
  assert.equal(span.attributes, {
    'mcp.method.name': 'tools/call',
    'mcpmux.target': 'weather',
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'forecast',
    'mcp.protocol.version': '2025-11-25',
    'network.transport': 'tcp',
    'network.protocol.name': 'http',
    'http.request.method': 'POST',
    'server.address': '10.0.0.7',
    'server.port': 8080,
    'url.full': 'http://10.0.0.7:8080/mcp',
  });
});

test('a list to one target of a fan-out is named for the target', () => {
  const server = startServerSpan({ method: 'tools/list', id: 1 }, { protocolVersion: '2025-11-25' });
  endSpan(startClientSpan(server, target, 'tools/list', undefined), { result: { tools: [] } });
  assert.is(finished('tools/list weather').attributes['mcpmux.target'], 'weather');
});

test('failures: a JSON-RPC error is its code, a tool error is tool_error, a throw is our error code; never a message', () => {
  const server = startServerSpan({ method: 'tools/call', id: 1, params: { name: 'a' } }, { protocolVersion: '2025-11-25' });
  endSpan(startClientSpan(server, target, 'tools/call', { name: 'rpc' }), { error: { code: -32602 } });
  endSpan(startClientSpan(server, target, 'tools/call', { name: 'tool' }), { result: { isError: true, content: [{ type: 'text', text: 'secret in a message' }] } });
  endSpan(startClientSpan(server, target, 'tools/call', { name: 'timeout' }), { thrown: new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', 'target weather did not answer: secret-ish detail') });
  endSpan(server, { result: {} });
  const rpc = finished('tools/call rpc');
  assert.is(rpc.attributes['error.type'], '-32602');
  assert.is(rpc.attributes['rpc.jsonrpc.error_code'], -32602);
  assert.is(rpc.attributes['rpc.response.status_code'], '-32602');
  assert.is(rpc.status.code, SpanStatusCode.ERROR);
  assert.is(finished('tools/call tool').attributes['error.type'], 'tool_error');
  const timeout = finished('tools/call timeout');
  assert.is(timeout.attributes['error.type'], 'MCPMUX_UPSTREAM_TIMEOUT');
  for (const span of exporter.getFinishedSpans()) {
    assert.is(span.status.message, undefined, 'no message in a status');
    assert.is(span.events.length, 0, 'no exception events');
  }
});

test('withTraceMeta replaces the trace context a client put in _meta, and leaves other params alone', () => {
  const ours = { traceparent: `00-${CLIENT_TRACE}-1111111111111111-01` };
  const params = { name: 'x', _meta: { traceparent: 'theirs', tracestate: 'theirs=1', progressToken: 5, 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } };
  assert.equal(withTraceMeta(params, ours), { name: 'x', _meta: { progressToken: 5, 'io.modelcontextprotocol/protocolVersion': '2026-07-28', traceparent: ours.traceparent } });
  assert.is(params._meta.traceparent, 'theirs', 'the client\'s params are not changed in place');
  const plain = { name: 'x', _meta: { progressToken: 5 } };
  assert.is(withTraceMeta(plain, ours), plain);
  assert.is(withTraceMeta(undefined, ours), undefined);
});

test('a runaway tool name is cut in the span name', () => {
  endSpan(startServerSpan({ method: 'tools/call', id: 1, params: { name: 'x'.repeat(5000) } }, { protocolVersion: undefined }), { result: {} });
  const span = exporter.getFinishedSpans()[0]!;
  assert.ok(span.name.length <= 'tools/call '.length + 200, String(span.name.length));
});

test.run();
