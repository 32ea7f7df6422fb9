// Real MCP upstreams for tests: server-everything (stateful, SSE responses) in a child process,
// the tutorial's website fetcher (stateless, JSON) and a paging fixture in-process, and a plain
// website for the fetcher to fetch. All on loopback, free ports.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListPromptsRequestSchema, ListToolsRequestSchema, type Prompt, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { freePort, spawnNode, type Managed } from './processes.ts';

const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

export interface EverythingServer {
  port: number;
  url: string;
  /** Kills the process and starts a fresh one on the same port: every upstream session is gone. */
  restart(): Promise<void>;
  /** What the current process printed (it logs every session it opens and terminates). */
  output(): string;
  stop(): Promise<void>;
}

export async function startServerEverything(): Promise<EverythingServer> {
  const port = await freePort();
  let output = (): string => '';
  const start = async (): Promise<Managed> => {
    const started = await spawnNode([EVERYTHING, 'streamableHttp'], { name: 'server-everything', env: { PORT: String(port) }, ready: /listening on port/ });
    output = started.process.output;
    return started.process;
  };
  let child = await start();
  return {
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    async restart() {
      await child.stop('SIGKILL');
      child = await start();
    },
    output: () => output(),
    stop: async () => void (await child.stop('SIGKILL')),
  };
}

export interface LocalServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

function listen(server: HttpServer, path: string): Promise<LocalServer> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}${path}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** A website: every path answers `body` as text/plain; `/redirect` redirects to `/`. */
export function startWebsite(body: string): Promise<LocalServer> {
  const server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/' });
      res.end();
      return;
    }
    if (req.url === '/missing') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('nope');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-seen-user-agent': String(req.headers['user-agent']) });
    res.end(body);
  });
  return listen(server, '/');
}

/**
 * A stateless MCP server that pages its tools and prompts `pageSize` at a time, with cursors of its
 * own ("page-N"), to prove federated pagination never drops a nextCursor.
 */
export function startPagedServer(options: { toolCount: number; promptCount: number; pageSize: number }): Promise<LocalServer> {
  const tools: Tool[] = Array.from({ length: options.toolCount }, (_, i) => ({
    name: `tool-${i + 1}`,
    description: `paged tool ${i + 1}`,
    inputSchema: { type: 'object' },
  }));
  const prompts: Prompt[] = Array.from({ length: options.promptCount }, (_, i) => ({ name: `prompt-${i + 1}` }));
  function page<T>(items: T[], cursor: string | undefined): { items: T[]; nextCursor?: string } {
    const start = cursor === undefined ? 0 : Number(/^page-(\d+)$/.exec(cursor)?.[1] ?? NaN);
    if (!Number.isInteger(start)) throw new Error(`bad cursor ${cursor}`);
    const end = start + options.pageSize;
    return end < items.length ? { items: items.slice(start, end), nextCursor: `page-${end}` } : { items: items.slice(start) };
  }
  const server = createServer((req, res) => {
    const mcp = new Server({ name: 'paged', version: '1.0.0' }, { capabilities: { tools: {}, prompts: {} } });
    mcp.setRequestHandler(ListToolsRequestSchema, (request) => {
      const { items, nextCursor } = page(tools, request.params?.cursor);
      return nextCursor ? { tools: items, nextCursor } : { tools: items };
    });
    mcp.setRequestHandler(ListPromptsRequestSchema, (request) => {
      const { items, nextCursor } = page(prompts, request.params?.cursor);
      return nextCursor ? { prompts: items, nextCursor } : { prompts: items };
    });
    mcp.setRequestHandler(CallToolRequestSchema, (request) => ({
      content: [{ type: 'text', text: `called ${request.params.name}` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.destroy());
  });
  return listen(server, '/mcp');
}
