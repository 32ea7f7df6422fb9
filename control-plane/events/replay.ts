// A persisted event log read back at start-up: the state it ends in, the versions it recorded
// (rebuilt, so GetSnapshot of an old version answers what was served then), and the source's first
// batch reduced to what changed while the control plane was down.
import type { Logger } from '../../shared/log.ts';
import { canonicalJson } from '../../shared/config/version.ts';
import type { SnapshotCache } from '../snapshots/cache.ts';
import { objectId, type SourceChange } from '../sources/source.ts';
import { emptyState, reduceAll, type ClusterState } from '../state/reducer.ts';
import { translate, type TranslateOptions } from '../translate/translate.ts';
import type { JsonlEventLog } from './jsonl-log.ts';

/**
 * Replays the log: returns the final state, and restores into the cache the last `keep` builds
 * the log can rebuild. A rebuilt version that differs from the recorded one (the translator or the
 * options changed between runs) is restored under the recorded version's event all the same, and
 * logged: its content is what this build of mcpmux makes of those events.
 */
export function replayLog(log: JsonlEventLog, cache: SnapshotCache, options: TranslateOptions, logger: Logger, keep = 100): { state: ClusterState; restored: number } {
  const events = log.replay();
  const builds = log.builds().filter((b) => b.seq >= log.replayableFrom).slice(-keep);
  let state = emptyState();
  let next = 0;
  let restored = 0;
  for (const build of builds) {
    const until = next;
    while (next < events.length && events[next]!.seq <= build.seq) next++;
    state = reduceAll(state, events.slice(until, next));
    const snapshots = new Map(translate(state, options).snapshots.map((s) => [s.group, s]));
    for (const [group, version] of Object.entries(build.versions)) {
      const snapshot = snapshots.get(group);
      if (!version || !snapshot) continue;
      if (snapshot.version !== version) {
        logger.warn({ group, recorded: version, rebuilt: snapshot.version, seq: build.seq }, 'event log replay: a past version rebuilds differently (translator or options changed); keeping the rebuilt one');
      }
      cache.restore({ group, version: snapshot.version, builtAt: build.time, eventSeq: build.seq, snapshot });
      restored++;
    }
  }
  state = reduceAll(state, events.slice(next));
  return { state, restored };
}

/**
 * A source's first batch (its whole view) against the state a replay ended in: upserts of objects
 * that are new or changed, and deletes of objects the source no longer has. What did not change
 * appends nothing to the log.
 */
export function changesSince(state: ClusterState, initial: readonly SourceChange[]): SourceChange[] {
  const seen = new Set<string>();
  const changes: SourceChange[] = [];
  for (const change of initial) {
    const { object } = change;
    const id = objectId(object);
    seen.add(id);
    if (change.type === 'delete') {
      changes.push(change);
      continue;
    }
    const kind = id.slice(0, id.indexOf('|'));
    const held = state.get(kind, object.metadata.namespace ?? '', object.metadata.name);
    if (held && same(held, object)) continue;
    changes.push(change);
  }
  for (const kind of state.kinds()) {
    for (const object of state.list(kind)) {
      if (!seen.has(objectId(object))) changes.push({ type: 'delete', object });
    }
  }
  return changes;
}

function same(held: ClusterState extends { get(...args: never[]): infer T } ? NonNullable<T> : never, object: SourceChange['object']): boolean {
  const rv = object.metadata.resourceVersion;
  if (rv !== undefined && rv === held.metadata.resourceVersion && object.metadata.uid === held.metadata.uid) return true;
  const { managedFields: _a, ...a } = held.metadata;
  const { managedFields: _b, ...b } = object.metadata;
  return canonicalJson({ ...held, metadata: a }) === canonicalJson({ ...object, metadata: b });
}
