// A stateful 2025 upstream for tests of what reaches upstreams: it counts the initialize,
// tools/list and tools/call requests it answers, its tools are set by the test, it can tell its
// open sessions their tool list changed, hold its handshakes back (to see them overlap) or refuse
// them (a target that fails to open).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { WATCHER_CLIENT } from '../mux/list-watchers.ts';
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';

export interface CountingUpstream {
  url: string;
  /** Handshakes of sessions (the list cache's watchers not counted: see `watchers`). */
  initializes: number;
  watchers: number;
  lists: number;
  calls: number;
  /** Handshakes being answered now, and the most seen at once (across every upstream sharing `gauge`). */
  gauge: { now: number; max: number };
  /** Held before answering each initialize. */
  initializeDelayMs: number;
  /** When set, a new session's initialize is answered 503. */
  refuseInitialize: boolean;
  setTools(names: string[]): void;
  /** notifications/tools/list_changed on every open session (on its GET stream). */
  notifyChanged(): Promise<void>;
  close(): Promise<void>;
}

export async function startCountingUpstream(options: { listChanged: boolean; tools: string[]; gauge?: { now: number; max: number } }): Promise<CountingUpstream> {
  let tools: Tool[] = [];
  const open = new Map<string, { server: Server; transport: StreamableHTTPServerTransport }>();
  const state: CountingUpstream = {
    url: '',
    initializes: 0,
    watchers: 0,
    lists: 0,
    calls: 0,
    gauge: options.gauge ?? { now: 0, max: 0 },
    initializeDelayMs: 0,
    refuseInitialize: false,
    setTools(list: string[]) {
      tools = list.map((name) => ({ name, inputSchema: { type: 'object' as const } }));
    },
    async notifyChanged() {
      await Promise.all([...open.values()].map((e) => e.server.sendToolListChanged().catch(() => undefined)));
    },
    close: async () => undefined,
  };
  state.setTools(options.tools);
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const sessionId = typeof req.headers['mcp-session-id'] === 'string' ? req.headers['mcp-session-id'] : undefined;
        const body: unknown = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
        let entry = sessionId === undefined ? undefined : open.get(sessionId);
        if (!entry) {
          if (sessionId !== undefined) {
            res.writeHead(404).end();
            return;
          }
          // Only handshakes count (the gateway's era probe comes without a session too); the list
          // cache's own watchers (mux/list-watchers.ts) apart from the sessions'.
          const handshake = body as { method?: unknown; params?: { clientInfo?: { name?: unknown } } } | undefined;
          if (handshake?.method === 'initialize' && handshake.params?.clientInfo?.name === WATCHER_CLIENT) state.watchers++;
          else if (handshake?.method === 'initialize') {
            if (state.refuseInitialize) {
              res.writeHead(503, { 'content-type': 'text/plain' }).end('not now');
              return;
            }
            state.initializes++;
            state.gauge.now++;
            state.gauge.max = Math.max(state.gauge.max, state.gauge.now);
            try {
              if (state.initializeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.initializeDelayMs));
            } finally {
              state.gauge.now--;
            }
          }
          const server = new Server({ name: 'counting', version: '1.0.0' }, { capabilities: { tools: options.listChanged ? { listChanged: true } : {} }, instructions: 'counts what it is asked' });
          server.setRequestHandler(ListToolsRequestSchema, () => {
            state.lists++;
            return { tools };
          });
          server.setRequestHandler(CallToolRequestSchema, (request) => {
            state.calls++;
            return { content: [{ type: 'text', text: `called ${request.params.name}` }] };
          });
          const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => void open.set(id, { server, transport }),
            onsessionclosed: (id) => void open.delete(id),
          });
          entry = { server, transport };
          await server.connect(transport);
        }
        await entry.transport.handleRequest(req, res, body);
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  state.close = async () => {
    for (const { transport } of open.values()) await transport.close().catch(() => undefined);
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return state;
}
