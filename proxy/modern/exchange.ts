// Multi Round-Trip Requests (MRTR) for one 2026-07-28 client request, around each upstream request
// it makes (UpstreamExchangeHooks):
// - a modern upstream's `input_required` goes back to the client with its requestState sealed in
//   the gateway's own token, bound to the target, method, name, arguments and principal; the
//   client's retry is routed by its name as usual, and the token is opened (and checked against
//   where the retry goes) before the upstream gets its own state back, verbatim;
// - a 2025 upstream asks the client through server→client requests in the middle of a call: the
//   call is held open (HeldCalls), the client gets `input_required` with those requests as
//   inputRequests and a token naming the held call, and its retry answers them and waits again on
//   the same upstream call.
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import type { UpstreamExchangeHooks } from '../mux/context.ts';
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection, UpstreamResponse } from '../upstream/connection.ts';
import type { HeldCalls } from './held-calls.ts';
import { META_KEYS, MODERN_PROTOCOL_VERSION } from './wire.ts';
import type { HeaderLookup } from './envelope.ts';
import { checkMcpParamHeaders, mcpParamHeaders, type McpParamDeclaration } from './mcp-param.ts';
import type { ToolParams } from './tool-params.ts';
import { argumentsDigest, type RequestStateBinding, type RequestStateCodec } from './request-state.ts';

/** The methods that may answer `input_required`. */
const MRTR_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

export interface ModernExchangeOptions {
  codec: RequestStateCodec;
  principal: string | undefined;
  held: HeldCalls;
  /** The client request's headers (its Mcp-Param-* ones are checked against the arguments). */
  header: HeaderLookup;
  toolParams: ToolParams;
  /** For the tools/list fetched when a called tool's declarations are not known yet. */
  timeoutMs: number;
  /** The request's client capabilities (what a held call may ask of the client). */
  capabilities: Readonly<Record<string, unknown>>;
  /** Who is counted against the held-call limit: the principal, or the client's address. */
  holder: string;
}

type Params = Record<string, unknown>;

export class ModernExchange implements UpstreamExchangeHooks {
  readonly #options: ModernExchangeOptions;
  /** Where the server→client requests of a 2025 upstream called by this request go: its held call. */
  #onServerRequest: ((target: string, upstream: UpstreamConnection, request: JSONRPCRequest) => void) | undefined;

  constructor(options: ModernExchangeOptions) {
    this.#options = options;
  }

  async run(
    target: CompiledTarget,
    upstream: UpstreamConnection,
    method: string,
    params: unknown,
    sendWith: (params: unknown, headers?: Readonly<Record<string, string>>) => Promise<UpstreamResponse>,
  ): Promise<UpstreamResponse> {
    const modern = isModern(upstream);
    // A 2025 upstream gets the params without the client's 2026-07-28 envelope in _meta.
    const p = modern ? ((params ?? {}) as Params) : withoutEnvelope((params ?? {}) as Params);
    let send = sendWith;
    if (method === 'tools/call') {
      const pending = this.#paramHeaders(target, upstream, p);
      const headers = pending instanceof Promise ? await pending : pending;
      // A modern upstream that disagrees with the headers (-32020) changed its tools: once more, freshly learnt.
      send = async (sent) => {
        const response = await sendWith(sent, headers);
        return 'error' in response && response.error.code === -32020 && modern ? this.#retryOnMismatch(target, upstream, p, sendWith, sent) : response;
      };
    }
    if (!MRTR_METHODS.has(method)) {
      if (p.requestState !== undefined || p.inputResponses !== undefined) {
        throw new McpmuxError('MCPMUX_INVALID_PARAMS', `${method} takes no requestState or inputResponses: only tools/call, prompts/get and resources/read ask for input`);
      }
      return send(p);
    }
    // Made when needed (a retry's token to open, a token to seal): most calls need none.
    let made: RequestStateBinding | undefined;
    const bound = (): RequestStateBinding => (made ??= bindingOf(target, method, p, this.#options.principal));
    const { codec, held } = this.#options;
    let sent: Params = p;
    if (p.requestState !== undefined) {
      const binding = bound();
      if (typeof p.requestState !== 'string') throw new McpmuxError('MCPMUX_INVALID_REQUEST_STATE', 'Invalid requestState: it must be the string the gateway issued');
      const state = codec.open(p.requestState, binding);
      if (state.hold) {
        return held.resume(state.hold, binding, p.inputResponses, { seal: (next) => codec.seal(binding, { upstream: undefined, hold: next }), capabilities: this.#options.capabilities });
      }
      const { requestState: _ours, ...rest } = p;
      sent = state.upstream === undefined ? rest : { ...rest, requestState: state.upstream };
    }
    if (!modern) {
      // A 2025 upstream: its server→client requests during the call turn it into a held call.
      // The call's upstream request holds this request's sink as its relatedTo, so what the upstream
      // asks later (a second round) still reaches the held call through this exchange.
      const answer = await held.start(target.name, upstream, (listener) => (this.#onServerRequest = listener), () => send(stripMrtr(sent)), {
        seal: (hold) => codec.seal(bound(), { upstream: undefined, hold }),
        capabilities: this.#options.capabilities,
        binding: bound,
        holder: this.#options.holder,
      });
      return urlElicitationAsInput(answer, this.#options.capabilities, () => codec.seal(bound(), { upstream: undefined }));
    }
    const response = await send(sent);
    if (!('result' in response) || (response.result as Params).resultType !== 'input_required') return response;
    const upstreamState = (response.result as Params).requestState;
    return { ...response, result: { ...(response.result as Params), requestState: codec.seal(bound(), { upstream: typeof upstreamState === 'string' ? upstreamState : undefined }) } };
  }

  /**
   * A tools/call's x-mcp-header params: the client's Mcp-Param-* headers are checked against its
   * arguments (as a server would), and a modern upstream is sent the ones it expects (as a client
   * would). Without an await when the tool's declarations are known (the hot path). Returns the
   * headers for the upstream (undefined: none), or a promise of them when they had to be fetched.
   */
  #paramHeaders(target: CompiledTarget, upstream: UpstreamConnection, params: Params): Readonly<Record<string, string>> | undefined | Promise<Readonly<Record<string, string>> | undefined> {
    const known = this.#options.toolParams.cached(target, typeof params.name === 'string' ? params.name : '');
    if (known === undefined) return this.#declarations(target, upstream, params).then((declarations) => this.#headersFor(upstream, params, declarations));
    return this.#headersFor(upstream, params, known === 'not listed' ? NO_DECLARATIONS : declarationsOf(target, params, known));
  }

  #headersFor(upstream: UpstreamConnection, params: Params, declarations: readonly McpParamDeclaration[]): Readonly<Record<string, string>> | undefined {
    checkMcpParamHeaders(declarations, params.arguments, this.#options.header);
    return declarations.length === 0 || !isModern(upstream) ? undefined : mcpParamHeaders(declarations, params.arguments);
  }

  async #declarations(target: CompiledTarget, upstream: UpstreamConnection, params: Params): Promise<readonly McpParamDeclaration[]> {
    const { toolParams, timeoutMs } = this.#options;
    const list = (cursor: string | undefined): Promise<UpstreamResponse> => upstream.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, { timeoutMs });
    const known = await toolParams.of(target, typeof params.name === 'string' ? params.name : '', upstream, list);
    return known ? declarationsOf(target, params, known) : NO_DECLARATIONS;
  }

  /** An upstream that answered -32020 has changed its tools: learnt again, and the call tried once more. */
  async #retryOnMismatch(
    target: CompiledTarget,
    upstream: UpstreamConnection,
    params: Params,
    send: (params: unknown, headers?: Readonly<Record<string, string>>) => Promise<UpstreamResponse>,
    sent: unknown,
  ): Promise<UpstreamResponse> {
    this.#options.toolParams.forget(target);
    const headers = this.#headersFor(upstream, params, await this.#declarations(target, upstream, params));
    const retried = await send(sent, headers);
    if ('error' in retried && retried.error.code === -32020) {
      return { ...retried, error: { code: -32603, message: `target ${target.name} refused the headers mcpmux sent for ${String(params.name)}: ${retried.error.message}` } };
    }
    return retried;
  }

  /** A server→client request a 2025 upstream sent during this request. */
  serverRequest(target: string, upstream: UpstreamConnection, request: JSONRPCRequest): void {
    const listener = this.#onServerRequest;
    if (listener) {
      listener(target, upstream, request);
      return;
    }
    upstream
      .respond({ jsonrpc: '2.0', id: request.id, error: { code: -32603, message: `mcpmux cannot route ${request.method} to a 2026-07-28 client here: it asks only during tools/call, prompts/get or resources/read` } })
      .catch(() => undefined);
  }
}

const NO_DECLARATIONS: readonly McpParamDeclaration[] = Object.freeze([]);

/**
 * A 2025 upstream's -32042 (URL elicitation required: the user must visit a URL first) becomes what
 * a 2026-07-28 server says instead: `input_required` with URL-mode elicitations (their 2025
 * elicitationId dropped). The retry, after the user went there, runs the call again.
 */
function urlElicitationAsInput(response: UpstreamResponse, capabilities: Readonly<Record<string, unknown>>, seal: () => string): UpstreamResponse {
  if (!('error' in response) || response.error.code !== -32042) return response;
  const elicitations = (response.error.data as { elicitations?: unknown } | undefined)?.elicitations;
  if (!Array.isArray(elicitations) || elicitations.length === 0) return response;
  if (capabilities.elicitation === undefined) {
    throw new McpmuxError('MCPMUX_MISSING_CAPABILITY', 'the upstream needs the user to open a URL (URL-mode elicitation), which this request did not declare', {
      data: { requiredCapabilities: { elicitation: { url: {} } } },
    });
  }
  const inputRequests: Record<string, unknown> = {};
  elicitations.forEach((elicitation: unknown, i) => {
    const { elicitationId: _id, ...params } = (elicitation ?? {}) as Params;
    inputRequests[`url-${i + 1}`] = { method: 'elicitation/create', params: { mode: 'url', ...params } };
  });
  return { jsonrpc: '2.0', id: response.id ?? 0, result: { resultType: 'input_required', inputRequests, requestState: seal() } };
}

/** A tool's declarations, or MCPMUX_UNKNOWN_NAME when they are invalid (such a tool is not offered). */
function declarationsOf(target: CompiledTarget, params: Params, known: { ok: readonly McpParamDeclaration[] } | { error: string }): readonly McpParamDeclaration[] {
  if ('error' in known) throw new McpmuxError('MCPMUX_UNKNOWN_NAME', `Unknown tool: ${String(params.name)} of target ${target.name} is not offered: its x-mcp-header declarations are invalid (${known.error})`);
  return known.ok;
}

function bindingOf(target: CompiledTarget, method: string, params: Params, principal: string | undefined): RequestStateBinding {
  const name = method === 'resources/read' ? params.uri : params.name;
  const args = method === 'resources/read' ? undefined : params.arguments;
  return { target: target.name, method, name: typeof name === 'string' ? name : '', principal, argsDigest: argumentsDigest(args ?? {}) };
}

/** The client's `_meta` keys that describe it to a 2026-07-28 server (a 2025 server has its session's). */
const ENVELOPE_KEYS = new Set<string>([META_KEYS.protocolVersion, META_KEYS.clientCapabilities, META_KEYS.clientInfo, META_KEYS.logLevel]);

function withoutEnvelope(params: Params): Params {
  const meta = params._meta;
  if (meta === null || typeof meta !== 'object') return params;
  const kept: Params = {};
  for (const [key, value] of Object.entries(meta as Params)) if (!ENVELOPE_KEYS.has(key)) kept[key] = value;
  const { _meta: _dropped, ...rest } = params;
  return Object.keys(kept).length > 0 ? { ...rest, _meta: kept } : rest;
}

/** A 2025 upstream knows neither requestState nor inputResponses. */
function stripMrtr(params: Params): Params {
  if (params.requestState === undefined && params.inputResponses === undefined) return params;
  const { requestState: _s, inputResponses: _r, ...rest } = params;
  return rest;
}

function isModern(upstream: UpstreamConnection): boolean {
  return upstream.initializeResult?.protocolVersion === MODERN_PROTOCOL_VERSION;
}
