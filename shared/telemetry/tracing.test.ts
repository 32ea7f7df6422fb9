import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../errors.ts';
import { activeSpanContext, otlpTracesUrl, printableUrl, tracingEnabled } from './tracing.ts';

test('--otlp-endpoint is a collector base URL: /v1/traces is appended unless it is already there', () => {
  assert.is(otlpTracesUrl('http://otel-collector:4318', {}), 'http://otel-collector:4318/v1/traces');
  assert.is(otlpTracesUrl('http://otel-collector:4318/', {}), 'http://otel-collector:4318/v1/traces');
  assert.is(otlpTracesUrl('https://tempo.example.com/otlp', {}), 'https://tempo.example.com/otlp/v1/traces');
  assert.is(otlpTracesUrl('http://jaeger:4318/v1/traces', {}), 'http://jaeger:4318/v1/traces');
});

test('without the flag, the standard OTEL_EXPORTER_OTLP_* variables; without any, tracing stays off', () => {
  assert.is(otlpTracesUrl('', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom/path' }), 'http://c:4318/custom/path', 'the traces endpoint is used as it is');
  assert.is(otlpTracesUrl('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'http://c:4318/v1/traces');
  assert.is(otlpTracesUrl('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces' }), 'http://traces:4318/v1/traces');
  assert.is(otlpTracesUrl('http://flag:4318', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' }), 'http://flag:4318/v1/traces', 'the flag wins');
  assert.is(otlpTracesUrl('', {}), undefined);
  assert.is(otlpTracesUrl(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), undefined);
});

test('an endpoint that is not an http(s) URL is a usage error naming where it came from', () => {
  for (const [flag, env, where] of [
    ['otel-collector:4318', {}, '--otlp-endpoint'],
    ['grpc://c:4317', {}, '--otlp-endpoint'],
    ['', { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
  ] as const) {
    try {
      otlpTracesUrl(flag, env);
      assert.unreachable(`${flag || JSON.stringify(env)} was taken`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_USAGE');
      assert.ok((error as Error).message.includes(where), (error as Error).message);
    }
  }
});

test('the endpoint as logs show it: no credentials, no query', () => {
  assert.is(printableUrl('https://user:s3cret@collector.example.com:4318/v1/traces?token=abc'), 'https://collector.example.com:4318/v1/traces');
});

test('with tracing off, log lines get no span ids (the mixin finds nothing)', () => {
  assert.is(tracingEnabled, false);
  assert.is(activeSpanContext(), undefined);
});

test.run();
