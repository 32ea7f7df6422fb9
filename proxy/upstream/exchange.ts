// One POST of one JSON-RPC message to an upstream's streamable HTTP endpoint, and what came back:
// accepted (202), the response to our request (from an `application/json` body or picked out of a
// `text/event-stream`), or "your session is gone". Notifications and server→client requests seen
// on an SSE response are handed to callbacks. Errors are McpmuxErrors naming the target.
//
// An upstream with a session may end a request's SSE stream before the response once it sent an
// event with an id (SEP-1699 polling, 2025-11-25): we then wait its `retry:` hint and resume the
// stream with GET + Last-Event-ID, as often as the resumed streams make progress, until the
// response comes (or the caller's timeout or abort ends the exchange).
//
// This is the proxy's hot path, so it speaks undici's dispatch API directly: the body is collected
// (or parsed as SSE) in the handler, without a Readable stream per response, and the caller aborts
// it through `abort()` rather than an AbortSignal composed per request.
import { StringDecoder } from 'node:string_decoder';
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
  /** The request headers, from postHeaders(sessionId, protocolVersion): a session builds them once. */
  headers: Readonly<Record<string, string>>;
  onNotification?: (message: JSONRPCNotification) => void;
  onServerRequest?: (message: JSONRPCRequest) => void;
  /**
   * The upstream ended the response stream before the response (SEP-1699 polling): it is resumed
   * (GET + Last-Event-ID) after `retryMs`.
   */
  onPause?: (retryMs: number) => void;
}

/** An exchange under way: its outcome, and a way to give up on it (timeout, cancel, close). */
export interface Exchange {
  readonly outcome: Promise<ExchangeOutcome>;
  /** Stops the exchange; `outcome` rejects with `reason` unless it has already settled. */
  abort(reason: Error): void;
}

/** How long an SSE response may keep streaming after it delivered our response before we cut it. */
const DRAIN_AFTER_RESPONSE_MS = 1_000;
/** Upstream error bodies are read this far, for the message. */
const ERROR_BODY_LIMIT = 8 * 1024;
/** A JSON answer larger than this is refused (a runaway upstream must not exhaust the proxy). */
const MAX_JSON_BODY_BYTES = 64 * 1024 * 1024;
/** Wait before resuming a stream whose server gave no `retry:` hint (the SDK client's first delay). */
const DEFAULT_RESUME_DELAY_MS = 1_000;
/** A server's `retry:` hint is honoured up to this: a request must not sit idle longer on its say-so. */
const MAX_RESUME_DELAY_MS = 5_000;
/** Resumptions in a row that brought no new event before we give up on the stream. */
const MAX_IDLE_RESUMES = 5;
/** Statuses of a resumption that are tried again (within MAX_IDLE_RESUMES) rather than final. */
const RETRY_RESUME_STATUSES = new Set([409, 502, 503, 504]);

/** The headers of every POST to an upstream with this session id and protocol version. */
export function postHeaders(
  sessionId: string | undefined,
  protocolVersion: string | undefined,
  extra?: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  // The endpoint's own headers (its credential) first: the MCP ones below cannot be overridden.
  const headers: Record<string, string> = {
    ...extra,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  if (protocolVersion !== undefined) headers['mcp-protocol-version'] = protocolVersion;
  return Object.freeze(headers);
}

export function exchange(request: ExchangeRequest): Exchange {
  const handler = new ExchangeHandler(request);
  try {
    request.dispatcher.dispatch(
      {
        origin: request.endpoint.origin,
        path: request.endpoint.path,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        // The caller's timer carries the real deadline; undici's own timers stay out of the way.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
  } catch (error) {
    handler.fail(error);
  }
  return handler;
}

type Mode = 'json' | 'sse' | 'error' | 'discard';

/** The headers of a resumption: the POST's (session, version, credential, trace), for an event stream. */
function resumeHeaders(post: Readonly<Record<string, string>>, lastEventId: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(post)) {
    const lower = name.toLowerCase();
    if (lower !== 'content-type' && lower !== 'accept' && lower !== 'last-event-id') headers[name] = value;
  }
  headers.accept = 'text/event-stream';
  headers['last-event-id'] = lastEventId;
  return headers;
}

class ExchangeHandler implements Dispatcher.DispatchHandler, Exchange {
  readonly outcome: Promise<ExchangeOutcome>;
  readonly #request: ExchangeRequest;
  #resolve!: (outcome: ExchangeOutcome) => void;
  #reject!: (error: Error) => void;
  #settled = false;
  #controller: Dispatcher.DispatchController | undefined;
  /** Set by abort() before undici handed us a controller: applied as soon as it does. */
  #abortReason: Error | undefined;
  #mode: Mode = 'discard';
  #statusCode = 0;
  #contentType = '';
  #sessionId: string | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #sse: { parser: SseParser; decoder: StringDecoder; drainTimer: NodeJS.Timeout | undefined } | undefined;
  /** Set while the response stream is being resumed (GET + Last-Event-ID) rather than POSTed. */
  #resuming = false;
  /** Resumptions in a row without a new event, and the event id the last one started from. */
  #idleResumes = 0;
  #resumedFrom: string | undefined;
  #resumeTimer: NodeJS.Timeout | undefined;

  constructor(request: ExchangeRequest) {
    this.#request = request;
    this.outcome = new Promise<ExchangeOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#settle(undefined, reason);
    this.#controller?.abort(reason);
  }

  /** A failure before or outside the response (connect refused, reset, dispatch threw). */
  fail(error: unknown): void {
    const sse = this.#sse;
    if (sse) {
      clearTimeout(sse.drainTimer);
      // What was cut mid-event is dropped; the resumed stream starts clean.
      sse.decoder.end();
      sse.parser.end();
    }
    // A stream that broke before the response is resumed like one the server ended.
    if (this.#abortReason === undefined && (this.#mode === 'sse' || this.#resuming) && this.#resume(false)) return;
    this.#settle(undefined, transportError(this.#request, this.#abortReason ?? error));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#statusCode = statusCode;
    this.#contentType = String(headers['content-type'] ?? '').toLowerCase();
    if (this.#resuming) {
      this.#mode = statusCode === 200 && this.#contentType.startsWith('text/event-stream') ? 'sse' : 'error';
      return;
    }
    const session = headers['mcp-session-id'];
    this.#sessionId = typeof session === 'string' && session !== '' ? session : undefined;
    const request = this.#request;
    if (statusCode === 202) {
      this.#mode = 'discard';
      if (request.expectId !== undefined) this.#settle(undefined, protocolError(request, 'answered a request with 202 Accepted'));
      else this.#settle({ kind: 'accepted' });
    } else if (statusCode < 200 || statusCode >= 300) {
      this.#mode = 'error';
    } else if (request.expectId === undefined) {
      // A notification answered with 200 (some servers do): nothing to wait for.
      this.#mode = 'discard';
      this.#settle({ kind: 'accepted' });
    } else if (this.#contentType.startsWith('text/event-stream')) {
      this.#mode = 'sse';
      this.#sse = { parser: new SseParser((event) => this.#onEvent(event.event, event.data)), decoder: new StringDecoder('utf8'), drainTimer: undefined };
    } else if (this.#contentType.startsWith('application/json')) {
      this.#mode = 'json';
    } else {
      this.#mode = 'discard';
      this.#settle(undefined, protocolError(request, `answered with content type "${this.#contentType}"`));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#mode) {
      case 'json':
        this.#size += chunk.length;
        if (this.#size > MAX_JSON_BODY_BYTES) {
          const error = protocolError(this.#request, `sent a JSON body larger than ${MAX_JSON_BODY_BYTES} bytes`);
          this.#settle(undefined, error);
          controller.abort(error);
          return;
        }
        this.#chunks.push(chunk);
        return;
      case 'error':
        if (this.#size < ERROR_BODY_LIMIT) {
          this.#chunks.push(chunk);
          this.#size += chunk.length;
        }
        return;
      case 'sse':
        this.#sse?.parser.push(this.#sse.decoder.write(chunk));
        return;
      case 'discard':
        return;
    }
  }

  onResponseEnd(): void {
    const request = this.#request;
    switch (this.#mode) {
      case 'json': {
        const text = this.#body();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          this.#settle(undefined, protocolError(request, 'sent a body that is not JSON'));
          return;
        }
        const message = pickResponse(request, parsed);
        if (message) this.#settle({ kind: 'response', message, sessionId: this.#sessionId });
        else this.#settle(undefined, protocolError(request, `sent no response with id ${String(request.expectId)}`));
        return;
      }
      case 'error':
        if (!this.#resuming) this.#settleFailedStatus(this.#body().slice(0, ERROR_BODY_LIMIT));
        // 409: the server has not noticed the old stream is gone yet; 502-504: a balancer between
        // us and a server that is coming back. Both are worth another (counted) try.
        else if (!(RETRY_RESUME_STATUSES.has(this.#statusCode) && this.#resume(false, this.#statusCode))) this.#settleFailedResume(this.#body().slice(0, ERROR_BODY_LIMIT));
        return;
      case 'sse': {
        const sse = this.#sse;
        if (sse) {
          sse.parser.push(sse.decoder.end());
          sse.parser.end();
          clearTimeout(sse.drainTimer);
        }
        if (this.#settled || this.#resume(true)) return;
        this.#settle(undefined, protocolError(request, `ended its SSE stream without a response to id ${String(request.expectId)}`));
        return;
      }
      case 'discard':
        return;
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  #body(): string {
    const chunks = this.#chunks;
    this.#chunks = [];
    if (chunks.length === 1) return (chunks[0] as Buffer).toString('utf8');
    return Buffer.concat(chunks).toString('utf8');
  }

  #onEvent(event: string, data: string): void {
    // Priming events (an id and empty data, sent for resumability since 2025-11-25) carry no message.
    if (event !== 'message' || data.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      const error = protocolError(this.#request, 'sent an SSE event that is not JSON');
      this.#settle(undefined, error);
      this.#controller?.abort(error);
      return;
    }
    const found = dispatchMessages(this.#request, parsed);
    if (found && !this.#settled) {
      this.#settle({ kind: 'response', message: found, sessionId: this.#sessionId });
      // Keep reading so the connection goes back to the pool, but not forever.
      const sse = this.#sse;
      if (sse) {
        sse.drainTimer = setTimeout(() => this.#controller?.abort(new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', 'SSE response kept streaming after its answer')), DRAIN_AFTER_RESPONSE_MS);
        sse.drainTimer.unref();
      }
    }
  }

  /**
   * The response stream ended (or broke) before the response: resumes it after the server's retry
   * hint if it can be (a session, an event id to resume from, and not too many idle tries); false
   * if not. `paused`: the server ended it on purpose (the caller may tell its own client);
   * `refusedWith`: the last resumption was answered with this (retryable) status.
   */
  #resume(paused: boolean, refusedWith?: number): boolean {
    const request = this.#request;
    const lastEventId = this.#sse?.parser.lastEventId;
    if (this.#settled || request.sessionId === undefined || request.expectId === undefined || lastEventId === undefined || lastEventId === '') return false;
    // Progress is a new event id since the last resumption; a server that keeps ending the stream
    // without saying anything new gets a few tries, not an endless poll.
    if (lastEventId === this.#resumedFrom) {
      if (++this.#idleResumes >= MAX_IDLE_RESUMES) {
        const id = String(request.expectId);
        if (refusedWith === undefined) this.#settle(undefined, protocolError(request, `ended its SSE stream ${MAX_IDLE_RESUMES} times without a response to id ${id} or any new event`));
        else this.#settleFailedResume(`(${MAX_IDLE_RESUMES} times in a row)`);
        return true;
      }
    } else {
      this.#idleResumes = 0;
    }
    this.#resumedFrom = lastEventId;
    this.#controller = undefined;
    const delay = Math.min(this.#sse?.parser.retryMs ?? DEFAULT_RESUME_DELAY_MS, MAX_RESUME_DELAY_MS);
    this.#resumeTimer = setTimeout(() => this.#dispatchResume(lastEventId), delay);
    if (paused) request.onPause?.(delay);
    return true;
  }

  #dispatchResume(lastEventId: string): void {
    this.#resumeTimer = undefined;
    if (this.#settled) return;
    const request = this.#request;
    this.#resuming = true;
    this.#mode = 'discard';
    this.#statusCode = 0;
    this.#chunks = [];
    this.#size = 0;
    try {
      request.dispatcher.dispatch(
        {
          origin: request.endpoint.origin,
          path: request.endpoint.path,
          method: 'GET',
          headers: resumeHeaders(request.headers, lastEventId),
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        this,
      );
    } catch (error) {
      this.fail(error);
    }
  }

  /** A resumption refused: the request may have run, so it is never sent again; the caller hears why. */
  #settleFailedResume(text: string): void {
    const request = this.#request;
    const statusCode = this.#statusCode;
    const detail = `answered the resumption (GET with Last-Event-ID) of its SSE stream for id ${String(request.expectId)} with HTTP ${statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
    const lostSession = statusCode === 404 || (statusCode === 400 && mentionsSession(text));
    const unavailable = lostSession || statusCode === 502 || statusCode === 503 || statusCode === 504;
    this.#settle(undefined, unavailable ? new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${request.target} ${detail}`) : protocolError(request, detail));
  }

  #settleFailedStatus(text: string): void {
    const request = this.#request;
    const statusCode = this.#statusCode;
    if (request.sessionId !== undefined && (statusCode === 404 || (statusCode === 400 && mentionsSession(text)))) {
      // 404 is the spec's "session expired"; servers built on the SDK's example (server-everything
      // among them) answer an unknown session with 400 "No valid session ID provided" instead.
      this.#settle({ kind: 'session-expired' });
      return;
    }
    if (this.#contentType.startsWith('application/json') && request.expectId !== undefined) {
      try {
        const parsed = pickResponse(request, JSON.parse(text) as unknown, { acceptNullId: true });
        if (parsed && 'error' in parsed) {
          this.#settle({ kind: 'response', message: parsed, sessionId: undefined });
          return;
        }
      } catch {
        // not JSON-RPC: reported below with the status
      }
    }
    const detail = `answered HTTP ${statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
    if (statusCode === 502 || statusCode === 503 || statusCode === 504) {
      this.#settle(undefined, new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${request.target} ${detail}`));
      return;
    }
    this.#settle(undefined, protocolError(request, detail));
  }

  #settle(outcome: ExchangeOutcome | undefined, error?: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#resumeTimer !== undefined) clearTimeout(this.#resumeTimer);
    if (outcome) this.#resolve(outcome);
    else this.#reject(error ?? new Error('exchange settled without an outcome'));
  }
}

function mentionsSession(text: string): boolean {
  return /session/i.test(text);
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

function protocolError(request: ExchangeRequest, what: string): McpmuxError {
  return new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${request.target} ${what}`);
}

function transportError(request: ExchangeRequest, error: unknown): Error {
  // An abort's reason is the caller's own error (timeout, cancellation, session closed): keep it.
  if (error instanceof McpmuxError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new McpmuxError(
    'MCPMUX_TARGET_UNAVAILABLE',
    `target ${request.target} is unavailable at ${request.endpoint.url}: ${errorMessage(error)}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause: error },
  );
}
