import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage, RawJsonResult } from './raw-result.ts';
import { rawToolResult, splicedToolCallParams } from './tool-call-frames.ts';

const call = (params: string): string => `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":${params}}`;

test('the upstream name is spliced into the client’s params, everything else as written', () => {
  const raw = call('{"name":"echo_echo","arguments":{"message":"hi \\"there\\"","n":[1, 2]}}');
  const params = splicedToolCallParams(raw, 'echo_echo', 'echo');
  assert.is(params, '{"name":"echo","arguments":{"message":"hi \\"there\\"","n":[1, 2]}}');
  assert.equal(JSON.parse(params!), { ...(JSON.parse(raw) as { params: object }).params, name: 'echo' });
});

test('duplicate keys at any level the gateway reads are never spliced: authorization and the upstream must see the same tool', () => {
  // JSON.parse keeps the last name (what authorization saw); a first-wins upstream would run the first.
  assert.is(splicedToolCallParams(call('{"name":"evil_rm","name":"echo_echo","arguments":{}}'), 'echo_echo', 'echo'), undefined);
  assert.is(splicedToolCallParams('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x_rm"},"params":{"name":"echo_echo"}}', 'echo_echo', 'echo'), undefined);
  // An escaped key is a `name` to a parser: not spliced either.
  assert.is(splicedToolCallParams(call('{"n\\u0061me":"evil_rm","name":"echo_echo"}'), 'echo_echo', 'echo'), undefined);
});

test('a name written with escapes, a _meta, or no name: parsed instead', () => {
  assert.is(splicedToolCallParams(call('{"name":"echo\\u005fecho"}'), 'echo_echo', 'echo'), undefined);
  assert.is(splicedToolCallParams(call('{"name":"echo_echo","_meta":{"progressToken":1}}'), 'echo_echo', 'echo'), undefined);
  assert.is(splicedToolCallParams(call('{"arguments":{}}'), 'echo_echo', 'echo'), undefined);
  assert.is(splicedToolCallParams(call('{"name":"other_tool"}'), 'echo_echo', 'echo'), undefined);
});

const plain = { contentUrisWrapped: false };
const prefixed = { contentUrisWrapped: true };

test('an answer with only jsonrpc, our id and a result keeps the result as text; isError is read', () => {
  const raw = rawToolResult('{"result":{"content":[{"type":"text","text":"m1"}],"isError":true},"jsonrpc":"2.0","id":12}', 12, plain);
  assert.ok(raw instanceof RawJsonResult);
  assert.is(raw.isError, true);
  assert.is(raw.json, '{"content":[{"type":"text","text":"m1"}],"isError":true}');
  const message = { jsonrpc: '2.0', id: 'client-1', result: raw };
  assert.is(encodeMessage(message), '{"jsonrpc":"2.0","id":"client-1","result":{"content":[{"type":"text","text":"m1"}],"isError":true}}');
  // Anything else that serialises it gets the same JSON.
  assert.equal(JSON.parse(JSON.stringify(message)), JSON.parse(encodeMessage(message)));
});

test('answers that are not exactly that are parsed: another id, more members, duplicates, trailing text, line breaks', () => {
  const result = '{"content":[]}';
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":13,"result":${result}}`, 12, plain), undefined);
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":"12","result":${result}}`, 12, plain), undefined);
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":12,"result":${result},"error":{}}`, 12, plain), undefined);
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":12,"id":12,"result":${result}}`, 12, plain), undefined);
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":12,"result":${result}} x`, 12, plain), undefined);
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":12,"result":{\n"content":[]}}`, 12, plain), undefined);
  assert.is(rawToolResult(`{"jsonrpc":"2.0","id":12,"result":{"isError":false,"isError":true}}`, 12, plain), undefined);
  assert.ok(rawToolResult(`{"jsonrpc":"2.0","id":12,"result":${result}} `, 12, plain));
});

test('results the gateway rewrites are parsed: task ids, related tasks, resource content of a prefixing backend', () => {
  assert.is(rawToolResult('{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"a"}}}', 1, plain), undefined);
  assert.is(rawToolResult('{"jsonrpc":"2.0","id":1,"result":{"content":[],"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"a"}}}}', 1, plain), undefined);
  const link = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"resource_link","uri":"file:///a","name":"a"}]}}';
  assert.is(rawToolResult(link, 1, prefixed), undefined);
  assert.ok(rawToolResult(link, 1, plain)); // unprefixed URIs go as they are
  assert.is(rawToolResult('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"res\\u006furce_link","uri":"x"}]}}', 1, prefixed), undefined);
  assert.ok(rawToolResult('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x"}],"_meta":{"k":1}}}', 1, prefixed));
});

test.run();
