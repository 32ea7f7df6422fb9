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

test('lastEventId: set when an event ends, with or without data (a priming event); not by an unfinished one', () => {
  const parser = new SseParser(() => undefined);
  assert.is(parser.lastEventId, undefined);
  parser.push('id: p1\n\n');
  assert.is(parser.lastEventId, 'p1', 'an id-only event moves the cursor');
  parser.push('id: p2\ndata: \n\n');
  assert.is(parser.lastEventId, 'p2');
  parser.push('id: p3\ndata: x');
  parser.end();
  assert.is(parser.lastEventId, 'p2', 'an event cut before its blank line is dropped, id and all');
});

test('retryMs: the last retry hint with only digits; kept across end() for a resumed stream', () => {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e));
  assert.is(parser.retryMs, undefined);
  parser.push('id: a\nretry: 500\ndata: \n\n');
  assert.is(parser.retryMs, 500);
  parser.push('retry: 1.5\n\nretry: -1\n\n');
  assert.is(parser.retryMs, 500, 'not a number of milliseconds: ignored');
  parser.push('retry: 20\n\n');
  parser.end();
  assert.is(parser.retryMs, 20);
  parser.push('\ndata: more\n\n');
  assert.equal(events.map((e) => [e.id, e.data]), [['a', ''], ['a', 'more']], 'a retry-only block is not an event; the next stream goes on');
  assert.is(parser.lastEventId, 'a');
});

test.run();
