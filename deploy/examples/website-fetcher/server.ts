// The tutorial's website fetcher (a FastMCP server in Python there) as a small TypeScript MCP server:
// one tool, `fetch(url) -> str`, served as stateless streamable HTTP with JSON responses at /mcp,
// no session id, GET → 405. A new server and transport per request, as the SDK's stateless example.
//   PORT=8081 HOST=127.0.0.1 node deploy/examples/website-fetcher/server.ts
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const USER_AGENT = 'MCP Test Server';

const FETCH_TOOL = {
  name: 'fetch',
  description: 'Fetches a website and returns its content',
  inputSchema: {
    type: 'object' as const,
    properties: { url: { title: 'Url', type: 'string' } },
    required: ['url'],
  },
};

/** GET with redirects followed; a non-2xx status is an error, as httpx's raise_for_status. */
async function fetchWebsite(url: string): Promise<string> {
  const response = await fetch(url, { headers: { 'user-agent': USER_AGENT }, redirect: 'follow' });
  if (!response.ok) {
    await response.body?.cancel();
    const kind = response.status >= 500 ? 'Server error' : 'Client error';
    throw new Error(`${kind} '${response.status} ${response.statusText}' for url '${response.url || url}'`);
  }
  return response.text();
}

function createMcpServer(): Server {
  const server = new Server({ name: 'mcp-website-fetcher', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [FETCH_TOOL] }));
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    if (request.params.name !== FETCH_TOOL.name) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    const url = request.params.arguments?.url;
    if (typeof url !== 'string') throw new McpError(ErrorCode.InvalidParams, 'fetch: argument "url" must be a string');
    try {
      return { content: [{ type: 'text', text: await fetchWebsite(url) }] };
    } catch (error) {
      // A failed fetch is the tool's failure, reported to the model, not a protocol error.
      return { isError: true, content: [{ type: 'text', text: `Error executing tool fetch: ${(error as Error).message}` }] };
    }
  });
  return server;
}

function sendJsonRpcError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/mcp' && path !== '/mcp/') {
    sendJsonRpcError(res, 404, 'Not Found');
    return;
  }
  if (req.method !== 'POST') {
    sendJsonRpcError(res, 405, 'Method not allowed.', { allow: 'POST' });
    return;
  }
  const server = createMcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

export interface WebsiteFetcher {
  server: HttpServer;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts the fetcher; port 0 picks a free one. */
export async function startWebsiteFetcher(options: { host?: string; port?: number } = {}): Promise<WebsiteFetcher> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJsonRpcError(res, 500, `Internal server error: ${(error as Error).message}`);
      else res.destroy();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8081, host, () => done());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`;
  return {
    server,
    port,
    url,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const fetcher = await startWebsiteFetcher({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8081) });
  console.log(`website-fetcher listening on ${fetcher.url}`);
  const stop = (): void => {
    void fetcher.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
