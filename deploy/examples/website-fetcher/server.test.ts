// The website fetcher as the tutorial runs it: its own process, stateless streamable HTTP at /mcp.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Cleanup, spawnNode } from '../../../shared/testing/processes.ts';
import { startWebsite, type LocalServer } from '../../../shared/testing/upstreams.ts';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const cleanup = new Cleanup();
let url: string;
let website: LocalServer;

test.before(async () => {
  website = await startWebsite('<html>tutorial page</html>');
  cleanup.add(() => website.close());
  const { process: fetcher, match } = await spawnNode([SERVER], { name: 'website-fetcher', env: { PORT: '0', HOST: '127.0.0.1' }, ready: /website-fetcher listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)\n/ });
  cleanup.add(() => fetcher.stop());
  url = match[1]!;
});
test.after(() => cleanup.run());

test('initialize issues no session id (stateless) and answers JSON', async () => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.is(response.headers.get('mcp-session-id'), null);
  const body = (await response.json()) as { result: { serverInfo: { name: string } } };
  assert.is(body.result.serverInfo.name, 'mcp-website-fetcher');
});

test('GET is 405', async () => {
  const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
  await response.text();
  assert.is(response.status, 405);
});

test('tools: fetch(url) fetches with the tutorial User-Agent, follows redirects, raises for status', async () => {
  const client = new Client({ name: 't', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => client.close());
  const { tools } = await client.listTools();
  assert.equal(tools.map((t) => [t.name, t.description]), [['fetch', 'Fetches a website and returns its content']]);
  assert.equal(tools[0]!.inputSchema.required, ['url']);

  const ok = await client.callTool({ name: 'fetch', arguments: { url: `${website.url}redirect` } });
  assert.equal(ok.content, [{ type: 'text', text: '<html>tutorial page</html>' }]);
  assert.not.ok(ok.isError);

  const missing = await client.callTool({ name: 'fetch', arguments: { url: `${website.url}missing` } });
  assert.is(missing.isError, true);
  assert.match((missing.content as Array<{ text: string }>)[0]!.text, /Client error '404 Not Found'/);
});

test('the request carries User-Agent "MCP Test Server"', async () => {
  let seen: string | undefined;
  const { createServer } = await import('node:http');
  const probe = createServer((req, res) => {
    seen = req.headers['user-agent'];
    res.end('ok');
  });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  cleanup.add(() => new Promise<void>((r) => probe.close(() => r())));
  const port = (probe.address() as { port: number }).port;
  const client = new Client({ name: 't', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanup.add(() => client.close());
  await client.callTool({ name: 'fetch', arguments: { url: `http://127.0.0.1:${port}/` } });
  assert.is(seen, 'MCP Test Server');
});

test.run();
