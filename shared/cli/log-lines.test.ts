import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { humanizeLogLine } from './log-lines.ts';

test('pino lines become level, message and fields', () => {
  const line = JSON.stringify({ level: 40, time: 1, pid: 2, hostname: 'h', component: 'proxy', name: 'proxy', msg: 'stream lost', reason: 'connect ECONNREFUSED', retryInMs: 70 });
  assert.is(humanizeLogLine(line), 'WARN  stream lost reason="connect ECONNREFUSED" retryInMs=70');
});

test('other lines pass through unchanged', () => {
  assert.is(humanizeLogLine('MCP Streamable HTTP Server listening on port 3001'), 'MCP Streamable HTTP Server listening on port 3001');
  assert.is(humanizeLogLine('{not json'), '{not json');
  assert.is(humanizeLogLine('{"a":1}'), '{"a":1}');
});

test.run();
