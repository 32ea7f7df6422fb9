// Ordering for translator output. Code-unit comparison, never localeCompare: the order must not
// depend on the machine's locale, or the same input would hash to different versions.

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Key = readonly (string | number)[];

/** Sorts a copy by the keys `key` returns, compared left to right; each item's key is computed once. Stable. */
export function sortBy<T>(items: Iterable<T>, key: (item: T) => Key): T[] {
  const copy = [...items];
  if (copy.length < 2) return copy; // the common case for a Service's slices and endpoints
  const decorated = copy.map((item) => ({ item, key: key(item) }));
  const compare = (x: { key: Key }, y: { key: Key }): number => compareKeys(x.key, y.key);
  // Array.prototype.sort allocates far more than a few items need, and a 10k-Service translation
  // sorts tens of thousands of two-item lists (a Service's endpoints).
  if (decorated.length <= SMALL) insertionSort(decorated, compare);
  else decorated.sort(compare);
  return decorated.map((d) => d.item);
}

export function uniqueSorted(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compareStrings);
}

const SMALL = 8;

function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const p = a[i] ?? '';
    const q = b[i] ?? '';
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    return compareStrings(String(p), String(q));
  }
  return 0;
}

/** In place; stable, like Array.prototype.sort. */
function insertionSort<T>(items: T[], compare: (a: T, b: T) => number): void {
  for (let i = 1; i < items.length; i++) {
    const item = items[i]!;
    let j = i - 1;
    while (j >= 0 && compare(items[j]!, item) > 0) {
      items[j + 1] = items[j]!;
      j--;
    }
    items[j + 1] = item;
  }
}
