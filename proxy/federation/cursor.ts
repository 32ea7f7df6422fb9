// Composite pagination cursors. A federated list page asks every target still holding pages for
// its next page; the cursor a client gets back records, per target, the upstream nextCursor it
// must continue from. Targets absent from a cursor are finished. So no upstream nextCursor is
// ever dropped, and the cursor is self-contained (no per-session state, so every replica can serve it).
// Encoding: base64url of JSON `{v: 1, k: <list kind>, p: [[target, upstream cursor], ...], s?: 'public'|'private'}`;
// `s` carries a 2026-07-28 list's cacheScope from its first page to the next ones (the same on every page).
import { McpmuxError } from '../../shared/errors.ts';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates' | 'tasks';

/** Where each target resumes; a target not listed has no more pages. */
export type PendingPages = ReadonlyArray<readonly [target: string, cursor: string]>;

const VERSION = 1;

/** The cursor for the next page, or undefined when every target is done. */
export function encodeCursor(kind: ListKind, pending: PendingPages, scope?: 'public' | 'private'): string | undefined {
  if (pending.length === 0) return undefined;
  return Buffer.from(JSON.stringify(scope === undefined ? { v: VERSION, k: kind, p: pending } : { v: VERSION, k: kind, p: pending, s: scope })).toString('base64url');
}

/** The cacheScope a cursor carries from the list's first page; undefined when it carries none (or is not ours). */
export function cursorScope(cursor: unknown): 'public' | 'private' | undefined {
  if (typeof cursor !== 'string') return undefined;
  try {
    const s = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown } | null)?.s;
    return s === 'public' || s === 'private' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The same cursor, carrying `scope` for the pages after it. */
export function withCursorScope(kind: ListKind, cursor: string, scope: 'public' | 'private'): string {
  return encodeCursor(kind, decodeCursor(kind, cursor), scope) ?? cursor;
}

function badCursor(reason: string): McpmuxError {
  return new McpmuxError('MCPMUX_INVALID_PARAMS', `Invalid cursor: ${reason}`);
}

/** The pending pages a client's cursor stands for; MCPMUX_INVALID_PARAMS when it is not ours. */
export function decodeCursor(kind: ListKind, cursor: string): PendingPages {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not a cursor this server issued');
  }
  if (parsed === null || typeof parsed !== 'object') throw badCursor('not a cursor this server issued');
  const { v, k, p } = parsed as { v?: unknown; k?: unknown; p?: unknown };
  if (v !== VERSION) throw badCursor('not a cursor this server issued');
  if (k !== kind) throw badCursor(`it was issued for ${String(k)}, not ${kind}`);
  if (!Array.isArray(p) || p.length === 0) throw badCursor('it has no pages');
  for (const entry of p) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw badCursor('malformed page entry');
    }
  }
  return p as PendingPages;
}
