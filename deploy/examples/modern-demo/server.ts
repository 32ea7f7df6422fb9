// A tiny MCP server that speaks only the 2026-07-28 revision (stateless: no initialize, no session),
// built on the TypeScript SDK 2.x with `legacy: 'reject'`. `npm start` federates it next to
// server-everything and the website fetcher, so both protocol eras meet in one gateway. Tools:
//   greet(name)            → "Hello, <name>!"
//   word-count(text)       → the number of words
//   countdown(steps)       → counts down, reporting progress at each step
//   confirm-action(action) → asks the client to confirm (elicitation, as a multi round-trip request)
//   PORT=3701 HOST=127.0.0.1 node deploy/examples/modern-demo/server.ts
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { acceptedContent, createMcpHandler, inputRequired, McpServer, type McpHttpHandler } from '@modelcontextprotocol/server';
import { z } from 'zod';

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function demoServer(): McpServer {
  const server = new McpServer({ name: 'mcp-modern-demo', version: '1.0.0' }, { capabilities: { tools: {} }, instructions: 'A 2026-07-28-only demo server: greet, count words, count down with progress, confirm an action.' });
  server.registerTool('greet', { description: 'Greets someone by name', inputSchema: z.object({ name: z.string() }) }, async ({ name }) => ({
    content: [{ type: 'text', text: `Hello, ${name}!` }],
  }));
  server.registerTool('word-count', { description: 'Counts the words of a text', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => {
    const words = text.trim() === '' ? 0 : text.trim().split(/\s+/).length;
    return { content: [{ type: 'text', text: String(words) }], structuredContent: { words } };
  });
  server.registerTool(
    'countdown',
    { description: 'Counts down from steps to zero, reporting progress at each step', inputSchema: z.object({ steps: z.number().int().min(1).max(20) }) },
    async ({ steps }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let done = 1; done <= steps; done++) {
        await sleep(20);
        if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: done, total: steps, message: `${steps - done} to go` } });
      }
      return { content: [{ type: 'text', text: `counted down from ${steps}` }] };
    },
  );
  const confirmation = z.object({ confirm: z.boolean() });
  server.registerTool('confirm-action', { description: 'Asks the user to confirm an action before doing it', inputSchema: z.object({ action: z.string() }) }, async ({ action }, ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', confirmation);
    if (answer === undefined) {
      return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: `Do you want to ${action}?`, requestedSchema: confirmation }) } });
    }
    return { content: [{ type: 'text', text: answer.confirm ? `confirmed: ${action}` : `not confirmed: ${action}` }] };
  });
  return server;
}

/** Node's request as a web Request (the SDK's handler is fetch-shaped). */
function toRequest(req: IncomingMessage, base: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers };
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(new URL(req.url ?? '/', base), init);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

export interface ModernDemo {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startModernDemo(options: { port?: number; host?: string } = {}): Promise<ModernDemo> {
  const host = options.host ?? '127.0.0.1';
  const handler: McpHttpHandler = createMcpHandler(() => demoServer(), { legacy: 'reject' });
  const http: HttpServer = createServer((req, res) => {
    if (!(req.url ?? '').startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    const base = `http://${req.headers.host ?? host}`;
    handler
      .fetch(toRequest(req, base))
      .then((response) => send(res, response))
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
  });
  await new Promise<void>((done) => http.listen(options.port ?? 0, host, done));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/mcp`,
    port,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((done) => http.close(() => done()));
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const demo = await startModernDemo({ port: Number(process.env.PORT ?? 3701), host: process.env.HOST ?? '127.0.0.1' });
  console.log(`mcp-modern-demo listening on ${demo.url}`);
  const stop = (): void => void demo.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
