// Ordering for translator output. Code-unit comparison, never localeCompare: the order must not
// depend on the machine's locale, or the same input would hash to different versions.

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts a copy by the keys `key` returns, compared left to right; each item's key is computed once. */
export function sortBy<T>(items: Iterable<T>, key: (item: T) => readonly (string | number)[]): T[] {
  const decorated = [...items].map((item) => ({ item, key: key(item) }));
  decorated.sort((x, y) => {
    const a = x.key;
    const b = y.key;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const p = a[i] ?? '';
      const q = b[i] ?? '';
      if (p === q) continue;
      if (typeof p === 'number' && typeof q === 'number') return p - q;
      return compareStrings(String(p), String(q));
    }
    return 0;
  });
  return decorated.map((d) => d.item);
}

export function uniqueSorted(items: Iterable<string>): string[] {
  return [...new Set(items)].sort(compareStrings);
}
