// The reducer: (state, event) → state. Pure: no I/O, no clock, no randomness, so replaying the event
// log to any sequence number rebuilds exactly the state the control plane had then.
import type { ConfigEvent } from '../events/event.ts';
import { groupKind, type KubeObject } from '../sources/source.ts';
// What the translator reads of each object is derived as it arrives (translate/derived.ts).
import { deriveOnArrival } from '../translate/derived.ts';
import type { ClusterState } from './state.ts';

// The state's entry point for callers: start from emptyState(), fold events with reduce()/reduceAll().
export { ClusterState, emptyState } from './state.ts';

export type StateChange = Pick<ConfigEvent, 'type' | 'object'>;

/**
 * Applies one event. Returns the same state when nothing changed: a delete of an unknown object, or
 * an upsert of the very version already held (same uid and resourceVersion, as a relist repeats them).
 * managedFields are dropped on the way in (large, and nothing reads them); everything else is kept,
 * generation included, for the status writer. Keeping volatile fields out of snapshots is the
 * translator's job.
 */
export function reduce(state: ClusterState, event: StateChange): ClusterState {
  return reduceAll(state, [event]);
}

/**
 * Folds events in order; the same result as calling reduce() for each, but a batch (a source's
 * initial list of thousands of objects) copies each touched kind once instead of once per event.
 */
export function reduceAll(state: ClusterState, events: Iterable<StateChange>): ClusterState {
  // kind → namespace → name → the object after the events so far (undefined: deleted).
  const edits = new Map<string, Map<string, Map<string, KubeObject | undefined>>>();
  for (const event of events) {
    const { object } = event;
    const kind = groupKind(object.apiVersion, object.kind);
    const namespace = object.metadata.namespace ?? '';
    const { name } = object.metadata;
    let pending = edits.get(kind)?.get(namespace);
    const current = pending?.has(name) ? pending.get(name) : state.get(kind, namespace, name);
    let next: KubeObject | undefined;
    switch (event.type) {
      case 'delete':
        if (!current) continue;
        next = undefined;
        break;
      case 'upsert':
        if (current && sameVersion(current, object)) continue;
        next = stored(object);
        break;
      default: {
        const never: never = event.type;
        throw new Error(`unknown event type ${String(never)}`);
      }
    }
    if (!pending) pending = nested(nested(edits, kind), namespace);
    pending.set(name, next);
  }
  if (edits.size === 0) return state;
  const next = state.withEdits(edits);
  if (next.derived.onArrival) deriveOnArrival(next, edits);
  return next;
}

function nested<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = map.get(key);
  if (!inner) map.set(key, (inner = new Map()));
  return inner;
}

function sameVersion(a: KubeObject, b: KubeObject): boolean {
  const rv = a.metadata.resourceVersion;
  return rv !== undefined && rv === b.metadata.resourceVersion && a.metadata.uid === b.metadata.uid;
}

function stored(object: KubeObject): KubeObject {
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return Object.freeze({ ...object, metadata: Object.freeze(metadata) }) as KubeObject;
}
