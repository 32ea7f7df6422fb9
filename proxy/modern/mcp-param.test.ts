import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../../shared/errors.ts';
import type { HeaderLookup } from './envelope.ts';
import { checkMcpParamHeaders, mcpParamDeclarations, mcpParamHeaders, type McpParamDeclaration } from './mcp-param.ts';

function lookup(headers: Record<string, string>): HeaderLookup {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower[name];
}

function declarations(schema: unknown): readonly McpParamDeclaration[] {
  const result = mcpParamDeclarations(schema);
  if ('error' in result) throw new Error(`unexpected error: ${result.error}`);
  return result.ok;
}

const REGION = { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, query: { type: 'string' } } };

// ---- declarations ----

test('a valid schema: its declarations in order, nested ones with their path', () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      limit: { type: 'integer', 'x-mcp-header': 'Limit' },
      dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
      target: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone_1' } } },
      plain: { type: 'string' },
    },
  };
  assert.equal(declarations(schema), [
    { header: 'Region', path: ['region'], type: 'string' },
    { header: 'Limit', path: ['limit'], type: 'integer' },
    { header: 'Dry-Run', path: ['dry'], type: 'boolean' },
    { header: 'Zone_1', path: ['target', 'zone'], type: 'string' },
  ]);
});

const noDeclarations: Array<[string, unknown]> = [
  ['no annotation', { type: 'object', properties: { a: { type: 'string' } } }],
  ['no properties', { type: 'object' }],
  ['not an object', 'string'],
  ['null', null],
  ['an annotation-looking value in a default (data, not schema)', { type: 'object', properties: { a: { type: 'object', default: { 'x-mcp-header': 'X' } } } }],
];
for (const [what, schema] of noDeclarations) test(`no declarations: ${what}`, () => assert.equal(declarations(schema), []));

const invalid: Array<[string, unknown, string]> = [
  ['on the root', { type: 'object', 'x-mcp-header': 'Root' }, 'properties'],
  ['under items', { type: 'object', properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } }, 'properties'],
  ['under items.properties', { type: 'object', properties: { list: { type: 'array', items: { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'A' } } } } } }, 'properties'],
  ['under additionalProperties', { type: 'object', additionalProperties: { type: 'string', 'x-mcp-header': 'Extra' } }, 'properties'],
  ['under anyOf', { type: 'object', properties: { a: { anyOf: [{ type: 'string', 'x-mcp-header': 'A' }] } } }, 'properties'],
  ['under oneOf at the root', { type: 'object', oneOf: [{ properties: { a: { type: 'string', 'x-mcp-header': 'A' } } }] }, 'properties'],
  ['under if/then', { type: 'object', if: { properties: { a: { type: 'string' } } }, then: { properties: { a: { type: 'string', 'x-mcp-header': 'A' } } } }, 'properties'],
  ['under $defs', { type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { type: 'string', 'x-mcp-header': 'A' } } }, 'properties'],
  ['under patternProperties', { type: 'object', patternProperties: { '^a': { type: 'string', 'x-mcp-header': 'A' } } }, 'properties'],
  ['on a $ref property (no type)', { type: 'object', properties: { a: { $ref: '#/$defs/a', 'x-mcp-header': 'A' } } }, 'string, integer or boolean'],
  ['on a number', { type: 'object', properties: { a: { type: 'number', 'x-mcp-header': 'A' } } }, 'string, integer or boolean'],
  ['on an object', { type: 'object', properties: { a: { type: 'object', 'x-mcp-header': 'A' } } }, 'string, integer or boolean'],
  ['on an array', { type: 'object', properties: { a: { type: 'array', 'x-mcp-header': 'A' } } }, 'string, integer or boolean'],
  ['on null', { type: 'object', properties: { a: { type: 'null', 'x-mcp-header': 'A' } } }, 'string, integer or boolean'],
  ['on a type union', { type: 'object', properties: { a: { type: ['string', 'null'], 'x-mcp-header': 'A' } } }, 'string, integer or boolean'],
  ['empty', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': '' } } }, 'non-empty'],
  ['not a string', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 7 } } }, 'non-empty'],
  ['with a space', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'My Region' } } }, 'token'],
  ['with a colon', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Region:' } } }, 'token'],
  ['non-ASCII', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Régión' } } }, 'token'],
  ['with a control character', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Re\ngion' } } }, 'token'],
  ['duplicate, same case', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'R' }, b: { type: 'string', 'x-mcp-header': 'R' } } }, 'repeats'],
  ['duplicate, other case', { type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Region' }, b: { type: 'object', properties: { c: { type: 'integer', 'x-mcp-header': 'REGION' } } } } }, 'repeats "Region"'],
];
for (const [what, schema, message] of invalid) {
  test(`invalid x-mcp-header: ${what}`, () => {
    const result = mcpParamDeclarations(schema);
    assert.ok('error' in result, JSON.stringify(result));
    if ('error' in result) assert.match(result.error, message);
  });
}

test('deep and cyclic schemas neither overflow the stack nor loop', () => {
  let deep: Record<string, unknown> = { type: 'string', 'x-mcp-header': 'Deep' };
  for (let i = 0; i < 20_000; i++) deep = { type: 'object', properties: { p: deep } };
  const found = declarations(deep);
  assert.is(found.length, 1);
  assert.is(found[0]!.path.length, 20_000);
  const cyclic: Record<string, unknown> = { type: 'object', properties: {} };
  (cyclic['properties'] as Record<string, unknown>)['self'] = cyclic;
  assert.equal(declarations(cyclic), []);
});

// ---- inbound check ----

function mismatch(run: () => void, header: string): void {
  try {
    run();
    assert.unreachable('accepted');
  } catch (error) {
    if (!(error instanceof McpmuxError)) throw error;
    assert.is(error.code, 'MCPMUX_HEADER_MISMATCH');
    assert.is(error.jsonRpcCode, -32020);
    assert.is(error.httpStatus, 400);
    assert.match(error.message, header);
  }
}

const regionDecl = declarations(REGION);
const accepted: Array<[string, unknown, Record<string, string>]> = [
  ['a plain value', { region: 'us-west1' }, { 'Mcp-Param-Region': 'us-west1' }],
  ['=?base64?SGVsbG8=?= for Hello', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8=?=' }],
  ['header name in any case', { region: 'x' }, { 'MCP-PARAM-REGION': 'x' }],
  ['OWS around the value', { region: 'x' }, { 'Mcp-Param-Region': '  x\t' }],
  ['no value, no header', {}, {}],
  ['null value, no header', { region: null }, {}],
  ['no arguments at all', undefined, {}],
  ['an undeclared Mcp-Param header is not ours to judge', { region: 'x' }, { 'Mcp-Param-Region': 'x', 'Mcp-Param-Other': 'y' }],
];
for (const [what, args, headers] of accepted) test(`Mcp-Param accepted: ${what}`, () => checkMcpParamHeaders(regionDecl, args, lookup(headers)));

const rejected: Array<[string, unknown, Record<string, string>]> = [
  ['missing header with a body value', { region: 'Hello' }, {}],
  ['another value', { region: 'Hello' }, { 'Mcp-Param-Region': 'World' }],
  ['case differs', { region: 'Hello' }, { 'Mcp-Param-Region': 'hello' }],
  ['bad padding =?base64?SGVsbG8?=', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8?=' }],
  ['bad characters =?base64?SGVs!!!bG8=?=', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVs!!!bG8=?=' }],
  ['a literal half sentinel is compared as is', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8=' }],
  ['a header with no value in the body', {}, { 'Mcp-Param-Region': 'us-west1' }],
  ['a header for a null value', { region: null }, { 'Mcp-Param-Region': 'null' }],
  ['a header for an object value', { region: { a: 1 } }, { 'Mcp-Param-Region': '[object Object]' }],
];
for (const [what, args, headers] of rejected) test(`Mcp-Param rejected: ${what}`, () => mismatch(() => checkMcpParamHeaders(regionDecl, args, lookup(headers)), 'Mcp-Param-Region'));

const typed = declarations({
  type: 'object',
  properties: { n: { type: 'integer', 'x-mcp-header': 'N' }, b: { type: 'boolean', 'x-mcp-header': 'B' }, deep: { type: 'object', properties: { s: { type: 'string', 'x-mcp-header': 'S' } } } },
});

test('integers compare numerically, booleans lowercase, nested paths resolve', () => {
  checkMcpParamHeaders(typed, { n: 42, b: false, deep: { s: 'ü' } }, lookup({ 'mcp-param-n': '42.0', 'mcp-param-b': 'false', 'mcp-param-s': '=?base64?w7w=?=' }));
  checkMcpParamHeaders(typed, { n: -7 }, lookup({ 'mcp-param-n': '-7' }));
  mismatch(() => checkMcpParamHeaders(typed, { n: 42 }, lookup({ 'mcp-param-n': '43' })), 'Mcp-Param-N');
  mismatch(() => checkMcpParamHeaders(typed, { n: 42 }, lookup({ 'mcp-param-n': '0x2a' })), 'Mcp-Param-N');
  mismatch(() => checkMcpParamHeaders(typed, { b: true }, lookup({ 'mcp-param-b': 'True' })), 'Mcp-Param-B');
  mismatch(() => checkMcpParamHeaders(typed, { deep: { s: 'ü' } }, lookup({ 'mcp-param-s': 'ü' })), 'Mcp-Param-S');
});

test('prototype keys in the path never reach Object.prototype', () => {
  const proto = declarations(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"object","properties":{"toString":{"type":"string","x-mcp-header":"T"}}}}}'));
  assert.equal(proto[0]!.path, ['__proto__', 'toString']);
  checkMcpParamHeaders(proto, {}, lookup({}));
  assert.equal(mcpParamHeaders(proto, {}), {});
  checkMcpParamHeaders(proto, JSON.parse('{"__proto__":{"toString":"x"}}'), lookup({ 'mcp-param-t': 'x' }));
});

// ---- outbound headers ----

test('headers for an upstream: lowercase names, encoded values, none for absent or unrepresentable values', () => {
  assert.equal(mcpParamHeaders(typed, { n: 3, b: true, deep: { s: ' padded ' } }), { 'mcp-param-n': '3', 'mcp-param-b': 'true', 'mcp-param-s': '=?base64?IHBhZGRlZCA=?=' });
  assert.equal(mcpParamHeaders(typed, { n: null, b: 'yes' }), { 'mcp-param-b': 'yes' });
  assert.equal(mcpParamHeaders(typed, { n: 2 ** 60 }), {});
  assert.equal(mcpParamHeaders(typed, 'not an object'), {});
});

test('what the gateway sends upstream always passes the inbound check', () => {
  const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.integer(), fc.boolean(), fc.double(), fc.constant(null), fc.constant(undefined));
  fc.assert(
    fc.property(fc.record({ n: value, b: value, deep: fc.oneof(fc.record({ s: value }), value) }, { requiredKeys: [] }), (args) => {
      checkMcpParamHeaders(typed, args, lookup(mcpParamHeaders(typed, args)));
    }),
    { numRuns: 3000 },
  );
});

test.run();
