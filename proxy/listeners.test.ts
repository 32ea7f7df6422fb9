// Issue 16 §2, in one proxy over real sockets: each Gateway listener port on its own bound port with
// its own protocol. HTTPS terminates TLS with the listener's certificate (SNI choosing among the
// listeners of a port), a request reaches only the routes of the listener its Host names, a Host no
// listener takes is 404 and a Host another listener than the SNI's takes is 421, a new certificate
// is served from the next handshake without a restart, and the DNS-rebinding 403 stays for
// listeners without hostnames. Clients are node:https (TLS, SNI and Host set apart) and undici.
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import pino from 'pino';
import { request } from 'undici';
import { until } from '../shared/testing/processes.ts';
import type { Backend, Listener, Route, Snapshot } from '../shared/config/types.ts';
import { createLogger } from '../shared/log.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { testCertificate, type TestCertificate } from './testing/certificates.ts';
import { target } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'listeners', version: '1' } } });
const HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

const MCP = testCertificate('mcp.example.test');
const ROTATED = testCertificate('mcp.example.test');
const OTHER = testCertificate('other.example.test');

const listener = (name: string, port: number, protocol: 'HTTP' | 'HTTPS', hostnames: string[] = [], certificateSecrets: string[] = []): Listener => ({ name, port, protocol, hostnames, certificateSecrets });
const backend = (name: string): Backend => ({
  name, prefixMode: 'PREFIX_MODE_ALWAYS', failureMode: 'FAILURE_MODE_OPEN', targets: ['down'], toolInclude: [], toolExclude: [], serverInfo: { name, version: '1' }, instructions: '',
});
const route = (name: string, listeners: string[], backendName: string): Route => ({ name, listeners, pathPrefix: '/mcp', backend: backendName, hostnames: [] });

/**
 * HTTP on 80 → backend "plain"; HTTPS on 443 for mcp.example.test → backend "secure", and for
 * other.example.test → backend "other". Each backend's serverInfo says who answered an initialize.
 */
function snapshot(version: string, mcpCertificate: TestCertificate): Snapshot {
  const backends = ['plain', 'secure', 'other'].map(backend);
  return {
    version,
    group: 'ns/gw',
    listeners: [listener('http', 80, 'HTTP'), listener('https', 443, 'HTTPS', ['mcp.example.test'], ['tls/ns/mcp']), listener('other', 443, 'HTTPS', ['other.example.test'], ['tls/ns/other'])],
    routes: [route('ns/plain/0/0', ['http'], 'plain'), route('ns/secure/0/0', ['https'], 'secure'), route('ns/other/0/0', ['other'], 'other')],
    backends,
    // One target nobody listens on (failure mode open): initialize is answered without it.
    targets: backends.map((b) => target(b.name, 'down', 'http://127.0.0.1:9/mcp')),
    policies: [],
    secrets: [
      { name: 'tls/ns/mcp', data: { 'tls.crt': mcpCertificate.cert, 'tls.key': mcpCertificate.key } },
      { name: 'tls/ns/other', data: { 'tls.crt': OTHER.cert, 'tls.key': OTHER.key } },
    ],
  };
}

interface Answer {
  status: number;
  serverName: string | undefined;
  session: string | undefined;
  certificate: PeerCertificate | undefined;
  body: string;
}

/** An initialize over TLS to 127.0.0.1:port with this SNI and Host, trusting `ca`; a fresh connection each time. */
function tlsInitialize(port: number, sni: string | undefined, host: string, ca: string[], headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Without SNI the client checks the certificate against 127.0.0.1, which it does not name: trusting `ca` is the check here.
    const identity = sni ? {} : { checkServerIdentity: () => undefined };
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/mcp', method: 'POST', servername: sni ?? '', ca, ...identity, headers: { ...HEADERS, host, ...headers }, agent: new HttpsAgent({ keepAlive: false }) },
      (res) => {
        const certificate = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, serverName: serverNameOf(body), session: headerOf(res.headers['mcp-session-id']), certificate, body }));
      },
    );
    req.on('error', reject);
    req.end(INIT);
  });
}

async function plainInitialize(port: number, host: string, headers: Record<string, string> = {}): Promise<Answer> {
  const answer = await request(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { ...HEADERS, host, ...headers }, body: INIT });
  const body = await answer.body.text();
  return { status: answer.statusCode, serverName: serverNameOf(body), session: headerOf(answer.headers['mcp-session-id']), certificate: undefined, body };
}

function serverNameOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { result?: { serverInfo?: { name?: string } } }).result?.serverInfo?.name;
  } catch {
    return undefined;
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The certificate a TLS handshake with this SNI gets, or the handshake's error. */
function handshake(port: number, sni: string | undefined): Promise<PeerCertificate | Error> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...(sni ? { servername: sni } : {}), rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      socket.destroy();
      resolve(certificate);
    });
    socket.on('error', (error) => resolve(error));
  });
}

async function started(): Promise<ProxyServer> {
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, listenerPorts: new Map([[80, 0], [443, 0]]), logger });
  await proxy.start();
  proxy.apply(compileRoutingTable(snapshot('v1', MCP)));
  return proxy;
}

test('each listener port is served on its own port: HTTP reaches the HTTP listener\'s routes, TLS with SNI the HTTPS listener\'s, with its certificate', async () => {
  const proxy = await started();
  try {
    const http = proxy.portOf(80)!;
    const https = proxy.portOf(443)!;
    assert.is.not(http, https);
    const plain = await plainInitialize(http, `127.0.0.1:${http}`);
    assert.is(plain.status, 200, plain.body);
    assert.is(plain.serverName, 'plain');
    const secure = await tlsInitialize(https, 'mcp.example.test', `mcp.example.test:${https}`, [MCP.cert]);
    assert.is(secure.status, 200, secure.body);
    assert.is(secure.serverName, 'secure', 'the HTTPS listener\'s route, not the HTTP one\'s at the same path');
    assert.is(secure.certificate?.fingerprint256, MCP.fingerprint);
    const other = await tlsInitialize(https, 'other.example.test', 'other.example.test', [OTHER.cert]);
    assert.is(other.serverName, 'other', 'SNI picks the certificate of the listener sharing the port');
    assert.is(other.certificate?.fingerprint256, OTHER.fingerprint);
  } finally {
    await proxy.close();
  }
});

test('never plain HTTP on an HTTPS port, never TLS on an HTTP port; no SNI and no listener without hostnames: the handshake is refused', async () => {
  const proxy = await started();
  try {
    const plainOnHttps = await request(`http://127.0.0.1:${proxy.portOf(443)}/mcp`, { method: 'POST', headers: HEADERS, body: INIT }).then(
      (answer) => `HTTP ${answer.statusCode}`,
      (error: Error) => error.message,
    );
    assert.not.match(plainOnHttps, /^HTTP 200/, `a plain request on the HTTPS port was served: ${plainOnHttps}`);
    const tlsOnHttp = await handshake(proxy.portOf(80)!, 'mcp.example.test');
    assert.instance(tlsOnHttp, Error, 'the HTTP port does not speak TLS');
    const noSni = await handshake(proxy.portOf(443)!, undefined);
    assert.instance(noSni, Error, 'without SNI there is no certificate to offer');
    const unknownName = await handshake(proxy.portOf(443)!, 'unknown.example.test');
    assert.instance(unknownName, Error, 'no listener takes that name');
  } finally {
    await proxy.close();
  }
});

test('a Host no listener takes is 404; a Host another listener than the SNI\'s takes is 421; the HTTP listener without hostnames keeps the DNS-rebinding 403', async () => {
  const proxy = await started();
  try {
    const https = proxy.portOf(443)!;
    const none = await tlsInitialize(https, 'mcp.example.test', 'nobody.example.test', [MCP.cert]);
    assert.is(none.status, 404, none.body);
    const misdirected = await tlsInitialize(https, 'mcp.example.test', 'other.example.test', [MCP.cert]);
    assert.is(misdirected.status, 421, misdirected.body);
    const rebinding = await plainInitialize(proxy.portOf(80)!, 'attacker.example');
    assert.is(rebinding.status, 403, rebinding.body);
    assert.match(rebinding.body, /attacker\.example\\" is not allowed/);
  } finally {
    await proxy.close();
  }
});

test('a session belongs to the listener route it was opened on: its id on another listener\'s route at the same path is unknown there', async () => {
  const proxy = await started();
  try {
    const secure = await tlsInitialize(proxy.portOf(443)!, 'mcp.example.test', 'mcp.example.test', [MCP.cert]);
    assert.ok(secure.session, 'a session on the HTTPS listener');
    const elsewhere = await request(`http://127.0.0.1:${proxy.portOf(80)}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': secure.session!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.is(elsewhere.statusCode, 404, await elsewhere.body.text());
    const home = await tlsInitialize(proxy.portOf(443)!, 'mcp.example.test', 'mcp.example.test', [MCP.cert], { 'mcp-session-id': secure.session!, 'mcp-protocol-version': '2025-06-18' });
    assert.is.not(home.status, 404, 'on its own listener it is known');
  } finally {
    await proxy.close();
  }
});

test('a new certificate in a new table is served from the next handshake on, on the same port, without a restart', async () => {
  const proxy = await started();
  try {
    const https = proxy.portOf(443)!;
    const before = await handshake(https, 'mcp.example.test');
    assert.is((before as PeerCertificate).fingerprint256, MCP.fingerprint);
    proxy.apply(compileRoutingTable(snapshot('v2', ROTATED)));
    const after = await handshake(https, 'mcp.example.test');
    assert.is((after as PeerCertificate).fingerprint256, ROTATED.fingerprint);
    assert.is(proxy.portOf(443), https);
    const served = await tlsInitialize(https, 'mcp.example.test', 'mcp.example.test', [ROTATED.cert]);
    assert.is(served.serverName, 'secure');
  } finally {
    await proxy.close();
  }
});

test('a listener without hostnames on an HTTPS port answers clients that send no SNI, with its certificate', async () => {
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  try {
    const s = snapshot('v1', MCP);
    s.listeners = [listener('https', 443, 'HTTPS', [], ['tls/ns/mcp'])];
    s.routes = [route('ns/secure/0/0', ['https'], 'secure')];
    proxy.apply(compileRoutingTable(s));
    const certificate = await handshake(proxy.port, undefined);
    assert.is((certificate as PeerCertificate).fingerprint256, MCP.fingerprint, 'the one port (--port) serves the Gateway\'s only listener, over TLS');
    const answer = await tlsInitialize(proxy.port, undefined, `localhost:${proxy.port}`, [MCP.cert], {});
    assert.is(answer.serverName, 'secure', answer.body);
  } finally {
    await proxy.close();
  }
});

test('without listener ports, --port serves the Gateway\'s lowest listener port (as before for one listener), and says which listeners it does not serve', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }, sink) });
  await proxy.start();
  try {
    proxy.apply(compileRoutingTable(snapshot('v1', MCP)));
    const plain = await plainInitialize(proxy.port, `localhost:${proxy.port}`);
    assert.is(plain.serverName, 'plain', 'port 80, the lowest, plain HTTP');
    await until(() => lines.some((l) => String(l.msg).includes('listeners not served by this proxy')), 'the warning');
    const warning = lines.find((l) => String(l.msg).includes('listeners not served by this proxy'))!;
    assert.equal(warning.listeners, ['https (port 443)', 'other (port 443)']);
    assert.match(String(warning.msg), /--listener-ports/);
  } finally {
    await proxy.close();
  }
});

test('close() ends open keep-alive TLS connections (the HTTPS server tracks the connections it is handed)', async () => {
  const proxy = await started();
  const socket = tlsConnect({ host: '127.0.0.1', port: proxy.portOf(443)!, servername: 'mcp.example.test', rejectUnauthorized: false });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('error', () => undefined);
  await proxy.close();
  const timeout = new Promise((resolve) => setTimeout(() => resolve('still open'), 2000));
  assert.is.not(await Promise.race([closed.then(() => 'closed'), timeout]), 'still open');
});

test.run();
