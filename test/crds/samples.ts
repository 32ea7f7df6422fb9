// Sample MCPBackend and AgentgatewayBackend objects, valid and invalid, shared by crds.test.ts (ajv
// plus the Kubernetes layer of schema-check.ts) and crds.apiserver.test.ts (a real apiserver, CEL included).
import type { KubeDoc } from './schema-check.ts';

/** Namespace of every sample below (the apiserver test creates it). */
export const SAMPLE_NAMESPACE = 'crd-samples';

export const mcpBackend = (name: string, spec: unknown, annotations?: Record<string, string>): KubeDoc => ({
  apiVersion: 'mcpmux.dev/v1alpha1',
  kind: 'MCPBackend',
  metadata: { name, namespace: SAMPLE_NAMESPACE, ...(annotations ? { annotations } : {}) },
  spec,
});

export const agwBackend = (name: string, spec: unknown): KubeDoc => ({
  apiVersion: 'agentgateway.dev/v1alpha1',
  kind: 'AgentgatewayBackend',
  metadata: { name, namespace: SAMPLE_NAMESPACE },
  spec,
});

export interface ValidSample {
  object: KubeDoc;
  /** Set when mcpmux's translator rejects the object although the CRD accepts it, and why that is right. */
  translatorRejects?: string;
}

/** Objects both CRDs must accept: together they use every field of both schemas. */
export const VALID_SAMPLES: readonly ValidSample[] = [
  {
    object: mcpBackend('every-field', {
      targets: [
        { name: 'docs', selector: { matchLabels: { app: 'docs', 'mcp-federation': 'true' }, matchExpressions: [{ key: 'stage', operator: 'In', values: ['stable', 'canary'] }, { key: 'legacy', operator: 'DoesNotExist' }] } },
        { protocolEra: 'modern', selector: { matchLabels: { mcp: 'true' }, namespaceSelector: { matchLabels: { team: 'weather' }, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }, { key: 'tier', operator: 'Exists', values: [] }] } } },
        { selector: {} },
        { static: { name: 'Weather_API', host: 'weather.example.com', port: 443, scheme: 'https', path: '/v2/mcp', protocol: 'StreamableHTTP' } },
        { name: 'legacy', static: { host: '10.0.0.9', port: 8000, protocol: 'SSE' }, protocolEra: 'legacy' },
        { static: { name: 'plain', host: 'plain.tools.svc', port: 80, path: 'mcp', protocol: 'streamable-http', scheme: 'http' } },
        { static: { name: 'low', host: 'h', port: 1, protocol: 'sse' } },
        { static: { name: 'high', host: 'h', port: 65535, path: '' }, protocolEra: 'auto' },
      ],
      prefixMode: 'Conditional',
      failureMode: 'closed',
      timeouts: { request: '1m30s', initialize: '500ms' },
      tools: { include: ['forecast_*', 'alerts_get-?', 'forecast_*', 'admin.tools/list_*'], exclude: ['forecast_debug'] },
      serverInfo: { name: 'weather-gateway', version: '2.1.0' },
      instructions: 'Weather tools for the operations team.\nForecasts are in UTC.\n',
      upstreamAuth: { secretRef: { name: 'weather-token', key: 'token' }, header: 'X-Api-Key' },
    }),
  },
  { object: mcpBackend('minimal', { targets: [] }) },
  {
    // Accepted by both: the translator serves the SSE target as legacy and says so in the status (no schema sees the protocol of a selected Service).
    object: mcpBackend('modern-on-sse', { targets: [{ static: { name: 'events', host: 'h', port: 80, protocol: 'SSE' }, protocolEra: 'modern' }] }),
  },
  {
    object: mcpBackend('authenticated', {
      targets: [],
      authentication: {
        jwt: [
          { issuer: 'https://idp.example', audiences: ['mcpmux'], jwksUri: 'https://idp.example/.well-known/jwks.json' },
          { issuer: 'https://other.example', audiences: ['https://mcp.example.com/mcp', 'mcpmux'], jwks: { secretRef: { name: 'other-jwks', key: 'jwks.json' } } },
        ],
        apiKeys: { secretRef: { name: 'api-keys' } },
      },
      authorization: {
        rules: [
          { name: 'ops', principals: { groups: ['ops'] } },
          { name: 'readers', principals: { scopes: ['mcp:read'], subjects: ['ci-bot'] }, targets: ['weather'], tools: ['echo_*'] },
          { name: 'no-deletes', effect: 'Deny', tools: ['*_delete*'] },
        ],
      },
    }),
  },
  { object: mcpBackend('modes-any-case', { targets: [], prefixMode: ' NEVER ', failureMode: 'OPEN', timeouts: { request: '0s', initialize: '1h1m1s1ms' } }) },
  { object: mcpBackend('longest-timeout', { targets: [], timeouts: { request: '1193h2m47s295ms', initialize: '71582m47s295ms' } }) },
  { object: mcpBackend('server-name-only', { targets: [], serverInfo: { name: 'Team tools' }, upstreamAuth: { secretRef: { name: 'a.b-c', key: 'API_KEY.v1' } } }) },
  {
    // The same field left empty (YAML `field:`): null, pruned by the apiserver, ignored by the translator.
    object: mcpBackend('nulls', { targets: [], tools: { include: null }, serverInfo: null, instructions: null }),
  },
  {
    object: mcpBackend('stdio', {
      targets: [
        { static: { name: 'everything', protocol: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything@2026.8.31', 'stdio'], env: { LOG_LEVEL: 'debug', EMPTY: '' }, cwd: '/tmp' } },
        { name: 'files', static: { protocol: 'STDIO', command: './bin/files-server' } },
        { static: { name: 'remote', host: '127.0.0.1', port: 3001 } },
      ],
    }),
  },
  {
    object: agwBackend('static-targets', {
      mcp: {
        targets: [
          { name: 'remote', static: { host: 'tools.example.com', port: 443, scheme: 'https', path: '/mcp', protocol: 'StreamableHTTP' } },
          // kgateway's older form: the name inside static, no entry name.
          { static: { name: 'legacy', host: 'legacy.example.com', port: 8080, protocol: 'SSE' } },
        ],
      },
    }),
  },
  {
    object: agwBackend('selector-everything', {
      mcp: {
        targets: [{
          name: 'all',
          selector: {
            services: { matchLabels: { 'mcp-federation': 'true' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
            namespaces: { matchLabels: { team: 'x' }, matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] },
          },
        }],
      },
    }),
  },
  {
    // agentgateway's newer fields: kept as written, not read by mcpmux.
    object: agwBackend('agentgateway-fields', {
      mcp: {
        prefixMode: 'Conditional',
        failureMode: 'FailOpen',
        sessionRouting: 'Stateless',
        targets: [{ name: 'remote', static: { host: 'tools.example.com', port: 443, policies: { tls: { sni: 'tools.example.com' } } } }],
      },
      policies: { mcp: { authorization: { action: 'Allow' } } },
    }),
  },
  {
    object: agwBackend('llm', { ai: { provider: { openai: { model: 'gpt-4o-mini' } } }, policies: { auth: { secretRef: { name: 'openai-secret' } } } }),
    translatorRejects: 'not an MCP backend: agentgateway manifests of other backend kinds must still apply (mcpmux reports them)',
  },
];

export interface InvalidSample {
  /** What is wrong, in a few words (the test's name). */
  why: string;
  object: KubeDoc;
  /**
   * The field path at fault, as kubectl prints it ("spec.targets[0].static.port"). The offline
   * validator must report an error at exactly this path, unless `cel` says only a CEL rule catches it;
   * kube-apiserver's answer must contain it either way.
   */
  at: string;
  /** The message of the CEL rule that rejects it (kube-apiserver only). */
  cel?: string;
  /** Set when mcpmux's translator accepts the object anyway, and why the CRD is right to refuse it. */
  translatorAccepts?: string;
}

/** Objects the CRDs must reject, each at one field path. */
export const INVALID_SAMPLES: readonly InvalidSample[] = [
  // MCPBackend: OpenAPI checks.
  { why: 'unknown protocol', object: mcpBackend('bad-protocol', { targets: [{ static: { name: 'a', host: 'h', port: 80, protocol: 'grpc' } }] }), at: 'spec.targets[0].static.protocol' },
  { why: 'port above 65535', object: mcpBackend('port-70000', { targets: [{ static: { name: 'a', host: 'h', port: 70000 } }] }), at: 'spec.targets[0].static.port' },
  { why: 'port 0', object: mcpBackend('port-0', { targets: [{ static: { name: 'a', host: 'h', port: 0 } }] }), at: 'spec.targets[0].static.port' },
  {
    why: 'quoted port',
    object: mcpBackend('quoted-port', { targets: [{ static: { name: 'a', host: 'h', port: '8080' } }] }),
    at: 'spec.targets[0].static.port',
    translatorAccepts: 'the files source reads a quoted port as a number; in the API a port is an integer, as everywhere in Kubernetes',
  },
  {
    why: 'unknown field at spec level',
    object: mcpBackend('unknown-spec-field', { targets: [], prefixmode: 'never' }),
    at: 'spec.prefixmode',
    translatorAccepts: 'the translator ignores fields it does not read; the apiserver rejects them (kubectl\'s strict field validation) or prunes them',
  },
  { why: 'misspelt tools.exclude', object: mcpBackend('misspelt-exclude', { targets: [], tools: { exlcude: ['a'] } }), at: 'spec.tools.exlcude' },
  { why: 'tool glob with a space', object: mcpBackend('glob-space', { targets: [], tools: { include: ['search_*', 'search_delete all'] } }), at: 'spec.tools.include[1]' },
  { why: 'empty tool glob', object: mcpBackend('glob-empty', { targets: [], tools: { exclude: [''] } }), at: 'spec.tools.exclude[0]' },
  { why: 'tool globs not a list', object: mcpBackend('glob-string', { targets: [], tools: { include: 'a,b' } }), at: 'spec.tools.include' },
  { why: 'unknown prefix mode', object: mcpBackend('prefix-sometimes', { targets: [], prefixMode: 'sometimes' }), at: 'spec.prefixMode' },
  { why: 'unknown failure mode', object: mcpBackend('failure-sometimes', { targets: [], failureMode: 'sometimes' }), at: 'spec.failureMode' },
  { why: 'unknown protocol era', object: mcpBackend('era-stateless', { targets: [{ selector: {}, protocolEra: 'stateless' }] }), at: 'spec.targets[0].protocolEra' },
  { why: 'protocol era not lower case', object: mcpBackend('era-capital', { targets: [{ static: { name: 'a', host: 'h', port: 80 }, protocolEra: 'Modern' }] }), at: 'spec.targets[0].protocolEra' },
  { why: 'fractional duration', object: mcpBackend('timeout-fraction', { targets: [], timeouts: { request: '1.5s' } }), at: 'spec.timeouts.request' },
  { why: 'duration without unit', object: mcpBackend('timeout-unitless', { targets: [], timeouts: { initialize: '10' } }), at: 'spec.timeouts.initialize' },
  { why: 'unquoted label value', object: mcpBackend('label-bool', { targets: [{ selector: { matchLabels: { on: true } } }] }), at: 'spec.targets[0].selector.matchLabels.on' },
  { why: 'unknown selector operator', object: mcpBackend('operator-equals', { targets: [{ selector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } }] }), at: 'spec.targets[0].selector.matchExpressions[0].operator' },
  { why: 'requirement without key', object: mcpBackend('requirement-no-key', { targets: [{ selector: { matchExpressions: [{ operator: 'Exists' }] } }] }), at: 'spec.targets[0].selector.matchExpressions[0].key' },
  { why: 'unknown scheme', object: mcpBackend('scheme-ftp', { targets: [{ static: { name: 'a', host: 'h', port: 21, scheme: 'ftp' } }] }), at: 'spec.targets[0].static.scheme' },
  { why: 'empty static name', object: mcpBackend('static-name-empty', { targets: [{ name: 'entry', static: { name: '', host: 'h', port: 80 } }] }), at: 'spec.targets[0].static.name' },
  { why: 'number in stdio args', object: mcpBackend('stdio-number-arg', { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'server', args: ['--port', 3001] } }] }), at: 'spec.targets[0].static.args[1]' },
  { why: 'number in stdio env', object: mcpBackend('stdio-number-env', { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'server', env: { PORT: 3001 } } }] }), at: 'spec.targets[0].static.env.PORT' },
  { why: 'blank stdio command', object: mcpBackend('stdio-blank-command', { targets: [{ static: { name: 'a', protocol: 'stdio', command: '  ' } }] }), at: 'spec.targets[0].static.command' },
  { why: 'unquoted serverInfo version', object: mcpBackend('version-number', { targets: [], serverInfo: { name: 'w', version: 1 } }), at: 'spec.serverInfo.version' },
  { why: 'unknown serverInfo field', object: mcpBackend('server-title', { targets: [], serverInfo: { name: 'w', title: 'W' } }), at: 'spec.serverInfo.title' },
  { why: 'two-line server name', object: mcpBackend('server-two-lines', { targets: [], serverInfo: { name: 'a\nb' } }), at: 'spec.serverInfo.name' },
  { why: 'blank server name', object: mcpBackend('server-blank', { targets: [], serverInfo: { name: '  ' } }), at: 'spec.serverInfo.name' },
  { why: 'instructions not text', object: mcpBackend('instructions-list', { targets: [], instructions: ['a'] }), at: 'spec.instructions' },
  { why: 'instructions too long', object: mcpBackend('instructions-long', { targets: [], instructions: 'x'.repeat(65_537) }), at: 'spec.instructions' },
  { why: 'no targets', object: mcpBackend('no-targets', { prefixMode: 'always' }), at: 'spec.targets' },
  { why: 'no spec', object: { apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'no-spec', namespace: SAMPLE_NAMESPACE } }, at: 'spec' },
  {
    why: 'upstreamAuth without a key',
    object: mcpBackend('auth-no-key', { targets: [], upstreamAuth: { secretRef: { name: 'token' } } }),
    at: 'spec.upstreamAuth.secretRef.key',
  },
  {
    why: 'upstreamAuth header with a space',
    object: mcpBackend('auth-bad-header', { targets: [], upstreamAuth: { secretRef: { name: 'token', key: 'token' }, header: 'X Api Key' } }),
    at: 'spec.upstreamAuth.header',
  },
  // MCPBackend: CEL rules.
  { why: 'authentication with nothing in it', object: mcpBackend('authn-empty', { targets: [], authentication: { jwt: [] } }), at: 'spec.authentication', cel: 'authentication needs jwt providers or apiKeys' },
  {
    why: 'JWT provider with both jwksUri and jwks',
    object: mcpBackend('authn-both', { targets: [], authentication: { jwt: [{ issuer: 'https://idp', audiences: ['mcpmux'], jwksUri: 'https://idp/jwks', jwks: { secretRef: { name: 'k', key: 'jwks' } } }] } }),
    at: 'spec.authentication.jwt[0]',
    cel: 'a JWT provider needs exactly one of jwksUri and jwks',
  },
  {
    why: 'JWT provider without audiences (a token minted for any other service would be accepted)',
    object: mcpBackend('authn-no-audience', { targets: [], authentication: { jwt: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks' }] } }),
    at: 'spec.authentication.jwt[0]',
    cel: 'a JWT provider needs audiences',
  },
  {
    why: 'JWT provider with an empty audiences list',
    object: mcpBackend('authn-empty-audiences', { targets: [], authentication: { jwt: [{ issuer: 'https://idp', audiences: [], jwksUri: 'https://idp/jwks' }] } }),
    at: 'spec.authentication.jwt[0]',
    cel: 'a JWT provider needs audiences',
  },
  { why: 'selector and static in one entry', object: mcpBackend('both', { targets: [{ selector: {}, static: { name: 'a', host: 'h', port: 1 } }] }), at: 'spec.targets[0]', cel: 'each target needs exactly one of selector and static' },
  { why: 'neither selector nor static', object: mcpBackend('neither', { targets: [{ name: 'x' }] }), at: 'spec.targets[0]', cel: 'each target needs exactly one of selector and static' },
  { why: 'static target without a name', object: mcpBackend('static-no-name', { targets: [{ static: { host: 'h', port: 1 } }] }), at: 'spec.targets[0]', cel: 'a static target needs a name' },
  { why: 'static target without host', object: mcpBackend('static-no-host', { targets: [{ static: { name: 'a', port: 80 } }] }), at: 'spec.targets[0].static.host', cel: 'host is required (unless protocol is stdio)' },
  { why: 'static target without port', object: mcpBackend('static-no-port', { targets: [{ static: { name: 'a', host: 'h', protocol: 'SSE' } }] }), at: 'spec.targets[0].static.port', cel: 'port is required (unless protocol is stdio)' },
  { why: 'command without protocol stdio', object: mcpBackend('command-no-protocol', { targets: [{ static: { name: 'a', command: 'server', args: ['stdio'] } }] }), at: 'spec.targets[0].static', cel: 'command, args, env and cwd are for stdio targets' },
  { why: 'env on an SSE target', object: mcpBackend('sse-with-env', { targets: [{ static: { name: 'a', host: 'h', port: 1, protocol: 'SSE', env: {} } }] }), at: 'spec.targets[0].static', cel: 'command, args, env and cwd are for stdio targets' },
  { why: 'stdio target without command', object: mcpBackend('stdio-no-command', { targets: [{ static: { name: 'a', protocol: 'stdio', args: ['stdio'] } }] }), at: 'spec.targets[0].static.command', cel: 'command is required for a stdio target' },
  { why: 'env name with =', object: mcpBackend('stdio-env-name', { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'server', env: { 'A=B': 'x' } } }] }), at: 'spec.targets[0].static.env', cel: 'environment variable names must not be empty or contain "="' },
  { why: 'stdio target with host', object: mcpBackend('stdio-with-host', { targets: [{ static: { name: 'a', protocol: 'Stdio', command: 'server', host: '127.0.0.1' } }] }), at: 'spec.targets[0].static', cel: 'host, port, scheme and path have no meaning for a stdio target' },
  { why: 'In without values', object: mcpBackend('in-no-values', { targets: [{ selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }] }), at: 'spec.targets[0].selector.matchExpressions[0]', cel: 'operators In and NotIn need values' },
  { why: 'Exists with values', object: mcpBackend('exists-values', { targets: [{ selector: { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } } }] }), at: 'spec.targets[0].selector.namespaceSelector.matchExpressions[0]', cel: 'operators In and NotIn need values' },
  { why: 'timeout above 4294967295ms', object: mcpBackend('timeout-too-long', { targets: [], timeouts: { request: '99999h' } }), at: 'spec.timeouts.request', cel: 'a timeout is at most 4294967295ms' },
  { why: 'initialize timeout above 4294967295ms', object: mcpBackend('init-timeout-too-long', { targets: [], timeouts: { initialize: '71583m' } }), at: 'spec.timeouts.initialize', cel: 'a timeout is at most 4294967295ms' },
  // AgentgatewayBackend (compat): OpenAPI checks.
  { why: 'agentgateway static target without host', object: agwBackend('agw-no-host', { mcp: { targets: [{ name: 'a', static: { port: 80 } }] } }), at: 'spec.mcp.targets[0].static.host' },
  { why: 'agentgateway port above 65535', object: agwBackend('agw-port-70000', { mcp: { targets: [{ name: 'a', static: { host: 'h', port: 70000 } }] } }), at: 'spec.mcp.targets[0].static.port' },
  { why: 'agentgateway stdio target', object: agwBackend('agw-stdio', { mcp: { targets: [{ static: { name: 'a', protocol: 'stdio', host: 'h', port: 1 } }] } }), at: 'spec.mcp.targets[0].static.protocol' },
  { why: 'agentgateway unknown protocol', object: agwBackend('agw-bad-protocol', { mcp: { targets: [{ name: 'a', static: { host: 'h', port: 1, protocol: 'WebSocket' } }] } }), at: 'spec.mcp.targets[0].static.protocol' },
  { why: 'agentgateway unquoted label value', object: agwBackend('agw-label-bool', { mcp: { targets: [{ name: 'a', selector: { services: { matchLabels: { 'mcp-federation': true } } } }] } }), at: 'spec.mcp.targets[0].selector.services.matchLabels.mcp-federation' },
  { why: 'agentgateway selector without services', object: agwBackend('agw-namespaces-only', { mcp: { targets: [{ name: 'a', selector: { namespaces: { matchLabels: { team: 'x' } } } }] } }), at: 'spec.mcp.targets[0].selector.services' },
  { why: 'agentgateway unknown selector operator', object: agwBackend('agw-operator', { mcp: { targets: [{ name: 'a', selector: { services: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } } }] } }), at: 'spec.mcp.targets[0].selector.services.matchExpressions[0].operator' },
  { why: 'agentgateway misspelt target field', object: agwBackend('agw-typo', { mcp: { targets: [{ name: 'a', selectr: { services: {} } }] } }), at: 'spec.mcp.targets[0].selectr' },
  { why: 'agentgateway mcp without targets', object: agwBackend('agw-no-targets', { mcp: { target: [] } }), at: 'spec.mcp.targets' },
  // AgentgatewayBackend (compat): CEL rules.
  { why: 'agentgateway selector and static in one entry', object: agwBackend('agw-both', { mcp: { targets: [{ name: 'a', selector: { services: {} }, static: { host: 'h', port: 1 } }] } }), at: 'spec.mcp.targets[0]', cel: 'each target needs exactly one of selector and static' },
  { why: 'agentgateway static target without a name', object: agwBackend('agw-static-no-name', { mcp: { targets: [{ static: { host: 'h', port: 1 } }] } }), at: 'spec.mcp.targets[0]', cel: 'a static target needs a name' },
];

/**
 * Objects of the translator's golden cases that the translator rejects but no schema can: their
 * problem is in mcpmux.dev/* annotations, which a CRD schema cannot see.
 */
export const ANNOTATION_ONLY_REJECTIONS: readonly string[] = ['empty-item', 'version-without-name'];
