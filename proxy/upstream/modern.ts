// One upstream that speaks MCP 2026-07-28: no session, no handshake, no GET stream. Every request
// carries its own `_meta` (protocol version, the client's capabilities and info) and the standard
// headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name). The "initialize answer" the multiplexer
// reads is made from the endpoint's discover result.
//
// A modern client's request gets the upstream's answer as it is (an `input_required` result goes
// back to the client, which retries). A 2025 session cannot take `input_required`, so for it the
// rounds are bridged here: each input request becomes a real server→client request (through
// onMessage, as a 2025 upstream's own would), the client's answers are collected from respond(),
// and the request is sent again with `inputResponses` and the upstream's exact `requestState`.
import type { Dispatcher } from 'undici';
import type { ClientCapabilities, InitializeRequestParams, InitializeResult, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { buildUpstreamMeta, traceMeta } from '../modern/envelope.ts';
import { META_KEYS, MODERN_PROTOCOL_VERSION, nameField } from '../modern/wire.ts';
import type { EndpointUrl } from '../routing/table.ts';
import { InFlight, type OutgoingResponse, type RequestOptions, type UpstreamConnection, type UpstreamMessage, type UpstreamOptions, type UpstreamResponse } from './connection.ts';
import type { DiscoverResult, EraDirectory } from './eras.ts';
import { exchange, type Exchange } from './exchange.ts';
import { ModernListen } from './modern-listen.ts';
import { modernPostHeaders } from './modern-headers.ts';
import { mcpParamHeaders } from '../modern/mcp-param.ts';
import type { ToolParams } from '../modern/tool-params.ts';
import { boundExchange } from './exchange-bounds.ts';

/** Rounds of input one request may need before we give up (the SDK's legacy shim allows 8). */
export const MAX_INPUT_ROUNDS = 8;

export interface ModernUpstreamOptions extends UpstreamOptions {
  eras: EraDirectory;
  /** The x-mcp-header declarations of targets' tools: a 2025 session's tools/call sends the headers they name. */
  toolParams?: ToolParams | undefined;
  /** The compiled target, for the era directory. */
  compiled: import('../routing/table.ts').CompiledTarget;
}

type Params = Record<string, unknown>;

/** The capability a kind of input request needs the client to have declared. */
const INPUT_CAPABILITY: Readonly<Record<string, keyof ClientCapabilities>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

export class ModernUpstream implements UpstreamConnection {
  readonly target: string;
  readonly endpoint: EndpointUrl;
  readonly #options: ModernUpstreamOptions;
  readonly #dispatcher: Dispatcher;
  readonly #logger: Logger;
  readonly #closed = new AbortController();
  readonly #calls = new Set<Exchange>();
  readonly #inFlight = new InFlight(() => void this.close());
  #nextId = 1;
  #initParams: InitializeRequestParams | undefined;
  #initResult: InitializeResult | undefined;
  #discover: DiscoverResult | undefined;
  /** A 2025 session's logging/setLevel, sent as `_meta` logLevel on each of its requests from then on. */
  #logLevel: string | undefined;
  /** A 2025 session's resources/subscribe: what its listen stream with the upstream asks for. */
  readonly #subscriptions = new Set<string>();
  /** What the upstream says outside requests (list changes, resource updates), for a 2025 session. */
  #listen: ModernListen | undefined;
  #listening: boolean;
  /** The headers of a method and name, built once (the name is encoded for a header only the first time). */
  readonly #headerCache = new Map<string, Readonly<Record<string, string>>>();
  /** Answers awaited from the client for bridged input requests, by the id it was asked under. */
  readonly #awaiting = new Map<string, (response: OutgoingResponse) => void>();

  constructor(options: ModernUpstreamOptions) {
    this.target = options.target;
    this.endpoint = options.endpoint;
    this.#options = options;
    this.#dispatcher = options.dispatcher;
    this.#logger = options.logger;
    this.#listening = options.listen ?? options.onMessage !== undefined;
  }

  /**
   * A 2025 session hears list changes and resource updates on its GET stream: here they come from a
   * subscriptions/listen stream with the upstream, opened while this replica listens for the session.
   */
  setListening(listen: boolean): void {
    this.#listening = listen;
    this.#relisten();
  }

  #relisten(): void {
    this.#listen?.stop();
    this.#listen = undefined;
    const onMessage = this.#options.onMessage;
    const capabilities = this.#initResult?.capabilities as Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined> | undefined;
    if (!this.#listening || !onMessage || !capabilities || this.closed) return;
    const notifications: Record<string, unknown> = {};
    if (capabilities.tools?.listChanged) notifications.toolsListChanged = true;
    if (capabilities.prompts?.listChanged) notifications.promptsListChanged = true;
    if (capabilities.resources?.listChanged) notifications.resourcesListChanged = true;
    if (this.#subscriptions.size > 0) notifications.resourceSubscriptions = [...this.#subscriptions];
    if (Object.keys(notifications).length === 0) return;
    const init = this.#initParams;
    this.#listen = new ModernListen({
      dispatcher: this.#dispatcher,
      endpoint: this.endpoint,
      target: this.target,
      logger: this.#logger,
      meta: buildUpstreamMeta({ protocolVersion: MODERN_PROTOCOL_VERSION, clientCapabilities: (init?.capabilities ?? {}) as Record<string, unknown>, clientInfo: init?.clientInfo }),
      notifications,
      onNotification: (notification) => {
        const { _meta: _tag, ...params } = notification.params ?? {};
        onMessage({ ...notification, params } as UpstreamMessage, undefined);
      },
      // What changed while the stream was down was not heard: the session's lists may have changed.
      onReconnected: () => this.#options.onReinitialized?.(),
    });
  }

  get initializeResult(): InitializeResult | undefined {
    return this.#initResult;
  }

  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /** What the upstream said of itself in server/discover (after initialize). */
  get discover(): DiscoverResult | undefined {
    return this.#discover;
  }

  /**
   * No handshake: the endpoint's discover result (probed once per endpoint) stands for the
   * initialize answer. `params` are kept for 2025 sessions, whose requests carry them as `_meta`.
   */
  async initialize(params: InitializeRequestParams, _options: RequestOptions): Promise<InitializeResult> {
    this.#initParams = params;
    const verdict = await this.#options.eras.verdict(this.#options.compiled, this.endpoint);
    if (verdict.era !== 'modern') throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} does not speak ${MODERN_PROTOCOL_VERSION}: ${verdict.why}`);
    this.#discover = verdict.discover;
    const result: InitializeResult = {
      protocolVersion: MODERN_PROTOCOL_VERSION,
      capabilities: verdict.discover.capabilities as InitializeResult['capabilities'],
      serverInfo: verdict.discover.serverInfo ?? { name: this.target, version: 'unknown' },
    };
    if (verdict.discover.instructions) result.instructions = verdict.discover.instructions;
    this.#initResult = result;
    this.#relisten();
    return result;
  }

  request(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse> {
    return this.#inFlight.track(async () => {
      // A modern client's request (options.meta set) gets the upstream's answer as it is.
      const params = (message.params ?? {}) as Params;
      if (options.meta !== undefined) return this.#send(message.method, params, options);
      // What 2026-07-28 removed is answered here for a 2025 session, as its own server would.
      switch (message.method) {
        case 'ping':
          return { jsonrpc: '2.0', id: 0, result: {} };
        case 'logging/setLevel':
          this.#logLevel = typeof params.level === 'string' ? params.level : undefined;
          return { jsonrpc: '2.0', id: 0, result: {} };
        case 'resources/subscribe':
        case 'resources/unsubscribe': {
          // 2026-07-28 subscribes on a listen stream: the session's is opened again with the new set.
          if (typeof params.uri !== 'string') return { jsonrpc: '2.0', id: 0, error: { code: -32602, message: `${message.method}: params.uri must be a string` } };
          if (message.method === 'resources/subscribe') this.#subscriptions.add(params.uri);
          else this.#subscriptions.delete(params.uri);
          this.#relisten();
          return { jsonrpc: '2.0', id: 0, result: {} };
        }
        default:
          return this.#sendBridged(message.method, params, options);
      }
    });
  }

  /** Modern upstreams take no client notifications: cancellation is closing the request's stream. */
  async notify(_method: string, _params: unknown, _options: RequestOptions): Promise<void> {}

  /** The client's answer to an input request we asked on the upstream's behalf. */
  async respond(message: OutgoingResponse): Promise<void> {
    const deliver = typeof message.id === 'string' ? this.#awaiting.get(message.id) : undefined;
    if (deliver) deliver(message);
  }

  closeWhenIdle(): void {
    this.#inFlight.closeWhenIdle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const reason = new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the connection to target ${this.target} was closed`);
    this.#closed.abort(reason);
    this.#listen?.stop();
    for (const call of this.#calls) call.abort(reason);
    for (const deliver of this.#awaiting.values()) deliver({ jsonrpc: '2.0', id: 'closed', error: { code: -32603, message: reason.message } });
    this.#awaiting.clear();
  }

  #standardHeaders(method: string, name: string | undefined): Readonly<Record<string, string>> {
    const key = name === undefined ? method : `${method}\u0000${name}`;
    let headers = this.#headerCache.get(key);
    if (!headers) {
      if (this.#headerCache.size >= 1024) this.#headerCache.clear(); // bounded: names come from clients
      headers = Object.freeze(modernPostHeaders(this.endpoint, method, name));
      this.#headerCache.set(key, headers);
    }
    return headers;
  }

  /** A 2025 session's request: `_meta` from its initialize; `input_required` rounds bridged to real requests. */
  async #sendBridged(method: string, params: Params, options: RequestOptions): Promise<UpstreamResponse> {
    const init = this.#initParams;
    const meta = buildUpstreamMeta({
      protocolVersion: MODERN_PROTOCOL_VERSION,
      clientCapabilities: (init?.capabilities ?? {}) as Record<string, unknown>,
      clientInfo: init?.clientInfo,
      logLevel: this.#logLevel,
      // The trace context goes where 2026-07-28 servers read it (SEP-414), besides the headers.
      ...(options.headers ? { extra: traceMeta(options.headers) } : {}),
    });
    let paramHeaders = method === 'tools/call' ? await this.#paramHeaders(params, options, false) : undefined;
    let relearnt = false;
    const send = async (sent: Params): Promise<UpstreamResponse> => {
      const response = await this.#send(method, sent, { ...options, meta, headers: { ...options.headers, ...paramHeaders } });
      if (!('error' in response) || response.error.code !== -32020 || method !== 'tools/call' || relearnt) return response;
      // The upstream wants headers we did not send: its tools changed. Learn them again, once.
      relearnt = true;
      paramHeaders = await this.#paramHeaders(params, options, true);
      return this.#send(method, sent, { ...options, meta, headers: { ...options.headers, ...paramHeaders } });
    };
    let current = params;
    for (let round = 0; ; round++) {
      const response = await send(current);
      if ('error' in response && response.error.code === -32020) {
        return inputFailure(response.id ?? 0, method, `target ${this.target} refused the headers mcpmux sent: ${response.error.message}`, 'the upstream refused the call');
      }
      if ('error' in response && response.error.code === -32021) {
        // The upstream needs a capability this session did not declare: a 2025 client knows no -32021.
        return inputFailure(response.id ?? 0, method, `${response.error.message} (declare it in initialize)`);
      }
      if (!('result' in response) || (response.result as { resultType?: unknown }).resultType !== 'input_required') return stripModern(response, method);
      if (round >= MAX_INPUT_ROUNDS) return inputFailure(response.id, method, `target ${this.target} asked for input more than ${MAX_INPUT_ROUNDS} times`);
      const result = response.result as { inputRequests?: unknown; requestState?: unknown };
      let inputResponses: Record<string, unknown>;
      try {
        inputResponses = await this.#askClient(result.inputRequests, init?.capabilities ?? {}, options);
      } catch (error) {
        return inputFailure(response.id, method, errorMessage(error));
      }
      const { inputResponses: _previous, requestState: _state, ...rest } = current;
      current = { ...rest, inputResponses, ...(typeof result.requestState === 'string' ? { requestState: result.requestState } : {}) };
    }
  }

  /** The Mcp-Param-* headers the upstream's declarations of this tool name (learnt once, or again with `fresh`). */
  async #paramHeaders(params: Params, options: RequestOptions, fresh: boolean): Promise<Record<string, string> | undefined> {
    const toolParams = this.#options.toolParams;
    if (!toolParams || typeof params.name !== 'string') return undefined;
    if (fresh) toolParams.forget(this.#options.compiled);
    const list = (cursor: string | undefined): Promise<UpstreamResponse> =>
      this.#sendBridged('tools/list', cursor === undefined ? {} : { cursor }, { timeoutMs: options.timeoutMs, signal: options.signal });
    const known = await toolParams.of(this.#options.compiled, params.name, this, list);
    return known && 'ok' in known ? mcpParamHeaders(known.ok, params.arguments) : undefined;
  }

  /** Asks the client each input request as a real server→client request; their answers by key. */
  async #askClient(inputRequests: unknown, capabilities: ClientCapabilities, options: RequestOptions): Promise<Record<string, unknown>> {
    const onMessage = this.#options.onMessage;
    if (!onMessage) throw new Error('no client to ask for input');
    if (inputRequests === null || typeof inputRequests !== 'object') return {};
    const entries = Object.entries(inputRequests as Record<string, { method?: unknown; params?: unknown }>);
    const answers = await Promise.all(
      entries.map(async ([key, input]) => {
        const method = typeof input?.method === 'string' ? input.method : '';
        const needs = INPUT_CAPABILITY[method];
        if (needs === undefined) throw new Error(`target ${this.target} asked for unknown input ${method || '(none)'}`);
        if (capabilities[needs] === undefined) throw new Error(`target ${this.target} needs the client capability ${needs}, which this session did not declare`);
        const id = `mrtr-${this.#nextId++}`;
        const answered = new Promise<OutgoingResponse>((resolve, reject) => {
          this.#awaiting.set(id, resolve);
          const onAbort = (): void => reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error('the request was cancelled'));
          if (options.signal?.aborted) onAbort();
          options.signal?.addEventListener('abort', onAbort, { once: true });
        }).finally(() => this.#awaiting.delete(id));
        // A 2025 client correlates URL-mode elicitations by an elicitationId (2026-07-28 has none): one is made up.
        const params = method === 'elicitation/create' && (input.params as { mode?: unknown } | undefined)?.mode === 'url' ? { ...(input.params as Params), elicitationId: `${this.target}-${id}` } : input.params;
        const request: JSONRPCRequest = { jsonrpc: '2.0', id, method, ...(params !== undefined ? { params: params as JSONRPCRequest['params'] } : {}) };
        onMessage(request as UpstreamMessage, options.relatedTo);
        const answer = await answered;
        if ('error' in answer) throw new Error(`the client answered ${method} with error ${answer.error.code}: ${answer.error.message}`);
        return [key, answer.result] as const;
      }),
    );
    return Object.fromEntries(answers);
  }

  /** One POST; the upstream's answer with our id (a JSON-RPC error from a 4xx body included). */
  async #send(method: string, params: Params, options: RequestOptions): Promise<UpstreamResponse> {
    if (this.closed) throw this.#closed.signal.reason as Error;
    const id = this.#nextId++;
    const ownMeta = params._meta as Params | undefined;
    // A 2026-07-28 client's params carry its whole envelope already (and our progress token): as they are.
    // Otherwise the envelope first, then what the request itself carries (progress token, trace context).
    const complete = ownMeta !== undefined && ownMeta !== null && typeof ownMeta === 'object' && META_KEYS.protocolVersion in ownMeta;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: complete ? params : { ...params, _meta: { ...options.meta, ...ownMeta } } });
    const field = nameField(method);
    const name = field === undefined ? undefined : params[field];
    const standard = this.#standardHeaders(method, typeof name === 'string' ? name : undefined);
    const headers = options.headers ? { ...standard, ...options.headers } : standard;
    const call = exchange({
      dispatcher: this.#dispatcher,
      endpoint: this.endpoint,
      target: this.target,
      body,
      expectId: id,
      sessionId: undefined,
      protocolVersion: MODERN_PROTOCOL_VERSION,
      headers,
      onNotification: (notification) => this.#options.onMessage?.(notification, options.relatedTo),
      // A modern upstream never sends requests on a request's stream; refused if one does.
      onServerRequest: (request) => this.#logger.warn({ target: this.target, method: request.method }, 'a 2026-07-28 upstream sent a server-to-client request; ignored'),
    });
    const unbound = boundExchange(call, this.target, options, this.#options.deadlines);
    this.#calls.add(call);
    try {
      const outcome = await call.outcome;
      if (outcome.kind !== 'response') throw new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} did not answer ${method}`);
      const response = outcome.message;
      if ('error' in response && looksLegacy(response.error)) {
        // Redeployed as a 2025-only server, say: probe it again next time.
        this.#options.eras.forget(this.endpoint);
        throw new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${this.target} no longer answers as a ${MODERN_PROTOCOL_VERSION} server: ${response.error.message}`);
      }
      return response;
    } catch (error) {
      if (error instanceof McpmuxError && error.code === 'MCPMUX_TARGET_UNAVAILABLE' && !this.closed) this.#options.eras.forget(this.endpoint);
      throw error;
    } finally {
      unbound();
      this.#calls.delete(call);
    }
  }
}

/** A 2025 server's answer to a request without a session: the endpoint is not (or no longer) modern. */
function looksLegacy(error: { code: number; message: string }): boolean {
  return error.code === -32000 && /initializ|session/i.test(error.message);
}

/** List methods: their results are merged into new ones by the mux (mux/lists.ts), never passed on as they are. */
const LISTS = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']);

/**
 * What a 2025 client sees of a modern result: no resultType, no cache hints (their schema has
 * none). A list keeps its hints: the list cache honours them, and the merged list the client gets
 * is built anew, without them.
 */
function stripModern(response: UpstreamResponse, method: string): UpstreamResponse {
  if (!('result' in response)) return response;
  const { resultType: _type, ttlMs, cacheScope, ...rest } = response.result as Params;
  return { ...response, result: LISTS.has(method) ? { ...rest, ttlMs, cacheScope } : rest };
}

/** A bridged input round that cannot complete: tools/call says so in its result, others as an error. */
function inputFailure(id: RequestId, method: string, why: string, what = 'the upstream needed input that could not be obtained'): UpstreamResponse {
  const message = `${what}: ${why}`;
  if (method === 'tools/call') return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: message }], isError: true } };
  return { jsonrpc: '2.0', id, error: { code: -32603, message } };
}
