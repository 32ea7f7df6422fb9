// Raw MCP 2026-07-28 requests for tests: the envelope, one POST with the standard headers, and a
// subscriptions/listen stream read as it arrives. Raw on purpose: tests check the wire itself.

export const MODERN = '2026-07-28';

/** A request's `_meta` envelope: our version, these client capabilities, a clientInfo, and `extra`. */
export function modernMeta(capabilities: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    ...extra,
  };
}

// JSON-RPC messages as tests read them: any shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

/** The messages of a response body: one JSON answer, or every `data:` of an event stream. */
export function messagesOf(contentType: string, text: string): Message[] {
  return contentType.startsWith('text/event-stream') ? [...text.matchAll(/^data: ?(.*)$/gm)].map((m) => JSON.parse(m[1]!) as Message) : [JSON.parse(text) as Message];
}

/**
 * One modern POST to `url`: Mcp-Method, and Mcp-Name from params.name or params.uri (overridable in
 * `headers`); its status and the JSON-RPC messages of its body.
 */
export async function postModern(url: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = {}, id: number | string = 7): Promise<{ status: number; messages: Message[] }> {
  const name = (params.name ?? params.uri) as string | undefined;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name === undefined ? {} : { 'mcp-name': name }),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, messages: messagesOf(response.headers.get('content-type') ?? '', await response.text()) };
}

export interface ListenStream {
  status: number;
  /** The messages received so far, in order. */
  frames: Message[];
  /** When each frame arrived (Date.now()). */
  at: number[];
  close(): void;
}

/** Opens a subscriptions/listen stream (request id `id`) asking for `notifications`; `frames` fill as they arrive. */
export async function openListen(url: string, notifications: Record<string, unknown>, id: number | string = 'sub-1'): Promise<ListenStream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: abort.signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream, application/json', 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { _meta: modernMeta(), notifications } }),
  });
  const stream: ListenStream = { status: response.status, frames: [], at: [], close: () => abort.abort() };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const data = /^data: ?(.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (data) {
            stream.frames.push(JSON.parse(data) as Message);
            stream.at.push(Date.now());
          }
        }
      }
    } catch {
      // closed by the test
    }
  })();
  return stream;
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function eventually(check: () => boolean, what: string, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
