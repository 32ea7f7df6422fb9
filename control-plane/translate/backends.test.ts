import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import { readBackend, readDuration } from './backends.ts';

const mcpBackend = (spec: unknown): KubeObject => ({ apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'ns' }, spec });
const agwBackend = (spec: unknown): KubeObject => ({ apiVersion: 'agentgateway.dev/v1alpha1', kind: 'AgentgatewayBackend', metadata: { name: 'b', namespace: 'ns' }, spec });

test('readDuration reads Gateway API durations', () => {
  const table: Array<[unknown, number | undefined]> = [
    [undefined, 0], ['30s', 30_000], ['500ms', 500], ['1m30s', 90_000], ['1h', 3_600_000], ['1h1m1s1ms', 3_661_001],
    ['1.5s', undefined], ['10', undefined], [10, undefined], ['s', undefined],
  ];
  for (const [input, expected] of table) assert.is(readDuration(input), expected, String(input));
});

test('AgentgatewayBackend: selector.services and static targets', () => {
  const spec = readBackend(agwBackend({ mcp: { targets: [
    { name: 'all', selector: { services: { matchLabels: { a: 'b' } }, namespaces: { matchLabels: { team: 'x' } } } },
    { name: 'remote', static: { host: 'h', port: 8080, protocol: 'SSE' } },
  ] } }));
  assert.ok(typeof spec !== 'string', String(spec));
  assert.equal(spec.selectors[0]!.services.matchLabels, { a: 'b' });
  assert.equal(spec.selectors[0]!.namespaces?.matchLabels, { team: 'x' });
  assert.equal(spec.statics, [{ name: 'remote', host: 'h', port: 8080, path: '/mcp', scheme: 'http', protocol: 'PROTOCOL_SSE' }]);
  assert.is(spec.prefixMode, 'PREFIX_MODE_ALWAYS');
  assert.is(spec.ref, 'ns/b');
});

test('MCPBackend modes and timeouts', () => {
  const spec = readBackend(mcpBackend({ prefixMode: 'Conditional', failureMode: 'closed', timeouts: { request: '2s' }, targets: [] }));
  assert.ok(typeof spec !== 'string', String(spec));
  assert.equal([spec.prefixMode, spec.failureMode, spec.timeouts], ['PREFIX_MODE_CONDITIONAL', 'FAILURE_MODE_CLOSED', { requestMs: 2000, initializeMs: 0 }]);
});

test('naming and filter options reach the backend of either kind; annotations win', () => {
  const agw = readBackend({ ...agwBackend({ mcp: { targets: [] } }), metadata: { name: 'b', namespace: 'ns', annotations: { 'mcpmux.dev/prefix-mode': 'never', 'mcpmux.dev/tool-exclude': 'x_*' } } });
  assert.ok(typeof agw !== 'string', String(agw));
  assert.equal([agw.prefixMode, agw.toolExclude], ['PREFIX_MODE_NEVER', ['x_*']]);
  const mcp = readBackend({ ...mcpBackend({ prefixMode: 'never', serverInfo: { name: 's' }, targets: [] }), metadata: { name: 'b', namespace: 'ns', annotations: { 'mcpmux.dev/prefix-mode': 'always' } } });
  assert.ok(typeof mcp !== 'string', String(mcp));
  assert.equal([mcp.prefixMode, mcp.serverInfo], ['PREFIX_MODE_ALWAYS', { name: 's', version: '' }]);
});

test('MCPBackend protocolEra: on selector and static entries alike; absent means auto (left unset); AgentgatewayBackend has no such field', () => {
  const spec = readBackend(mcpBackend({ targets: [
    { selector: { matchLabels: { app: 'a' } }, protocolEra: 'modern' },
    { selector: { matchLabels: { app: 'b' } } },
    { static: { name: 'old', host: 'h', port: 80, protocol: 'SSE' }, protocolEra: 'legacy' },
    { static: { name: 'dev', protocol: 'stdio', command: 'srv' }, protocolEra: 'auto' },
    { static: { name: 'plain', host: 'h', port: 81 }, protocolEra: null },
  ] }));
  assert.ok(typeof spec !== 'string', String(spec));
  assert.equal(spec.selectors.map((s) => s.protocolEra), ['modern', undefined]);
  assert.equal(spec.statics.map((s) => s.protocolEra), ['legacy', 'auto', undefined]);
  assert.not.ok('protocolEra' in spec.statics[2]!, 'absent, not undefined: the spec reads as before');
  // The compat kind's entries have no protocolEra (its schema has none): ignored, its Services' annotation is the way.
  const agw = readBackend(agwBackend({ mcp: { targets: [{ name: 's', selector: { services: {} }, protocolEra: 'bogus' }] } }));
  assert.ok(typeof agw !== 'string', String(agw));
  assert.is(agw.selectors[0]!.protocolEra, undefined);
});

test('MCPBackend protocolEra: anything but auto, legacy or modern (exactly so, as the CRD enum) rejects the backend, naming the entry', () => {
  for (const value of ['Modern', 'stateless', '', 2, true, ['modern']]) {
    const read = readBackend(mcpBackend({ targets: [{ static: { name: 'a', host: 'h', port: 80 } }, { selector: {}, protocolEra: value }] }));
    assert.type(read, 'string', JSON.stringify(value));
    assert.is(read, `spec.targets[1].protocolEra must be auto, legacy or modern, not ${JSON.stringify(value)}`);
  }
});

test('MCPBackend stdio targets: command, args, env (sorted) and cwd; defaults empty; any case of stdio', () => {
  const spec = readBackend(mcpBackend({ targets: [
    { static: { name: 'dev', protocol: 'stdio', command: 'node', args: ['server.js', 'stdio'], env: { Z: '1', A: '' }, cwd: 'tools' } },
    { name: 'bare', static: { protocol: 'STDIO', command: 'srv' } },
    { static: { name: 'http', host: 'h', port: 80 } },
  ] }));
  assert.ok(typeof spec !== 'string', String(spec));
  assert.equal(spec.statics, [
    { name: 'dev', protocol: 'PROTOCOL_STDIO', stdio: { command: 'node', args: ['server.js', 'stdio'], env: { A: '', Z: '1' }, cwd: 'tools' } },
    { name: 'bare', protocol: 'PROTOCOL_STDIO', stdio: { command: 'srv', args: [], env: {}, cwd: '' } },
    { name: 'http', host: 'h', port: 80, path: '/mcp', scheme: 'http', protocol: 'PROTOCOL_STREAMABLE_HTTP' },
  ]);
  const dev = spec.statics[0] as { stdio: { env: Record<string, string> } };
  assert.equal(Object.keys(dev.stdio.env), ['A', 'Z']);
});

test('invalid stdio targets say why', () => {
  const stdio = (fields: Record<string, unknown>): KubeObject => mcpBackend({ targets: [{ static: { name: 'a', protocol: 'stdio', command: 'srv', ...fields } }] });
  const table: Array<[KubeObject, RegExp]> = [
    [stdio({ command: undefined }), /static.command is required for a stdio target/],
    [stdio({ command: '  ' }), /static.command is required/],
    [stdio({ command: ['srv'] }), /static.command is required/],
    [stdio({ args: 'stdio' }), /static.args must be a list of strings/],
    [stdio({ args: ['--port', 3001] }), /static.args\[1\] must be a string: quote it/],
    [stdio({ env: ['A=1'] }), /static.env must be a map/],
    [stdio({ env: { PORT: 3001 } }), /static.env.PORT must be a string: quote it/],
    [stdio({ env: { 'A=B': 'x' } }), /"A=B" is not a variable name/],
    [stdio({ cwd: 7 }), /static.cwd must be a string/],
    [stdio({ host: 'h' }), /static.host has no meaning for a stdio target/],
    [stdio({ port: 80 }), /static.port has no meaning/],
    [mcpBackend({ targets: [{ static: { name: 'a', command: 'srv' } }] }), /static.command is for stdio targets: add protocol: stdio/],
    [mcpBackend({ targets: [{ static: { name: 'a', host: 'h', port: 1, protocol: 'SSE', env: {} } }] }), /static.env is for stdio targets/],
    [agwBackend({ mcp: { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'srv' } }] } }), /not stdio \(stdio targets need an MCPBackend\)/],
  ];
  for (const [object, expected] of table) {
    const read = readBackend(object);
    assert.type(read, 'string', JSON.stringify(object.spec));
    assert.match(read as string, expected);
  }
});

test('invalid backends say why', () => {
  const table: Array<[KubeObject, RegExp]> = [
    [agwBackend({ ai: {} }), /not an MCP backend/],
    [agwBackend({ mcp: {} }), /spec.mcp.targets must be a list/],
    [mcpBackend({ targets: [{}] }), /exactly one of selector and static/],
    [mcpBackend({ targets: [{ selector: {}, static: { name: 'a', host: 'h', port: 1 } }] }), /exactly one/],
    [mcpBackend({ targets: [{ static: { host: 'h', port: 1 } }] }), /needs a name/],
    [mcpBackend({ targets: [{ static: { name: 'a', host: 'h', port: 70000 } }] }), /static.port/],
    [mcpBackend({ targets: [{ static: { name: 'a', host: 'h', port: 1, protocol: 'grpc' } }] }), /static.protocol/],
    [mcpBackend({ targets: [{ selector: { matchLabels: { on: true } } }] }), /quote values/],
    [mcpBackend({ targets: [], failureMode: 'sometimes' }), /failureMode/],
    [mcpBackend({ targets: [], tools: { include: ['a b'] } }), /spec.tools.include\[0\]/],
    [{ ...agwBackend({ mcp: { targets: [] } }), metadata: { name: 'b', annotations: { 'mcpmux.dev/tool-include': 'a b' } } }, /annotation mcpmux.dev\/tool-include/],
    // The kind's own structure is checked first.
    [{ ...agwBackend({ ai: {} }), metadata: { name: 'b', annotations: { 'mcpmux.dev/tool-include': 'a b' } } }, /not an MCP backend/],
    [mcpBackend({ targets: [], timeouts: { initialize: 'soon' } }), /timeouts.initialize/],
  ];
  for (const [object, expected] of table) {
    const read = readBackend(object);
    assert.type(read, 'string', JSON.stringify(object.spec));
    assert.match(read as string, expected);
  }
});

test('MCPBackend upstreamAuth: a Secret key and a header (default authorization); headers the proxy sets are refused', () => {
  const backend = (upstreamAuth: unknown) => ({ apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'ns' }, spec: { targets: [], upstreamAuth } });
  const read = readBackend(backend({ secretRef: { name: 's', key: 'token' } }));
  assert.equal(typeof read !== 'string' && read.upstreamAuth, { secret: 's', key: 'token', header: 'authorization' });
  const custom = readBackend(backend({ secretRef: { name: 's', key: 'k' }, header: 'X-Api-Key' }));
  assert.equal(typeof custom !== 'string' && custom.upstreamAuth?.header, 'x-api-key');
  assert.match(String(readBackend(backend({ secretRef: { name: 's', key: 'k' }, header: 'Mcp-Session-Id' }))), /may not be mcp-session-id/);
  assert.match(String(readBackend(backend({ secretRef: { name: 's' } }))), /needs a name and a key/);
  assert.match(String(readBackend(backend({ secretRef: { name: 's', key: 'k' }, header: 'bad header' }))), /not an HTTP header name/);
});

test('MCPBackend authentication: JWT providers (jwksUri or a JWKS Secret) and an API key Secret; bad ones refused', () => {
  const backend = (authentication: unknown) => ({ apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'ns' }, spec: { targets: [], authentication } });
  const read = readBackend(backend({ jwt: [{ issuer: 'https://idp', audiences: ['mcpmux', 'https://mcp.example.com/mcp'], jwksUri: 'https://idp/jwks' }, { issuer: 'https://b', audiences: ['x'], jwks: { secretRef: { name: 's', key: 'k' } } }], apiKeys: { secretRef: { name: 'keys' } } }));
  assert.equal(typeof read !== 'string' && read.authentication, {
    jwt: [
      { issuer: 'https://idp', audiences: ['mcpmux', 'https://mcp.example.com/mcp'], jwksUri: 'https://idp/jwks' },
      { issuer: 'https://b', audiences: ['x'], jwksUri: '', jwksSecret: { name: 's', key: 'k' } },
    ],
    apiKeysSecret: 'keys',
  });
  assert.match(String(readBackend(backend({ jwt: [] }))), /needs jwt providers or apiKeys/);
  assert.match(String(readBackend(backend({ jwt: [{ issuer: 'i' }] }))), /exactly one of jwksUri and jwks.secretRef/);
  assert.match(String(readBackend(backend({ jwt: [{ jwksUri: 'https://x' }] }))), /needs an issuer/);
  assert.match(String(readBackend(backend({ jwt: [{ issuer: 'i', audiences: ['a'], jwksUri: 'ftp://x' }] }))), /http\(s\) URL/);
  // Audiences are required: a token's aud is always checked (docs/security.md), as the CRD's CEL rule says.
  assert.match(String(readBackend(backend({ jwt: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks' }] }))), /^spec\.authentication\.jwt\[0\]\.audiences: a JWT provider needs audiences/);
  assert.match(String(readBackend(backend({ jwt: [{ issuer: 'https://idp', audiences: ['a'], jwksUri: 'https://idp/jwks' }, { issuer: 'https://b', audiences: [], jwksUri: 'https://b/jwks' }] }))), /jwt\[1\]\.audiences: a JWT provider needs audiences/);
});

test('MCPBackend authorization: named rules, Allow by default, principals and globs; bad ones refused', () => {
  const backend = (authorization: unknown) => ({ apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'b', namespace: 'ns' }, spec: { targets: [], authorization } });
  const read = readBackend(backend({ rules: [{ name: 'ops', principals: { groups: ['ops'] } }, { name: 'x', effect: 'Deny', tools: ['*_delete'] }] }));
  assert.equal(typeof read !== 'string' && read.authorization, [
    { name: 'ops', effect: 'allow', subjects: [], groups: ['ops'], scopes: [], tools: [], targets: [] },
    { name: 'x', effect: 'deny', subjects: [], groups: [], scopes: [], tools: ['*_delete'], targets: [] },
  ]);
  assert.match(String(readBackend(backend({ rules: [{ tools: ['a'] }] }))), /needs a name/);
  assert.match(String(readBackend(backend({ rules: [{ name: 'a' }, { name: 'a' }] }))), /two rules are named a/);
  assert.match(String(readBackend(backend({ rules: [{ name: 'a', effect: 'Maybe' }] }))), /Allow or Deny/);
  assert.match(String(readBackend(backend({ rules: [{ name: 'a', tools: [''] }] }))), /non-empty strings/);
});

test.run();
