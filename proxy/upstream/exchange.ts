// One POST of one JSON-RPC message to an upstream's streamable HTTP endpoint, and what came back:
// accepted (202), the response to our request (from an `application/json` body or picked out of a
// `text/event-stream`), or "your session is gone". Notifications and server→client requests seen
// on an SSE response are handed to callbacks. Errors are McpmuxErrors naming the target.
import type { Dispatcher } from 'undici';
import type { JSONRPCErrorResponse, JSONRPCMessage, JSONRPCNotification, JSONRPCRequest, JSONRPCResultResponse, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { EndpointUrl } from '../routing/table.ts';
import { SseParser } from './sse.ts';

export type UpstreamResponse = JSONRPCResultResponse | JSONRPCErrorResponse;

export type ExchangeOutcome =
  | { kind: 'accepted' }
  | { kind: 'response'; message: UpstreamResponse; sessionId: string | undefined }
  | { kind: 'session-expired' };

export interface ExchangeRequest {
  dispatcher: Dispatcher;
  endpoint: EndpointUrl;
  /** Target name, for error messages. */
  target: string;
  body: string;
  /** The id of the request being sent; undefined for notifications and responses. */
  expectId: RequestId | undefined;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  /** Aborted by the caller; its reason is what the exchange rejects with. */
  signal: AbortSignal;
  onNotification?: (message: JSONRPCNotification) => void;
  onServerRequest?: (message: JSONRPCRequest) => void;
}

/** How long an SSE response may keep streaming after it delivered our response before we cut it. */
const DRAIN_AFTER_RESPONSE_MS = 1_000;
/** Upstream error bodies are read this far, for the message. */
const ERROR_BODY_LIMIT = 8 * 1024;

export async function exchange(request: ExchangeRequest): Promise<ExchangeOutcome> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (request.sessionId !== undefined) headers['mcp-session-id'] = request.sessionId;
  if (request.protocolVersion !== undefined) headers['mcp-protocol-version'] = request.protocolVersion;

  let response: Dispatcher.ResponseData;
  try {
    response = await request.dispatcher.request({
      origin: request.endpoint.origin,
      path: request.endpoint.path,
      method: 'POST',
      headers,
      body: request.body,
      signal: request.signal,
      // The caller's signal carries the real deadline; undici's own timers stay out of the way.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (error) {
    throw transportError(request, error);
  }

  const { statusCode, body } = response;
  const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
  const sessionHeader = response.headers['mcp-session-id'];
  const sessionId = typeof sessionHeader === 'string' && sessionHeader !== '' ? sessionHeader : undefined;

  if (statusCode === 202) {
    await body.dump();
    if (request.expectId !== undefined) throw protocolError(request, 'answered a request with 202 Accepted');
    return { kind: 'accepted' };
  }
  if (statusCode < 200 || statusCode >= 300) return failedStatus(request, statusCode, contentType, body);
  if (request.expectId === undefined) {
    // A notification answered with 200 (some servers do): nothing to wait for.
    await body.dump();
    return { kind: 'accepted' };
  }
  if (contentType.startsWith('text/event-stream')) {
    const message = await readSse(request, body);
    return { kind: 'response', message, sessionId };
  }
  if (contentType.startsWith('application/json')) {
    const message = pickResponse(request, await readJson(request, body));
    if (!message) throw protocolError(request, `sent no response with id ${String(request.expectId)}`);
    return { kind: 'response', message, sessionId };
  }
  await body.dump();
  throw protocolError(request, `answered with content type "${contentType}"`);
}

async function failedStatus(
  request: ExchangeRequest,
  statusCode: number,
  contentType: string,
  body: Dispatcher.ResponseData['body'],
): Promise<ExchangeOutcome> {
  const text = await readLimited(body, ERROR_BODY_LIMIT);
  if (request.sessionId !== undefined && (statusCode === 404 || (statusCode === 400 && mentionsSession(text)))) {
    // 404 is the spec's "session expired"; servers built on the SDK's example (server-everything
    // among them) answer an unknown session with 400 "No valid session ID provided" instead.
    return { kind: 'session-expired' };
  }
  if (contentType.startsWith('application/json') && request.expectId !== undefined) {
    try {
      const parsed = pickResponse(request, JSON.parse(text) as unknown, { acceptNullId: true });
      if (parsed && 'error' in parsed) return { kind: 'response', message: parsed, sessionId: undefined };
    } catch {
      // not JSON-RPC: reported below with the status
    }
  }
  const detail = `answered HTTP ${statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
  if (statusCode === 502 || statusCode === 503 || statusCode === 504) {
    throw new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${request.target} ${detail}`);
  }
  throw protocolError(request, detail);
}

function mentionsSession(text: string): boolean {
  return /session/i.test(text);
}

function readSse(request: ExchangeRequest, body: Dispatcher.ResponseData['body']): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const parser = new SseParser((event) => {
      // Priming events (an id and empty data, sent for resumability since 2025-11-25) carry no message.
      if (event.event !== 'message' || event.data.trim() === '') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        if (!settled) {
          settled = true;
          reject(protocolError(request, 'sent an SSE event that is not JSON'));
          body.destroy();
        }
        return;
      }
      const found = dispatchMessages(request, parsed);
      if (found && !settled) {
        settled = true;
        resolve(found);
        // Keep reading so the connection goes back to the pool, but not forever.
        drainTimer = setTimeout(() => body.destroy(), DRAIN_AFTER_RESPONSE_MS);
        drainTimer.unref();
      }
    });
    const decoder = new TextDecoder();
    body.on('data', (chunk: Buffer) => parser.push(decoder.decode(chunk, { stream: true })));
    body.on('end', () => {
      parser.push(decoder.decode());
      parser.end();
      clearTimeout(drainTimer);
      if (!settled) {
        settled = true;
        reject(protocolError(request, `ended its SSE stream without a response to id ${String(request.expectId)}`));
      }
    });
    body.on('error', (error: unknown) => {
      clearTimeout(drainTimer);
      if (!settled) {
        settled = true;
        reject(transportError(request, error));
      }
    });
  });
}

/** Routes every message of one SSE event; returns the response to our request if it is there. */
function dispatchMessages(request: ExchangeRequest, parsed: unknown): UpstreamResponse | undefined {
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  let found: UpstreamResponse | undefined;
  for (const message of messages as JSONRPCMessage[]) {
    if (message === null || typeof message !== 'object') continue;
    if ('method' in message) {
      if ('id' in message) request.onServerRequest?.(message as JSONRPCRequest);
      else request.onNotification?.(message as JSONRPCNotification);
    } else if ('id' in message && message.id === request.expectId && ('result' in message || 'error' in message)) {
      found = message;
    }
  }
  return found;
}

function pickResponse(
  request: ExchangeRequest,
  parsed: unknown,
  options: { acceptNullId?: boolean } = {},
): UpstreamResponse | undefined {
  const messages = Array.isArray(parsed) ? parsed : [parsed];
  for (const message of messages as Array<Record<string, unknown> | null>) {
    if (message === null || typeof message !== 'object' || 'method' in message) continue;
    if (!('result' in message || 'error' in message)) continue;
    if (message.id === request.expectId) return message as unknown as UpstreamResponse;
    // An error about a request the server could not even parse the id of, said with id null.
    if (options.acceptNullId && (message.id === null || message.id === undefined)) {
      return { ...message, id: request.expectId } as UpstreamResponse;
    }
  }
  return undefined;
}

async function readJson(request: ExchangeRequest, body: Dispatcher.ResponseData['body']): Promise<unknown> {
  const text = await body.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw protocolError(request, 'sent a body that is not JSON');
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      if (text.length < limit) text += (chunk as Buffer).toString('utf8');
    }
  } catch {
    // the status already tells what went wrong
  }
  return text.slice(0, limit);
}

function protocolError(request: ExchangeRequest, what: string): McpmuxError {
  return new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${request.target} ${what}`);
}

function transportError(request: ExchangeRequest, error: unknown): Error {
  // An abort's reason is the caller's own error (timeout, cancellation, session closed): keep it.
  if (request.signal.aborted) {
    const reason: unknown = request.signal.reason;
    return reason instanceof Error ? reason : new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `request to target ${request.target} was aborted`);
  }
  if (error instanceof McpmuxError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new McpmuxError(
    'MCPMUX_TARGET_UNAVAILABLE',
    `target ${request.target} is unavailable at ${request.endpoint.url}: ${errorMessage(error)}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause: error },
  );
}
