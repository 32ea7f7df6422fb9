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
import { translate, TranslateCache } from '../../control-plane/translate/translate.ts';
import { compileRoutingTable } from '../../proxy/routing/table.ts';
import { ProxyServer } from '../../proxy/server.ts';
import { createEchoUpstream } from '../bench/fixtures/echo-upstream.ts';
import { testCertificate } from '../../proxy/testing/certificates.ts';
import { buildUpstreamMeta, checkModernRequest, modernRequestHeaders, traceMeta } from '../../proxy/modern/envelope.ts';
import { decodeHeaderValue, encodeHeaderValue, sameHeaderText, trimOws } from '../../proxy/modern/header-value.ts';
import { checkMcpParamHeaders, mcpParamDeclarations, mcpParamHeaders } from '../../proxy/modern/mcp-param.ts';
import { RequestStateCodec, type RequestStateBinding, type SealedState } from '../../proxy/modern/request-state.ts';
import { readListenFilter } from '../../proxy/modern/listen.ts';
import { META_KEYS, MODERN_METHODS, MODERN_PROTOCOL_VERSIONS, TASKS_EXTENSION, nameField } from '../../proxy/modern/wire.ts';

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
        'secretRef', 'jwt', 'issuer', 'jwksUri', 'apiKeys', 'tools', 'prefixMode', 'command', 'args', 'tls', 'certificateRefs', 'mode', 'hostname', 'hostnames'),
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
  // HTTPS listeners and hostnames (the HTTPS base below has a listener with a certificate).
  ['spec', 'listeners', 1], ['spec', 'listeners', 1, 'tls'], ['spec', 'listeners', 1, 'tls', 'mode'], ['spec', 'listeners', 1, 'tls', 'certificateRefs'],
  ['spec', 'listeners', 1, 'tls', 'certificateRefs', 0, 'namespace'], ['spec', 'listeners', 1, 'hostname'], ['spec', 'listeners', 1, 'port'], ['spec', 'listeners', 1, 'protocol'],
  ['spec', 'hostnames'], ['type'], ['data'], ['stringData'],
];

/**
 * The tutorial with a second listener on its Gateway, HTTPS on 443 for mcp.example.test with the
 * certificate of a kubernetes.io/tls Secret (made once, with openssl), and the route's hostname:
 * valid, so mutations reach the TLS reading and hostname intersection.
 */
function httpsTutorial(): KubeObject[] {
  const { cert, key } = testCertificate('mcp.example.test');
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mcp-cert', namespace: 'agentgateway-system' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') } } as unknown as KubeObject;
  return [
    ...TUTORIAL.map((object) => {
      if (object.kind === 'Gateway') {
        const listeners = (object.spec as { listeners: unknown[] }).listeners;
        return { ...object, spec: { ...(object.spec as object), listeners: [...listeners, { name: 'https', port: 443, protocol: 'HTTPS', hostname: 'mcp.example.test', tls: { mode: 'Terminate', certificateRefs: [{ name: 'mcp-cert' }] } }] } } as KubeObject;
      }
      if (object.kind === 'HTTPRoute') return { ...object, spec: { ...(object.spec as object), hostnames: ['mcp.example.test', '*.example.test'] } } as KubeObject;
      return object;
    }),
    secret,
  ];
}

function mutatedFrom(base: readonly KubeObject[]): fc.Arbitrary<KubeObject[]> {
  return fc
  .array(fc.record({ object: fc.nat({ max: base.length - 1 }), path: fc.constantFrom(...PATHS), leaf: fieldValue }), { minLength: 1, maxLength: 4 })
  .map((mutations) => {
    const objects = [...base];
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
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Random objects, and the tutorial's objects broken in random places, into reducer + translator + the proxy's compiler. */
export function translatorTarget(run: FuzzRun): Promise<TargetResult> {
  // One cache across cases, as a control plane keeps one across states: its reuse is fuzzed too.
  const translateCache = new TranslateCache();
  return timed('objects → translator → routing table', run.cases, () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(kubeObject, { maxLength: 12 }), mutatedFrom(TUTORIAL), mutatedFrom(httpsTutorial())), (objects) => {
        const state = reduceAll(emptyState(), objects.map((object) => ({ type: 'upsert' as const, object })));
        for (const classes of [['mcpmux', 'agentgateway'], ['mcpmux']]) {
          const { snapshots } = translate(state, { gatewayClasses: classes, allowStdio: classes.length === 2 }, translateCache);
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
  // Every case is an anonymous caller on loopback: without the per-address session limit, an
  // initialize late in a run still opens a session (and exercises what follows) rather than a 429.
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger, maxBodyBytes: 64 * 1024, maxAnonymousSessionsPerAddress: 0 });
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
      // Duplicate keys and keys written with escapes, where parsers disagree on which one counts.
      fc
        .tuple(fc.constantFrom('"name"', '"n\\u0061me"', '"name"'), fc.constantFrom('"echo_echo"', '"nope"', '"echo\\u005fecho"'), fc.constantFrom('"params"', '"p\\u0061rams"'), fc.boolean())
        .map(([key, value, params, twice]) => `{"jsonrpc":"2.0","id":7,"method":"tools/call",${params}:{${key}:${value},"name":"echo_echo","arguments":{"message":"m","message":"n"}}${twice ? `,${params}:{"name":"nope"}` : ''}}`),
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
    listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] }],
    routes: [{ name: 'ns/r/0/0', listeners: ['http'], pathPrefix: '/mcp', backend: 'ns/b', hostnames: [] }],
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
        // The echo upstream speaks 2025-11-25: no era probe per run.
        protocolEra: 'PROTOCOL_ERA_LEGACY',
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

// ---- MCP 2026-07-28: envelopes and standard headers into the modern checks ----

/** Each case must finish well within this (the checks are linear; a slow case means a blow-up). */
const CASE_BUDGET_MS = 250;

function withinBudget<T>(what: string, run: () => T): T {
  const started = performance.now();
  try {
    return run();
  } finally {
    const ms = performance.now() - started;
    if (ms > CASE_BUDGET_MS) throw new Error(`${what} took ${Math.round(ms)} ms on one case`);
  }
}

/** Run `body`: it may return or throw McpmuxError, never anything else. */
function returnsOrRefuses<T>(what: string, body: () => T): { ok: true; value: T } | { ok: false; error: McpmuxError } {
  try {
    return { ok: true, value: withinBudget(what, body) };
  } catch (error) {
    if (error instanceof McpmuxError) return { ok: false, error };
    throw error;
  }
}

const MODERN_VERSION = '2026-07-28';

/** Header values: plain, with OWS, Base64 forms (valid, broken, half), huge, non-ASCII. */
const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 12 }).map((s) => encodeHeaderValue(s)),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => encodeHeaderValue(s)),
  fc.string({ maxLength: 16 }).map((s) => `=?base64?${s}?=`),
  fc.string({ maxLength: 12 }).map((s) => `=?base64?${Buffer.from(s).toString('base64')}`),
  fc.string({ maxLength: 12 }).map((s) => `${Buffer.from(s).toString('base64')}?=`),
  fc.tuple(fc.constantFrom('', ' ', '\t', '  \t'), fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', '\t')).map(([a, s, b]) => a + s + b),
  fc.constantFrom('=?base64?SGVsbG8=?=', '=?base64?SGVsbG8?=', '=?base64?SGVs!!!bG8=?=', '=?BASE64?SGVsbG8=?=', '=?base64??=', '=?base64?=', 'TOOLS/LIST', 'tools/list', 'tools/call', MODERN_VERSION, 'v999.0.0', '2025-11-25'),
  fc.nat({ max: 9000 }).map((n) => `=?base64?${'A'.repeat(n)}?=`),
  fc.nat({ max: 9000 }).map((n) => `${' '.repeat(n)}x${'\t'.repeat(n)}`),
);

const metaValue: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), fc.constant({}), fc.constant([]));

/** A valid envelope (whose version may still be one we do not serve). */
const validMeta = fc.record(
  {
    [META_KEYS.protocolVersion]: fc.oneof({ weight: 6, arbitrary: fc.constant(MODERN_VERSION) }, fc.constantFrom('v999.0.0', '2025-11-25')),
    [META_KEYS.clientCapabilities]: fc.constantFrom({}, { elicitation: {}, sampling: {} }, { extensions: { [TASKS_EXTENSION]: {} } }),
    [META_KEYS.clientInfo]: fc.record({ name: fc.string({ maxLength: 5 }), version: fc.string({ maxLength: 3 }) }),
    [META_KEYS.logLevel]: fc.constantFrom('debug', 'info', 'emergency'),
    progressToken: fc.oneof(fc.integer(), fc.string({ maxLength: 6 })),
    traceparent: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [META_KEYS.protocolVersion, META_KEYS.clientCapabilities] },
);

const ENVELOPE_KEYS = [META_KEYS.protocolVersion, META_KEYS.clientCapabilities, META_KEYS.clientInfo, META_KEYS.logLevel, 'progressToken'] as const;

/** Mostly valid envelopes, some with one key broken or dropped, some not envelopes at all. */
const metaShape: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: validMeta },
  {
    weight: 3,
    arbitrary: fc.tuple(validMeta, fc.constantFrom(...ENVELOPE_KEYS), fc.option(fc.oneof(metaValue, fc.string({ maxLength: 8 }), fc.double()), { nil: undefined })).map(([meta, key, value]) => {
      const broken: Record<string, unknown> = { ...meta };
      if (value === undefined) delete broken[key];
      else broken[key] = value;
      return broken;
    }),
  },
  { weight: 1, arbitrary: metaValue },
);

const requestShape = fc.record({
  method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...MODERN_METHODS) }, fc.constantFrom('initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'tasks/result', 'constructor', '__proto__', 'TOOLS/CALL', ''), fc.string({ maxLength: 10 })),
  params: fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record(
        { _meta: metaShape, name: fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) }, metaValue), uri: fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 10 }) }, metaValue), taskId: fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 6 }) }, metaValue), arguments: metaValue },
        { requiredKeys: ['_meta'] },
      ),
    },
    metaValue,
  ),
  // Mostly the headers echo the body (so cases reach the later checks), then one may be changed.
  echo: fc.nat({ max: 3 }).map((n) => n > 0),
  tweak: fc.option(fc.record({ header: fc.constantFrom('mcp-protocol-version', 'mcp-method', 'mcp-name'), value: fc.option(headerText, { nil: undefined }) }), { nil: undefined }),
  version: fc.option(headerText, { nil: undefined }),
  method_: fc.option(headerText, { nil: undefined }),
  name: fc.option(headerText, { nil: undefined }),
  upstreamMethod: fc.constantFrom(...MODERN_METHODS),
  upstreamName: fc.string({ unit: 'binary', maxLength: 16 }),
});

/**
 * An oracle for decodeHeaderValue: what it accepts in the wrapped form re-encodes to exactly the
 * payload (so only canonical Base64 of UTF-8 passes), and a literal comes back trimmed, unchanged.
 */
function checkDecoding(raw: string): void {
  const outcome = returnsOrRefuses('decodeHeaderValue', () => decodeHeaderValue(raw));
  if (!outcome.ok) return;
  const value = trimOws(raw);
  const wrapped = value.length >= 11 && value.startsWith('=?base64?') && value.endsWith('?=');
  const expected = wrapped ? value.slice(9, -2) : value;
  const got = wrapped ? Buffer.from(outcome.value, 'utf8').toString('base64') : outcome.value;
  if (got !== expected) throw new Error(`decodeHeaderValue accepted ${JSON.stringify(raw)} as ${JSON.stringify(outcome.value)}`);
}

/**
 * Random _meta shapes, methods and header values (Base64 forms included) into checkModernRequest:
 * each case returns or throws McpmuxError, quickly; what it accepts is consistent with its headers;
 * and what the gateway itself sends upstream (buildUpstreamMeta + modernRequestHeaders) is accepted.
 */
export function modernTarget(run: FuzzRun): Promise<TargetResult> {
  return timed('_meta + headers → modern checks', run.cases, () => {
    fc.assert(
      fc.property(requestShape, (r) => {
        const params = r.params as Record<string, unknown> | undefined;
        const meta = isRecord(params) && isRecord(params['_meta']) ? params['_meta'] : {};
        const field = nameField(r.method);
        const echoed: Record<string, string | undefined> = r.echo
          ? { 'mcp-protocol-version': typeof meta[META_KEYS.protocolVersion] === 'string' ? (meta[META_KEYS.protocolVersion] as string) : r.version, 'mcp-method': r.method, 'mcp-name': field && isRecord(params) && typeof params[field] === 'string' ? encodeHeaderValue(params[field] as string) : r.name }
          : { 'mcp-protocol-version': r.version, 'mcp-method': r.method_, 'mcp-name': r.name };
        if (r.tweak) echoed[r.tweak.header] = r.tweak.value;
        for (const value of [r.version, r.method_, r.name, r.tweak?.value]) if (value !== undefined) checkDecoding(value);
        const outcome = returnsOrRefuses('checkModernRequest', () => checkModernRequest({ method: r.method, params }, (h) => echoed[h], MODERN_PROTOCOL_VERSIONS));
        if (outcome.ok) {
          if (!MODERN_METHODS.has(r.method)) throw new Error(`accepted a method that is not modern: ${r.method}`);
          if (outcome.value.envelope.protocolVersion !== MODERN_VERSION) throw new Error(`accepted version ${outcome.value.envelope.protocolVersion}`);
          if (field && outcome.value.name !== params?.[field]) throw new Error('accepted a name other than the body field');
        } else if (outcome.error.code === 'MCPMUX_UNSUPPORTED_VERSION' && !Array.isArray(outcome.error.data?.['supported'])) {
          throw new Error('-32022 without data.supported');
        }
        // What we send upstream must pass a modern server's checks (ours) for any name.
        const { upstreamMethod: method, upstreamName: name } = r;
        const upstreamField = nameField(method);
        const upstreamParams: Record<string, unknown> = { _meta: buildUpstreamMeta({ protocolVersion: MODERN_VERSION, clientCapabilities: {}, extra: traceMeta(meta) }) };
        if (upstreamField) upstreamParams[upstreamField] = name;
        const headers = modernRequestHeaders(method, MODERN_VERSION, upstreamField ? name : undefined);
        const checked = checkModernRequest({ method, params: upstreamParams }, (h) => headers[h], MODERN_PROTOCOL_VERSIONS);
        if (upstreamField && !sameHeaderText(checked.name!, name)) throw new Error(`our own Mcp-Name did not survive: ${JSON.stringify(name)}`);
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}

// ---- MCP 2026-07-28: requestState tokens into the codec ----

const STATE_BINDING: RequestStateBinding = { target: 'weather', method: 'tools/call', name: 'forecast', principal: 'alice' };

/**
 * Random strings, and real tokens mutated (characters, then bytes under a valid encoding, so the
 * mutations reach the AEAD) into RequestStateCodec.open: it throws McpmuxError only, never opens a
 * changed token, and opens the real ones only under their own binding.
 */
export function requestStateTarget(run: FuzzRun): Promise<TargetResult> {
  let clock = 1_000_000;
  const codec = new RequestStateCodec({ current: new Uint8Array(32).fill(7), previous: new Uint8Array(32).fill(8) }, { ttlMs: 60_000, now: () => clock });
  const older = new RequestStateCodec({ current: new Uint8Array(32).fill(8) }, { ttlMs: 60_000, now: () => clock });
  const stranger = new RequestStateCodec({ current: new Uint8Array(32).fill(9) }, { ttlMs: 60_000, now: () => clock });
  const state = fc.record({ upstream: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }), hold: fc.option(fc.record({ replica: fc.string({ maxLength: 6 }), id: fc.string({ maxLength: 6 }) }), { nil: undefined }) });
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('chars' as const), at: fc.nat(), cut: fc.nat({ max: 3 }), insert: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('suffix' as const), text: fc.constantFrom('-TAMPERED', '=', '.', 'A', '\n') }),
  );
  const binding = fc.record({ target: fc.constantFrom('weather', 'other'), method: fc.constantFrom('tools/call', 'prompts/get'), name: fc.constantFrom('forecast', 'x'), principal: fc.constantFrom('alice', 'bob', undefined) });
  return timed('requestState tokens → codec', run.cases, () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ maxLength: 60 }).map((s) => `mxs1.${s}`)), state, mutation, binding, fc.constantFrom('ours', 'older', 'stranger'), (garbage, sealed, m, other, issuer) => {
        const open = (token: string, expected: RequestStateBinding): ReturnType<typeof returnsOrRefuses<SealedState>> => returnsOrRefuses('open', () => codec.open(token, expected));
        if (open(garbage, STATE_BINDING).ok) throw new Error(`opened garbage: ${JSON.stringify(garbage)}`);
        const sealer = issuer === 'ours' ? codec : issuer === 'older' ? older : stranger;
        const token = sealer.seal(STATE_BINDING, sealed);
        const real = open(token, STATE_BINDING);
        if (real.ok !== (issuer !== 'stranger')) throw new Error(`a token sealed by the ${issuer} key ${real.ok ? 'opened' : 'did not open'}`);
        if (real.ok && (real.value.upstream !== sealed.upstream || JSON.stringify(real.value.hold) !== JSON.stringify(sealed.hold))) throw new Error('the state changed in the round trip');
        const rebound = open(token, other);
        const same = other.target === STATE_BINDING.target && other.method === STATE_BINDING.method && other.name === STATE_BINDING.name && other.principal === STATE_BINDING.principal;
        if (rebound.ok && !same) throw new Error(`opened under another binding: ${JSON.stringify(other)}`);
        let changed: string;
        if (m.kind === 'chars') {
          const at = m.at % (token.length + 1);
          changed = token.slice(0, at) + m.insert + token.slice(at + m.cut);
        } else if (m.kind === 'bytes') {
          const bytes = Buffer.from(token.slice(5), 'base64url');
          bytes[m.at % bytes.length]! ^= m.xor;
          changed = `mxs1.${bytes.toString('base64url')}`;
        } else {
          changed = token + m.text;
        }
        if (changed !== token && open(changed, STATE_BINDING).ok) throw new Error(`opened a changed token: ${token} → ${changed}`);
        clock += 61_000;
        if (open(token, STATE_BINDING).ok) throw new Error('opened an expired token');
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}

// ---- MCP 2026-07-28: x-mcp-header schemas and Mcp-Param-* values ----

const annotation = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('Region', 'region', 'REGION', 'Tenant-Id', 'Limit', 'Dry_Run', 'x') },
  fc.constantFrom('', 'My Region', 'Region:', 'Régión', 'a\nb', '__proto__'),
  fc.string({ maxLength: 6 }),
  fc.jsonValue({ maxDepth: 1 }),
);

/** A schema node `depth` levels deep at most: annotations anywhere, reachable or not. */
function schemaNode(depth: number): fc.Arbitrary<unknown> {
  const type = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('string', 'integer', 'boolean', 'object') }, fc.constantFrom('number', 'array', 'null'), fc.constant(['string', 'null']));
  const leaf = fc.oneof(
    { weight: 4, arbitrary: fc.record({ type, 'x-mcp-header': annotation, default: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['type'] }) },
    fc.boolean(),
    fc.constant(null),
  );
  if (depth === 0) return leaf;
  const child = schemaNode(depth - 1);
  const names = fc.constantFrom('region', 'limit', 'dry', 'nested', '__proto__', 'constructor', 'a');
  return fc.oneof(
    leaf,
    { weight: 3, arbitrary: fc.record({ type, 'x-mcp-header': annotation, properties: fc.dictionary(names, child, { maxKeys: 3 }) }, { requiredKeys: ['properties'] }) },
    fc.record({ type: fc.constant('array'), items: child }),
    fc.record({ anyOf: fc.array(child, { maxLength: 2 }) }),
    fc.record({ type: fc.constant('object'), additionalProperties: child }),
    fc.record({ properties: fc.dictionary(names, child, { maxKeys: 2 }), $defs: fc.dictionary(fc.constantFrom('a', 'b'), child, { maxKeys: 1 }) }),
  );
}

const PARAM_PROPERTIES = ['region', 'limit', 'dry', 'tenant', 'nested'] as const;

/** Mostly valid annotated schemas (so the checks run on real declarations), sometimes with one fault. */
const annotatedSchema: fc.Arbitrary<unknown> = fc
  .record({
    types: fc.tuple(...PARAM_PROPERTIES.map(() => fc.constantFrom('string', 'integer', 'boolean'))),
    annotated: fc.tuple(...PARAM_PROPERTIES.map(() => fc.boolean())),
    nestedDeep: fc.boolean(),
    fault: fc.option(fc.record({ property: fc.constantFrom(...PARAM_PROPERTIES), annotation }), { nil: undefined }),
  })
  .map(({ types, annotated, nestedDeep, fault }) => {
    const properties: Record<string, unknown> = {};
    PARAM_PROPERTIES.forEach((name, i) => {
      const property: Record<string, unknown> = { type: types[i] };
      if (annotated[i]) property['x-mcp-header'] = name === 'tenant' ? 'Tenant-Id' : name[0]!.toUpperCase() + name.slice(1);
      if (fault?.property === name) property['x-mcp-header'] = fault.annotation;
      properties[name] = name === 'nested' && nestedDeep ? { type: 'object', properties: { inner: property } } : property;
    });
    return { type: 'object', properties };
  });

const argValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) }, { weight: 2, arbitrary: fc.integer() }, fc.double(), { weight: 2, arbitrary: fc.boolean() }, fc.constant(null), fc.constant(undefined), fc.constant(2 ** 60), fc.object({ maxDepth: 1 }));
const argsShape: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  args: fc.oneof({ depthSize: 'small' }, argValue, fc.dictionary(fc.constantFrom('region', 'limit', 'dry', 'tenant', 'nested', 'inner', '__proto__', 'constructor'), tie('args'), { maxKeys: 5 })),
})).args;

const PARAM_HEADERS = ['mcp-param-region', 'mcp-param-limit', 'mcp-param-dry', 'mcp-param-tenant-id', 'mcp-param-nested', 'mcp-param-x'] as const;
const headerMode = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ours' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('changed' as const), header: fc.constantFrom(...PARAM_HEADERS), value: fc.option(headerText, { nil: undefined }) }) },
  fc.record({ kind: fc.constant('random' as const), headers: fc.dictionary(fc.constantFrom(...PARAM_HEADERS), headerText, { maxKeys: 3 }) }),
);

/** The decoded header value, or undefined when it has no valid decoding. */
function decodesTo(raw: string): string | undefined {
  try {
    return decodeHeaderValue(raw);
  } catch {
    return undefined;
  }
}

/**
 * Random schemas into mcpParamDeclarations (ok or error, never a throw; what it accepts obeys the
 * spec's rules), and random arguments and Mcp-Param-* headers into checkMcpParamHeaders (returns or
 * throws McpmuxError); the headers the gateway generates for upstreams always pass its own check.
 */
export function mcpParamTarget(run: FuzzRun): Promise<TargetResult> {
  const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  return timed('x-mcp-header schemas + values → Mcp-Param checks', run.cases, () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 2, arbitrary: annotatedSchema }, schemaNode(3)), argsShape, headerMode, (schema, args, mode) => {
        const result = withinBudget('mcpParamDeclarations', () => mcpParamDeclarations(schema));
        if ('error' in result) {
          if (typeof result.error !== 'string' || result.error.length === 0) throw new Error('an error without a message');
          return;
        }
        const seen = new Set<string>();
        for (const declaration of result.ok) {
          if (!token.test(declaration.header)) throw new Error(`accepted header name ${JSON.stringify(declaration.header)}`);
          if (!['string', 'integer', 'boolean'].includes(declaration.type)) throw new Error(`accepted type ${declaration.type}`);
          if (declaration.path.length === 0) throw new Error('accepted an annotation on the root');
          if (seen.has(declaration.header.toLowerCase())) throw new Error(`accepted a duplicate ${declaration.header}`);
          seen.add(declaration.header.toLowerCase());
        }
        const ours = mcpParamHeaders(result.ok, args);
        // The client's headers: ours, ours with one changed or dropped, or random ones.
        const headers: Record<string, string | undefined> = mode.kind === 'random' ? mode.headers : { ...ours };
        if (mode.kind === 'changed') headers[mode.header] = mode.value;
        const outcome = returnsOrRefuses('checkMcpParamHeaders', () => checkMcpParamHeaders(result.ok, args, (h) => headers[h]));
        if (outcome.ok && mode.kind === 'changed' && ours[mode.header] !== undefined) {
          if (mode.value === undefined) throw new Error(`accepted a call without ${mode.header} though the body has its value`);
          if (decodesTo(mode.value) === undefined) throw new Error(`accepted an undecodable ${mode.header}: ${mode.value}`);
        }
        for (const value of Object.values(ours)) if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) throw new Error(`generated an unsafe header value ${JSON.stringify(value)}`);
        checkMcpParamHeaders(result.ok, args, (h) => ours[h]);
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}

// ---- MCP 2026-07-28: subscriptions/listen requests ----

/** What a listen request's notifications filter may hold: the keys the spec names, with any JSON under them. */
const listenNotifications: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue(),
  fc.record(
    {
      toolsListChanged: fc.oneof(fc.boolean(), fc.jsonValue()),
      promptsListChanged: fc.oneof(fc.boolean(), fc.jsonValue()),
      resourcesListChanged: fc.oneof(fc.boolean(), fc.jsonValue()),
      resourceSubscriptions: fc.oneof(fc.array(fc.string()), fc.array(fc.jsonValue()), fc.jsonValue()),
      taskIds: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
      __proto__: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
);

/**
 * Random listen requests into the filter the gateway acknowledges: it returns or throws McpmuxError,
 * and what it honours is exactly what was asked in the spec's shape (true flags, arrays of strings).
 */
export function listenTarget(run: FuzzRun): Promise<TargetResult> {
  return timed('listen requests → listen filter', run.cases, () => {
    fc.assert(
      fc.property(listenNotifications, (notifications) => {
        const params = notifications === undefined ? {} : { notifications };
        const outcome = returnsOrRefuses('readListenFilter', () => readListenFilter(params as Record<string, unknown>));
        if (!outcome.ok) return;
        const filter = outcome.value;
        const n = (isRecord(notifications) ? notifications : {}) as Record<string, unknown>;
        for (const [kind, key] of [['tools', 'toolsListChanged'], ['prompts', 'promptsListChanged'], ['resources', 'resourcesListChanged']] as const) {
          if (filter.lists.has(kind) !== (n[key] === true)) throw new Error(`${key}: honoured ${filter.lists.has(kind)} for ${JSON.stringify(n[key])}`);
        }
        if (!filter.resourceSubscriptions.every((u) => typeof u === 'string') || !filter.taskIds.every((t) => typeof t === 'string')) throw new Error('a non-string URI or task id was honoured');
      }),
      { seed: run.seed, numRuns: run.cases },
    );
  });
}
