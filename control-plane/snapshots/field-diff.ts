// Which fields of one snapshot resource changed (admin DiffVersions' ResourceChange.fields), so a
// reader sees "endpoints[10.0.0.7:3001].ready: true → false" rather than two whole objects. Pure.
//
// Paths are dotted (`timeouts.requestMs`); a key that is not a plain identifier is quoted
// (`data["tls.crt"]`). Lists of objects are matched by identity, not position, so one endpoint
// added at the front is one change, not one per endpoint after it: by `name`, `principal` or
// `issuer`, or `address:port` for endpoints, when every element has a distinct one; by index
// otherwise (`args[2]`). Lists of plain values are compared as sets (`hostnames[]` with the values
// added and removed); one whose values only moved is one change of the whole list.
import { canonicalJson } from '../../shared/config/version.ts';

export interface FieldChange {
  path: string;
  /** JSON text of the value before; '' when the field was added. */
  before: string;
  /** JSON text of the value after; '' when the field was removed. */
  after: string;
}

/**
 * Field changes from `before` to `after` (either undefined for an added or removed resource: then
 * its top-level fields that hold something, as added or removed; empty defaults say nothing).
 */
export function fieldChanges(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): FieldChange[] {
  const changes: FieldChange[] = [];
  if (before && after) {
    diffValue('', before, after, changes);
    return changes;
  }
  const only = before ?? after ?? {};
  for (const key of Object.keys(only).sort()) {
    const value = only[key];
    if (isEmpty(value)) continue;
    changes.push(before ? { path: pathOf('', key), before: json(value), after: '' } : { path: pathOf('', key), before: '', after: json(value) });
  }
  return changes;
}

function diffValue(path: string, a: unknown, b: unknown, out: FieldChange[]): void {
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const inA = a[key] !== undefined;
      const inB = b[key] !== undefined;
      const at = pathOf(path, key);
      if (inA && inB) diffValue(at, a[key], b[key], out);
      else if (inA) out.push({ path: at, before: json(a[key]), after: '' });
      else if (inB) out.push({ path: at, before: '', after: json(b[key]) });
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    diffList(path, a, b, out);
    return;
  }
  if (canonicalJson(a) !== canonicalJson(b)) out.push({ path, before: json(a), after: json(b) });
}

function diffList(path: string, a: readonly unknown[], b: readonly unknown[], out: FieldChange[]): void {
  if (canonicalJson(a) === canonicalJson(b)) return;
  if (a.every(isScalar) && b.every(isScalar)) {
    const removed = multisetMinus(a, b);
    const added = multisetMinus(b, a);
    // Same values, another order: the order is the change.
    if (removed.length === 0 && added.length === 0) out.push({ path, before: json(a), after: json(b) });
    for (const value of removed) out.push({ path: `${path}[]`, before: json(value), after: '' });
    for (const value of added) out.push({ path: `${path}[]`, before: '', after: json(value) });
    return;
  }
  const identity = identityOf(a, b);
  if (identity) {
    const old = new Map(a.map((item) => [identity(item), item]));
    const now = new Map(b.map((item) => [identity(item), item]));
    // Kept ones in their new order, then the removed ones in their old order.
    for (const id of [...now.keys(), ...[...old.keys()].filter((id) => !now.has(id))]) {
      const at = `${path}[${id}]`;
      const x = old.get(id);
      const y = now.get(id);
      if (x !== undefined && y !== undefined) diffValue(at, x, y, out);
      else if (x !== undefined) out.push({ path: at, before: json(x), after: '' });
      else out.push({ path: at, before: '', after: json(y) });
    }
    return;
  }
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const at = `${path}[${i}]`;
    if (i >= b.length) out.push({ path: at, before: json(a[i]), after: '' });
    else if (i >= a.length) out.push({ path: at, before: '', after: json(b[i]) });
    else diffValue(at, a[i], b[i], out);
  }
}

type Identity = (item: unknown) => string;

/** How elements of both lists are told apart, when every one has a distinct identity. */
function identityOf(a: readonly unknown[], b: readonly unknown[]): Identity | undefined {
  const candidates: Identity[] = [
    ...['name', 'principal', 'issuer'].map((field): Identity => (item) => (isObject(item) && typeof item[field] === 'string' ? item[field] : '')),
    (item) => (isObject(item) && typeof item.address === 'string' && typeof item.port === 'number' ? `${item.address}:${item.port}` : ''),
  ];
  for (const identity of candidates) {
    if ([a, b].every((list) => distinct(list.map(identity)))) return identity;
  }
  return undefined;
}

function distinct(ids: readonly string[]): boolean {
  return ids.every((id) => id !== '') && new Set(ids).size === ids.length;
}

function multisetMinus(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const counts = new Map<string, number>();
  for (const value of b) counts.set(json(value), (counts.get(json(value)) ?? 0) + 1);
  const left: unknown[] = [];
  for (const value of a) {
    const n = counts.get(json(value)) ?? 0;
    if (n > 0) counts.set(json(value), n - 1);
    else left.push(value);
  }
  return left;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function pathOf(parent: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent ? `${parent}.${key}` : key;
}

function json(value: unknown): string {
  return canonicalJson(value ?? null);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}
