// MCP over the legacy HTTP+SSE transport (protocol 2024-11-05), as the bench driver sees it: a
// session is one GET event stream whose first event, `endpoint`, names the URL to POST messages
// to; every answer comes back on that stream, matched to its call by JSON-RPC id. Peers such as
// mcp-hub serve only this on their aggregate endpoint.
//
// Per call there is nothing but the POST: the stream is parsed incrementally as it arrives, and
// the POSTs go over keep-alive sockets of their own (each open stream holds a socket for the
// session's lifetime, so streams get a separate, unbounded pool and never starve the POSTs).
import { Pool } from 'undici';
import { BenchCallError, checkEcho, PROTOCOL_VERSION, type BenchEndpoint, type BenchSession } from './clients.ts';

export interface LegacySseOptions {
  name: string;
  /** The SSE endpoint the GET opens, e.g. http://127.0.0.1:37373/mcp. */
  url: string;
  /** The echo tool's name as this endpoint lists it (e.g. `echo_server__echo` through mcp-hub). */
  tool: string;
  /** Keep-alive sockets for POSTs; at least the number of concurrent sessions. */
  connections: number;
  /** How long open() waits for the stream's `endpoint` event and the initialize answer. */
  openTimeoutMs?: number;
}

type Answer = Parameters<typeof checkEcho>[0];

interface Waiter {
  resolve(answer: Answer): void;
  reject(error: Error): void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Incremental parser for a `text/event-stream` body: feed it decoded text as it arrives; it calls
 * `onEvent(type, data)` for each complete event (type `message` when the event names none).
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  readonly #onEvent: (type: string, data: string) => void;

  constructor(onEvent: (type: string, data: string) => void) {
    this.#onEvent = onEvent;
  }

  push(text: string): void {
    const buffer = this.#buffer + text;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf('\n', start);
      if (newline < 0) break;
      const end = newline > start && buffer.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.#line(buffer.slice(start, end));
      start = newline + 1;
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) {
        const data = this.#data.length === 1 ? (this.#data[0] as string) : this.#data.join('\n');
        const type = this.#event || 'message';
        this.#data = [];
        this.#event = '';
        this.#onEvent(type, data);
      } else {
        this.#event = '';
      }
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchCallError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Legacy SSE: GET the stream, POST initialize + notifications/initialized, then tools/call per call. */
export function legacySseEndpoint(options: LegacySseOptions): BenchEndpoint {
  const url = new URL(options.url);
  const openTimeoutMs = options.openTimeoutMs ?? 15_000;
  const posts = new Pool(url.origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  // A stream is idle between calls for as long as the driver pauses: no body timeout.
  const streams = new Pool(url.origin, { connections: null, pipelining: 1, bodyTimeout: 0 });
  const streamPath = url.pathname + url.search;

  async function post(path: string, message: object): Promise<void> {
    const response = await posts.request({ path, method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(message) });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump();
      return;
    }
    const body = await response.body.text();
    const method = (message as { method?: string }).method ?? 'message';
    throw new BenchCallError(`${method}: HTTP ${response.statusCode}: ${body.slice(0, 200)}`);
  }

  return {
    name: options.name,
    async open(): Promise<BenchSession> {
      const abort = new AbortController();
      const pending = new Map<number, Waiter>();
      let closed: Error | undefined;
      let postPath: string | undefined;
      let endpointReady!: (path: string) => void;
      let endpointFailed!: (error: Error) => void;
      const endpoint = new Promise<string>((resolve, reject) => {
        endpointReady = resolve;
        endpointFailed = reject;
      });
      endpoint.catch(() => {}); // observed by open() below; a late failure must not go unhandled

      const fail = (error: Error): void => {
        if (closed) return;
        closed = error;
        endpointFailed(error);
        for (const waiter of pending.values()) waiter.reject(error);
        pending.clear();
      };

      const onEvent = (type: string, data: string): void => {
        if (type === 'endpoint') {
          const target = new URL(data, url);
          if (target.origin !== url.origin) return fail(new BenchCallError(`endpoint event names another origin: ${data}`));
          postPath = target.pathname + target.search;
          endpointReady(postPath);
          return;
        }
        if (type !== 'message') return;
        let message: Answer & { method?: string };
        try {
          message = JSON.parse(data) as Answer & { method?: string };
        } catch {
          return fail(new BenchCallError(`unparsable event on the stream: ${data.slice(0, 200)}`));
        }
        if (message.method !== undefined) {
          // A request from the server: answer pings so it keeps the session; ignore the rest.
          if (message.method === 'ping' && message.id !== undefined && postPath) post(postPath, { jsonrpc: '2.0', id: message.id, result: {} }).catch(() => {});
          return;
        }
        if (typeof message.id !== 'number') return;
        const waiter = pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id);
        waiter.resolve(message);
      };

      const response = await streams.request({ path: streamPath, method: 'GET', headers: { accept: 'text/event-stream' }, signal: abort.signal });
      const contentType = String(response.headers['content-type'] ?? '');
      if (response.statusCode !== 200 || !contentType.startsWith('text/event-stream')) {
        const body = await response.body.text().catch(() => '');
        abort.abort();
        throw new BenchCallError(`GET ${streamPath}: HTTP ${response.statusCode} ${contentType}: ${body.slice(0, 200)}`);
      }
      const parser = new SseParser(onEvent);
      const stream = response.body;
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => parser.push(chunk));
      stream.on('error', (error: Error) => fail(new BenchCallError(`event stream failed: ${error.message}`)));
      stream.on('end', () => fail(new BenchCallError('event stream ended')));

      const request = (id: number, message: object): Promise<Answer> => {
        if (closed) return Promise.reject(closed);
        const answer = new Promise<Answer>((resolve, reject) => pending.set(id, { resolve, reject }));
        answer.catch(() => {}); // the stream may fail while the POST is in flight: seen below
        const sent = post(postPath as string, message);
        // The answer may arrive on the stream before the POST's 202 does; both must succeed.
        return sent.then(
          () => answer,
          (error: unknown) => {
            pending.delete(id);
            throw error;
          },
        );
      };

      let nextId = 1;
      const session: BenchSession = {
        async call() {
          const id = nextId++;
          const message = `m${id}`;
          const answer = await request(id, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: options.tool, arguments: { message } } });
          checkEcho(answer, message);
        },
        async close() {
          fail(new BenchCallError('session closed'));
          abort.abort();
        },
      };

      try {
        await withTimeout(endpoint, openTimeoutMs, `GET ${streamPath}: endpoint event`);
        const init = await withTimeout(
          request(0, {
            jsonrpc: '2.0',
            id: 0,
            method: 'initialize',
            params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpmux-bench', version: '1' } },
          }),
          openTimeoutMs,
          'initialize',
        );
        if (init.error) throw new BenchCallError(`initialize: ${init.error.message}`);
        await post(postPath as string, { jsonrpc: '2.0', method: 'notifications/initialized' });
      } catch (error) {
        await session.close();
        throw error;
      }
      return session;
    },
    async close() {
      await Promise.all([posts.close(), streams.destroy()]);
    },
  };
}
