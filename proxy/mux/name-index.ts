// Which target owns a name or URI when a backend's names carry no prefix (prefix mode never, more
// than one target): learnt from complete lists, per session, and kept until the backend's
// fingerprint changes or a target says a list changed. A name not found is looked up once more
// against fresh lists before it is called unknown (a target may add tools without telling).
import type { ListKind } from '../federation/cursor.ts';
import { uriOwners } from '../federation/unprefixed.ts';
import type { RequestContext } from './context.ts';

interface Cached {
  fingerprint: string;
  owners: Map<string, string[]>;
}

/** Fetches the complete lists of a kind and returns who owns what (lists.ts: completeOwners). */
export type OwnersFetcher = (ctx: RequestContext, kind: ListKind) => Promise<Map<string, string[]>>;

export class NameIndex {
  readonly #cache = new Map<ListKind, Cached>();
  readonly #fetch: OwnersFetcher;

  constructor(fetch: OwnersFetcher) {
    this.#fetch = fetch;
  }

  /** What a complete list just showed (a tools/list in never mode records it for the calls that follow). */
  record(fingerprint: string, kind: ListKind, owners: Map<string, string[]>): void {
    this.#cache.set(kind, { fingerprint, owners });
  }

  /** Forgets a kind (a target said it changed), or everything. */
  invalidate(kind?: ListKind): void {
    if (kind === undefined) this.#cache.clear();
    else this.#cache.delete(kind);
    if (kind === 'resources') this.#cache.delete('resourceTemplates');
  }

  /** The targets offering a tool or prompt name. */
  async owners(ctx: RequestContext, kind: 'tools' | 'prompts', key: string): Promise<string[]> {
    const cached = await this.#owners(ctx, kind, false);
    const found = cached.get(key);
    if (found) return found;
    return (await this.#owners(ctx, kind, true)).get(key) ?? [];
  }

  /** The targets a resource URI (or template) may belong to. */
  async uriOwners(ctx: RequestContext, uri: string): Promise<string[]> {
    const lookup = async (fresh: boolean): Promise<string[]> => {
      const [resources, templates] = await Promise.all([this.#owners(ctx, 'resources', fresh), this.#owners(ctx, 'resourceTemplates', fresh)]);
      return uriOwners(uri, resources, templates);
    };
    const found = await lookup(false);
    return found.length > 0 ? found : lookup(true);
  }

  async #owners(ctx: RequestContext, kind: ListKind, fresh: boolean): Promise<Map<string, string[]>> {
    const cached = this.#cache.get(kind);
    if (!fresh && cached && cached.fingerprint === ctx.backend.fingerprint) return cached.owners;
    const owners = await this.#fetch(ctx, kind);
    this.record(ctx.backend.fingerprint, kind, owners);
    return owners;
  }
}
