// The cluster as the control plane knows it: every object the sources reported, by group-qualified
// kind, then "namespace/name". A value: the reducer builds a new one per change and never edits one
// that was handed out, so a translator run sees one consistent picture.
import type { KubeObject } from '../sources/source.ts';

type Bucket = ReadonlyMap<string, KubeObject>;

/** "namespace/name", or just "name" for cluster-scoped objects. */
export function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class ClusterState {
  readonly #kinds: ReadonlyMap<string, Bucket>;
  /** Sorted views, derived on first use; invisible to callers, since the buckets never change. */
  readonly #sorted = new Map<string, readonly KubeObject[]>();

  /** Use `emptyState()` and `reduce()`; this is for the reducer. */
  constructor(kinds: ReadonlyMap<string, Bucket>) {
    this.#kinds = kinds;
  }

  /** `groupKind` as `groupKind()` spells it: "Service", "Gateway.gateway.networking.k8s.io". */
  get(groupKind: string, namespace: string, name: string): KubeObject | undefined {
    return this.#kinds.get(groupKind)?.get(objectKey(namespace, name));
  }

  /** Every object of a kind, sorted by namespace then name (so callers inherit a stable order). */
  list(groupKind: string): readonly KubeObject[] {
    let sorted = this.#sorted.get(groupKind);
    if (!sorted) {
      const bucket = this.#kinds.get(groupKind);
      sorted = bucket
        ? [...bucket.values()]
            .map((object) => ({ object, ns: object.metadata.namespace ?? '', name: object.metadata.name }))
            .sort(compareIds)
            .map((entry) => entry.object)
        : [];
      this.#sorted.set(groupKind, sorted);
    }
    return sorted;
  }

  /** The kinds present, sorted. */
  kinds(): string[] {
    return [...this.#kinds.keys()].sort();
  }

  get size(): number {
    let n = 0;
    for (const bucket of this.#kinds.values()) n += bucket.size;
    return n;
  }

  /**
   * A new state with edits applied (kind → key → object, or undefined to remove); this one is
   * untouched. Each touched kind is copied once, so a batch of n events costs O(n + size of the
   * kinds it touches), not O(n × size).
   */
  withEdits(edits: ReadonlyMap<string, ReadonlyMap<string, KubeObject | undefined>>): ClusterState {
    const kinds = new Map(this.#kinds);
    for (const [groupKind, changes] of edits) {
      const bucket = new Map(this.#kinds.get(groupKind));
      for (const [key, object] of changes) {
        if (object) bucket.set(key, object);
        else bucket.delete(key);
      }
      if (bucket.size > 0) kinds.set(groupKind, bucket);
      else kinds.delete(groupKind);
    }
    return new ClusterState(kinds);
  }
}

const EMPTY = new ClusterState(new Map());

export function emptyState(): ClusterState {
  return EMPTY;
}

/** Namespace first, then name: "a/x" < "a-b/x" must not depend on where the "/" sorts. */
function compareIds(a: { ns: string; name: string }, b: { ns: string; name: string }): number {
  if (a.ns !== b.ns) return a.ns < b.ns ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
