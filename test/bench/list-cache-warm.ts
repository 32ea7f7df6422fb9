// A short measurement (issue 19 §2), interleaved in one run so both sides see the same machine:
// - a warm tools/list through mcpmux federating 10 targets of 100 tools each (served from the list
//   cache, answered from pre-encoded items), against a direct tools/list of one 100-tool upstream;
// - an initialize through mcpmux (every target's answer cached: no upstream reached) against a
//   direct initialize of one upstream.
// Raw HTTP (fetch) on both sides: `bytes` is the time to the whole body, `parsed` adds the client's
// JSON.parse (10x the bytes through mcpmux). The SDK client's listTools() (which also validates
// every tool) is measured too, not interleaved; and, as the floor, a plain HTTP server sending the
// same two bodies precomputed. Medians and p90 over N after a warm-up.
// Run: node test/bench/list-cache-warm.ts [N]
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../../shared/log.ts';
import { compileRoutingTable } from '../../proxy/routing/table.ts';
import { ProxyServer } from '../../proxy/server.ts';
import { simpleSnapshot } from '../../proxy/testing/snapshots.ts';

const N = Number(process.argv[2] ?? 300);
/** Requests the upstreams answered: warm lists and cached initializes through mcpmux add none. */
let upstreamLists = 0;
let upstreamInitializes = 0;
const TOOLS: Tool[] = Array.from({ length: 100 }, (_, i) => ({
  name: `tool-${i}`,
  description: `Tool number ${i}, which does something useful with its arguments.`,
  inputSchema: { type: 'object', properties: { text: { type: 'string', description: 'the input' }, count: { type: 'number' } }, required: ['text'] },
}));

async function upstream(): Promise<{ url: string; close: () => void }> {
  const open = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = req.headers['mcp-session-id'];
      const body: unknown = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      let transport = typeof id === 'string' ? open.get(id) : undefined;
      if (!transport) {
        if ((body as { method?: string } | undefined)?.method === 'initialize') upstreamInitializes++;
        const server = new Server({ name: 'hundred', version: '1' }, { capabilities: { tools: { listChanged: true } } });
        server.setRequestHandler(ListToolsRequestSchema, () => {
          upstreamLists++;
          return { tools: TOOLS };
        });
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void open.set(sid, created),
          onsessionclosed: (sid) => void open.delete(sid),
        });
        transport = created;
        void server.connect(created);
      }
      transport.handleRequest(req, res, body).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, close: () => { http.closeAllConnections(); http.close(); } };
}

/**
 * The floor: a plain HTTP server answering the same bodies as the direct and the mcpmux list,
 * precomputed (what 10x the bytes cost on this machine's loopback and fetch, with no MCP at all).
 */
async function staticBodies(): Promise<{ url: (tools: number) => string; close: () => void }> {
  const bodies = new Map([100, 1000].map((n) => [n, JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: Array.from({ length: n }, (_, i) => ({ ...TOOLS[i % 100]!, name: `t${Math.floor(i / 100)}_tool-${i % 100}` })) } })]));
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = bodies.get(Number(req.url?.slice(1))) ?? '';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return { url: (tools) => `http://127.0.0.1:${port}/${tools}`, close: () => { http.closeAllConnections(); http.close(); } };
}

/** One POST to the static server, timed to the whole body. */
async function staticOnce(url: string): Promise<number> {
  const started = process.hrtime.bigint();
  await (await fetch(url, { method: 'POST', headers: ACCEPT, body: '{}' })).text();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC message of a response body (plain JSON or the last SSE event). */
function messageOf(contentType: string, text: string): { result: Record<string, unknown> } {
  return (contentType.startsWith('text/event-stream') ? JSON.parse([...text.matchAll(/^data: ?(.+)$/gm)].at(-1)![1]!) : JSON.parse(text)) as { result: Record<string, unknown> };
}

/** One raw session (initialized by plain fetch): its list, timed to the body and to the parsed message. */
async function rawSession(url: string): Promise<{ list: () => Promise<{ bytes: number; parsed: number; count: number }>; close: () => Promise<void> }> {
  const init = await fetch(url, { method: 'POST', headers: ACCEPT, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  await init.text();
  const headers = { ...ACCEPT, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': '2025-11-25' };
  await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return {
    list: async () => {
      const started = process.hrtime.bigint();
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      const text = await res.text();
      const bytes = Number(process.hrtime.bigint() - started) / 1e6;
      if (res.status !== 200) throw new Error(`${res.status} ${text}`);
      const count = (messageOf(res.headers.get('content-type') ?? '', text).result.tools as unknown[]).length;
      return { bytes, parsed: Number(process.hrtime.bigint() - started) / 1e6, count };
    },
    close: async () => void (await fetch(url, { method: 'DELETE', headers })).text(),
  };
}

/** One initialize of a new session, timed to the parsed answer; the session is deleted after (untimed). */
async function initializeOnce(url: string): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await fetch(url, { method: 'POST', headers: ACCEPT, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  const text = await res.text();
  const message = messageOf(res.headers.get('content-type') ?? '', text);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!message.result?.capabilities) throw new Error(`initialize failed: ${text}`);
  await (await fetch(url, { method: 'DELETE', headers: { ...ACCEPT, 'mcp-session-id': res.headers.get('mcp-session-id') ?? '', 'mcp-protocol-version': '2025-11-25' } })).text();
  return ms;
}

function stats(times: number[]): { p50: number; p90: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): number => Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(3));
  return { p50: at(0.5), p90: at(0.9) };
}

/** The SDK client's listTools() (validates each tool), N sequential after a warm-up. */
async function sdkList(url: string, expected: number): Promise<{ p50: number; p90: number }> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const times: number[] = [];
  for (let i = 0; i < 50 + N; i++) {
    const started = process.hrtime.bigint();
    const count = (await client.listTools()).tools.length;
    if (i >= 50) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (count !== expected) throw new Error(`listed ${count} tools, expected ${expected}`);
  }
  await client.close();
  return stats(times);
}

const ups = await Promise.all(Array.from({ length: 10 }, () => upstream()));
const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger: createLogger('bench', { level: 'silent' }) });
await proxy.start();
proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: Object.fromEntries(ups.map((u, i) => [`t${i}`, u.url])) })));
const muxUrl = `http://127.0.0.1:${proxy.port}/mcp`;
const plain = await staticBodies();
const directUrl = ups[0]!.url;

// A session that keeps every target open (its listeners keep the cached lists valid), then warm-up.
const keeper = await rawSession(muxUrl);
const direct = await rawSession(directUrl);
const mux = await rawSession(muxUrl);
for (let i = 0; i < 50; i++) {
  await keeper.list();
  await direct.list();
  await mux.list();
  await initializeOnce(directUrl);
  await initializeOnce(muxUrl);
  await staticOnce(plain.url(100));
  await staticOnce(plain.url(1000));
}
const before = { lists: upstreamLists, initializes: upstreamInitializes };
const t = { directListBytes: [] as number[], directListParsed: [] as number[], muxListBytes: [] as number[], muxListParsed: [] as number[], directInit: [] as number[], muxInit: [] as number[], static100: [] as number[], static1000: [] as number[] };
for (let i = 0; i < N; i++) {
  // Interleaved, the order alternating: neither side always runs right after the other.
  const order = i % 2 === 0 ? [direct, mux] : [mux, direct];
  for (const session of order) {
    const got = await session.list();
    const isMux = session === mux;
    if (got.count !== (isMux ? 1000 : 100)) throw new Error(`listed ${got.count} tools`);
    (isMux ? t.muxListBytes : t.directListBytes).push(got.bytes);
    (isMux ? t.muxListParsed : t.directListParsed).push(got.parsed);
  }
  for (const url of i % 2 === 0 ? [directUrl, muxUrl] : [muxUrl, directUrl]) (url === muxUrl ? t.muxInit : t.directInit).push(await initializeOnce(url));
  for (const n of i % 2 === 0 ? [100, 1000] : [1000, 100]) (n === 100 ? t.static100 : t.static1000).push(await staticOnce(plain.url(n)));
}
const during = { lists: upstreamLists - before.lists, initializes: upstreamInitializes - before.initializes };
const ratio = (a: { p50: number }, b: { p50: number }): number => Number((a.p50 / b.p50).toFixed(2));
const list = { directBytes: stats(t.directListBytes), muxBytes: stats(t.muxListBytes), directParsed: stats(t.directListParsed), muxParsed: stats(t.muxListParsed) };
const floor = { static100: stats(t.static100), static1000: stats(t.static1000) };
const init = { direct: stats(t.directInit), mux: stats(t.muxInit) };
const sdk = { direct: await sdkList(directUrl, 100), mux: await sdkList(muxUrl, 1000) };
console.log(JSON.stringify({
  n: N,
  upstreamRequestsDuringMeasure: { toolsList: during.lists, initialize: during.initializes, note: 'the direct side\'s own requests count here: N lists and N initializes are the direct ones' },
  toolsList10x100VsDirect1x100: { ...list, ratioBytesP50: ratio(list.muxBytes, list.directBytes), ratioParsedP50: ratio(list.muxParsed, list.directParsed) },
  staticBodiesFloor: { ...floor, ratioP50: ratio(floor.static1000, floor.static100) },
  initialize10TargetsVsDirect1: { ...init, ratioP50: ratio(init.mux, init.direct) },
  sdkClientListTools: { ...sdk, ratioP50: ratio(sdk.mux, sdk.direct) },
}));
await keeper.close();
await direct.close();
await mux.close();
await proxy.close();
plain.close();
for (const u of ups) u.close();
