// MCP sessions as the load driver sees them: open one, call a tool on it, close it. One interface
// for every transport and every server measured (a direct upstream, mcpmux, a peer gateway), so
// the same driver loop measures all of them the same way.
import { Pool } from 'undici';

export interface BenchSession {
  /** One tools/call; resolves once the answer arrived and was checked, rejects on any error. */
  call(): Promise<void>;
  close(): Promise<void>;
}

/** Something the driver can measure: a URL and a way to open sessions on it. */
export interface BenchEndpoint {
  name: string;
  open(): Promise<BenchSession>;
  /** Releases sockets held for this endpoint. */
  close(): Promise<void>;
}

export const PROTOCOL_VERSION = '2025-06-18';

export class BenchCallError extends Error {
  override name = 'BenchCallError';
}

interface RpcAnswer {
  id?: unknown;
  result?: { content?: { text?: string }[]; isError?: boolean; [key: string]: unknown };
  error?: { code: number; message: string };
}

/** The JSON-RPC answer with `id` from a JSON or SSE body. */
export function findAnswer(contentType: string, body: string, id: number): RpcAnswer {
  if (contentType.startsWith('application/json')) {
    const parsed = JSON.parse(body) as RpcAnswer;
    if (parsed.id === id) return parsed;
    throw new BenchCallError(`answer has id ${String(parsed.id)}, expected ${id}`);
  }
  if (contentType.startsWith('text/event-stream')) {
    for (const line of body.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const parsed = JSON.parse(line.slice(5)) as RpcAnswer;
      if (parsed.id === id) return parsed;
    }
    throw new BenchCallError(`no answer with id ${id} in the event stream`);
  }
  throw new BenchCallError(`unexpected content-type ${JSON.stringify(contentType)}: ${body.slice(0, 200)}`);
}

export function checkEcho(answer: RpcAnswer, expected: string): void {
  if (answer.error) throw new BenchCallError(`JSON-RPC error ${answer.error.code}: ${answer.error.message}`);
  const text = answer.result?.content?.[0]?.text;
  // Our echo fixture answers the message; server-everything's echo answers `Echo: <message>`.
  if (answer.result?.isError || (text !== expected && text !== `Echo: ${expected}`)) throw new BenchCallError(`unexpected tool result ${JSON.stringify(answer.result).slice(0, 200)}`);
}

/** One echo tools/call with id `id` on the session `headers` name; rejects unless it echoed. */
export async function callEcho(client: StreamableClient, headers: Record<string, string>, id: number, tool: string): Promise<void> {
  const message = `m${id}`;
  const answer = await client.post(headers, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: { message } } });
  if (answer.status !== 200) throw new BenchCallError(`tools/call: HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
  checkEcho(findAnswer(answer.contentType, answer.body, id), message);
}

export interface StreamableOptions {
  name: string;
  /** The MCP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  url: string;
  /** The echo tool's name as this endpoint lists it (`echo` direct, `<target>_echo` through mcpmux). */
  tool: string;
  /** Keep-alive sockets to the endpoint; at least the number of concurrent sessions. */
  connections: number;
  /** Sent with every request (a peer's bearer token, say). */
  headers?: Record<string, string>;
}

export interface PostAnswer {
  status: number;
  contentType: string;
  sessionId: string | undefined;
  body: string;
}

/** A streamable HTTP MCP endpoint spoken to over one keep-alive pool. */
export class StreamableClient {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;

  constructor(url: string, connections: number, headers: Record<string, string> = {}) {
    const parsed = new URL(url);
    this.#headers = headers;
    this.#pool = new Pool(parsed.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.#path = parsed.pathname + parsed.search;
  }

  async post(headers: Record<string, string>, message: object): Promise<PostAnswer> {
    const response = await this.#pool.request({
      path: this.#path,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...this.#headers, ...headers },
      body: JSON.stringify(message),
    });
    const body = await response.body.text();
    const sessionId = response.headers['mcp-session-id'];
    return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), sessionId: typeof sessionId === 'string' ? sessionId : undefined, body };
  }

  /** One request; resolves with its result, rejects on an HTTP or JSON-RPC error. */
  async request(headers: Record<string, string>, id: number, method: string, params: object): Promise<Record<string, unknown>> {
    const answer = await this.post(headers, { jsonrpc: '2.0', id, method, params });
    if (answer.status !== 200) throw new BenchCallError(`${method}: HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    const parsed = findAnswer(answer.contentType, answer.body, id);
    if (parsed.error) throw new BenchCallError(`${method}: JSON-RPC error ${parsed.error.code}: ${parsed.error.message}`);
    return parsed.result ?? {};
  }

  /** initialize + notifications/initialized; resolves with the headers later requests carry. */
  async initialize(): Promise<Record<string, string>> {
    const init = await this.post(
      {},
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpmux-bench', version: '1' } } },
    );
    if (init.status !== 200) throw new BenchCallError(`initialize: HTTP ${init.status}: ${init.body.slice(0, 200)}`);
    const answer = findAnswer(init.contentType, init.body, 0);
    if (answer.error) throw new BenchCallError(`initialize: ${answer.error.message}`);
    const headers: Record<string, string> = { 'mcp-protocol-version': PROTOCOL_VERSION };
    if (init.sessionId) headers['mcp-session-id'] = init.sessionId;
    const initialized = await this.post(headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
    if (initialized.status !== 202) throw new BenchCallError(`notifications/initialized: HTTP ${initialized.status}`);
    return headers;
  }

  /** DELETE the session the headers name (nothing for a stateless server). */
  async end(headers: Record<string, string>): Promise<void> {
    if (!headers['mcp-session-id']) return;
    const response = await this.#pool.request({ path: this.#path, method: 'DELETE', headers: { ...this.#headers, ...headers } });
    await response.body.dump();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Streamable HTTP: POST initialize, then tools/call per call on the same Mcp-Session-Id (if any). */
export function streamableEndpoint(options: StreamableOptions): BenchEndpoint {
  const client = new StreamableClient(options.url, options.connections, options.headers);
  return {
    name: options.name,
    async open() {
      const headers = await client.initialize();
      let nextId = 1;
      return {
        call: () => callEcho(client, headers, nextId++, options.tool),
        close: () => client.end(headers),
      };
    },
    close: () => client.close(),
  };
}

/**
 * MCP 2026-07-28: no session to open, every tools/call carries its `_meta` envelope and the standard
 * headers (what a modern client sends on each request).
 */
export function modernEndpoint(options: StreamableOptions): BenchEndpoint {
  const client = new StreamableClient(options.url, options.connections);
  const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': options.tool };
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'mcpmux-bench', version: '1' } };
  return {
    name: options.name,
    async open() {
      let nextId = 1;
      return {
        async call() {
          const id = nextId++;
          const message = `m${id}`;
          const answer = await client.post(headers, { jsonrpc: '2.0', id, method: 'tools/call', params: { _meta: meta, name: options.tool, arguments: { message } } });
          if (answer.status !== 200) throw new BenchCallError(`tools/call: HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
          checkEcho(findAnswer(answer.contentType, answer.body, id), message);
        },
        close: async () => undefined,
      };
    },
    close: () => client.close(),
  };
}
