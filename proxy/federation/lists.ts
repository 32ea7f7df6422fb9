// Merging one page of a federated list: each target's items renamed (tools, prompts) or wrapped
// (resources, templates, tasks) so they route back to it, concatenated in target order, with a
// composite cursor for the targets that have more; tools the backend's filter excludes are left
// out. Prefix mode never merges complete lists instead (see unprefixed.ts).
import { encodeCursor, type ListKind } from './cursor.ts';
import { exposeName } from './names.ts';
import { wrapUri } from './resource-uris.ts';
import { wrapTaskId } from './task-ids.ts';
import type { ToolFilter } from './tool-filter.ts';

/** The list methods and the kind of item each returns (also the key of the items in its result). */
export const LIST_METHODS: Readonly<Record<string, ListKind>> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
  'tasks/list': 'tasks',
};

/** One target's answer to one list request. */
export interface TargetPage {
  target: string;
  /** The upstream result's items: freshly parsed, or a cached list (read only either way). */
  items: readonly unknown[];
  nextCursor: string | undefined;
}

type Item = Record<string, unknown>;

/**
 * The items of one target as the client sees them; items without the expected key are dropped.
 * Each is a shallow copy with its key rewritten: the page's items may be a cached list other
 * sessions are served too (mux/list-cache.ts), so they are never changed.
 */
export function exposeItems(kind: ListKind, prefixed: boolean, page: TargetPage): Item[] {
  const out: Item[] = [];
  for (const raw of page.items) {
    if (raw === null || typeof raw !== 'object') continue;
    const item = raw as Item;
    switch (kind) {
      case 'tools':
      case 'prompts':
        if (typeof item.name !== 'string') continue;
        out.push({ ...item, name: exposeName(prefixed, page.target, item.name) });
        break;
      case 'resources':
        if (typeof item.uri !== 'string') continue;
        out.push({ ...item, uri: wrapUri(prefixed, page.target, item.uri) });
        break;
      case 'resourceTemplates':
        if (typeof item.uriTemplate !== 'string') continue;
        out.push({ ...item, uriTemplate: wrapUri(prefixed, page.target, item.uriTemplate) });
        break;
      case 'tasks':
        if (typeof item.taskId !== 'string') continue;
        out.push({ ...item, taskId: wrapTaskId(page.target, item.taskId) });
        break;
      default: {
        const never: never = kind;
        throw new Error(`unknown list kind ${String(never)}`);
      }
    }
  }
  return out;
}

/** The merged result of one page: `{[kind]: items, nextCursor?}`. */
export function mergePages(kind: ListKind, prefixed: boolean, pages: readonly TargetPage[], filter?: ToolFilter): Record<string, unknown> {
  const items: Item[] = [];
  const pending: Array<readonly [string, string]> = [];
  for (const page of pages) {
    const exposed = exposeItems(kind, prefixed, page);
    items.push(...(kind === 'tools' && filter ? exposed.filter((t) => filter.allows(t.name as string, page.target)) : exposed));
    if (page.nextCursor !== undefined) pending.push([page.target, page.nextCursor]);
  }
  const result: Record<string, unknown> = { [kind]: items };
  const nextCursor = encodeCursor(kind, pending);
  if (nextCursor !== undefined) result.nextCursor = nextCursor;
  return result;
}
