// Prefix mode never: names and URIs go to clients as their targets have them, so which target owns
// one is known only from complete lists. A name (or URI) two targets share cannot be routed: it is
// left out of the list, reported as a collision (the caller warns), and calling it is an error
// naming both targets. Pure: the multiplexer fetches every page, this merges them.
import type { ListKind } from './cursor.ts';
import type { TargetPage } from './lists.ts';
import type { ToolFilter } from './tool-filter.ts';

type Item = Record<string, unknown>;

/** The field that identifies an item of a kind (and routes it). */
export function keyField(kind: ListKind): 'name' | 'uri' | 'uriTemplate' | 'taskId' {
  switch (kind) {
    case 'tools':
    case 'prompts':
      return 'name';
    case 'resources':
      return 'uri';
    case 'resourceTemplates':
      return 'uriTemplate';
    case 'tasks':
      return 'taskId';
    default: {
      const never: never = kind;
      throw new Error(`unknown list kind ${String(never)}`);
    }
  }
}

/** Which targets offer each key, in target order. */
export function ownersOf(kind: ListKind, pages: readonly TargetPage[]): Map<string, string[]> {
  const field = keyField(kind);
  const owners = new Map<string, string[]>();
  for (const page of pages) {
    for (const raw of page.items) {
      const key = raw !== null && typeof raw === 'object' ? (raw as Item)[field] : undefined;
      if (typeof key !== 'string') continue;
      const list = owners.get(key);
      if (!list) owners.set(key, [page.target]);
      else if (!list.includes(page.target)) list.push(page.target);
    }
  }
  return owners;
}

export interface UnprefixedMerge {
  /** `{[kind]: items}`: complete, so no cursor. */
  result: Record<string, unknown>;
  /** Keys more than one target offers: left out. */
  collisions: Array<{ key: string; targets: string[] }>;
  owners: Map<string, string[]>;
}

/** Complete lists of every target merged without prefixes; shared keys and filtered tools left out. */
export function mergeUnprefixed(kind: ListKind, pages: readonly TargetPage[], filter?: ToolFilter): UnprefixedMerge {
  const field = keyField(kind);
  const owners = ownersOf(kind, pages);
  const items: Item[] = [];
  const seen = new Set<string>();
  for (const page of pages) {
    for (const raw of page.items) {
      if (raw === null || typeof raw !== 'object') continue;
      const key = (raw as Item)[field];
      if (typeof key !== 'string' || seen.has(key)) continue;
      seen.add(key);
      if ((owners.get(key)?.length ?? 0) > 1) continue;
      if (kind === 'tools' && filter && !filter.allows(key, page.target)) continue;
      items.push(raw as Item);
    }
  }
  const collisions = [...owners].filter(([, targets]) => targets.length > 1).map(([key, targets]) => ({ key, targets }));
  return { result: { [kind]: items }, collisions, owners };
}

/** A URI template as a matcher: `{var}` one path segment, `{+var}`/`{#var}` anything, other operators anything but `/`. */
export function templateMatcher(template: string): RegExp {
  let source = '';
  let last = 0;
  for (const match of template.matchAll(/\{([^}]*)\}/g)) {
    source += escape(template.slice(last, match.index));
    const op = match[1]?.[0];
    source += op === '+' || op === '#' ? '.*' : '[^/]*';
    last = (match.index ?? 0) + match[0].length;
  }
  source += escape(template.slice(last));
  return new RegExp(`^${source}$`, 's');
}

function escape(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/**
 * The targets a URI may belong to: those listing it as a resource, else those with a template it
 * matches (a read of a template's expansion).
 */
export function uriOwners(uri: string, resources: ReadonlyMap<string, string[]>, templates: ReadonlyMap<string, string[]>): string[] {
  const direct = resources.get(uri) ?? templates.get(uri);
  if (direct) return direct;
  const found: string[] = [];
  for (const [template, targets] of templates) {
    if (!templateMatcher(template).test(uri)) continue;
    for (const t of targets) if (!found.includes(t)) found.push(t);
  }
  return found;
}
