import { createHash } from 'node:crypto';
import type { Snapshot, SnapshotContent } from './types.ts';

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined members dropped. Arrays keep their
 * order, so whoever builds a snapshot sorts its lists (the translator does).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The one place a snapshot's version is computed: a hash of its canonical encoding. */
export function snapshotVersion(content: SnapshotContent): string {
  const { group, listeners, routes, backends, targets, policies, secrets } = content;
  const canonical = canonicalJson({ group, listeners, routes, backends, targets, policies, secrets });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Seals content into a versioned, frozen snapshot. */
export function sealSnapshot(content: SnapshotContent): Snapshot {
  return deepFreeze({ ...content, version: snapshotVersion(content) });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
