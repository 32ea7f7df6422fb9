// The cache hints of a federated 2026-07-28 result: the shortest `ttlMs` of its contributors (a
// 2025 upstream's results carry none: 0), capped by how long the gateway's own view may stay
// unchanged, and `private` when any contributor says so or the view is per principal (the route
// authenticates or authorizes). Pure bookkeeping, fed by each upstream result that contributes.
const HORIZON_MS = 60_000;

export class CacheHints {
  readonly #perPrincipal: boolean;
  #ttlMs: number | undefined;
  #private = false;
  /** The scope a later page inherits from its list's first page (see cursorScope). */
  #inherited: 'public' | 'private' | undefined;

  /** `perPrincipal`: what the client sees depends on who it is (authentication or authorization on the route). */
  constructor(perPrincipal: boolean) {
    this.#perPrincipal = perPrincipal;
  }

  /** One contributing upstream result (its ttlMs and cacheScope, when it has them). */
  add(result: Readonly<Record<string, unknown>>): void {
    const ttl = typeof result.ttlMs === 'number' && Number.isFinite(result.ttlMs) && result.ttlMs > 0 ? Math.floor(result.ttlMs) : 0;
    this.#ttlMs = this.#ttlMs === undefined ? ttl : Math.min(this.#ttlMs, ttl);
    if (result.cacheScope === 'private') this.#private = true;
  }

  get ttlMs(): number {
    return Math.min(this.#ttlMs ?? 0, HORIZON_MS);
  }

  /** A later page of a list: its scope is the first page's, whatever its contributors say. */
  inherit(scope: 'public' | 'private' | undefined): void {
    this.#inherited = scope;
  }

  get scope(): 'public' | 'private' {
    if (this.#inherited !== undefined) return this.#inherited;
    return this.#perPrincipal || this.#private ? 'private' : 'public';
  }
}
