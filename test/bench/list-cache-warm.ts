// A short measurement (issue 19 §2): a warm tools/list through mcpmux federating 10 targets of 100
// tools each (served from the list cache), against a direct tools/list of one 100-tool upstream.
// Both with one SDK client each, sequential requests, median and p90 over N after a warm-up.
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
/** tools/list requests the upstreams answered: the warm lists through mcpmux add none. */
let upstreamLists = 0;
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
        const server = new Server({ name: 'hundred', version: '1' }, { capabilities: { tools: { listChanged: true } } });
        server.setRequestHandler(ListToolsRequestSchema, () => {
          upstreamLists++;
          return { tools: TOOLS };
        });
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void open.set(sid, created) });
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
 * `raw`: the session opened by the SDK client, then plain fetch + JSON.parse per list (what the
 * server side costs, without the SDK client validating 10x the tools); otherwise client.listTools().
 */
async function measure(url: string, expected: number, raw: boolean): Promise<{ median: number; p90: number }> {
  const client = new Client({ name: 'bench', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId ?? '', 'mcp-protocol-version': transport.protocolVersion ?? '2025-11-25' };
  const list = async (): Promise<number> => {
    if (!raw) return (await client.listTools()).tools.length;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${res.status} ${text}`);
    const json = (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? JSON.parse([...text.matchAll(/^data: ?(.+)$/gm)].at(-1)![1]!) : JSON.parse(text);
    return (json as { result: { tools: unknown[] } }).result.tools.length;
  };
  for (let i = 0; i < 50; i++) await list();
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const started = process.hrtime.bigint();
    const count = await list();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (count !== expected) throw new Error(`listed ${count} tools, expected ${expected}`);
  }
  await client.close();
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(N / 2)]!, p90: times[Math.floor(N * 0.9)]! };
}

const ups = await Promise.all(Array.from({ length: 10 }, () => upstream()));
const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger: createLogger('bench', { level: 'silent' }) });
await proxy.start();
proxy.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: Object.fromEntries(ups.map((u, i) => [`t${i}`, u.url])) })));
// The same payload as the direct list: one 100-tool target through mcpmux (the proxy's own cost).
const single = new ProxyServer({ address: '127.0.0.1', port: 0, logger: createLogger('bench', { level: 'silent' }) });
await single.start();
single.apply(compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { t0: ups[0]!.url } })));
const out: Record<string, unknown> = { n: N };
for (const raw of [true, false]) {
  const direct = await measure(ups[0]!.url, 100, raw);
  const before = upstreamLists;
  const viaMux = await measure(`http://127.0.0.1:${proxy.port}/mcp`, 1000, raw);
  out[raw ? 'upstreamListsViaMuxRaw' : 'upstreamListsViaMuxSdk'] = upstreamLists - before;
  const one = await measure(`http://127.0.0.1:${single.port}/mcp`, 100, raw);
  out[raw ? 'raw' : 'sdkClient'] = {
    directOneUpstream100: direct,
    mcpmuxWarm10x100: viaMux,
    ratioMedian: Number((viaMux.median / direct.median).toFixed(2)),
    mcpmuxWarm1x100: one,
    ratioSamePayload: Number((one.median / direct.median).toFixed(2)),
  };
}
console.log(JSON.stringify(out));
await proxy.close();
await single.close();
for (const u of ups) u.close();
