// Merging one page of a federated list as JSON text: each target's items as the client sees them
// (exposeItems), serialised once per item and joined, so a list served from cache costs a join
// instead of copying and serialising every item of every target again (issue 19 §2). The text is
// byte for byte JSON.stringify(mergePages(...)) (encoded-lists.test.ts holds it to that).
import { preEncodedResult } from '../../shared/pre-encoded-json.ts';
import { encodeCursor, type ListKind } from './cursor.ts';
import { exposeItems, type TargetPage } from './lists.ts';
import type { ToolFilter } from './tool-filter.ts';

/** One item as the client sees it, serialised; `name` is its exposed name (tools and prompts), for the filters. */
export interface EncodedItem {
  readonly name: string | undefined;
  readonly text: string;
}

/** A target's items as exposed (prefixed or not) and serialised. */
export function encodeItems(kind: ListKind, prefixed: boolean, page: TargetPage): EncodedItem[] {
  return exposeItems(kind, prefixed, page).map((item) => ({ name: typeof item.name === 'string' ? item.name : undefined, text: JSON.stringify(item) }));
}

/**
 * mergePages() as a pre-encoded result. A page's `encoded` items are used as they are (they must
 * have been encoded with the same `prefixed`); the others are encoded here.
 */
export function mergeEncoded(kind: ListKind, prefixed: boolean, pages: ReadonlyArray<TargetPage & { encoded?: readonly EncodedItem[] | undefined }>, filter?: ToolFilter): Record<string, unknown> {
  const parts: string[] = [];
  const pending: Array<readonly [string, string]> = [];
  for (const page of pages) {
    const items = page.encoded ?? encodeItems(kind, prefixed, page);
    const filtered = kind === 'tools' && filter !== undefined;
    for (const item of items) {
      if (filtered && !filter.allows(item.name as string, page.target)) continue;
      parts.push(item.text);
    }
    if (page.nextCursor !== undefined) pending.push([page.target, page.nextCursor]);
  }
  const nextCursor = encodeCursor(kind, pending);
  const tail = nextCursor === undefined ? '' : `,"nextCursor":${JSON.stringify(nextCursor)}`;
  return preEncodedResult(`{${JSON.stringify(kind)}:[${parts.join(',')}]${tail}}`, nextCursor === undefined ? [kind] : [kind, 'nextCursor']);
}
