// Fuzz targets (issue 7): each feeds generated input into one surface and checks that it ends in a
// clear answer or error, never a crash, a hang, or a leak into another session. Used by the
// `npm run fuzz` runner (large counts) and by test/fuzz/fuzz.test.ts (a short run in CI).
import * as fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger } from '../../shared/log.ts';
import { McpmuxError } from '../../shared/errors.ts';
import type { Snapshot } from '../../shared/config/types.ts';
import { serviceDefinition } from '../../shared/proto/load.ts';
import { parseManifests } from '../../control-plane/sources/yaml.ts';
import type { KubeObject } from '../../control-plane/sources/source.ts';
import { emptyState, reduceAll } from '../../control-plane/state/reducer.ts';
import { translate } from '../../control-plane/translate/translate.ts';
import { compileRoutingTable } from '../../proxy/routing/table.ts';
import { ProxyServer } from '../../proxy/server.ts';
import { createEchoUpstream } from '../bench/fixtures/echo-upstream.ts';

const logger = createLogger('fuzz', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

export interface TargetResult {
  name: string;
  cases: number;
  ms: number;
}

/** What every target runs under: a seed (reproducible) and a case count. */
export interface FuzzRun {
  seed: number;
  cases: number;
}

async function timed(name: string, cases: number, body: () => Promise<void> | void): Promise<TargetResult> {
  const started = performance.now();
  await body();
  return { name, cases, ms: Math.round(performance.now() - started) };
}

// ---- Kubernetes objects into the translator ----

const KINDS: ReadonlyArray<[string, string]> = [
  ['v1', 'Service'],
  ['v1', 'Secret'],
  ['v1', 'Namespace'],
  ['discovery.k8s.io/v1', 'EndpointSlice'],
  ['gateway.networking.k8s.io/v1', 'Gateway'],
  ['gateway.networking.k8s.io/v1', 'GatewayClass'],
  ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
  ['gateway.networking.k8s.io/v1beta1', 'ReferenceGrant'],
  ['mcpmux.dev/v1alpha1', 'MCPBackend'],
  ['agentgateway.dev/v1alpha1', 'AgentgatewayBackend'],
];

const smallName = fc.constantFrom('a', 'b', 'mcp-gateway', 'mcp-route', 'mcp-federated', 'svc', 'agentgateway', 'mcpmux', '', 'x_y', 'UPPER');
const namespace = fc.constantFrom('ns', 'agentgateway-system', 'other', '');

/** Values shaped like the fields the translator reads, often wrong in type or range. */
const fieldValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('kgateway.dev/mcp', 'mcpmux.dev/mcp-sse', 'HTTP', 'PathPrefix', '/mcp', 'Allow', 'Deny', 'always', 'never', 'In', 'NotIn', 'Exists', 'stdio', '10s', 'true'),
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -5, max: 70000 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom('name', 'port', 'appProtocol', 'targets', 'selector', 'static', 'matchLabels', 'matchExpressions', 'key', 'operator', 'values', 'services',
        'host', 'protocol', 'mcp', 'listeners', 'parentRefs', 'rules', 'backendRefs', 'matches', 'path', 'value', 'type', 'group', 'kind', 'namespace',
        'gatewayClassName', 'controllerName', 'ports', 'endpoints', 'addresses', 'conditions', 'ready', 'upstreamAuth', 'authentication', 'authorization',
        'secretRef', 'jwt', 'issuer', 'jwksUri', 'apiKeys', 'tools', 'prefixMode', 'command', 'args'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

const kubeObject: fc.Arbitrary<KubeObject> = fc
  .record({ kind: fc.constantFrom(...KINDS), name: smallName, namespace, labels: fc.dictionary(fc.constantFrom('app', 'mcp-federation', 'kubernetes.io/service-name'), fc.constantFrom('true', 'a', 'svc', '')), spec: fieldValue, extra: fieldValue })
  .map(({ kind, name, namespace: ns, labels, spec, extra }) => ({
    apiVersion: kind[0],
    kind: kind[1],
    metadata: { name: name || 'unnamed', namespace: ns || undefined, labels, annotations: { 'mcpmux.dev/target-name': (JSON.stringify(extra) ?? '').slice(0, 8) } },
    spec,
    endpoints: extra,
    ports: extra,
    data: { token: 'dG9rZW4=' },
  }) as KubeObject);

/** The tutorial's objects (valid, so mutations reach deep into the translator), with endpoints. */
const TUTORIAL: readonly KubeObject[] = parseManifests(
  readFileSync(fileURLToPath(new URL('../../deploy/examples/tutorial/tutorial.yaml', import.meta.url)), 'utf8') +
    readFileSync(fileURLToPath(new URL('../../deploy/examples/tutorial/local-endpoints.yaml', import.meta.url)), 'utf8'),
  'tutorial.yaml',
).objects;

/** A copy of `value` with the member at `path` replaced (created along the way). */
function replaced(value: unknown, path: readonly (string | number)[], leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path;
  const base = (Array.isArray(value) ? [...value] : value !== null && typeof value === 'object' ? { ...(value as object) } : {}) as Record<string | number, unknown>;
  base[head!] = replaced(base[head!], rest, leaf);
  return base;
}

const PATHS: ReadonlyArray<readonly (string | number)[]> = [
  ['spec'], ['spec', 'listeners'], ['spec', 'listeners', 0, 'port'], ['spec', 'listeners', 0, 'protocol'], ['spec', 'listeners', 0, 'allowedRoutes'],
  ['spec', 'gatewayClassName'], ['spec', 'parentRefs'], ['spec', 'parentRefs', 0, 'sectionName'], ['spec', 'rules'], ['spec', 'rules', 0, 'matches'],
  ['spec', 'rules', 0, 'backendRefs', 0, 'kind'], ['spec', 'rules', 0, 'backendRefs', 0, 'namespace'], ['spec', 'mcp'], ['spec', 'mcp', 'targets', 0, 'selector'],
  ['spec', 'mcp', 'targets', 0, 'selector', 'services', 'matchExpressions'], ['spec', 'ports'], ['spec', 'ports', 0, 'appProtocol'], ['spec', 'ports', 0, 'port'],
  ['spec', 'ports', 0, 'name'], ['endpoints'], ['endpoints', 0, 'addresses'], ['endpoints', 0, 'conditions'], ['ports'], ['ports', 0, 'port'], ['ports', 0, 'name'],
  ['metadata', 'labels'], ['metadata', 'annotations'], ['metadata', 'namespace'], ['spec', 'authentication'], ['spec', 'authorization'], ['spec', 'upstreamAuth'],
];

const mutatedTutorial: fc.Arbitrary<KubeObject[]> = fc
  .array(fc.record({ object: fc.nat({ max: TUTORIAL.length - 1 }), path: fc.constantFrom(...PATHS), leaf: fieldValue }), { minLength: 1, maxLength: 4 })
  .map((mutations) => {
    const objects = [...TUTORIAL];
    for (const { object, path, leaf } of mutations) {
      const mutated = replaced(objects[object], path, leaf) as KubeObject;
      // Identity stays valid: both sources guarantee string names and namespaces (the files source
      // checks them, the apiserver validates them), so the translator may rely on it.
      const { name, namespace } = objects[object]!.metadata;
      const metadata = { ...(isRecord(mutated.metadata) ? mutated.metadata : {}), name, namespace };
      objects[object] = { ...mutated, apiVersion: objects[object]!.apiVersion, kind: objects[object]!.kind, metadata } as KubeObject;
    }
    return objects;
  });

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Random objects, and the tutorial's objects broken in random places, into reducer + translator + the proxy's compiler. */
export function translatorTarget(run: FuzzRun): Promise<TargetResult> {
  return timed('objects → translator → routing table', run.cases, () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(kubeObject, { maxLength: 12 }), mutatedTutorial), (objects) => {
        const state = reduceAll(emptyState(), objects.map((object) => ({ type: 'upsert' as const, object })));
        for (const classes of [['mcpmux', 'agentgateway'], ['mcpmux']]) {
          const { snapshots } = translate(state, { gatewayClasses: classes, allowStdio: classes.length === 2 });
          for (const snapshot of snapshots) compileOrNack(snapshot);
        }
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}

/** A snapshot the proxy cannot use must be a NACK (McpmuxError), never another exception. */
function compileOrNack(snapshot: Snapshot): void {
  try {
    compileRoutingTable(snapshot, { allowStdio: true });
  } catch (error) {
    if (!(error instanceof McpmuxError)) throw error;
  }
}

// ---- YAML text into the manifest parser ----

export function yamlTarget(run: FuzzRun): Promise<TargetResult> {
  const fragments = fc.constantFrom('apiVersion: v1\n', 'kind: Service\n', 'metadata:\n  name: a\n', '---\n', 'spec: {', '  - x\n', ': :\n', '"\\u0000"\n', '&a [*a]\n', 'key: !!binary AAAA\n', '\t', '#\n', '{', ']');
  const text = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fragments, { maxLength: 20 }).map((parts) => parts.join('')));
  return timed('YAML text → manifest parser', run.cases, () => {
    fc.assert(
      fc.property(text, (yaml) => {
        const { objects, errors } = parseManifests(yaml, 'fuzz.yaml');
        for (const error of errors) if (typeof error.line !== 'number' || !error.message) throw new Error(`an error without a line or message: ${JSON.stringify(error)}`);
        reduceAll(emptyState(), objects.map((object) => ({ type: 'upsert' as const, object })));
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}

// ---- Discovery messages into the config client's decoder and compiler ----

export function discoveryTarget(run: FuzzRun): Promise<TargetResult> {
  const method = serviceDefinition('DiscoveryService').StreamSnapshots!;
  const deserialize = method.responseDeserialize as (bytes: Buffer) => { snapshot?: Snapshot | null };
  const serialize = method.responseSerialize as (value: unknown) => Buffer;
  const snapshotLike = fc.record({
    version: fc.string({ maxLength: 8 }),
    group: fc.string({ maxLength: 8 }),
    listeners: fc.array(fc.record({ name: fc.string({ maxLength: 6 }), port: fc.integer({ min: -1, max: 70000 }), protocol: fc.string({ maxLength: 5 }), hostnames: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }) }), { maxLength: 2 }),
    routes: fc.array(fc.record({ name: fc.string({ maxLength: 6 }), listeners: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }), pathPrefix: fc.string({ maxLength: 6 }), backend: fc.constantFrom('b', 'c', '') }), { maxLength: 3 }),
    backends: fc.array(fc.record({ name: fc.constantFrom('b', 'c', ''), targets: fc.array(fc.constantFrom('t', 'u', 'x_y'), { maxLength: 3 }), toolInclude: fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }) }), { maxLength: 2 }),
    targets: fc.array(
      fc.record({ backend: fc.constantFrom('b', 'c'), name: fc.constantFrom('t', 'u', 'x_y', ''), endpoints: fc.array(fc.record({ address: fc.string({ maxLength: 10 }), port: fc.integer({ min: 0, max: 70000 }), ready: fc.boolean() }), { maxLength: 2 }), path: fc.string({ maxLength: 6 }), scheme: fc.constantFrom('http', 'https', 'ftp', ''), authSecret: fc.constantFrom('', 's') }),
      { maxLength: 3 },
    ),
    secrets: fc.array(fc.record({ name: fc.constantFrom('s', 'x'), data: fc.dictionary(fc.constantFrom('header', 'value'), fc.string({ maxLength: 6 })) }), { maxLength: 2 }),
  });
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    snapshotLike.map((snapshot) => serialize({ versionInfo: 'v', nonce: '1', snapshot })),
  );
  return timed('discovery bytes → decoder → routing table', run.cases, () => {
    fc.assert(
      fc.property(input, (bytes) => {
        let decoded: { snapshot?: Snapshot | null };
        try {
          decoded = deserialize(bytes);
        } catch {
          return; // undecodable: the stream ends with an error, the proxy keeps its snapshot
        }
        if (decoded.snapshot) compileOrNack(decoded.snapshot);
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}

// ---- HTTP requests into a running proxy ----

const ALLOWED_STATUS = new Set([200, 202, 204, 400, 401, 403, 404, 405, 406, 409, 413, 415, 429]);

/**
 * Random requests (methods, paths, headers, bodies) against a proxy serving one echo upstream, with
 * a canary session opened first: every answer is a status from the list above (never 500, never a
 * dropped connection), and the canary, whose id the fuzzer never sends, still works after all of it.
 */
export async function httpTarget(run: FuzzRun): Promise<TargetResult> {
  const upstream: Server = createEchoUpstream({ tools: 2, stateful: true });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, maxBodyBytes: 64 * 1024 });
  await proxy.start();
  proxy.apply(compileRoutingTable(echoSnapshot(upstreamPort)));
  const base = `http://127.0.0.1:${proxy.port}`;
  try {
    // The canary's id is never sent by the fuzzer: what it does to sessions whose ids it knows (a
    // DELETE ends one, as the spec says) must not reach a session whose id it does not.
    const canary = await openSession(base);
    const playground = await openSession(base);
    const jsonRpc = fc.oneof(
      fc.record({ jsonrpc: fc.constantFrom('2.0', '1.0', 2), id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null), fc.object()), method: fc.constantFrom('initialize', 'tools/list', 'tools/call', 'ping', 'resources/read', 'prompts/get', 'notifications/cancelled', 'completion/complete', 'tasks/get', 'logging/setLevel', '', 'x'), params: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.record({ name: fc.constantFrom('echo_echo', 'echo_tool-1', 'nope', ''), arguments: fc.jsonValue({ maxDepth: 2 }), cursor: fc.string({ maxLength: 8 }), uri: fc.string({ maxLength: 8 }) })) }, { requiredKeys: [] }),
      fc.array(fc.record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), method: fc.constantFrom('ping', 'tools/list') }), { maxLength: 3 }),
    );
    const body = fc.oneof(
      jsonRpc.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 100 }),
      fc.constant('{"jsonrpc":"2.0","id":1,"method":"ping"'),
      fc.constant('['.repeat(2000)),
      fc.constant(`{"a":${'['.repeat(500)}${']'.repeat(500)}}`),
      fc.constant('x'.repeat(70 * 1024)),
    );
    const headerValue = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('2025-06-18', '2025-11-25', '1999-01-01', 'Bearer x', 'http://evil.example', 'http://localhost:3000', playground.sessionId, 'a:1', '0'));
    const request = fc.record({
      method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'DELETE', 'PUT', 'OPTIONS'),
      path: fc.constantFrom('/mcp', '/mcp/', '/mcp/message', '/mcp/message?sessionId=x', `/mcp/message?sessionId=${playground.sessionId}`, '/sse', '/', '/mcpx', '/.well-known/oauth-protected-resource/mcp', '/%ff', '/mcp?x=1'),
      contentType: fc.constantFrom('application/json', 'text/plain', '', 'application/json; charset=utf-16'),
      accept: fc.constantFrom('application/json, text/event-stream', 'application/json', 'text/event-stream', '*/*', ''),
      sessionId: fc.option(headerValue, { nil: undefined }),
      protocolVersion: fc.option(headerValue, { nil: undefined }),
      lastEventId: fc.option(headerValue, { nil: undefined }),
      origin: fc.option(headerValue, { nil: undefined }),
      authorization: fc.option(headerValue, { nil: undefined }),
      body,
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        const set = (name: string, value: string | undefined): void => {
          // Header values fetch refuses to send (control characters) are not what a server sees.
          if (value !== undefined && /^[\t\x20-\x7e]*$/.test(value)) headers[name] = value;
        };
        set('content-type', r.contentType || undefined);
        set('accept', r.accept || undefined);
        set('mcp-session-id', r.sessionId);
        set('mcp-protocol-version', r.protocolVersion);
        set('last-event-id', r.lastEventId);
        set('origin', r.origin);
        set('authorization', r.authorization);
        const abort = AbortSignal.timeout(5000);
        const response = await fetch(base + r.path, { method: r.method, headers, body: r.method === 'POST' || r.method === 'PUT' ? r.body : undefined, signal: abort });
        // A stream (GET or an SSE answer) is read briefly, then let go: the point is the status.
        if (!ALLOWED_STATUS.has(response.status)) throw new Error(`${r.method} ${r.path} answered ${response.status}: ${await response.text()}`);
        await response.body?.cancel();
      }),
      { seed: run.seed, numRuns: run.cases },
    );
    // The canary session is untouched by all of it (another session's bytes never reach it).
    const answer = await callEcho(base, canary.sessionId, 'still here');
    if (!answer.includes('still here')) throw new Error(`the canary session broke: ${answer}`);
  } finally {
    await proxy.close();
    await new Promise((resolve) => upstream.close(resolve));
  }
  return { name: 'HTTP requests → proxy (headers, bodies, legacy SSE)', cases: run.cases, ms: 0 };
}

function echoSnapshot(port: number): Snapshot {
  return {
    version: 'fuzz',
    group: 'ns/gw',
    listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [] }],
    routes: [{ name: 'ns/r/0/0', listeners: ['http'], pathPrefix: '/mcp', backend: 'ns/b' }],
    backends: [{ name: 'ns/b', prefixMode: 'PREFIX_MODE_ALWAYS', failureMode: 'FAILURE_MODE_OPEN', targets: ['echo'], toolInclude: [], toolExclude: [], serverInfo: null, instructions: '' }],
    targets: [
      {
        backend: 'ns/b',
        name: 'echo',
        endpoints: [{ address: '127.0.0.1', port, ready: true }],
        path: '/mcp',
        protocol: 'PROTOCOL_STREAMABLE_HTTP',
        scheme: 'http',
        timeouts: { requestMs: 2000, initializeMs: 2000 },
        authSecret: '',
        source: 'fuzz',
        stdio: null,
      },
    ],
    policies: [],
    secrets: [],
  };
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function openSession(base: string): Promise<{ sessionId: string }> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'canary', version: '1' } } }),
  });
  const sessionId = response.headers.get('mcp-session-id');
  await response.text();
  if (!sessionId) throw new Error(`no canary session (HTTP ${response.status})`);
  await fetch(`${base}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.text());
  return { sessionId };
}

async function callEcho(base: string, sessionId: string, message: string): Promise<string> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'echo_echo', arguments: { message } } }),
  });
  return response.text();
}
