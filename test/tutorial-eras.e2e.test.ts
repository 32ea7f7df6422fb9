// `npm start` (mcpmux dev) in both MCP eras: the tutorial's folder as shipped (its three demo
// upstreams: server-everything and the fetcher, 2025-era, and the modern demo, 2026-07-28 only), on
// free ports. The SDK 2.x client with modern negotiation and the SDK 1.x client each list and call
// the tools of all three; progress of trigger-long-running-operation reaches the modern client on
// its request's stream; server-everything's sampling request reaches the modern client as
// input_required and completes after its retry; a listen stream hears a Service dropped in.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, ROOT, freePort, startNode, type Managed } from './support/processes.ts';
import { federatedService } from './support/stack.ts';
import { eventually, openListen } from '../proxy/testing/modern.ts';

let dev: Managed;
let dir: string;
let url = '';
const closers: Array<() => Promise<void>> = [];

const EVERYTHING = 'mcp-server-everything-3001';
const FETCHER = 'mcp-website-fetcher-80';
const MODERN = 'mcp-modern-demo-3701';

test.before(async () => {
  const [port, grpc, cpHttp, proxyHttp, everything, fetcher, modern] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  // The shipped folder, its local endpoints moved to free ports (CI runs tests side by side).
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-eras-'));
  cpSync(join(ROOT, 'deploy/examples/tutorial'), dir, { recursive: true });
  const rewrite = (file: string, from: number, to: number): void => {
    const path = join(dir, file);
    writeFileSync(path, readFileSync(path, 'utf8').replace(`- port: ${from}\n  protocol: TCP`, `- port: ${to}\n  protocol: TCP`));
  };
  rewrite('local-endpoints.yaml', 3001, everything!);
  rewrite('local-endpoints.yaml', 8081, fetcher!);
  rewrite('modern-demo.yaml', 3701, modern!);
  dev = startNode(
    'dev',
    [CLI, 'dev', '--dir', dir, '--port', String(port), '--grpc-port', String(grpc), '--control-plane-http-port', String(cpHttp), '--proxy-http-port', String(proxyHttp),
      '--everything-port', String(everything), '--fetcher-port', String(fetcher), '--modern-demo-port', String(modern)],
    { MCPMUX_LOG_LEVEL: 'warn' },
  );
  await dev.waitFor(/mcpmux is ready/, 90_000);
  url = `http://127.0.0.1:${port}/mcp`;
});

test.after(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await dev?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function modernClient(): Promise<ModernClient> {
  const client = new ModernClient({ name: 'eras-modern', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: { form: {} } }, versionNegotiation: { mode: 'auto' } });
  client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'test-model' }) as never);
  await client.connect(new ModernTransport(new URL(url)));
  closers.push(() => client.close());
  return client;
}

const text = (result: unknown): string => (((result as { content?: unknown }).content ?? []) as Array<{ text?: string }>).map((c) => c.text ?? '').join('');

test('the SDK 2.x client (auto negotiation) speaks 2026-07-28 and lists and calls the tools of all three upstreams', async () => {
  const client = await modernClient();
  assert.is(client.getNegotiatedProtocolVersion(), '2026-07-28');
  const names = (await client.listTools()).tools.map((t) => t.name);
  for (const name of [`${EVERYTHING}_echo`, `${EVERYTHING}_get-sum`, `${FETCHER}_fetch`, `${MODERN}_greet`]) assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
  assert.match(text(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'both eras' } })), /both eras/);
  assert.is(text(await client.callTool({ name: `${MODERN}_greet`, arguments: { name: 'mcpmux' } })), 'Hello, mcpmux!');
  const fetched = await client.callTool({ name: `${FETCHER}_fetch`, arguments: { url: `${url.replace('/mcp', '/nowhere')}` } });
  assert.ok(fetched.content, 'the 2025 fetcher answered (an error result for a 404 page is an answer)');
});

test('the SDK 1.x client (2025 session) lists and calls the tools of all three, the modern demo bridged', async () => {
  const client = new Client({ name: 'eras-legacy', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  closers.push(() => client.close());
  const names = (await client.listTools()).tools.map((t) => t.name);
  for (const name of [`${EVERYTHING}_echo`, `${FETCHER}_fetch`, `${MODERN}_word-count`]) assert.ok(names.includes(name), `${name} missing`);
  assert.is(text(await client.callTool({ name: `${MODERN}_word-count`, arguments: { text: 'one two three four' } })), '4');
});

test('trigger-long-running-operation reports progress to the modern client on its request\'s stream', async () => {
  const client = await modernClient();
  const seen: number[] = [];
  const result = await client.callTool(
    { name: `${EVERYTHING}_trigger-long-running-operation`, arguments: { duration: 1, steps: 3 } },
    { onprogress: (progress: { progress: number }) => void seen.push(progress.progress) },
  );
  assert.ok(seen.length >= 3, `progress seen: ${JSON.stringify(seen)}`);
  assert.match(text(result), /completed/i);
});

test('server-everything\'s sampling request reaches the modern client as input_required and completes after the retry', async () => {
  const client = await modernClient();
  const result = await client.callTool({ name: `${EVERYTHING}_trigger-sampling-request`, arguments: { prompt: 'Capital of France?', maxTokens: 10 } });
  assert.not.ok(result.isError, JSON.stringify(result));
  assert.match(JSON.stringify(result.content), /Paris/);
});

test('a listen stream hears tools/list_changed within 2 s of a labelled Service dropped into the folder', async () => {
  const listen = await openListen(url, { toolsListChanged: true }, 1);
  closers.push(async () => listen.close());
  await eventually(() => listen.frames[0]?.method === 'notifications/subscriptions/acknowledged', 'the acknowledgement', 5_000);
  const started = Date.now();
  writeFileSync(join(dir, 'new-server.yaml'), federatedService('mcp-dropped-in', 4999));
  await eventually(() => listen.frames.some((f) => f.method === 'notifications/tools/list_changed'), 'tools/list_changed', 2_000);
  console.log(`list_changed ${Date.now() - started} ms after the file was written`);
});

test.run();
