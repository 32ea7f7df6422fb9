// An open session follows the cluster: on a running stack (control plane watching a folder, proxy,
// upstreams, each a real process), a Service + EndpointSlice added to the folder reaches open
// sessions of both transports as notifications/tools/list_changed and new tools, within 2 s and
// without a reconnect; removing them takes the tools away again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startRecordingServer, type RecordingServer } from '../shared/testing/upstreams.ts';
import { endpointSlice, startStack, type Stack } from './support/stack.ts';

const EXTRA = 'mcp-extra-9000';
let stack: Stack;
let extra: RecordingServer;

function extraService(): string {
  return `---
apiVersion: v1
kind: Service
metadata:
  name: mcp-extra
  namespace: agentgateway-system
  labels:
    mcp-federation: "true"
spec:
  ports:
  - port: 9000
    appProtocol: kgateway.dev/mcp
${endpointSlice('mcp-extra', '127.0.0.1', extra.port)}`;
}

interface Watched {
  client: Client;
  /** Times (Date.now()) list_changed arrived. */
  changes: number[];
  /** Anything the transport reported going wrong: a reconnect (EventSource's too) would show here. */
  troubles: string[];
  /** The streamable HTTP session id (legacy SSE: undefined, `troubles` tells). */
  sessionId: () => string | undefined;
}

async function watch(kind: 'streamable-http' | 'sse'): Promise<Watched> {
  const client = new Client({ name: `live-${kind}`, version: '1.0.0' });
  const changes: number[] = [];
  const troubles: string[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes.push(Date.now()));
  const transport = kind === 'sse' ? new SSEClientTransport(new URL(stack.mcpUrl)) : new StreamableHTTPClientTransport(new URL(stack.mcpUrl));
  await client.connect(transport);
  client.onerror = (error) => void troubles.push(`error: ${error.message}`);
  client.onclose = () => void troubles.push('closed');
  const sessionId = (): string | undefined => (transport instanceof StreamableHTTPClientTransport ? transport.sessionId : undefined);
  return { client, changes, troubles, sessionId };
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test.before(async () => {
  extra = await startRecordingServer({ name: 'extra' });
  stack = await startStack();
});

test.after(async () => {
  await stack?.stop();
  await extra?.close();
});

test('a Service added to the folder reaches open sessions (both transports) as list_changed and new tools; removing it takes them away', async () => {
  const sessions = [await watch('streamable-http'), await watch('sse')];
  const ids = sessions.map((s) => s.sessionId());
  for (const s of sessions) {
    const names = await toolNames(s.client);
    assert.ok(names.includes('mcp-server-everything-3001_echo'), names.join(', '));
    assert.not.ok(names.some((n) => n.startsWith(`${EXTRA}_`)));
  }

  const added = Date.now();
  stack.writeFile('extra.yaml', extraService());
  for (const s of sessions) await waitFor('list_changed after the Service was added', () => s.changes.length > 0, 2_000);
  const addLatency = Math.max(...sessions.map((s) => (s.changes[0] as number) - added));
  for (const s of sessions) {
    const names = await toolNames(s.client);
    assert.ok(names.includes(`${EXTRA}_echo`), names.join(', '));
    const echo = await s.client.callTool({ name: `${EXTRA}_echo`, arguments: { text: 'live' } });
    assert.is((echo.content as Array<{ text: string }>)[0]!.text, 'extra: live');
  }

  const removed = Date.now();
  const before = sessions.map((s) => s.changes.length);
  stack.removeFile('extra.yaml');
  for (const [i, s] of sessions.entries()) await waitFor('list_changed after the Service was removed', () => s.changes.length > (before[i] as number), 2_000);
  const removeLatency = Math.max(...sessions.map((s, i) => (s.changes[before[i] as number] as number) - removed));
  for (const s of sessions) {
    const names = await toolNames(s.client);
    assert.not.ok(names.some((n) => n.startsWith(`${EXTRA}_`)), names.join(', '));
    assert.ok(names.includes('mcp-website-fetcher-80_fetch'));
  }

  // Never reconnected: the same session, no transport error or close on the way.
  assert.equal(sessions.map((s) => s.sessionId()), ids);
  assert.equal(sessions.flatMap((s) => s.troubles), []);
  console.log(`folder edit → list_changed: added ${addLatency} ms, removed ${removeLatency} ms`);
  for (const s of sessions) await s.client.close();
});

test.run();
