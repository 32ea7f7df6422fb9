// What one downstream session's client hears of list changes. A target's list_changed, or a target
// that re-initialized (and may offer other things now), makes what is known of its lists stale (the
// server's list cache, the session's name index); the client is told only of the kinds it has
// listed (before that, it has nothing to refresh), and in a fleet only by the session's owner.
import type { Logger } from '../../shared/log.ts';
import type { ListKind } from '../federation/cursor.ts';
import type { ClientChannel } from './channel.ts';
import type { ListCache } from './list-cache.ts';
import type { NameIndex } from './name-index.ts';

/** The kinds a client is told about: resource templates change with resources. */
export type ClientListKind = 'tools' | 'prompts' | 'resources';

export const ALL_LIST_KINDS: readonly ClientListKind[] = ['tools', 'prompts', 'resources'];

const LIST_CHANGED_METHODS: Readonly<Record<ClientListKind, string>> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
};

export interface ListChangesOptions {
  channel: ClientChannel;
  logger: Logger;
  names: NameIndex;
  listCache: ListCache | undefined;
  /** The session's backend now (its lists in the cache are keyed by its name); undefined: none. */
  backend(): string | undefined;
  /** Whether the client may be told now: the session is initialized, open, and (in a fleet) this replica owns it. */
  mayTell(): boolean;
}

export class ListChanges {
  readonly #options: ListChangesOptions;
  /** The lists the client has asked for: a target's list_changed is news only for those. */
  readonly #listed = new Set<ClientListKind>();

  constructor(options: ListChangesOptions) {
    this.#options = options;
  }

  /** The client asked for a list of `kind`. */
  listed(kind: ListKind): void {
    if (kind === 'tools' || kind === 'prompts') this.#listed.add(kind);
    else if (kind === 'resources' || kind === 'resourceTemplates') this.#listed.add('resources');
  }

  /** Lists may have been asked for elsewhere (a session restored from another replica): any change is news. */
  listedAll(): void {
    for (const kind of ALL_LIST_KINDS) this.#listed.add(kind);
  }

  /** `target` re-initialized: nothing known of its lists holds (the caller tells the client once the target's state is restored). */
  forgetTarget(target: string): void {
    const backend = this.#options.backend();
    if (backend !== undefined) this.#options.listCache?.invalidate(backend, target, ['tools', 'prompts', 'resources', 'resourceTemplates']);
    this.#options.names.invalidate();
  }

  /** A target's list_changed (`heardHere` false: heard by another session, of a target not open here): news for the client only if it has listed that kind. */
  targetChanged(target: string, kind: ListKind, heardHere = true): void {
    if (kind !== 'tools' && kind !== 'prompts' && kind !== 'resources') return;
    // The upstream's list changed for every session: its cached lists of that kind go, in every scope.
    const backend = this.#options.backend();
    if (backend !== undefined && heardHere) this.#options.listCache?.invalidate(backend, target, kind === 'resources' ? ['resources', 'resourceTemplates'] : [kind]);
    this.#options.names.invalidate(kind);
    if (!this.#listed.has(kind)) {
      this.#options.logger.debug({ target, kind }, 'list_changed before the client listed anything: not relayed');
      return;
    }
    this.tell([kind]);
  }

  /** Tells the client that its lists of `kinds` changed, if it may be told now. */
  tell(kinds: readonly ClientListKind[]): void {
    if (!this.#options.mayTell()) return;
    for (const kind of kinds) this.#options.channel.send({ jsonrpc: '2.0', method: LIST_CHANGED_METHODS[kind] });
  }
}
