// Real MCP upstreams for tests: server-everything (stateful, SSE responses) in a child process,
// the tutorial's website fetcher (stateless, JSON), a paging fixture and a recording fixture
// in-process, and a plain website for the fetcher to fetch. All on loopback, free ports.
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ErrorCode,
  ListPromptsRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type Prompt,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
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

/** server-everything over streamable HTTP (`/mcp`, the default) or the legacy HTTP+SSE transport (`/sse`). */
export async function startServerEverything(options: { transport?: 'streamableHttp' | 'sse' } = {}): Promise<EverythingServer> {
  const transport = options.transport ?? 'streamableHttp';
  const port = await freePort();
  let output = (): string => '';
  const start = async (): Promise<Managed> => {
    const ready = transport === 'sse' ? /Server is running on port/ : /listening on port/;
    const started = await spawnNode([EVERYTHING, transport], { name: `server-everything-${transport}`, env: { PORT: String(port) }, ready });
    output = started.process.output;
    return started.process;
  };
  let child = await start();
  return {
    port,
    url: `http://127.0.0.1:${port}${transport === 'sse' ? '/sse' : '/mcp'}`,
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

export interface RecordingServer extends LocalServer {
  name: string;
  /** Every JSON-RPC message received, in order, with the session and MCP-Protocol-Version header it came with. */
  received: Array<{ sessionId: string | undefined; protocolVersion: string | undefined; traceparent: string | undefined; message: JSONRPCMessage }>;
  /** The requests and notifications received with this method. */
  receivedOf(method: string): Array<JSONRPCRequest | JSONRPCNotification>;
  /** The SDK server of each open session, to make it talk first (notifications, server→client requests). */
  sessions(): Server[];
}

/**
 * A stateful MCP server built on the SDK that records every message it receives, so tests can
 * assert what reached which target (a cancellation, a progress token, an answer). Tools:
 * `echo {text}` → `<name>: <text>`; `slow {ms, steps}` works for `ms`, reporting progress per
 * step when asked, and stops when cancelled; `ask {prompt}` asks the client for a sampling and
 * returns its text; `log {message}` logs at info, then answers. `protocolVersion` pins the version
 * it negotiates (to put clients and upstreams on different versions).
 */
export function startRecordingServer(options: { name: string; protocolVersion?: string }): Promise<RecordingServer> {
  const received: RecordingServer['received'] = [];
  const open = new Map<string, { server: Server; transport: StreamableHTTPServerTransport }>();
  const tools: Tool[] = [
    { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
    { name: 'slow', inputSchema: { type: 'object', properties: { ms: { type: 'number' }, steps: { type: 'number' } } } },
    { name: 'ask', inputSchema: { type: 'object', properties: { prompt: { type: 'string' } } } },
    { name: 'log', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } },
  ];
  const newServer = (): Server => {
    const mcp = new Server({ name: options.name, version: '1.0.0' }, { capabilities: { tools: { listChanged: true }, logging: {} }, instructions: `Instructions of ${options.name}.` });
    mcp.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
    mcp.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
      switch (request.params.name) {
        case 'echo':
          return text(`${options.name}: ${String(args.text)}`);
        case 'slow': {
          const steps = Number(args.steps ?? 1);
          const token = extra._meta?.progressToken;
          for (let i = 1; i <= steps; i++) {
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(resolve, Number(args.ms ?? 1000) / steps);
              extra.signal.addEventListener('abort', () => {
                clearTimeout(timer);
                reject(new Error('cancelled'));
              });
            });
            if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
          }
          return text(`${options.name}: slept ${String(args.ms)} ms`);
        }
        case 'ask': {
          const result = await extra.sendRequest(
            { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt) } }], maxTokens: 10 } },
            CreateMessageResultSchema,
          );
          return text(`${options.name} was told: ${(result.content as { text?: string }).text ?? ''}`);
        }
        case 'log':
          await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'fixture', data: String(args.message) } });
          return text(`${options.name}: logged`);
        default:
          throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      }
    });
    return mcp;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sessionId = typeof req.headers['mcp-session-id'] === 'string' ? req.headers['mcp-session-id'] : undefined;
      let body: unknown;
      if (chunks.length > 0) {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const protocolVersion = typeof req.headers['mcp-protocol-version'] === 'string' ? req.headers['mcp-protocol-version'] : undefined;
        const traceparent = typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined;
        for (const message of Array.isArray(body) ? body : [body]) received.push({ sessionId, protocolVersion, traceparent, message: structuredClone(message) as JSONRPCMessage });
        // Pin the negotiated version by asking the SDK server for it.
        const init = body as { method?: string; params?: { protocolVersion?: string } };
        if (options.protocolVersion && init.method === 'initialize' && init.params) init.params.protocolVersion = options.protocolVersion;
      }
      let entry = sessionId === undefined ? undefined : open.get(sessionId);
      if (!entry) {
        if (sessionId !== undefined) {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
          return;
        }
        const mcp = newServer();
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void open.set(id, { server: mcp, transport }),
          onsessionclosed: (id) => void open.delete(id),
        });
        entry = { server: mcp, transport };
        void mcp.connect(transport);
      }
      entry.transport.handleRequest(req, res, body).catch(() => res.destroy());
    });
  });
  return listen(server, '/mcp').then((local) => ({
    ...local,
    name: options.name,
    received,
    receivedOf: (method) =>
      received.flatMap((r) => ('method' in r.message && r.message.method === method ? [r.message as JSONRPCRequest | JSONRPCNotification] : [])),
    sessions: () => [...open.values()].map((e) => e.server),
    close: async () => {
      for (const { transport } of open.values()) await transport.close().catch(() => undefined);
      await local.close();
    },
  }));
}
