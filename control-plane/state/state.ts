// The cluster as the control plane knows it: every object the sources reported, by group-qualified
// kind, then namespace, then name. A value: the reducer builds a new one per change and never edits
// one that was handed out, so a translator run sees one consistent picture.
//
// Stored two levels deep (kind → namespace → name) so that a change copies only its own namespace's
// bucket: every other bucket is shared, object for object, with the state before. A bucket's
// identity therefore says "nothing in this namespace of this kind changed", which is what lets the
// translator reuse what it derived from one (see translate/cluster-index.ts) instead of re-reading
// 10k Services for one event.
import type { KubeObject } from '../sources/source.ts';

/**
 * What is read out of one input, derived once per input: of an object, a Service's MCP ports, an
 * EndpointSlice's endpoints, a backend's spec (control-plane/translate/derived.ts lists them); of a
 * bucket, a namespace's index of MCP Services or its names in order. A function of the input
 * alone (and of other derivations of it), so the result stands for as long as the input does
 * (objects and buckets in a state are values, replaced, never edited).
 */
export interface Derivation<T, K extends object = KubeObject> {
  /** The group-qualified kinds it reads, as groupKind() spells them. */
  readonly kinds: readonly string[];
  derive(input: K, derived: DerivedData): T;
}

/**
 * Derived data of objects, kept by object identity beside the states that hold them: one per
 * lineage of states (emptyState() makes a new one; every state reduced from it shares it). The
 * reducer fills it as objects arrive (reducer.ts), so a translation reads what it needs of 10k
 * Services instead of reading the Services; anything not derived yet is derived on first use, the
 * same way. Weak: an object dropped from every state takes its entries with it.
 */
export class DerivedData {
  readonly #tables = new Map<object, WeakMap<object, unknown>>();
  /** Whether the reducer derives as objects arrive; off for states nothing translates (a first use still derives). */
  readonly onArrival: boolean;

  constructor(options: { onArrival?: boolean } = {}) {
    this.onArrival = options.onArrival ?? true;
  }

  /** `derivation` of `input` (an object or a bucket), derived now if it was not yet. */
  of<T, K extends object>(derivation: Derivation<T, K>, input: K): T {
    let table = this.#tables.get(derivation);
    if (!table) this.#tables.set(derivation, (table = new WeakMap()));
    const kept = table.get(input);
    if (kept !== undefined) return (kept === UNDEFINED ? undefined : kept) as T;
    const value = derivation.derive(input, this);
    table.set(input, value === undefined ? UNDEFINED : value);
    return value;
  }
}

/** A derivation that came out undefined, as its table holds it (one lookup answers both "derived?" and what). */
const UNDEFINED: unique symbol = Symbol('undefined');

/** The objects of one kind in one namespace, by name. Never changed once a state holds it. */
export type NamespaceBucket = ReadonlyMap<string, KubeObject>;
/** The buckets of one kind, by namespace ("" for cluster-scoped objects). */
export type KindBuckets = ReadonlyMap<string, NamespaceBucket>;

// Sorted views, derived on first use and keyed by the (immutable) bucket they were derived from, so
// a state that shares a bucket with an earlier one shares its sorted view too.
const SORTED_BUCKET: Derivation<readonly KubeObject[], NamespaceBucket> = Object.freeze({
  kinds: [],
  derive: (bucket: NamespaceBucket) => [...bucket.keys()].sort(compareStrings).map((name) => bucket.get(name)!),
});
/** Namespaces of a kind in code-unit order: "a" < "a-b" < "b", as list() promises. */
const SORTED_NAMESPACES: Derivation<readonly string[], KindBuckets> = Object.freeze({ kinds: [], derive: (buckets: KindBuckets) => [...buckets.keys()].sort(compareStrings) });
const SORTED_KIND: Derivation<readonly KubeObject[], KindBuckets> = Object.freeze({
  kinds: [],
  derive: (buckets: KindBuckets, derived: DerivedData) =>
    derived.of(SORTED_NAMESPACES, buckets).flatMap((namespace) => derived.of(SORTED_BUCKET, buckets.get(namespace)!)),
});
const NO_BUCKETS: KindBuckets = new Map();

export class ClusterState {
  readonly #kinds: ReadonlyMap<string, KindBuckets>;
  /** What is derived from this state's objects (shared with the states before and after it). */
  readonly derived: DerivedData;

  /** Use `emptyState()` and `reduce()`; this is for the reducer. */
  constructor(kinds: ReadonlyMap<string, KindBuckets>, derived: DerivedData) {
    this.#kinds = kinds;
    this.derived = derived;
  }

  /** `groupKind` as `groupKind()` spells it: "Service", "Gateway.gateway.networking.k8s.io". */
  get(groupKind: string, namespace: string, name: string): KubeObject | undefined {
    return this.#kinds.get(groupKind)?.get(namespace)?.get(name);
  }

  /** Every object of a kind, sorted by namespace then name (so callers inherit a stable order). */
  list(groupKind: string): readonly KubeObject[] {
    return this.derived.of(SORTED_KIND, this.buckets(groupKind));
  }

  /**
   * A kind's objects by namespace. Each bucket is the same Map in every state until an object of
   * that kind in that namespace changes, so it can key caches of what is derived from it.
   */
  buckets(groupKind: string): KindBuckets {
    return this.#kinds.get(groupKind) ?? NO_BUCKETS;
  }

  /** The kinds present, sorted. */
  kinds(): string[] {
    return [...this.#kinds.keys()].sort();
  }

  get size(): number {
    let n = 0;
    for (const buckets of this.#kinds.values()) for (const bucket of buckets.values()) n += bucket.size;
    return n;
  }

  /**
   * A new state with edits applied (kind → namespace → name → object, or undefined to remove); this
   * one is untouched. Each touched (kind, namespace) bucket is copied once, so a batch of n events
   * costs O(n + size of the buckets it touches + namespaces of the kinds it touches), not O(n × size).
   */
  withEdits(edits: Edits): ClusterState {
    const kinds = new Map(this.#kinds);
    for (const [groupKind, namespaces] of edits) {
      const buckets = new Map(this.buckets(groupKind));
      for (const [namespace, changes] of namespaces) {
        const bucket = new Map(buckets.get(namespace));
        for (const [name, object] of changes) {
          if (object) bucket.set(name, object);
          else bucket.delete(name);
        }
        if (bucket.size > 0) buckets.set(namespace, bucket);
        else buckets.delete(namespace);
      }
      if (buckets.size > 0) kinds.set(groupKind, buckets);
      else kinds.delete(groupKind);
    }
    return new ClusterState(kinds, this.derived);
  }
}

/** kind → namespace → name → the new object, or undefined for a delete. */
export type Edits = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, KubeObject | undefined>>>;

const NO_KINDS: ReadonlyMap<string, KindBuckets> = new Map();

/**
 * An empty state, the start of a lineage with derived data of its own (see DerivedData).
 * `deriveOnArrival: false` for a lineage that is never translated (a shared history's view of what
 * this replica's own source shows): it would pay per change for what nobody reads.
 */
export function emptyState(options: { deriveOnArrival?: boolean } = {}): ClusterState {
  return new ClusterState(NO_KINDS, new DerivedData({ onArrival: options.deriveOnArrival }));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
