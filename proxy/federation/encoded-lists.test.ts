// A merged list joined from pre-encoded items is byte for byte what JSON.stringify writes for the
// merged objects, in the response envelope too: prefixed and not, filtered per caller and by the
// backend, with a composite cursor, for every kind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage, preEncodedText } from '../../shared/pre-encoded-json.ts';
import type { ListKind } from './cursor.ts';
import { encodeItems, mergeEncoded } from './encoded-lists.ts';
import { mergePages, type TargetPage } from './lists.ts';
import { bothFilters, compileToolFilter, type ToolFilter } from './tool-filter.ts';

const TOOLS: TargetPage[] = [
  {
    target: 'alpha',
    items: [
      { description: 'first "quoted" \u2028 text', name: 'echo', inputSchema: { type: 'object', properties: { s: { type: 'string' } } } },
      { name: 'sum', annotations: { readOnlyHint: true }, extra: undefined },
      { nope: 1 },
      null,
    ],
    nextCursor: 'alpha-2',
  },
  { target: 'beta', items: [{ name: 'fetch', title: 'Fetch ✓' }, { name: 'echo', inputSchema: { type: 'object' } }], nextCursor: undefined },
  { target: 'gamma', items: [], nextCursor: 'g/7' },
];

/** What a caller may use: only beta's tools (an authorization rule by target) and no tool named *sum. */
const access: ToolFilter = { allows: (_name, target) => target === 'beta' || target === 'alpha' };
const backendFilter = compileToolFilter([], ['*sum']);

function same(kind: ListKind, prefixed: boolean, pages: TargetPage[], filter?: ToolFilter, preEncode = false): void {
  const expected = mergePages(kind, prefixed, pages, filter);
  const withEncoded = preEncode ? pages.map((p) => ({ ...p, encoded: encodeItems(kind, prefixed, p) })) : pages;
  const encoded = mergeEncoded(kind, prefixed, withEncoded, filter);
  assert.ok(preEncodedText(encoded) !== undefined);
  const envelope = { jsonrpc: '2.0', id: 'req-1', result: expected };
  assert.is(encodeMessage({ jsonrpc: '2.0', id: 'req-1', result: encoded }), JSON.stringify(envelope));
  // Anything that serialises or reads it without knowing gets the same.
  assert.is(JSON.stringify({ jsonrpc: '2.0', id: 7, result: encoded }), JSON.stringify({ jsonrpc: '2.0', id: 7, result: expected }));
  assert.equal({ ...encoded }, JSON.parse(JSON.stringify(expected)));
}

test('tools: prefixed and unprefixed, with and without filters, with a composite cursor', () => {
  for (const prefixed of [true, false]) {
    for (const filter of [undefined, backendFilter, access, bothFilters(backendFilter, access)]) {
      same('tools', prefixed, TOOLS, filter);
      same('tools', prefixed, TOOLS, filter, true);
    }
  }
});

test('an authorization filter that hides a whole target leaves none of its items', () => {
  const onlyBeta: ToolFilter = { allows: (_name, target) => target === 'beta' };
  same('tools', true, TOOLS, onlyBeta, true);
  const text = preEncodedText(mergeEncoded('tools', true, TOOLS, onlyBeta)) ?? '';
  assert.not.ok(text.includes('alpha_'));
});

test('prompts, resources and templates; an empty list; no cursor', () => {
  same('prompts', true, [{ target: 't', items: [{ name: 'p', arguments: [{ name: 'x', required: true }] }], nextCursor: undefined }], undefined, true);
  same('resources', true, [{ target: 't', items: [{ uri: 'demo://r', name: 'r', mimeType: 'text/plain' }], nextCursor: 'c' }], undefined, true);
  same('resources', false, [{ target: 't', items: [{ uri: 'demo://r', name: 'r' }], nextCursor: undefined }]);
  same('resourceTemplates', true, [{ target: 't', items: [{ uriTemplate: 'demo://{id}', name: 'tpl' }], nextCursor: undefined }], undefined, true);
  same('tools', true, [], undefined);
});

test('the splice is used only when result is the last key; other messages are JSON.stringify', () => {
  const result = mergeEncoded('tools', true, TOOLS);
  const reordered = { result, jsonrpc: '2.0', id: 1 };
  assert.is(encodeMessage(reordered), JSON.stringify(reordered));
  assert.is(encodeMessage({ jsonrpc: '2.0', id: 1, result: { tools: [] } }), '{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}');
  assert.is(encodeMessage({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }), '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}');
  assert.is(encodeMessage({ result }), JSON.stringify({ result: mergePages('tools', true, TOOLS) }));
});

test.run();
