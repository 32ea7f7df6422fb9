// Issue 8 on a real fleet: nats-server, a control plane, 3 proxy replicas sharing sessions over
// NATS, our round-robin balancer in front (no stickiness), real SDK clients. Each request of one
// session may land on any replica; the session must not notice.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type CallToolResult, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { startFleet, type FleetHarness } from './support/fleet.ts';
import { until } from './support/processes.ts';

const EVERYTHING = 'mcp-server-everything-3001';
let fleet: FleetHarness;

test.before(async () => {
  fleet = await startFleet({ replicas: 3 });
});

test.after(async () => {
  await fleet?.stop();
});

async function connect(name: string, capabilities: ClientCapabilities = {}, setup?: (c: Client) => void): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  setup?.(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(fleet.mcpUrl)));
  return client;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

test('one session, requests round-robin over 3 replicas: all succeed, with progress and a server→client request answered', async () => {
  const before = [...fleet.balancer.counts];
  const client = await connect('round-robin', { sampling: {}, elicitation: {} }, (c) => {
    c.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { name: 'Ada', check: true, firstLine: 'x', email: 'a@b.c', homepage: 'https://a.b', birthdate: '2000-01-01', integer: 1, number: 1.5, enum: 'option1', untitledSingleSelectEnum: 'option1', untitledMultipleSelectEnum: ['option1'], titledSingleSelectEnum: 'value1', titledMultipleSelectEnum: ['value1'], legacyTitledEnum: 'opt1' } }));
    c.setRequestHandler(CreateMessageRequestSchema, () => ({ model: 'test', role: 'assistant', content: { type: 'text', text: 'sampled by the client' } }));
  });
  try {
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === `${EVERYTHING}_echo`), 'federated tools are listed');
    for (let i = 0; i < 30; i++) {
      const result = await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: `m${i}` } });
      assert.is(text(result), `Echo: m${i}`);
    }
    const progress: number[] = [];
    const long = await client.callTool({ name: `${EVERYTHING}_trigger-long-running-operation`, arguments: { duration: 0.6, steps: 3 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.ok(!(long as CallToolResult).isError, 'the long operation completed');
    assert.equal(progress, [1, 2, 3], 'every progress notification reached the client, in order');
    const sampled = await client.callTool({ name: `${EVERYTHING}_trigger-sampling-request`, arguments: { prompt: 'hi', maxTokens: 10 } });
    assert.match(JSON.stringify(sampled), /sampled by the client/, 'the sampling request was answered by the client and its answer reached the upstream');
    const elicited = await client.callTool({ name: `${EVERYTHING}_trigger-elicitation-request`, arguments: {} });
    assert.match(JSON.stringify(elicited), /accept/i, 'the elicitation was answered by the client');
    const spread = fleet.balancer.counts.map((n, i) => n - (before[i] ?? 0));
    assert.ok(spread.every((n) => n >= 8), `every replica served requests of the session: ${spread.join(', ')}`);
  } finally {
    await client.close();
  }
});

test('a legacy SSE session (Claude Code --transport sse) whose POSTs land on replicas other than the stream owner works', async () => {
  const before = [...fleet.balancer.counts];
  const client = new Client({ name: 'legacy', version: '1.0.0' });
  await client.connect(new SSEClientTransport(new URL(fleet.mcpUrl)));
  try {
    const tools = await client.listTools();
    assert.ok(tools.tools.length > 5);
    for (let i = 0; i < 12; i++) assert.is(text(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: `l${i}` } })), `Echo: l${i}`);
    const spread = fleet.balancer.counts.map((n, i) => n - (before[i] ?? 0));
    assert.ok(spread.filter((n) => n > 0).length === 3, `POSTs reached all 3 replicas: ${spread.join(', ')}`);
  } finally {
    await client.close();
  }
});

test('session ids carry ≥128 random bits and an unknown or foreign id is refused on every replica', async () => {
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const transport = new StreamableHTTPClientTransport(new URL(fleet.mcpUrl));
    const client = new Client({ name: `ids-${i}`, version: '1.0.0' });
    await client.connect(transport);
    const id = transport.sessionId ?? '';
    assert.ok(Buffer.from(id, 'base64url').length * 8 >= 128, `id ${id} carries ≥128 bits`);
    ids.add(id);
    await client.close();
  }
  assert.is(ids.size, 5);
  const forged = randomBytes(18).toString('base64url');
  for (const replica of fleet.replicas) {
    const res = await fetch(replica.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': forged },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.is(res.status, 404, `${replica.id} does not know a forged id`);
  }
});

test('a session is bound to its principal on every replica: another API key gets 404 wherever it asks', async () => {
  const everythingPort = new URL(fleet.everythingUrl).port;
  writeFileSync(
    join(fleet.dir, 'secured.yaml'),
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure-route, namespace: agentgateway-system}
spec:
  parentRefs: [{name: mcp-gateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /secure}}]
    backendRefs: [{name: secure, group: mcpmux.dev, kind: MCPBackend}]
---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: secure, namespace: agentgateway-system}
spec:
  authentication: {apiKeys: {secretRef: {name: secure-keys}}}
  targets: [{static: {name: everything, host: 127.0.0.1, port: ${everythingPort}, path: /mcp}}]
---
apiVersion: v1
kind: Secret
metadata: {name: secure-keys, namespace: agentgateway-system}
stringData: {alice: alice-key, bob: bob-key}
`,
  );
  const secureUrl = (base: string): string => base.replace(/\/mcp$/, '/secure');
  const post = (url: string, key: string, body: object, session?: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-api-key': key, ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' } : {}) },
      body: JSON.stringify(body),
    });
  await until(async () => (await post(secureUrl(fleet.replicas[2]?.url ?? ''), 'nobody', {})).status === 401, 'every replica serves the guarded route', 10_000);
  const init = await post(secureUrl(fleet.replicas[0]?.url ?? ''), 'alice-key', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'alice', version: '1' } } });
  const session = init.headers.get('mcp-session-id') ?? '';
  await init.text();
  assert.ok(session, 'alice has a session');
  const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
  for (const replica of fleet.replicas) {
    const asBob = await post(secureUrl(replica.url), 'bob-key', list, session);
    await asBob.text();
    assert.is(asBob.status, 404, `${replica.id} does not serve alice's session to bob`);
    const anonymous = await post(secureUrl(replica.url), '', list, session);
    await anonymous.text();
    assert.is(anonymous.status, 401, `${replica.id} wants credentials`);
    const asAlice = await post(secureUrl(replica.url), 'alice-key', list, session);
    assert.is(asAlice.status, 200, `${replica.id} serves alice her session`);
    assert.match(await asAlice.text(), /everything_echo/);
  }
});

test.run();
