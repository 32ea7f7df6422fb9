// Authentication and authorization (issue 7, acceptance 2, 3 and 4): an MCPBackend with
// spec.authentication guards its route. Without a credential: 401 with WWW-Authenticate naming the
// RFC 9728 resource metadata, which serves valid JSON. A valid JWT (from a test JWKS in a Secret) or
// API key works; an expired or wrongly signed JWT gets 401. A session id replayed with another
// principal's credential is refused as unknown (404). spec.authorization rules give two principals
// different tools/list results, and a forbidden tools/call is refused, naming the rule, without
// reaching the upstream.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEchoUpstream } from './bench/fixtures/echo-upstream.ts';
import { gatewayAndRoute } from './support/manifests.ts';
import { CLI, freePort, startNode, waitForHttpOk, type Managed } from './support/processes.ts';

const ISSUER = 'https://idp.example.test';
const API_KEY = 'k3y-for-the-ci-bot-0d9e8f';

let upstream: Server;
let dir: string;
let mcpUrl: string;
let signing: CryptoKey;
let stranger: CryptoKey;
const processes: Managed[] = [];

const calls: string[] = [];

function jwt(subject: string, options: { key?: CryptoKey; expiresAt?: number; groups?: string[] } = {}): Promise<string> {
  return new SignJWT({ scope: 'tools', ...(options.groups ? { groups: options.groups } : {}) })
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
    .setIssuer(ISSUER)
    .setAudience('mcpmux')
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? '10m')
    .sign(options.key ?? signing);
}

const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
}

test.before(async () => {
  const pair = await generateKeyPair('ES256');
  signing = pair.privateKey;
  stranger = (await generateKeyPair('ES256')).privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' }] });
  upstream = createEchoUpstream({ tools: 3, onMethod: (method, params) => method === 'tools/call' && calls.push(String((params as { name?: unknown }).name)) });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-authn-'));
  writeFileSync(join(dir, 'config.yaml'), `${gatewayAndRoute({ namespace: 'team', gateway: 'gw', route: 'route', backend: 'secured' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: { name: secured, namespace: team }
spec:
  authentication:
    jwt:
    - issuer: ${ISSUER}
      audiences: [mcpmux]
      jwks: { secretRef: { name: idp-jwks, key: jwks.json } }
    apiKeys: { secretRef: { name: api-keys } }
  authorization:
    rules:
    - name: everyone-echoes
      tools: [echo_echo]
    - name: ops-everything
      principals: { groups: [ops] }
    - name: nobody-runs-tool-2
      effect: Deny
      tools: ["*_tool-2"]
  targets:
  - static: { name: echo, host: 127.0.0.1, port: ${port} }
---
apiVersion: v1
kind: Secret
metadata: { name: idp-jwks, namespace: team }
stringData:
  jwks.json: '${jwks}'
---
apiVersion: v1
kind: Secret
metadata: { name: api-keys, namespace: team }
stringData:
  ci-bot: ${API_KEY}
`);
  const [grpc, cpHttp, proxyPort, proxyHttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const quiet = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'info' };
  processes.push(startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpc), '--http-port', String(cpHttp)], quiet));
  await waitForHttpOk(`http://127.0.0.1:${cpHttp}/readyz`);
  processes.push(startNode('proxy', [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpc}`, '--port', String(proxyPort), '--http-port', String(proxyHttp)], quiet));
  await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`);
  mcpUrl = `http://127.0.0.1:${proxyPort}/mcp`;
});

test.after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await new Promise((resolve) => upstream.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('without a credential: 401, WWW-Authenticate naming the resource metadata, which is valid JSON', async () => {
  const response = await post(INITIALIZE);
  assert.is(response.status, 401);
  const challenge = response.headers.get('www-authenticate') ?? '';
  const metadataUrl = /^Bearer resource_metadata="([^"]+)"$/.exec(challenge)?.[1];
  assert.ok(metadataUrl, challenge);
  assert.is(metadataUrl, mcpUrl.replace('/mcp', '/.well-known/oauth-protected-resource/mcp'));
  const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
  assert.equal(metadata.resource, mcpUrl);
  assert.equal(metadata.authorization_servers, [ISSUER]);
  assert.equal(metadata.bearer_methods_supported, ['header']);
});

test('a valid JWT works; an expired or wrongly signed one gets 401 with invalid_token', async () => {
  const client = new Client({ name: 'alice', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${await jwt('alice')}` } } }));
  try {
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'echo_echo'));
  } finally {
    await client.close();
  }
  for (const [what, token] of [
    ['expired', await jwt('alice', { expiresAt: Math.floor(Date.now() / 1000) - 600 })],
    ['wrongly signed', await jwt('alice', { key: stranger })],
  ] as const) {
    const response = await post(INITIALIZE, { authorization: `Bearer ${token}` });
    assert.is(response.status, 401, what);
    assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/, what);
  }
});

test('an API key works; a session id replayed with another principal\'s credential is unknown (404)', async () => {
  const withKey = await post(INITIALIZE, { 'x-api-key': API_KEY });
  assert.is(withKey.status, 200);
  const aliceToken = await jwt('alice');
  const alice = await post(INITIALIZE, { authorization: `Bearer ${aliceToken}` });
  assert.is(alice.status, 200);
  const session = alice.headers.get('mcp-session-id')!;
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const asAlice = await post(list, { authorization: `Bearer ${aliceToken}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
  assert.is(asAlice.status, 200, 'alice uses her session');
  const asBob = await post(list, { authorization: `Bearer ${await jwt('bob')}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
  assert.is(asBob.status, 404, 'bob cannot use alice\'s session');
  const asBot = await post(list, { 'x-api-key': API_KEY, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
  assert.is(asBot.status, 404, 'nor can the API key');
  const anonymous = await post(list, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
  assert.is(anonymous.status, 401, 'nor anyone without a credential');
});

test('two principals see different tools; a forbidden call names the rule and never reaches the upstream', async () => {
  const connect = async (token: string): Promise<Client> => {
    const client = new Client({ name: 'authz', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return client;
  };
  const ops = await connect(await jwt('carol', { groups: ['ops'] }));
  const plain = await connect(await jwt('dave'));
  try {
    assert.equal((await ops.listTools()).tools.map((t) => t.name).sort(), ['echo_echo', 'echo_tool-1']);
    assert.equal((await plain.listTools()).tools.map((t) => t.name), ['echo_echo']);
    const before = calls.length;
    const refused = await plain.callTool({ name: 'echo_tool-1', arguments: { message: 'no' } }).then(
      () => undefined,
      (error: unknown) => error as { code?: number; message?: string },
    );
    assert.is(refused?.code, -32003);
    assert.match(refused?.message ?? '', /jwt:https:\/\/idp\.example\.test#dave may not use tool echo_tool-1 \(rule default-deny\)/);
    const denied = await ops.callTool({ name: 'echo_tool-2', arguments: { message: 'no' } }).then(() => undefined, (error: unknown) => error as { message?: string });
    assert.match(denied?.message ?? '', /rule nobody-runs-tool-2/);
    assert.equal(calls.slice(before), [], 'no refused call reached the upstream');
    const allowed = await ops.callTool({ name: 'echo_tool-1', arguments: { message: 'yes' } });
    assert.match(JSON.stringify(allowed.content), /yes/);
    assert.equal(calls.slice(before), ['tool-1']);
  } finally {
    await ops.close();
    await plain.close();
  }
});

test.run();
