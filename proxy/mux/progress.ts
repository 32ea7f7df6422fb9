// Progress tokens of one downstream session. A client request carrying a progress token reaches
// its target with a token of ours, unique in the session; progress the target reports under it is
// put back under the client's token and sent on the client request's stream. Whatever stream the
// upstream uses (its response stream or its GET stream), the token alone finds the request. A
// route lives exactly as long as the upstream request: progress after the answer is dropped, as
// the spec wants.
import type { ProgressToken, RequestId } from '@modelcontextprotocol/sdk/types.js';

interface Route {
  target: string;
  clientToken: ProgressToken;
  relatedTo: RequestId;
}

export class ProgressRoutes {
  readonly #routes = new Map<number, Route>();
  #next = 1;

  /** The token to send `target` in place of the client's; release() it when the request ends. */
  register(target: string, clientToken: ProgressToken, relatedTo: RequestId): number {
    const token = this.#next++;
    this.#routes.set(token, { target, clientToken, relatedTo });
    return token;
  }

  release(token: number): void {
    this.#routes.delete(token);
  }

  /**
   * A progress notification from `target`, as the client must see it, and the request it belongs
   * to; undefined when it matches no request of this target in flight.
   */
  route(target: string, params: Record<string, unknown> | undefined): { params: Record<string, unknown>; relatedTo: RequestId } | undefined {
    const token = params?.progressToken;
    if (typeof token !== 'number') return undefined;
    const route = this.#routes.get(token);
    if (!route || route.target !== target) return undefined;
    return { params: { ...params, progressToken: route.clientToken }, relatedTo: route.relatedTo };
  }

  get size(): number {
    return this.#routes.size;
  }
}

/**
 * `params` with its `_meta.progressToken` replaced by `token`, or removed when `token` is
 * undefined (a request fanned out to several targets reports no progress: their counts would
 * interleave). Returns `params` itself when there is nothing to change.
 */
export function withProgressToken(params: unknown, token: number | undefined): unknown {
  if (params === null || typeof params !== 'object') return params;
  const meta = (params as { _meta?: unknown })._meta;
  if (meta === null || typeof meta !== 'object') {
    return token === undefined ? params : { ...params, _meta: { progressToken: token } };
  }
  const { progressToken: _client, ...rest } = meta as Record<string, unknown>;
  if (token === undefined && _client === undefined) return params;
  const newMeta = token === undefined ? rest : { ...rest, progressToken: token };
  return { ...params, _meta: newMeta };
}

/** The client's progress token in a request's params, if any. */
export function progressTokenOf(params: unknown): ProgressToken | undefined {
  const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}
