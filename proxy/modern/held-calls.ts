// Calls to 2025 upstreams held open for a 2026-07-28 client. Such an upstream asks the client
// things (sampling, elicitation, roots) with server→client requests in the middle of a call; a
// modern client can only be asked with `input_required`. So the call stays open here, the client
// gets the questions as inputRequests and a token naming the held call, and its retry delivers the
// answers to the waiting upstream and waits again, round after round, until the upstream answers.
// A held call waits a bounded time for its retry; then its questions are answered with an error
// and the call is let go. One cleanup path (#drop) for every end.
import type { JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { UpstreamConnection, UpstreamResponse } from '../upstream/connection.ts';
import type { RequestStateBinding } from './request-state.ts';

export interface HeldCallsOptions {
  replicaId: string;
  logger: Logger;
  /** How long a held call waits for the client's retry. Default 60 s. */
  holdMs?: number;
  /** Held calls one principal (or, anonymous, one client address) may have at once. Default 32. */
  maxPerPrincipal?: number;
  /** A limit refused something (for mcpmux_proxy_limit_hits_total). */
  onLimit?: (limit: string) => void;
  /**
   * Resumes a call another replica holds (in a fleet: asked over NATS). Without it, a retry that
   * lands on another replica is refused, naming why.
   */
  remote?: (hold: Hold, binding: RequestStateBinding, inputResponses: unknown, capabilities: Readonly<Record<string, unknown>>) => Promise<UpstreamResponse>;
}

/** What one round needs besides the call: how to seal its token, and what the client may be asked. */
export interface RoundOptions {
  seal: (hold: Hold) => string;
  /** The client capabilities of the request (the first, or the retry): questions of a kind it did not declare are refused with -32021. */
  capabilities: Readonly<Record<string, unknown>>;
}

/** The capability each kind of question needs the client to have declared. */
const NEEDS: Readonly<Record<string, string>> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };

export type Hold = { replica: string; id: string };
type Listener = (target: string, upstream: UpstreamConnection, request: JSONRPCRequest) => void;

/** Server requests arriving within this window of each other go out in one input_required. */
const BATCH_MS = 15;

class Held {
  readonly id: string;
  /** Who is counted against the limit: the principal, or the client's address. */
  readonly holder: string;
  /** What the call's tokens are bound to (made when the call is first held). */
  readonly #binding: () => RequestStateBinding;
  readonly upstream: UpstreamConnection;
  /** Questions asked of the client and not answered yet: our key → the upstream's request. */
  readonly asked = new Map<string, JSONRPCRequest>();
  /** Told once when the call ends (answered, let go): the request it started in stops routing to it. */
  onEnd: (() => void) | undefined;
  answer: { response: UpstreamResponse } | { error: unknown } | undefined;
  #nextKey = 1;
  #wake: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;

  constructor(id: string, binding: () => RequestStateBinding, upstream: UpstreamConnection, holder: string) {
    this.id = id;
    this.holder = holder;
    this.#binding = binding;
    this.upstream = upstream;
  }

  get binding(): RequestStateBinding {
    return this.#binding();
  }

  ask(request: JSONRPCRequest): void {
    this.asked.set(`input-${this.#nextKey++}`, request);
    this.#wake?.();
  }

  settle(answer: Held['answer']): void {
    this.answer = answer;
    this.#wake?.();
  }

  /** Resolves when the upstream answered or asked something (batched briefly). */
  async changed(): Promise<void> {
    if (this.answer || this.asked.size > 0) return;
    await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#wake = undefined;
    if (!this.answer) await new Promise((resolve) => setTimeout(resolve, BATCH_MS));
  }
}

export class HeldCalls {
  readonly #options: HeldCallsOptions;
  readonly #calls = new Map<string, Held>();
  #next = 1;

  constructor(options: HeldCallsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#calls.size;
  }

  /**
   * Runs a call to a 2025 upstream. `listen` is given the function that takes the server→client
   * requests the upstream sends during it. If the upstream answers first, that answer is returned;
   * if it asks first, the call is held and `input_required` is returned (`seal` makes its token).
   */
  async start(
    target: string,
    upstream: UpstreamConnection,
    listen: (listener: Listener) => void,
    call: () => Promise<UpstreamResponse>,
    round: RoundOptions & { binding: () => RequestStateBinding; onEnd?: () => void; holder: string },
  ): Promise<UpstreamResponse> {
    const { binding, holder } = round;
    const max = this.#options.maxPerPrincipal ?? 32;
    if ([...this.#calls.values()].filter((c) => c.holder === holder).length >= max) {
      this.#options.onLimit?.('held-calls');
      throw new McpmuxError('MCPMUX_LIMIT_EXCEEDED', `${holder} already has ${max} calls waiting for input; answer or abandon one`);
    }
    const held = new Held(`${this.#next++}`, binding, upstream, holder);
    held.onEnd = round.onEnd;
    listen((_target, _upstream, request) => held.ask(request));
    call().then(
      (response) => held.settle({ response }),
      (error: unknown) => held.settle({ error }),
    );
    return this.#nextRound(held, round, true);
  }

  /** The client's retry of a held call: its answers go to the upstream, then the next round. */
  async resume(hold: Hold, binding: RequestStateBinding, inputResponses: unknown, round: RoundOptions): Promise<UpstreamResponse> {
    const method = binding.method;
    if (hold.replica !== this.#options.replicaId) {
      const remote = this.#options.remote;
      if (!remote) {
        return failure(method, `the call waiting for this input is held by replica ${hold.replica}, which this replica cannot reach; retry on the same replica, or enable NATS so replicas find each other's held calls`);
      }
      try {
        return await remote(hold, binding, inputResponses, round.capabilities);
      } catch (error) {
        return failure(method, `the call waiting for this input is held by replica ${hold.replica}, which did not take the retry: ${errorMessage(error)}`);
      }
    }
    const held = this.#calls.get(hold.id);
    // The token was checked where it arrived; the call itself must be the one it names.
    if (held && !sameBinding(held.binding, binding)) return failure(method, 'the call waiting for this input belongs to another request');
    if (!held) return failure(method, 'the call waiting for this input is gone (it waited longer than its hold time, or its upstream ended it); send the request again without requestState');
    if (inputResponses !== undefined && (inputResponses === null || typeof inputResponses !== 'object' || Array.isArray(inputResponses))) {
      throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'inputResponses must be an object keyed by the inputRequests keys');
    }
    for (const [key, value] of Object.entries((inputResponses ?? {}) as Record<string, unknown>)) {
      const request = held.asked.get(key);
      if (!request) continue; // extra keys are ignored
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new McpmuxError('MCPMUX_INVALID_PARAMS', `inputResponses.${key} must be the result object of ${request.method}`);
      held.asked.delete(key);
      held.upstream.respond({ jsonrpc: '2.0', id: request.id, result: value as Record<string, unknown> }).catch((error: unknown) =>
        this.#options.logger.debug({ err: errorMessage(error) }, 'could not deliver an input response to the upstream'),
      );
    }
    clearTimeout(held.timer);
    return this.#nextRound(held, round, false);
  }

  /** Waits for the upstream's answer or its next questions; holds the call for the retry in the latter case. */
  async #nextRound(held: Held, round: RoundOptions, first: boolean): Promise<UpstreamResponse> {
    // Questions still unanswered go out again at once (the client left some out): re-asked, not waited on.
    if (first || held.asked.size === 0) await held.changed();
    const answer = held.answer;
    if (answer) {
      this.#drop(held, undefined);
      if ('error' in answer) throw answer.error;
      return answer.response;
    }
    // Only what the client declared in this request may be asked of it (a 2025 upstream was told it may ask all).
    const missing = [...new Set([...held.asked.values()].map((r) => NEEDS[r.method] ?? r.method).filter((need) => round.capabilities[need] === undefined))];
    if (missing.length > 0) {
      this.#drop(held, `the client did not declare ${missing.join(', ')}`);
      throw new McpmuxError('MCPMUX_MISSING_CAPABILITY', `the upstream needs the client capabilit${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}, which this request did not declare`, {
        data: { requiredCapabilities: Object.fromEntries(missing.map((need) => [need, {}])) },
      });
    }
    if (first) this.#calls.set(held.id, held);
    const holdMs = this.#options.holdMs ?? 60_000;
    held.timer = setTimeout(() => this.#drop(held, `no retry came within ${holdMs} ms`), holdMs);
    held.timer.unref();
    const inputRequests: Record<string, unknown> = {};
    for (const [key, request] of held.asked) inputRequests[key] = { method: request.method, ...(request.params === undefined ? {} : { params: withoutProgress(request.params) }) };
    return { jsonrpc: '2.0', id: 0, result: { resultType: 'input_required', inputRequests, requestState: round.seal({ replica: this.#options.replicaId, id: held.id }) } };
  }

  #drop(held: Held, why: string | undefined): void {
    clearTimeout(held.timer);
    this.#calls.delete(held.id);
    const onEnd = held.onEnd;
    held.onEnd = undefined;
    onEnd?.();
    if (why === undefined) return;
    this.#options.logger.info({ held: held.id, why }, 'held call let go');
    for (const request of held.asked.values()) {
      held.upstream.respond({ jsonrpc: '2.0', id: request.id as RequestId, error: { code: -32603, message: `the client did not answer: ${why}` } }).catch(() => undefined);
    }
    held.asked.clear();
  }
}

function sameBinding(a: RequestStateBinding, b: RequestStateBinding): boolean {
  return a.target === b.target && a.method === b.method && a.name === b.name && (a.principal ?? null) === (b.principal ?? null) && (a.argsDigest ?? null) === (b.argsDigest ?? null);
}

/** A retry that cannot reach its held call: tools/call says so in its result, others as an error. */
function failure(method: string, why: string): UpstreamResponse {
  if (method === 'tools/call') return { jsonrpc: '2.0', id: 0, result: { content: [{ type: 'text', text: why }], isError: true } };
  return { jsonrpc: '2.0', id: 0, error: { code: -32603, message: why } };
}

/** The upstream's own progress token means nothing to the client. */
function withoutProgress(params: JSONRPCRequest['params']): unknown {
  const meta = (params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  if (!meta || meta.progressToken === undefined) return params;
  const { progressToken: _t, ...rest } = meta;
  return { ...params, _meta: rest };
}
