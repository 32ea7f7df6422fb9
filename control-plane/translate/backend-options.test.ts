import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import { MAX_INSTRUCTIONS_LENGTH, MAX_TOOL_GLOB_LENGTH, parseGlobList, parsePrefixMode, readBackendOptions, toolGlobProblem, type BackendOptions } from './backend-options.ts';

const mcpBackend = (spec: unknown, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'mcpmux.dev/v1alpha1',
  kind: 'MCPBackend',
  metadata: { name: 'b', namespace: 'ns', ...(annotations ? { annotations } : {}) },
  spec: { targets: [], ...(spec as object) },
});
const agwBackend = (annotations: Record<string, string>, spec: unknown = {}): KubeObject => ({
  apiVersion: 'agentgateway.dev/v1alpha1',
  kind: 'AgentgatewayBackend',
  metadata: { name: 'b', namespace: 'ns', annotations },
  spec: { mcp: { targets: [] }, ...(spec as object) },
});

function options(object: KubeObject): BackendOptions {
  const read = readBackendOptions(object);
  if (typeof read === 'string') throw new Error(read);
  return read;
}

test('toolGlobProblem: tool name characters (SEP-986) and the wildcards * and ?', () => {
  const table: Array<[string, RegExp | undefined]> = [
    ['echo', undefined],
    ['mcp-server-everything-3001_get-sum', undefined],
    ['*', undefined],
    ['fetch?', undefined],
    ['admin.tools/list_*', undefined],
    ['DATA_EXPORT_v2', undefined],
    ['', /must not be empty/],
    [' echo', /not a tool name glob/],
    ['get sum', /not a tool name glob/],
    ['a,b', /not a tool name glob/],
    ['[abc]', /not a tool name glob/],
    ['{a,b}', /not a tool name glob/],
    ['ns:tool', /not a tool name glob/],
    ['é', /not a tool name glob/],
    ['x'.repeat(MAX_TOOL_GLOB_LENGTH), undefined],
    ['x'.repeat(MAX_TOOL_GLOB_LENGTH + 1), /at most 256/],
  ];
  for (const [glob, expected] of table) {
    const problem = toolGlobProblem(glob);
    if (expected) assert.match(problem ?? '(accepted)', expected, glob);
    else assert.is(problem, undefined, glob);
  }
});

test('parsePrefixMode: always, conditional, never, any case', () => {
  const table: Array<[string, string | undefined]> = [
    ['always', 'PREFIX_MODE_ALWAYS'], ['Conditional', 'PREFIX_MODE_CONDITIONAL'], [' NEVER ', 'PREFIX_MODE_NEVER'],
    ['conflict', undefined], ['', undefined], ['toString', undefined],
  ];
  for (const [input, expected] of table) assert.is(parsePrefixMode(input), expected, input);
});

test('parseGlobList: comma-separated, trimmed, sorted, deduplicated; blank is the empty list', () => {
  const table: Array<[string, string[] | RegExp]> = [
    ['echo', ['echo']],
    [' get-sum , echo,echo ', ['echo', 'get-sum']],
    ['b_*,a_*', ['a_*', 'b_*']],
    ['', []],
    ['   ', []],
    ['echo,', /item 2: a glob must not be empty/],
    [',echo', /item 1: a glob must not be empty/],
    ['echo,get sum', /item 2: "get sum" is not a tool name glob/],
  ];
  for (const [input, expected] of table) {
    const read = parseGlobList(input, 'annotation x');
    if (expected instanceof RegExp) {
      assert.type(read, 'string', input);
      assert.match(read as string, /^annotation x: /);
      assert.match(read as string, expected);
    } else {
      assert.equal(read, expected, input);
    }
  }
});

test('defaults: always, no filters, no serverInfo, no instructions', () => {
  const expected: BackendOptions = { prefixMode: 'PREFIX_MODE_ALWAYS', toolInclude: [], toolExclude: [], serverInfo: null, instructions: '' };
  assert.equal(options(mcpBackend({})), expected);
  assert.equal(options(agwBackend({})), expected);
});

test('MCPBackend spec: every field, globs sorted and deduplicated, text trimmed', () => {
  const read = options(mcpBackend({
    prefixMode: 'never',
    tools: { include: ['b_*', 'a_?', 'b_*'], exclude: ['a_delete'] },
    serverInfo: { name: ' Weather ', version: '1.0' },
    instructions: '\nUse the forecast tools.\n',
  }));
  assert.equal(read, {
    prefixMode: 'PREFIX_MODE_NEVER',
    toolInclude: ['a_?', 'b_*'],
    toolExclude: ['a_delete'],
    serverInfo: { name: 'Weather', version: '1.0' },
    instructions: 'Use the forecast tools.',
  });
  assert.equal(options(mcpBackend({ serverInfo: { name: 'Weather' } })).serverInfo, { name: 'Weather', version: '' });
  assert.equal(options(mcpBackend({ serverInfo: { name: 'Weather', version: '' } })).serverInfo, { name: 'Weather', version: '' });
  // YAML's "field:" with nothing after it is null: as if absent.
  assert.equal(options(mcpBackend({ tools: { include: null }, serverInfo: null, instructions: null })).toolInclude, []);
});

test('the order of globs never changes the options (and so never the version)', () => {
  const a = options(mcpBackend({ tools: { include: ['x_*', 'a', 'm?'], exclude: ['z', 'y'] } }));
  const b = options(mcpBackend({ tools: { include: ['m?', 'x_*', 'a', 'a'], exclude: ['y', 'z'] } }));
  const c = options(agwBackend({ 'mcpmux.dev/tool-include': 'a,m?,x_*', 'mcpmux.dev/tool-exclude': 'z,y' }));
  assert.equal(a, b);
  assert.equal(a, c);
});

test('annotations work on an AgentgatewayBackend, whose spec fields are not read', () => {
  const read = options(agwBackend(
    {
      'mcpmux.dev/prefix-mode': 'Conditional',
      'mcpmux.dev/tool-include': 'echo, fetch',
      'mcpmux.dev/tool-exclude': '*long*',
      'mcpmux.dev/server-name': 'tutorial',
      'mcpmux.dev/server-version': '0.9',
      'mcpmux.dev/instructions': 'Fetch web pages with fetch.',
    },
    // Not an AgentgatewayBackend field: ignored, as agentgateway itself would.
    { prefixMode: 'never', tools: { include: ['nothing'] } },
  ));
  assert.equal(read, {
    prefixMode: 'PREFIX_MODE_CONDITIONAL',
    toolInclude: ['echo', 'fetch'],
    toolExclude: ['*long*'],
    serverInfo: { name: 'tutorial', version: '0.9' },
    instructions: 'Fetch web pages with fetch.',
  });
});

test('an annotation wins over the spec field, and an empty one clears it', () => {
  const spec = { prefixMode: 'never', tools: { include: ['a'], exclude: ['b'] }, serverInfo: { name: 'n', version: '1' }, instructions: 'spec' };
  const table: Array<[Record<string, string>, Partial<BackendOptions>]> = [
    [{ 'mcpmux.dev/prefix-mode': 'always' }, { prefixMode: 'PREFIX_MODE_ALWAYS' }],
    [{ 'mcpmux.dev/tool-include': 'c,d' }, { toolInclude: ['c', 'd'] }],
    [{ 'mcpmux.dev/tool-include': '' }, { toolInclude: [] }],
    [{ 'mcpmux.dev/tool-exclude': '' }, { toolExclude: [] }],
    [{ 'mcpmux.dev/server-name': 'other' }, { serverInfo: { name: 'other', version: '1' } }],
    [{ 'mcpmux.dev/server-version': '2' }, { serverInfo: { name: 'n', version: '2' } }],
    [{ 'mcpmux.dev/server-version': '' }, { serverInfo: { name: 'n', version: '' } }],
    [{ 'mcpmux.dev/server-name': '', 'mcpmux.dev/server-version': '' }, { serverInfo: null }],
    [{ 'mcpmux.dev/instructions': 'annotation' }, { instructions: 'annotation' }],
    [{ 'mcpmux.dev/instructions': '' }, { instructions: '' }],
  ];
  const base = options(mcpBackend(spec));
  for (const [annotations, changed] of table) {
    assert.equal(options(mcpBackend(spec, annotations)), { ...base, ...changed }, JSON.stringify(annotations));
  }
});

test('invalid values reject the backend and name the field', () => {
  const long = 'x'.repeat(MAX_INSTRUCTIONS_LENGTH + 1);
  const table: Array<[KubeObject, RegExp]> = [
    [mcpBackend({ prefixMode: 'sometimes' }), /^spec.prefixMode must be always, conditional or never$/],
    [mcpBackend({ prefixMode: 3 }), /^spec.prefixMode must be/],
    [mcpBackend({ tools: ['a'] }), /^spec.tools must be a mapping/],
    [mcpBackend({ tools: { exlcude: ['a'] } }), /^spec.tools.exlcude is not a field \(include, exclude\)$/],
    [mcpBackend({ tools: { include: 'a,b' } }), /^spec.tools.include must be a list of tool name globs$/],
    [mcpBackend({ tools: { include: ['a', 7] } }), /^spec.tools.include\[1\] must be a string$/],
    [mcpBackend({ tools: { exclude: [''] } }), /^spec.tools.exclude\[0\]: a glob must not be empty$/],
    [mcpBackend({ tools: { exclude: ['a b'] } }), /^spec.tools.exclude\[0\]: "a b" is not a tool name glob/],
    [mcpBackend({ serverInfo: 'weather' }), /^spec.serverInfo must be a mapping/],
    [mcpBackend({ serverInfo: { name: 'w', title: 'W' } }), /^spec.serverInfo.title is not a field \(name, version\)$/],
    [mcpBackend({ serverInfo: { name: 'w', version: 1 } }), /^spec.serverInfo.version must be a string \(quote values like "1.0"\)$/],
    [mcpBackend({ serverInfo: { name: '  ' } }), /^spec.serverInfo.name must not be empty$/],
    [mcpBackend({ serverInfo: { name: 'a\nb' } }), /^spec.serverInfo.name must be one line/],
    [mcpBackend({ serverInfo: { name: 'x'.repeat(257) } }), /^spec.serverInfo.name is at most 256 characters$/],
    [mcpBackend({ serverInfo: { version: '1.0' } }), /^serverInfo version "1.0" needs a name/],
    [mcpBackend({ instructions: ['a'] }), /^spec.instructions must be a string$/],
    [mcpBackend({ instructions: long }), /^spec.instructions is at most 65536 characters$/],
    [agwBackend({ 'mcpmux.dev/prefix-mode': '' }), /^annotation mcpmux.dev\/prefix-mode must be always, conditional or never$/],
    [agwBackend({ 'mcpmux.dev/tool-include': 'echo;rm' }), /^annotation mcpmux.dev\/tool-include: item 1: "echo;rm" is not a tool name glob/],
    [agwBackend({ 'mcpmux.dev/tool-exclude': 'a,,b' }), /^annotation mcpmux.dev\/tool-exclude: item 2: a glob must not be empty$/],
    [agwBackend({ 'mcpmux.dev/server-name': 'a\tb' }), /^annotation mcpmux.dev\/server-name must be one line/],
    [agwBackend({ 'mcpmux.dev/server-version': '1' }), /needs a name \(spec.serverInfo.name or annotation mcpmux.dev\/server-name\)$/],
    [agwBackend({ 'mcpmux.dev/instructions': long }), /^annotation mcpmux.dev\/instructions is at most 65536 characters$/],
    // Both places are checked, even where the annotation wins.
    [mcpBackend({ tools: { include: ['a b'] } }, { 'mcpmux.dev/tool-include': 'a' }), /^spec.tools.include\[0\]/],
    // An empty server name clears the spec's, and a version alone has no name to go with.
    [mcpBackend({ serverInfo: { name: 'n', version: '1' } }, { 'mcpmux.dev/server-name': '' }), /^serverInfo version "1" needs a name/],
  ];
  for (const [object, expected] of table) {
    const read = readBackendOptions(object);
    assert.type(read, 'string', JSON.stringify([object.metadata.annotations, object.spec]));
    assert.match(read as string, expected);
  }
});

test.run();
