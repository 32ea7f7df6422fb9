// What changed between two snapshots of a group, resource by resource (admin DiffVersions). Pure.
import type { Snapshot } from '../../shared/config/types.ts';
import { canonicalJson } from '../../shared/config/version.ts';

export type ResourceKind = 'listener' | 'route' | 'backend' | 'target' | 'policy' | 'secret';

export interface ResourceDiff {
  kind: ResourceKind;
  name: string;
  change: 'added' | 'removed' | 'changed';
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** Changes from `a` to `b`, by kind (in snapshot order) then name. */
export function diffSnapshots(a: Snapshot, b: Snapshot): ResourceDiff[] {
  const targetKey = (t: Snapshot['targets'][number]): string => `${t.backend}/${t.name}`;
  return [
    ...diffList('listener', a.listeners, b.listeners, (l) => l.name),
    ...diffList('route', a.routes, b.routes, (r) => r.name),
    ...diffList('backend', a.backends, b.backends, (x) => x.name),
    ...diffList('target', a.targets, b.targets, targetKey),
    ...diffList('policy', a.policies, b.policies, (p) => p.name),
    ...diffList('secret', a.secrets, b.secrets, (s) => s.name),
  ];
}

function diffList<T extends object>(kind: ResourceKind, before: readonly T[], after: readonly T[], key: (item: T) => string): ResourceDiff[] {
  const old = new Map(before.map((item) => [key(item), item]));
  const now = new Map(after.map((item) => [key(item), item]));
  const names = [...new Set([...old.keys(), ...now.keys()])].sort();
  const changes: ResourceDiff[] = [];
  for (const name of names) {
    const a = old.get(name);
    const b = now.get(name);
    if (a && b) {
      if (canonicalJson(a) !== canonicalJson(b)) changes.push({ kind, name, change: 'changed', before: a as Record<string, unknown>, after: b as Record<string, unknown> });
    } else if (b) {
      changes.push({ kind, name, change: 'added', after: b as Record<string, unknown> });
    } else if (a) {
      changes.push({ kind, name, change: 'removed', before: a as Record<string, unknown> });
    }
  }
  return changes;
}
