import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SseParser, type SseEvent } from './sse.ts';

function parse(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

test('one event as server-everything sends it', () => {
  assert.equal(parse(['event: message\nid: 1\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n']), [
    { event: 'message', id: '1', data: '{"jsonrpc":"2.0","id":1,"result":{}}' },
  ]);
});

test('split anywhere, including between \\r and \\n', () => {
  const text = 'data: a\r\n\r\ndata: b\r\n\r\n';
  for (let i = 0; i <= text.length; i++) {
    assert.equal(parse([text.slice(0, i), text.slice(i)]).map((e) => e.data), ['a', 'b'], `split at ${i}`);
  }
});

test('multi-line data joins with \\n; comments, retry and unknown fields are ignored', () => {
  assert.equal(parse([': keep-alive\nretry: 10\nfoo: bar\ndata: line1\ndata:line2\n\n']), [{ event: 'message', id: undefined, data: 'line1\nline2' }]);
});

test('an event without data is not dispatched; a trailing event without blank line is dropped', () => {
  assert.equal(parse(['event: ping\n\n', 'data: x']), []);
});

test('lone \\r line endings', () => {
  assert.equal(parse(['data: a\r\rdata: b\r\r']).map((e) => e.data), ['a', 'b']);
});

test('the id persists to later events', () => {
  assert.equal(parse(['id: 7\ndata: a\n\ndata: b\n\n']).map((e) => e.id), ['7', '7']);
});

test.run();
