// The initialize answers upstreams gave (capabilities, instructions, serverInfo, protocol version),
// kept per target and upstream identity scope, so that a new downstream session can be answered at
// once and its upstream sessions opened on first use (lazy-targets.ts; issue 19 §2). Held by the
// ListCache (one per ProxyServer), which drops a target's answers with its lists on a config push.
//
// The scope is what ListCache keys lists by, less what is only known once a session is open: the
// target's definition (protocol, command, credential hash), the protocol version and client
// capabilities the upstream is told; the endpoint that answered must still be one of the target's.
// An answer is replaced by every later handshake of the same scope (an upstream that changed what
// it declares is believed from its next handshake on).
import type { InitializeRequestParams, InitializeResult } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledTarget } from '../routing/table.ts';

/** One upstream's answer to an initialize, and where it came from. */
export interface InitializeAnswer {
  /** The endpoint that answered (a session opened later may be pinned to another replica of it). */
  readonly endpoint: string;
  readonly result: InitializeResult;
  /** The target's definition it was given under (ListCache's definitionOf). */
  readonly definition: string;
}

/** Scopes one target may hold: clients choose their capabilities, so the bound keeps the cache finite. */
const MAX_ANSWERS_PER_TARGET = 16;

function targetId(target: Pick<CompiledTarget, 'backend' | 'name'>): string {
  return `${target.backend}\u0000${target.name}`;
}

export class InitializeCache {
  /** target id → (protocol version + client capabilities) → answer. */
  readonly #answers = new Map<string, Map<string, InitializeAnswer>>();
  readonly #definition: (target: CompiledTarget) => string;
  readonly #stable: (value: unknown) => string;

  /** `definition`: what of a target decides who its upstream is; `stable`: JSON with sorted keys. */
  constructor(definition: (target: CompiledTarget) => string, stable: (value: unknown) => string) {
    this.#definition = definition;
    this.#stable = stable;
  }

  get size(): number {
    let n = 0;
    for (const byScope of this.#answers.values()) n += byScope.size;
    return n;
  }

  /** The answer a handshake with `params` would get from `target`, if one is known and still applies. */
  get(target: CompiledTarget, params: InitializeRequestParams): InitializeAnswer | undefined {
    if (target.unavailable !== undefined) return undefined;
    const byScope = this.#answers.get(targetId(target));
    const key = this.#key(params);
    const answer = byScope?.get(key);
    if (!byScope || !answer) return undefined;
    if (answer.definition === this.#definition(target) && target.endpoints.some((e) => e.url === answer.endpoint)) return answer;
    byScope.delete(key);
    return undefined;
  }

  /** A handshake completed: its answer is what the next session with the same scope is told. */
  put(target: CompiledTarget, params: InitializeRequestParams, endpoint: string, result: InitializeResult): void {
    const id = targetId(target);
    let byScope = this.#answers.get(id);
    if (!byScope) this.#answers.set(id, (byScope = new Map()));
    const key = this.#key(params);
    byScope.delete(key); // re-inserted last: the newest
    byScope.set(key, { endpoint, result, definition: this.#definition(target) });
    for (const oldest of byScope.keys()) {
      if (byScope.size <= MAX_ANSWERS_PER_TARGET) break;
      byScope.delete(oldest);
    }
  }

  /** Forgets a target's answers (it re-initialized: what it declares may have changed). */
  forget(backend: string, name: string): void {
    this.#answers.delete(targetId({ backend, name }));
  }

  /** After a config push: answers of targets that left, or whose definition changed, go. */
  retain(targets: ReadonlyMap<string, CompiledTarget>): void {
    for (const [id, byScope] of this.#answers) {
      const target = targets.get(id);
      if (!target) {
        this.#answers.delete(id);
        continue;
      }
      const definition = this.#definition(target);
      for (const [key, answer] of byScope) if (answer.definition !== definition || !target.endpoints.some((e) => e.url === answer.endpoint)) byScope.delete(key);
      if (byScope.size === 0) this.#answers.delete(id);
    }
  }

  #key(params: InitializeRequestParams): string {
    return `${params.protocolVersion}\u0000${this.#stable(params.capabilities)}`;
  }
}
