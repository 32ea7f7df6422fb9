// The tutorial end to end, every part a real process: control plane (files source) → gRPC
// snapshots → proxy → server-everything and the website fetcher, driven by the MCP SDK client.
import { startWebsite, type LocalServer } from '../shared/testing/upstreams.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { EmptyResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { AdminClient } from '../shared/admin/client.ts';
import { until, waitForHttpOk } from './support/processes.ts';
import { endpointSlice, startStack, type Stack } from './support/stack.ts';

let stack: Stack;
let admin: AdminClient;
let page: LocalServer;
let pageUrl = '';

test.before(async () => {
  stack = await startStack();
  admin = new AdminClient(stack.grpcAddress);
  page = await startWebsite('<html>hello from a loopback page</html>');
  pageUrl = page.url;
});

test.after(async () => {
  admin?.close();
  await page?.close();
  await stack?.stop();
});

const toolNames = async (client: Client): Promise<string[]> => (await client.listTools()).tools.map((t) => t.name);
const text = (result: Awaited<ReturnType<Client['callTool']>>): string =>
  (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');

test('tools/list shows both servers namespaced, and echo answers through the gateway', async () => {
  const client = await stack.connect();
  try {
    const names = await toolNames(client);
    for (const name of ['mcp-server-everything-3001_echo', 'mcp-server-everything-3001_get-sum', 'mcp-website-fetcher-80_fetch']) {
      assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
    }
    const echo = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message: 'hi' } });
    assert.is(text(echo), 'Echo: hi');
    const sum = await client.callTool({ name: 'mcp-server-everything-3001_get-sum', arguments: { a: 42, b: 58 } });
    assert.match(text(sum), /100/);
  } finally {
    await client.close();
  }
});

test('the stateless fetcher fetches a page through the gateway', async () => {
  const client = await stack.connect();
  try {
    const result = await client.callTool({ name: 'mcp-website-fetcher-80_fetch', arguments: { url: pageUrl } });
    assert.match(text(result), /hello from a loopback page/);
  } finally {
    await client.close();
  }
});

test('a Service added to the folder shows up for a new session; removed, it goes away', async () => {
  const before = await admin.getSnapshot();
  stack.writeFile(
    'extra.yaml',
    `apiVersion: v1
kind: Service
metadata:
  name: more-everything
  namespace: agentgateway-system
  labels:
    mcp-federation: "true"
spec:
  ports:
  - port: 3002
    appProtocol: kgateway.dev/mcp
${endpointSlice('more-everything', '127.0.0.1', stack.ports.everything)}`,
  );
  await until(async () => (await admin.getSnapshot()).version !== before.version, 'a new snapshot', 5000);
  await until(async () => (await admin.listProxies()).some((p) => p.ackedVersion !== before.version && p.connected), 'the proxy to ACK it', 5000);
  const client = await stack.connect();
  try {
    assert.ok((await toolNames(client)).includes('more-everything-3002_echo'));
  } finally {
    await client.close();
  }
  stack.removeFile('extra.yaml');
  await until(async () => (await admin.getSnapshot()).version === before.version, 'the original version again', 5000);
  await until(async () => (await admin.listProxies())[0]?.ackedVersion === before.version, 'the proxy to ACK the original', 5000);
  const again = await stack.connect();
  try {
    assert.not.ok((await toolNames(again)).includes('more-everything-3002_echo'));
  } finally {
    await again.close();
  }
});

test('a snapshot the proxy cannot apply is NACKed; the proxy keeps serving the previous one', async () => {
  const good = await admin.getSnapshot();
  const client = await stack.connect();
  try {
    stack.writeFile(
      'broken.yaml',
      `apiVersion: v1
kind: Service
metadata:
  name: broken
  namespace: agentgateway-system
  labels:
    mcp-federation: "true"
spec:
  ports:
  - port: 9
    appProtocol: kgateway.dev/mcp
${endpointSlice('broken', 'not a host', 9)}`,
    );
    await until(async () => (await admin.getSnapshot()).version !== good.version, 'the broken snapshot to be built', 5000);
    const bad = await admin.getSnapshot();
    await until(async () => (await admin.listProxies())[0]?.lastNackVersion === bad.version, 'the NACK', 5000);
    const proxy = (await admin.listProxies())[0]!;
    assert.is(proxy.ackedVersion, good.version, 'still on the last good version');
    assert.match(proxy.lastNackError, /MCPMUX_CONFIG_INVALID/);
    assert.match(proxy.lastNackError, /broken/);
    const echo = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message: 'still here' } });
    assert.is(text(echo), 'Echo: still here');
  } finally {
    stack.removeFile('broken.yaml');
    await client.close();
  }
  await until(async () => (await admin.listProxies())[0]?.ackedVersion === good.version && (await admin.getSnapshot()).version === good.version, 'recovery', 5000);
});

test('a YAML file that does not parse is reported with file and line; the last good state stays', async () => {
  const good = await admin.getSnapshot();
  stack.writeFile('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n');
  await stack.controlPlane.waitFor(/bad\.yaml:\d+/, 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.is((await admin.getSnapshot()).version, good.version);
  stack.removeFile('bad.yaml');
});

test('with the control plane gone the proxy keeps serving; restarted, it ACKs again within 2 s', async () => {
  const current = await admin.getSnapshot();
  const client = await stack.connect();
  try {
    await stack.controlPlane.stop('SIGKILL');
    const echo = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message: 'no control plane' } });
    assert.is(text(echo), 'Echo: no control plane');
    const fresh = await stack.connect('during-outage');
    assert.ok((await toolNames(fresh)).includes('mcp-website-fetcher-80_fetch'), 'new sessions work too');
    await fresh.close();
    const restarted = Date.now();
    stack.startControlPlane();
    await waitForHttpOk(`http://127.0.0.1:${stack.ports.controlPlaneHttp}/readyz`);
    const ready = Date.now();
    await until(async () => {
      try {
        const proxy = (await admin.listProxies()).find((p) => p.nodeId === 'proxy-1');
        return proxy?.connected === true && proxy.ackedVersion === current.version;
      } catch {
        return false;
      }
    }, 'the proxy to reconnect and ACK', 4000);
    const acked = Date.now();
    console.log(`  control plane start-up ${ready - restarted} ms; proxy ACKed ${acked - ready} ms after it was ready`);
    assert.ok(acked - ready < 2000, `ACK took ${acked - ready} ms after the control plane was ready`);
  } finally {
    await client.close();
  }
});

test('bad requests get clear errors and leave other sessions working', async () => {
  const client = await stack.connect();
  try {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(stack.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
    const malformed = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.is(malformed.status, 400);
    assert.is(((await malformed.json()) as { error: { code: number } }).error.code, -32700);
    const unknownSession = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { 'mcp-session-id': 'no-such-session' });
    assert.is(unknownSession.status, 404);
    const noSession = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }));
    assert.is(noSession.status, 400);
    const unknownMethod = await client.request({ method: 'no/such/method', params: {} }, EmptyResultSchema).then(() => undefined, (e: unknown) => e);
    assert.instance(unknownMethod, McpError);
    assert.is((unknownMethod as McpError).code, -32601);
    // A name no target owns is refused by the gateway itself...
    const unknownTarget = await client.callTool({ name: 'nobody_echo', arguments: {} }).then(() => undefined, (e: unknown) => e);
    assert.instance(unknownTarget, McpError);
    assert.is((unknownTarget as McpError).code, -32602);
    assert.match((unknownTarget as McpError).message, /Unknown tool: nobody_echo/);
    // ...and a tool its target lacks gets that target's own answer (server-everything: an error result).
    const unknownTool = await client.callTool({ name: 'mcp-server-everything-3001_nope', arguments: {} }).then((r) => r, (e: unknown) => e);
    const refused = unknownTool instanceof McpError || (unknownTool as { isError?: boolean }).isError === true;
    assert.ok(refused, `unknown tool was not refused: ${JSON.stringify(unknownTool)}`);
    const echo = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message: 'fine' } });
    assert.is(text(echo), 'Echo: fine');
  } finally {
    await client.close();
  }
});

test.run();
