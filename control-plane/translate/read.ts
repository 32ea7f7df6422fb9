// Reading untyped Kubernetes objects. Objects come from YAML a person wrote (the files source has no
// schema validation), so every field is checked for its type where it is read; a wrong type reads as
// absent, and callers decide whether absence is an error.

export type Fields = Readonly<Record<string, unknown>>;

export function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function records(value: unknown): Fields[] {
  const found: Fields[] = [];
  for (const item of list(value)) {
    const fields = record(item);
    if (fields) found.push(fields);
  }
  return found;
}

export function string(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A port-like integer (YAML may quote it). */
export function integer(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

export function stringMap(value: unknown): Readonly<Record<string, string>> {
  const fields = record(value);
  if (!fields) return {};
  // Usually every value is a string already: the object itself then (objects read are never
  // changed, state.ts), rather than a copy for each of 10k Services' labels and annotations.
  if (Object.getPrototypeOf(fields) === Object.prototype && allStrings(fields)) return fields as Readonly<Record<string, string>>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Whether every own enumerable value is a string (for-in, not Object.values: no array per call). */
function allStrings(fields: Fields): boolean {
  for (const key in fields) if (Object.hasOwn(fields, key) && typeof fields[key] !== 'string') return false;
  return true;
}

/** Walks a path of record fields: `at(obj, 'spec', 'mcp')`. Up to three, as parameters rather than a rest array: it runs for every object read. */
export function at(value: unknown, a: string, b?: string, c?: string): unknown {
  let current = record(value)?.[a];
  if (b !== undefined) current = record(current)?.[b];
  if (c !== undefined) current = record(current)?.[c];
  return current;
}
