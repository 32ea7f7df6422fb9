// Fuzz targets for HTTPS and multi-listener Gateways (issue 16 §5), next to targets.ts:
//  - hosts: hostname patterns and requests' Hosts into intersection, listener selection and route
//    views, each answer checked against a plain model of Gateway API's rules;
//  - tls-secret: Secret objects (valid certificates broken in random places, wrong types, base64
//    garbage) into the control plane's certificate reading, whose every acceptance the proxy must
//    accept too;
//  - https: TLS handshakes and requests with random SNI and Host into a running proxy with an HTTP
//    listener and three HTTPS listeners sharing 443: every answer is the one the model predicts
//    (the listener's backend, 404, 421, or a refused handshake), never a crash, and a canary
//    session on one listener survives it all.
import * as fc from 'fast-check';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { KubeObject } from '../../control-plane/sources/source.ts';
import { readTlsSecret } from '../../control-plane/translate/tls-secrets.ts';
import type { Backend, Listener, Route, Snapshot } from '../../shared/config/types.ts';
import { McpmuxError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { hostnameMatches, intersectHostnames, requestHostname } from '../../shared/net/hostnames.ts';
import { listenerIndex, routeView, selectListener } from '../../proxy/routing/hosts.ts';
import { matchRoute } from '../../proxy/routing/match.ts';
import { compileRoutingTable } from '../../proxy/routing/table.ts';
import { ProxyServer } from '../../proxy/server.ts';
import { testCertificate } from '../../proxy/testing/certificates.ts';
import { target } from '../../proxy/testing/snapshots.ts';
import type { FuzzRun, TargetResult } from './targets.ts';

const logger = createLogger('fuzz', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

// ---- Hostnames, listener selection, route views ----

const LABELS = ['a', 'b', 'mcp', 'example', 'test', 'x-y', '0'];
/** Names from a small alphabet of labels, so patterns and names meet often. */
const name: fc.Arbitrary<string> = fc.array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const pattern: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: name }, { weight: 2, arbitrary: name.map((n) => `*.${n}`) }, fc.constantFrom('*', '', '*.', 'MCP.Example', 'a..b'));
/** What a client may send as Host: names, with ports, case, a trailing dot, IPv6 literals, junk. */
const hostHeader: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: name },
  { weight: 2, arbitrary: fc.tuple(name, fc.constantFrom(':80', ':443', ':', ':x', '.', '.:8443')).map(([n, tail]) => n + tail) },
  name.map((n) => n.toUpperCase()),
  fc.constantFrom('[::1]:8080', '[::1', '127.0.0.1:80', '', ' ', '*'),
  fc.string({ maxLength: 20 }),
);

/** The concrete names a pattern matches, as the model sees them (a wildcard: one or more labels before its suffix). */
function modelMatches(p: string, n: string): boolean {
  if (p.startsWith('*.')) return n.endsWith(p.slice(1)) && n.length > p.length - 1;
  return p === n;
}

/** Gateway API's precedence, written plainly: exact, then the wildcard with more labels (then longer), then none. */
function modelRank(p: string | undefined): [number, number, number] {
  if (p === undefined) return [0, 0, 0];
  if (!p.startsWith('*.')) return [2, 0, p.length];
  return [1, p.split('.').length - 1, p.length];
}
const compareRank = (a: [number, number, number], b: [number, number, number]): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

export function hostsTarget(run: FuzzRun): Promise<TargetResult> {
  const listeners = fc.uniqueArray(fc.record({ name: fc.constantFrom('l1', 'l2', 'l3', 'l4', 'l5'), port: fc.constantFrom(80, 443), hostnames: fc.array(pattern, { maxLength: 2 }) }), {
    selector: (l) => l.name,
    maxLength: 5,
  });
  const routes = fc.array(fc.record({ listeners: fc.subarray(['l1', 'l2', 'l3', 'l4', 'l5']), pathPrefix: fc.constantFrom('/', '/mcp', '/mcp/a', '/b'), hostnames: fc.array(pattern, { maxLength: 2 }), backend: fc.constantFrom('ns/one', 'ns/two') }), { maxLength: 5 });
  const input = fc.record({ listeners, routes, hosts: fc.array(hostHeader, { minLength: 1, maxLength: 6 }), a: pattern, b: pattern, probe: name, path: fc.constantFrom('/mcp', '/mcp/a', '/b', '/', '/sse', '/mcp/message') });
  const started = performance.now();
  fc.assert(
    fc.property(input, (c) => {
      // Intersection: what the result matches, both match; symmetric.
      const both = intersectHostnames(c.a, c.b);
      if (both !== intersectHostnames(c.b, c.a)) throw new Error(`intersection of ${c.a} and ${c.b} is not symmetric`);
      if (both !== undefined && hostnameMatches(both, c.probe) && !(modelMatches(c.a.toLowerCase(), c.probe) && modelMatches(c.b.toLowerCase(), c.probe))) {
        throw new Error(`${c.probe} matches ${c.a} ∩ ${c.b} = ${both} but not both`);
      }
      const snapshot = hostsSnapshot(c.listeners, c.routes);
      let table;
      try {
        table = compileRoutingTable(snapshot);
      } catch (error) {
        if (error instanceof McpmuxError) return; // a NACK: fine
        throw error;
      }
      const index = listenerIndex(table);
      for (const raw of c.hosts) {
        const host = requestHostname(raw);
        for (const port of index.ports.values()) {
          const chosen = selectListener(port, host || undefined);
          // The model: the most specific listener hostname matching, else a listener without any.
          let best: { name: string; rank: [number, number, number] } | undefined;
          for (const l of port.listeners) {
            const matching = l.hostnames.filter((p) => host !== '' && modelMatches(p, host));
            if (l.hostnames.length > 0 && matching.length === 0) continue;
            const rank = l.hostnames.length === 0 ? modelRank(undefined) : matching.map(modelRank).sort(compareRank).at(-1)!;
            if (!best || compareRank(rank, best.rank) > 0) best = { name: l.name, rank };
          }
          if (chosen?.name !== best?.name) throw new Error(`Host ${JSON.stringify(raw)} on port ${port.port}: chose ${chosen?.name}, the model ${best?.name}`);
          if (!chosen) continue;
          const view = routeView(index.listeners.get(chosen.name)!, host);
          // The model: the listener's routes that take the Host, the most specific hostname first, then the longest prefix.
          const listenerRank = chosen.hostnames.length === 0 ? modelRank(undefined) : chosen.hostnames.filter((p) => modelMatches(p, host)).map(modelRank).sort(compareRank).at(-1)!;
          const rankOf = (route: (typeof view.routes)[number]): [number, number, number] =>
            route.hostnames.length === 0 ? listenerRank : route.hostnames.filter((p) => modelMatches(p, host)).map(modelRank).sort(compareRank).at(-1)!;
          const expected = table.routes.filter((r) => r.listeners.includes(chosen.name) && (r.hostnames.length === 0 || r.hostnames.some((p) => modelMatches(p, host))));
          if (view.routes.length !== expected.length || !expected.every((r) => view.routes.includes(r))) {
            throw new Error(`Host ${host} on ${chosen.name}: routes ${view.routes.map((r) => r.name)}, the model ${expected.map((r) => r.name)}`);
          }
          for (let i = 1; i < view.routes.length; i++) {
            const [a, b] = [view.routes[i - 1]!, view.routes[i]!];
            const order = compareRank(rankOf(a), rankOf(b)) || a.pathPrefix.length - b.pathPrefix.length;
            if (order < 0) throw new Error(`Host ${host} on ${chosen.name}: ${a.name} before ${b.name}, against precedence`);
          }
          const match = matchRoute(view, c.path);
          if (match && !view.routes.includes(match.route) && match.route !== view.sseAlias) throw new Error('a match outside the view');
        }
      }
    }),
    { seed: run.seed, numRuns: run.cases },
  );
  return Promise.resolve({ name: 'Hosts and patterns → intersection, listener, route view', cases: run.cases, ms: Math.round(performance.now() - started) });
}

function hostsSnapshot(listeners: Array<{ name: string; port: number; hostnames: string[] }>, routes: Array<{ listeners: string[]; pathPrefix: string; hostnames: string[]; backend: string }>): Snapshot {
  const names = new Set(listeners.map((l) => l.name));
  const backends = ['ns/one', 'ns/two'].map(backend);
  return {
    version: 'fuzz',
    group: 'ns/gw',
    listeners: listeners.map((l): Listener => ({ name: l.name, port: l.port, protocol: 'HTTP', hostnames: l.hostnames, certificateSecrets: [] })),
    routes: routes.map((r, i): Route => ({ name: `ns/r/${i}/0`, listeners: r.listeners.filter((l) => names.has(l)), pathPrefix: r.pathPrefix, backend: r.backend, hostnames: r.hostnames })),
    backends,
    targets: backends.map((b) => target(b.name, 'down', 'http://127.0.0.1:9/mcp')),
    policies: [],
    secrets: [],
  };
}

function backend(name: string): Backend {
  return { name, prefixMode: 'PREFIX_MODE_ALWAYS', failureMode: 'FAILURE_MODE_OPEN', targets: ['down'], toolInclude: [], toolExclude: [], serverInfo: { name, version: '1' }, instructions: '' };
}

// ---- Certificate Secrets into the control plane's reading ----

export function tlsSecretTarget(run: FuzzRun): Promise<TargetResult> {
  const good = testCertificate('mcp.example.test');
  const other = testCertificate('other.example.test');
  /** A PEM with one random edit: cut, a character changed, doubled, another key's, blanks. */
  const mutated = (pem: string): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constant(pem) },
      fc.nat({ max: pem.length }).map((n) => pem.slice(0, n)),
      fc.tuple(fc.nat({ max: pem.length - 1 }), fc.string({ minLength: 1, maxLength: 1 })).map(([at, ch]) => pem.slice(0, at) + ch + pem.slice(at + 1)),
      fc.constant(pem + pem),
      fc.constant(`\n\n${pem}\n`),
      fc.constantFrom(other.cert, other.key, good.cert + other.cert, '', 'garbage', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'),
      fc.string({ maxLength: 60 }),
    );
  const secret = fc.record({
    type: fc.oneof({ weight: 4, arbitrary: fc.constant('kubernetes.io/tls') }, fc.constantFrom('Opaque', '', undefined, 7)),
    cert: mutated(good.cert),
    key: mutated(good.key),
    encoding: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('data', 'stringData') }, fc.constantFrom('broken-base64', 'not-a-map')),
  });
  const started = performance.now();
  let accepted = 0;
  fc.assert(
    fc.property(secret, (s) => {
      const values = { 'tls.crt': s.cert, 'tls.key': s.key };
      const fields =
        s.encoding === 'stringData' ? { stringData: values }
        : s.encoding === 'data' ? { data: { 'tls.crt': Buffer.from(s.cert).toString('base64'), 'tls.key': Buffer.from(s.key).toString('base64') } }
        : s.encoding === 'broken-base64' ? { data: { 'tls.crt': `%%${s.cert}`, 'tls.key': s.key } }
        : { data: 'not a map' };
      const object = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'c', namespace: 'ns' }, ...(s.type === undefined ? {} : { type: s.type }), ...fields } as unknown as KubeObject;
      const started = performance.now();
      const result = readTlsSecret(object, 'ns', 'c');
      if (performance.now() - started > 250) throw new Error('reading one Secret took over 250 ms');
      if (typeof result === 'string') {
        if (!result.includes('ns/c')) throw new Error(`a refusal that does not name the Secret: ${result}`);
        return;
      }
      // What the control plane accepts, a proxy must be able to serve (else it would NACK the snapshot).
      createSecureContext({ cert: result.cert, key: result.key });
      accepted++;
    }),
    { seed: run.seed, numRuns: run.cases },
  );
  // The valid path was taken (mutations leave a good share of Secrets whole), not only refusals.
  if (run.cases >= 100 && accepted < run.cases / 50) throw new Error(`only ${accepted} of ${run.cases} Secrets were accepted: the target no longer reaches the valid path`);
  return Promise.resolve({ name: 'certificate Secrets → readTlsSecret (→ TLS context)', cases: run.cases, ms: Math.round(performance.now() - started) });
}

// ---- TLS handshakes and requests with random SNI and Host into a running proxy ----

const HTTPS_NAMES = ['mcp.example.test', 'a.wild.example.test', 'x.y.wild.example.test', 'wild.example.test', 'other.test'];

/**
 * Port 443: "exact" for mcp.example.test, "wild" for *.wild.example.test, "default" without
 * hostnames; port 80: "plain". Each listener's route leads to a backend named after it.
 */
function httpsSnapshot(certs: Record<string, { cert: string; key: string }>): Snapshot {
  const listeners: Listener[] = [
    { name: 'plain', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] },
    { name: 'exact', port: 443, protocol: 'HTTPS', hostnames: ['mcp.example.test'], certificateSecrets: ['tls/exact'] },
    { name: 'wild', port: 443, protocol: 'HTTPS', hostnames: ['*.wild.example.test'], certificateSecrets: ['tls/wild'] },
    { name: 'default', port: 443, protocol: 'HTTPS', hostnames: [], certificateSecrets: ['tls/default'] },
  ];
  const backends = listeners.map((l) => backend(l.name));
  return {
    version: 'fuzz',
    group: 'ns/gw',
    listeners,
    routes: listeners.map((l): Route => ({ name: `ns/${l.name}/0/0`, listeners: [l.name], pathPrefix: '/mcp', backend: l.name, hostnames: [] })),
    backends,
    targets: backends.map((b) => target(b.name, 'down', 'http://127.0.0.1:9/mcp')),
    policies: [],
    secrets: Object.entries(certs).map(([n, c]) => ({ name: `tls/${n}`, data: { 'tls.crt': c.cert, 'tls.key': c.key } })),
  };
}

/** Which HTTPS listener of the snapshot above a name reaches (undefined: none; '' as a name: no SNI). */
function modelListener(name: string | undefined): string {
  if (name === 'mcp.example.test') return 'exact';
  if (name !== undefined && name.endsWith('.wild.example.test')) return 'wild';
  return 'default';
}

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } });

interface TlsAnswer {
  status: number;
  body: string;
  session: string | undefined;
}

function tlsPost(port: number, sni: string | undefined, host: string | undefined, body: string, headers: Record<string, string> = {}): Promise<TlsAnswer | Error> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        servername: sni ?? '',
        rejectUnauthorized: false,
        agent: new HttpsAgent({ keepAlive: false }),
        setHost: host !== undefined,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(host !== undefined ? { host } : {}), ...headers },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, session: typeof res.headers['mcp-session-id'] === 'string' ? res.headers['mcp-session-id'] : undefined }));
        res.on('error', (error) => resolve(error));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out: a hang')));
    req.on('error', (error) => resolve(error));
    req.end(body);
  });
}

export async function httpsTarget(run: FuzzRun): Promise<TargetResult> {
  const certs = { exact: testCertificate('mcp.example.test'), wild: testCertificate('*.wild.example.test'), default: testCertificate('default.test') };
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, listenerPorts: new Map([[80, 0], [443, 0]]), logger, maxAnonymousSessionsPerAddress: 0 });
  await proxy.start();
  proxy.apply(compileRoutingTable(httpsSnapshot(certs)));
  const port = proxy.portOf(443)!;
  const started = performance.now();
  try {
    const canary = await tlsPost(port, 'mcp.example.test', 'mcp.example.test', INIT);
    if (canary instanceof Error || !canary.session) throw new Error(`no canary session: ${canary instanceof Error ? canary.message : canary.body}`);
    const hostName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HTTPS_NAMES) }, fc.constantFrom('MCP.Example.Test', 'mcp.example.test.', '[::1]', '127.0.0.1'), name);
    const request = fc.record({
      sni: fc.option(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HTTPS_NAMES) }, name), { nil: undefined }),
      host: fc.option(fc.tuple(hostName, fc.constantFrom('', `:${port}`, ':443', ':1')).map(([h, p]) => h + p), { nil: undefined }),
      body: fc.oneof({ weight: 4, arbitrary: fc.constant(INIT) }, fc.string({ maxLength: 40 })),
      session: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const answer = await tlsPost(port, r.sni, r.host, r.body, r.session ? { 'mcp-session-id': canary.session!, 'mcp-protocol-version': '2025-06-18' } : {});
        if (answer instanceof Error) {
          if (/timed out/.test(answer.message)) throw answer;
          return; // a refused handshake or a reset: never a hang
        }
        const sniListener = modelListener(r.sni);
        const host = requestHostname(r.host ?? '');
        const hostListener = modelListener(host || undefined);
        // HTTP/1.1 without Host is Node's 400 before anything of ours runs.
        const expected = r.host === undefined ? 400 : hostListener !== sniListener ? 421 : undefined;
        if (expected !== undefined && answer.status !== expected) throw new Error(`SNI ${r.sni} Host ${r.host}: ${answer.status}, expected ${expected}: ${answer.body}`);
        if (answer.status >= 500) throw new Error(`SNI ${r.sni} Host ${r.host}: ${answer.status}: ${answer.body}`);
        if (answer.status === 200 && r.body === INIT && !r.session) {
          const server = (JSON.parse(answer.body) as { result?: { serverInfo?: { name?: string } } }).result?.serverInfo?.name;
          if (server !== sniListener) throw new Error(`SNI ${r.sni} Host ${r.host} reached ${server}, the model says ${sniListener}`);
        }
      }),
      { seed: run.seed, numRuns: run.cases },
    );
    const after = await tlsPost(port, 'mcp.example.test', 'mcp.example.test', JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }), { 'mcp-session-id': canary.session, 'mcp-protocol-version': '2025-06-18' });
    if (after instanceof Error || after.status !== 200) throw new Error(`the canary session broke: ${after instanceof Error ? after.message : `${after.status} ${after.body}`}`);
  } finally {
    await proxy.close();
  }
  return { name: 'TLS handshakes and requests (SNI, Host) → proxy with listeners sharing 443', cases: run.cases, ms: Math.round(performance.now() - started) };
}
