import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Snapshot } from '../../shared/config/types.ts';
import { McpmuxError } from '../../shared/errors.ts';
import { BACKEND, simpleSnapshot, stdioTarget, target } from '../testing/snapshots.ts';
import { compileRoutingTable } from './table.ts';
import { testCertificate } from '../testing/certificates.ts';

const PEM = testCertificate('mcp.example.test');

function base(): Snapshot {
  return simpleSnapshot({
    version: 'v1',
    targets: {
      'mcp-server-everything-3001': 'http://10.0.0.1:3001/mcp',
      'mcp-website-fetcher-80': 'http://mcp-website-fetcher.agentgateway-system.svc:8000/mcp',
    },
  });
}

test('compiles the tutorial shape: route, backend, targets with their URLs', () => {
  const table = compileRoutingTable(base());
  assert.is(table.version, 'v1');
  assert.is(table.routes.length, 1);
  const route = table.routes[0]!;
  assert.is(route.pathPrefix, '/mcp');
  assert.is(route.backend.name, BACKEND);
  assert.is(route.backend.prefixMode, 'always');
  assert.is(route.backend.failureMode, 'open');
  assert.equal(route.backend.targets.map((t) => t.name), ['mcp-server-everything-3001', 'mcp-website-fetcher-80']);
  const fetcher = route.backend.targetsByName.get('mcp-website-fetcher-80')!;
  assert.equal(fetcher.endpoints, [
    { url: 'http://mcp-website-fetcher.agentgateway-system.svc:8000/mcp', origin: 'http://mcp-website-fetcher.agentgateway-system.svc:8000', path: '/mcp' },
  ]);
  assert.is(fetcher.unavailable, undefined);
  assert.is(fetcher.requestTimeoutMs, undefined);
  assert.is(route.backend.toolFilter, undefined);
  assert.is(route.backend.serverInfo, undefined);
  assert.is(route.backend.instructions, '');
  assert.is(table.sseAlias, route);
});

test('defaults: empty scheme is http, empty path is /mcp, UNSPECIFIED modes are always/open', () => {
  const s = base();
  s.targets[0] = { ...s.targets[0]!, scheme: '', path: '' };
  s.backends[0] = { ...s.backends[0]!, prefixMode: 'PREFIX_MODE_UNSPECIFIED', failureMode: 'FAILURE_MODE_UNSPECIFIED' };
  const table = compileRoutingTable(s);
  const backend = table.routes[0]!.backend;
  assert.is(backend.targets[0]!.endpoints[0]!.url, 'http://10.0.0.1:3001/mcp');
  assert.is(backend.prefixMode, 'always');
  assert.is(backend.failureMode, 'open');
});

test('conditional prefix mode, closed failure mode and timeouts carry over', () => {
  const s = base();
  s.backends[0] = { ...s.backends[0]!, prefixMode: 'PREFIX_MODE_CONDITIONAL', failureMode: 'FAILURE_MODE_CLOSED' };
  s.targets[0] = { ...s.targets[0]!, timeouts: { requestMs: 1500, initializeMs: 700 } };
  const backend = compileRoutingTable(s).routes[0]!.backend;
  assert.is(backend.prefixMode, 'conditional');
  assert.is(backend.failureMode, 'closed');
  const t = backend.targets[0]!;
  assert.is(t.requestTimeoutMs, 1500);
  assert.is(t.initializeTimeoutMs, 700);
});

test('a target without ready endpoints is valid but unavailable; only ready endpoints are used', () => {
  const s = base();
  s.targets[0] = { ...s.targets[0]!, endpoints: [{ address: '10.0.0.1', port: 3001, ready: false }] };
  s.targets[1] = { ...s.targets[1]!, endpoints: [] };
  const backend = compileRoutingTable(s).routes[0]!.backend;
  assert.equal(backend.targets[0]!.endpoints, []);
  assert.is(backend.targets[0]!.unavailable, 'it has no ready endpoints');
  assert.is(backend.targets[1]!.unavailable, 'it has no ready endpoints');
});

test('a target with an upstream credential carries its header on every endpoint; a missing one leaves it unavailable; a bad one is a NACK', () => {
  const s = base();
  s.targets[0] = { ...s.targets[0]!, authSecret: 'upstream-auth/ns/b' };
  s.targets[1] = { ...s.targets[1]!, authSecret: 'upstream-auth/ns/missing' };
  s.secrets = [{ name: 'upstream-auth/ns/b', data: { header: 'x-api-key', value: 'key-1' } }];
  const backend = compileRoutingTable(s).routes[0]!.backend;
  assert.equal(backend.targets[0]!.endpoints.map((e) => e.headers), [{ 'x-api-key': 'key-1' }]);
  assert.is(backend.targets[0]!.unavailable, undefined);
  assert.match(backend.targets[1]!.unavailable ?? '', /upstream credential \(upstream-auth\/ns\/missing\) is not available/);
  s.secrets = [{ name: 'upstream-auth/ns/b', data: { header: 'x-api-key', value: 'line\nbreak' } }];
  assert.throws(() => compileRoutingTable(s), /not a valid header/);
});

test('a proxy runs stdio commands only when it opted in: otherwise the target is unavailable, saying how to opt in', () => {
  const s = base();
  s.targets[1] = stdioTarget(BACKEND, 'mcp-website-fetcher-80', 'node', ['server.js', 'stdio']);
  const refused = compileRoutingTable(s).routes[0]!.backend.targets[1]!;
  assert.match(refused.unavailable ?? '', /stdio targets are disabled on this proxy \(start it with --allow-stdio/);
  assert.is(compileRoutingTable(s, { allowStdio: true }).routes[0]!.backend.targets[1]!.unavailable, undefined);
});

test('legacy SSE targets are served; stdio targets with a command are available, pinned to a pseudo-endpoint naming it', () => {
  const s = base();
  s.targets[0] = { ...s.targets[0]!, protocol: 'PROTOCOL_SSE', path: '/sse' };
  s.targets[1] = stdioTarget(BACKEND, 'mcp-website-fetcher-80', 'node', ['server.js', 'stdio'], { env: { TOKEN: 'hunter2' }, cwd: '/srv' });
  const [sse, stdio] = compileRoutingTable(s, { allowStdio: true }).routes[0]!.backend.targets;
  assert.is(sse!.unavailable, undefined);
  assert.is(sse!.endpoints[0]!.url, 'http://10.0.0.1:3001/sse');
  assert.is(sse!.stdio, undefined);
  assert.is(stdio!.unavailable, undefined);
  assert.is(stdio!.protocol, 'PROTOCOL_STDIO');
  assert.equal(stdio!.stdio, { command: 'node', args: ['server.js', 'stdio'], env: { TOKEN: 'hunter2' }, cwd: '/srv' });
  assert.is(stdio!.endpoints.length, 1);
  assert.match(stdio!.endpoints[0]!.url, /^stdio:node server\.js stdio in \/srv with env TOKEN#[0-9a-f]{12}$/);
  assert.not.match(stdio!.endpoints[0]!.url, /hunter2/);
});

test('each target carries its configured protocol era: auto, legacy or modern; UNSPECIFIED and unknown values are auto; stdio and SSE always legacy', () => {
  const eraOf = (over: Partial<Snapshot['targets'][number]>): string => {
    const s = base();
    s.targets[0] = { ...s.targets[0]!, ...over };
    return compileRoutingTable(s, { allowStdio: true }).routes[0]!.backend.targets[0]!.protocolEra;
  };
  assert.is(eraOf({}), 'auto', 'the test snapshots say PROTOCOL_ERA_AUTO');
  assert.is(eraOf({ protocolEra: 'PROTOCOL_ERA_AUTO' }), 'auto');
  assert.is(eraOf({ protocolEra: 'PROTOCOL_ERA_LEGACY' }), 'legacy');
  assert.is(eraOf({ protocolEra: 'PROTOCOL_ERA_MODERN' }), 'modern');
  assert.is(eraOf({ protocolEra: 'PROTOCOL_ERA_UNSPECIFIED' }), 'auto', 'a control plane that predates the field');
  assert.is(eraOf({ protocolEra: 7 as unknown as 'PROTOCOL_ERA_AUTO' }), 'auto', 'a value from a newer control plane');
  assert.is(eraOf({ protocol: 'PROTOCOL_SSE', protocolEra: 'PROTOCOL_ERA_AUTO' }), 'legacy');
  assert.is(eraOf({ protocol: 'PROTOCOL_SSE', protocolEra: 'PROTOCOL_ERA_MODERN' }), 'legacy', 'legacy SSE speaks 2025-11-25 whatever the snapshot says');
  const s = base();
  s.targets[1] = { ...stdioTarget(BACKEND, 'mcp-website-fetcher-80', 'node', ['server.js', 'stdio']), protocolEra: 'PROTOCOL_ERA_MODERN' };
  assert.is(compileRoutingTable(s, { allowStdio: true }).routes[0]!.backend.targets[1]!.protocolEra, 'legacy');
});

test('the stdio pseudo-endpoint changes with anything about the command, env values included', () => {
  const url = (stdio: Parameters<typeof stdioTarget>[4], args: string[] = ['a']): string => {
    const s = base();
    s.targets[1] = stdioTarget(BACKEND, 'mcp-website-fetcher-80', 'srv', args, stdio);
    return compileRoutingTable(s).routes[0]!.backend.targets[1]!.endpoints[0]!.url;
  };
  const urls = [url({}), url({}, ['b']), url({ env: { K: '1' } }), url({ env: { K: '2' } }), url({ cwd: '/x' })];
  assert.is(new Set(urls).size, urls.length, urls.join('\n'));
  assert.is(url({ env: { K: '1' } }), urls[2], 'same command, same endpoint');
});

test('IPv6 endpoint addresses are bracketed', () => {
  const s = base();
  s.targets[0] = { ...s.targets[0]!, endpoints: [{ address: 'fd00::1', port: 3001, ready: true }] };
  assert.is(compileRoutingTable(s).routes[0]!.backend.targets[0]!.endpoints[0]!.url, 'http://[fd00::1]:3001/mcp');
});

test('routes are normalized and sorted longest prefix first; a route without listeners is not served', () => {
  const s = base();
  s.routes = [
    { name: 'r-root', listeners: ['http'], pathPrefix: '/', backend: BACKEND, hostnames: [] },
    { name: 'r-mcp', listeners: ['http'], pathPrefix: '/mcp/', backend: BACKEND, hostnames: [] },
    { name: 'r-team', listeners: ['http'], pathPrefix: '/mcp/team', backend: BACKEND, hostnames: [] },
    { name: 'r-none', listeners: [], pathPrefix: '/nowhere', backend: BACKEND, hostnames: [] },
  ];
  const table = compileRoutingTable(s);
  assert.equal(table.routes.map((r) => r.pathPrefix), ['/mcp/team', '/mcp', '/']);
});

test('one prefix on two listeners is two routes, each its own listener\'s, to one backend or two', () => {
  const s = base();
  s.listeners.push({ name: 'other', port: 8080, protocol: 'HTTP', hostnames: [], certificateSecrets: [] });
  s.backends.push({ ...s.backends[0]!, name: 'ns/b2', targets: ['t'] });
  s.targets.push(target('ns/b2', 't', 'http://10.0.0.9:80/mcp'));
  s.routes.push({ name: 'r2', listeners: ['other'], pathPrefix: '/mcp', backend: 'ns/b2', hostnames: [] });
  const table = compileRoutingTable(s);
  assert.equal(table.routes.map((r) => [r.name, r.listeners, r.backend.name]), [['agentgateway-system/mcp/0/0', ['http'], BACKEND], ['r2', ['other'], 'ns/b2']]);
  assert.is(table.sseAlias, undefined, 'two routes: no /sse alias for the whole table');
});

test('listeners: lowercase hostnames, HTTPS with the certificates the snapshot holds, none when its Secret is missing (no NACK)', () => {
  const s = base();
  s.listeners.push(
    { name: 'https', port: 443, protocol: 'HTTPS', hostnames: ['MCP.example.test'], certificateSecrets: ['tls/ns/cert'] },
    { name: 'unresolved', port: 8443, protocol: 'HTTPS', hostnames: [], certificateSecrets: ['tls/ns/missing'] },
  );
  s.secrets.push({ name: 'tls/ns/cert', data: { 'tls.crt': PEM.cert, 'tls.key': PEM.key } });
  const table = compileRoutingTable(s);
  const [http, https, unresolved] = table.listeners;
  assert.equal([http!.protocol, http!.tls], ['HTTP', undefined]);
  assert.equal(https!.hostnames, ['mcp.example.test']);
  assert.ok(https!.tls?.context, 'a TLS context from the Secret');
  assert.equal(https!.tls?.certs, [PEM.cert]);
  assert.is(unresolved!.tls, undefined, 'no certificate: the listener refuses handshakes, the snapshot is still served');
  assert.is(compileRoutingTable(s).listeners[1]!.tls, https!.tls, 'the same certificates: the same context, not made again');
});

// Every way a snapshot cannot be served, with the message the NACK will carry.
const invalid: Array<[string, (s: Snapshot) => void, RegExp]> = [
  ['route naming a missing backend', (s) => (s.routes[0]!.backend = 'ns/nope'), /route "agentgateway-system\/mcp\/0\/0" routes to backend "ns\/nope", which does not exist/],
  ['route naming a missing listener', (s) => (s.routes[0]!.listeners = ['https']), /route "agentgateway-system\/mcp\/0\/0" attaches to listener "https", which does not exist/],
  ['route with a relative prefix', (s) => (s.routes[0]!.pathPrefix = 'mcp'), /path prefix "mcp" must start with "\/"/],
  ['route with a space in its prefix', (s) => (s.routes[0]!.pathPrefix = '/m cp'), /path prefix "\/m cp"/],
  ['backend naming a missing target', (s) => s.backends[0]!.targets.push('ghost'), /backend "agentgateway-system\/mcp-federated" names target "ghost", which does not exist/],
  ['backend naming a target twice', (s) => s.backends[0]!.targets.push('mcp-website-fetcher-80'), /names target "mcp-website-fetcher-80" twice/],
  ['target of a missing backend', (s) => (s.targets[0]!.backend = 'ns/other'), /target "mcp-server-everything-3001" belongs to backend "ns\/other", which does not exist/],
  ['target twice in a backend', (s) => s.targets.push({ ...s.targets[0]! }), /target "mcp-server-everything-3001" appears twice in backend/],
  ['target name with _', (s) => (s.targets[0]!.name = 'bad_name'), /target "bad_name" of backend .*: name must be lowercase letters, digits and "-"/],
  ['target address with spaces', (s) => (s.targets[0]!.endpoints[0]!.address = 'bad host'), /target "mcp-server-everything-3001" of backend "agentgateway-system\/mcp-federated": endpoint bad host:3001: address "bad host" is not a host name or IP address/],
  ['target scheme not http/https', (s) => (s.targets[0]!.scheme = 'ftp'), /endpoint 10\.0\.0\.1:3001: scheme "ftp" is not http or https/],
  ['endpoint port 0', (s) => (s.targets[0]!.endpoints[0]!.port = 0), /endpoint 10\.0\.0\.1:0: port 0 is not in 1-65535/],
  ['endpoint port above 65535', (s) => (s.targets[0]!.endpoints[0]!.port = 70000), /port 70000 is not in 1-65535/],
  ['target path with a query', (s) => (s.targets[0]!.path = '/mcp?x=1'), /path "\/mcp\?x=1" is not an absolute URL path/],
  ['target path not absolute', (s) => (s.targets[0]!.path = 'mcp'), /path "mcp" is not an absolute URL path/],
  ['a not-ready endpoint is checked too', (s) => s.targets[0]!.endpoints.push({ address: 'x y', port: 1, ready: false }), /address "x y" is not a host name/],
  ['bad IPv6 literal', (s) => (s.targets[0]!.endpoints[0]!.address = 'fd00::zz'), /address "fd00::zz" is not a host name or IP address/],
  ['duplicate backend', (s) => s.backends.push({ ...s.backends[0]! }), /backend "agentgateway-system\/mcp-federated" appears twice/],
  ['duplicate listener', (s) => s.listeners.push({ ...s.listeners[0]! }), /listener "http" appears twice/],
  ['duplicate route name', (s) => s.routes.push({ ...s.routes[0]! }), /route "agentgateway-system\/mcp\/0\/0" appears twice/],
  ['listener port 0', (s) => (s.listeners[0]!.port = 0), /listener "http": port 0 is not in 1-65535/],
  ['stdio target without a command', (s) => (s.targets[0]!.protocol = 'PROTOCOL_STDIO'), /target "mcp-server-everything-3001" of backend .*: protocol PROTOCOL_STDIO needs stdio.command/],
  ['stdio target with an empty command', (s) => (s.targets[0] = stdioTarget(BACKEND, 'mcp-server-everything-3001', ' ')), /needs stdio.command/],
  ['stdio target with endpoints', (s) => (s.targets[0] = { ...stdioTarget(BACKEND, 'mcp-server-everything-3001', 'srv'), endpoints: s.targets[0]!.endpoints }), /a stdio target has no endpoints/],
  ['a command on an HTTP target', (s) => (s.targets[0]!.stdio = { command: 'srv', args: [], env: {}, cwd: '' }), /a stdio command on a PROTOCOL_STREAMABLE_HTTP target/],
  ['stdio env name with =', (s) => (s.targets[0] = stdioTarget(BACKEND, 'mcp-server-everything-3001', 'srv', [], { env: { 'A=B': '1' } })), /stdio.env: "A=B" is not a variable name/],
  [
    'one prefix, two backends',
    (s) => {
      s.backends.push({ ...s.backends[0]!, name: 'ns/b2', targets: ['t'] });
      s.targets.push(target('ns/b2', 't', 'http://10.0.0.9:80/mcp'));
      s.routes.push({ name: 'r2', listeners: ['http'], pathPrefix: '/mcp/', backend: 'ns/b2', hostnames: [] });
    },
    /routes "agentgateway-system\/mcp\/0\/0" and "r2" both serve path prefix "\/mcp" on listener "http" with different backends/,
  ],
  ['a listener protocol not served', (s) => (s.listeners[0]!.protocol = 'TCP'), /listener "http": protocol "TCP" is not served \(HTTP, HTTPS\)/],
  ['HTTP and HTTPS on one port', (s) => s.listeners.push({ name: 'tls', port: 80, protocol: 'HTTPS', hostnames: [], certificateSecrets: [] }), /listeners "http", "tls" share port 80 with different protocols/],
  ['two listeners taking one hostname on one port', (s) => s.listeners.push({ name: 'again', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] }), /listeners "http" and "again" both take any hostname on port 80/],
  [
    'a certificate Secret without its key',
    (s) => {
      s.listeners.push({ name: 'https', port: 443, protocol: 'HTTPS', hostnames: [], certificateSecrets: ['tls/c'] });
      s.secrets.push({ name: 'tls/c', data: { 'tls.crt': PEM.cert } });
    },
    /listener "https": certificate Secret "tls\/c" needs tls\.crt and tls\.key/,
  ],
  [
    'a certificate Secret that is not a certificate',
    (s) => {
      s.listeners.push({ name: 'https', port: 443, protocol: 'HTTPS', hostnames: [], certificateSecrets: ['tls/c'] });
      s.secrets.push({ name: 'tls/c', data: { 'tls.crt': 'not PEM', 'tls.key': PEM.key } });
    },
    /listener "https": its certificates \(tls\/c\) cannot be used/,
  ],
];

for (const [name, mutate, message] of invalid) {
  test(`invalid: ${name}`, () => {
    const s = base();
    mutate(s);
    try {
      compileRoutingTable(s);
      assert.unreachable('compiled an invalid snapshot');
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_CONFIG_INVALID');
      assert.match((error as Error).message, message);
    }
  });
}

test.run();
