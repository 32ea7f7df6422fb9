// Page sizes and page tokens of the admin List* calls. A token is base64url of a small JSON naming
// the call it belongs to and the last key it covered (never an offset: items added between two
// calls would shift an offset and make a page repeat or skip one). Tokens are opaque to clients but
// checked here, so a token from another call, another filter or a mangled copy is refused with what
// to do rather than read as some other position. Pure.

/** A page_size or page_token a client got wrong: the admin server answers INVALID_ARGUMENT. */
export class PageRequestError extends Error {
  override readonly name = 'PageRequestError';
}

export interface PageLimits {
  /** Used for page_size 0. */
  readonly default: number;
  /** A larger page_size is cut to this. */
  readonly max: number;
}

/** Said in admin.proto's comments too; keep both in step. */
export const PROXY_PAGE: PageLimits = { default: 500, max: 5000 };
export const VERSION_PAGE: PageLimits = { default: 100, max: 1000 };
export const EVENT_PAGE: PageLimits = { default: 1000, max: 10_000 };

export function pageSize(requested: number, limits: PageLimits): number {
  if (!requested || requested < 0) return limits.default;
  return Math.min(Math.floor(requested), limits.max);
}

/** Where the next page of each call starts. `q` is the request's own filter the token was made for. */
export type PageToken =
  | { k: 'proxies'; after: string }
  | { k: 'versions'; q: string; group: string; version: string; seq: number }
  | { k: 'events'; next: number };

export type PageCall = PageToken['k'];

const CALL_NAMES: Record<PageCall, string> = { proxies: 'ListProxies', versions: 'ListVersions', events: 'ListEvents' };

export function encodePageToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

/** The token of `call`, or undefined for an empty one (the first page). Throws PageRequestError. */
export function decodePageToken<K extends PageCall>(call: K, text: string): Extract<PageToken, { k: K }> | undefined {
  if (!text) return undefined;
  const refuse = (why: string): PageRequestError =>
    new PageRequestError(
      `page_token ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} ${why}: send the next_page_token of the previous ${CALL_NAMES[call]} answer unchanged, or no page_token for the first page`,
    );
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw refuse('is not a page token (not base64url)');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw refuse('is not a page token (it does not decode)');
  }
  if (typeof value !== 'object' || value === null || !('k' in value)) throw refuse('is not a page token');
  const kind = (value as { k: unknown }).k;
  if (kind !== call) {
    const other = typeof kind === 'string' && kind in CALL_NAMES ? CALL_NAMES[kind as PageCall] : undefined;
    throw refuse(other ? `belongs to ${other}, not ${CALL_NAMES[call]}` : 'is not a page token');
  }
  const v = value as Record<string, unknown>;
  const ok =
    call === 'proxies'
      ? typeof v.after === 'string'
      : call === 'versions'
        ? typeof v.q === 'string' && typeof v.group === 'string' && typeof v.version === 'string' && isSeq(v.seq)
        : isSeq(v.next) && (v.next as number) > 0;
  if (!ok) throw refuse('is damaged (a field is missing or of the wrong type)');
  return value as Extract<PageToken, { k: K }>;
}

function isSeq(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * One page of `sorted` (ascending by `key`, keys unique) after the key `after` ('' for the first
 * page): found by key, so items added or removed before it between calls move nothing.
 */
export function pageAfter<T>(sorted: readonly T[], key: (item: T) => string, after: string, size: number): { items: T[]; more: boolean } {
  let lo = 0;
  let hi = sorted.length;
  if (after) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(sorted[mid]!) <= after) lo = mid + 1;
      else hi = mid;
    }
  }
  const items = sorted.slice(lo, lo + size);
  return { items, more: lo + size < sorted.length };
}
