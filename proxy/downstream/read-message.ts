// The one JSON-RPC message a client POSTs (streamable HTTP or legacy SSE), read and told apart;
// anything else is refused here with its own HTTP status and JSON-RPC error.
import type { IncomingMessage as HttpRequest, ServerResponse } from 'node:http';
import { McpmuxError } from '../../shared/errors.ts';
import { readBody } from './body.ts';
import { classifyMessage, type IncomingMessage } from './jsonrpc.ts';
import { refuse, sendError } from './respond.ts';

export type ClientMessage = Exclude<IncomingMessage, { kind: 'invalid' }>;

export function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface MessageLimits {
  maxBodyBytes: number;
  /** Deepest nesting of objects and arrays accepted (upstreams and our own walks recurse on it). */
  maxJsonDepth: number;
  /** Told which limit a refused message hit ("body-bytes", "json-depth"), for the metric. */
  onLimit?: (limit: string) => void;
}

/** Whether a parsed JSON value nests deeper than `max` (arrays and objects count one level each). */
export function deeperThan(value: unknown, max: number): boolean {
  return nestsDeeper(value, 1, max);
}

// Recursive, without a tuple per node: the descent stops one level past `max`, so the stack holds
// at most max + 1 frames whatever the depth of the value.
function nestsDeeper(value: unknown, depth: number, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > max) return true;
  if (Array.isArray(value)) {
    for (const child of value) if (child !== null && typeof child === 'object' && nestsDeeper(child, depth + 1, max)) return true;
    return false;
  }
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== null && typeof child === 'object' && nestsDeeper(child, depth + 1, max)) return true;
  }
  return false;
}

/** The message, or undefined once the refusal is sent (415, 413, 429, 400 with -32700 or -32600). */
export async function readMessage(req: HttpRequest, res: ServerResponse, limits: MessageLimits): Promise<ClientMessage | undefined> {
  const contentType = header(req, 'content-type') ?? '';
  if (!/^application\/json\b/i.test(contentType.trim())) {
    req.resume();
    sendError(res, refuse('MCPMUX_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));
    return undefined;
  }
  let parsed: unknown;
  try {
    const body = await readBody(req, limits.maxBodyBytes);
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    if (error instanceof McpmuxError && error.code === 'MCPMUX_BODY_TOO_LARGE') limits.onLimit?.('body-bytes');
    sendError(res, error instanceof McpmuxError ? error : refuse('MCPMUX_PARSE_ERROR', 'Parse error: the body is not valid JSON'));
    return undefined;
  }
  if (deeperThan(parsed, limits.maxJsonDepth)) {
    limits.onLimit?.('json-depth');
    sendError(res, refuse('MCPMUX_LIMIT_EXCEEDED', `the message nests deeper than ${limits.maxJsonDepth} levels`));
    return undefined;
  }
  if (Array.isArray(parsed)) {
    sendError(res, refuse('MCPMUX_INVALID_REQUEST', 'JSON-RPC batches are not supported; send one message per request'));
    return undefined;
  }
  const incoming = classifyMessage(parsed);
  if (incoming.kind === 'invalid') {
    sendError(res, refuse('MCPMUX_INVALID_REQUEST', `Invalid request: ${incoming.reason}`), incoming.id);
    return undefined;
  }
  return incoming;
}

/** The W3C trace context a client sent (traceparent, tracestate), to pass on to upstreams; undefined without one. */
export function traceContext(req: HttpRequest): Record<string, string> | undefined {
  const traceparent = header(req, 'traceparent');
  if (traceparent === undefined || !/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(traceparent)) return undefined;
  const tracestate = header(req, 'tracestate');
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}
