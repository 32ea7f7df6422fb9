// Parsers disagree on duplicate keys (JSON.parse keeps the last, others the first) and on keys
// written with escapes: over real sockets, the upstream must get exactly the tool the gateway
// routed and authorized, written once, whatever the client sent. A raw upstream on node:http shows
// the bytes it receives.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../shared/log.ts';
import { Cleanup } from '../shared/testing/processes.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { postJson } from './testing/raw-http.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
let url: string;
/** The raw text of every tools/call the upstream received. */
const calls: string[] = [];
/** What the upstream answers a tools/call with (the id is filled in). */
const RESULT = '{"content":[{"type":"text","text":"ok"}]}';

/** A stateful upstream written on node:http, so the test controls every byte it sends. */
function rawUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const message = JSON.parse(text) as { id?: number; method: string };
      if (message.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      if (message.method === 'initialize') {
        const result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'raw', version: '1' } };
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'upstream-session' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
        return;
      }
      calls.push(text);
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"result":${RESULT},"jsonrpc":"2.0","id":${message.id}}`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let session: Record<string, string>;

test.before(async () => {
  const upstream = await rawUpstream();
  cleanup.add(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  // Two targets: names (and resource URIs) are prefixed.
  proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { a: upstreamUrl, b: upstreamUrl } })));
  url = `http://127.0.0.1:${proxy.port}/mcp`;
  const init = await postJson(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, {});
  assert.is(init.status, 200);
  session = { 'mcp-session-id': init.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': '2025-06-18' };
});

test.after(() => cleanup.run());

async function call(body: string): Promise<{ sent: string; answer: string }> {
  const before = calls.length;
  const answer = await postJson(url, body, session);
  assert.is(answer.status, 200, answer.text);
  assert.is(calls.length, before + 1, 'one call reached the upstream');
  return { sent: calls[calls.length - 1] as string, answer: answer.text };
}

test('duplicate names: the parsed reading (the last name) is what the upstream gets, and only it', async () => {
  const { sent } = await call('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b_rm","name":"a_echo","arguments":{}}}');
  assert.equal(JSON.parse(sent).params, { name: 'echo', arguments: {} });
  assert.not.match(sent, /rm/);
  // Routed by the name authorization saw: a_echo went to target a with name echo.
  assert.is((sent.match(/"name"/g) ?? []).length, 1);
});

test('an escaped key that a parser reads as `name`: the upstream gets the one name JSON.parse kept, written plainly', async () => {
  const { sent } = await call('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"n\\u0061me":"b_rm","name":"a_echo"}}');
  assert.equal(JSON.parse(sent).params, { name: 'echo' });
});

test('duplicate keys in params and _meta: one of each reaches the upstream; the progress token is the gateway’s', async () => {
  const { sent } = await call('{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"a_echo","_meta":{"progressToken":"p","progressToken":"q"},"_meta":{"progressToken":"r"}}}');
  const params = JSON.parse(sent).params as { _meta: { progressToken: unknown } };
  assert.is.not(params._meta.progressToken, 'r');
  assert.is((sent.match(/"_meta"/g) ?? []).length, 1);
  assert.is((sent.match(/"progressToken"/g) ?? []).length, 1);
});

test.run();
