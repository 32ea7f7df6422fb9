// A persisted event log read back at start-up: the state it ends in, the versions it recorded
// (rebuilt, so GetSnapshot of an old version answers what was served then), and the source's initial
// state reduced to what changed while the control plane was down.
import type { Logger } from '../../shared/log.ts';
import { canonicalJson } from '../../shared/config/version.ts';
import { redactObject } from '../snapshots/redact.ts';
import type { SnapshotCache } from '../snapshots/cache.ts';
import { objectId, type KubeObject, type SourceChange } from '../sources/source.ts';
import { emptyState, reduceAll, type ClusterState } from '../state/reducer.ts';
import { translate, TranslateCache, type TranslateOptions } from '../translate/translate.ts';
import type { JsonlEventLog } from './jsonl-log.ts';

/**
 * Replays the log: returns the final state, and restores into the cache the last `keep` builds
 * the log can rebuild. A rebuilt version that differs from the recorded one (the translator or the
 * options changed between runs) is restored under the recorded version's event all the same, and
 * logged: its content is what this build of mcpmux makes of those events. `translateCache`: the
 * caller's, so its first build after the replay reuses what the replay translated.
 */
export function replayLog(log: JsonlEventLog, cache: SnapshotCache, options: TranslateOptions, logger: Logger, translateCache = new TranslateCache(), keep = 100): { state: ClusterState; restored: number } {
  const events = log.replay();
  const builds = log.builds().filter((b) => b.seq >= log.replayableFrom).slice(-keep);
  let state = emptyState();
  let next = 0;
  let restored = 0;
  for (const build of builds) {
    const until = next;
    while (next < events.length && events[next]!.seq <= build.seq) next++;
    state = reduceAll(state, events.slice(until, next));
    const snapshots = new Map(translate(state, options, translateCache).snapshots.map((s) => [s.group, s]));
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
 * One batch of a source's initial state against the state a replay ended in (and the batches before
 * it): `changes` are its deletes and its upserts of objects that are new or changed, what the log
 * appends (nothing for what did not change). The initial state may come in several batches (the
 * kubernetes source reads referenced Secrets after the objects naming them); once it is all in,
 * `missingFrom` gives the deletes of what it did not show.
 *
 * `refreshed`: Secrets the log holds at this very version, whose values it never kept (jsonl-log.ts
 * writes them redacted). They go into the state as read, without an event: nothing changed.
 */
export function changedIn(state: ClusterState, batch: readonly SourceChange[]): { changes: SourceChange[]; refreshed: SourceChange['object'][] } {
  const changes: SourceChange[] = [];
  const refreshed: SourceChange['object'][] = [];
  for (const change of batch) {
    const { object } = change;
    if (change.type === 'delete') {
      changes.push(change);
      continue;
    }
    const id = objectId(object);
    const kind = id.slice(0, id.indexOf('|'));
    const held = state.get(kind, object.metadata.namespace ?? '', object.metadata.name);
    if (kind === 'Secret' && held && (sameObject(held, object) || sameObject(held, redactObject(object) as SourceChange['object']))) {
      refreshed.push(object);
      continue;
    }
    if (held && sameObject(held, object)) continue;
    changes.push(change);
  }
  return { changes, refreshed };
}

/** Deletes of the objects of `state` that a source's initial state (`seen`, by objectId) did not show. */
export function missingFrom(state: ClusterState, seen: ReadonlySet<string>): SourceChange[] {
  const changes: SourceChange[] = [];
  for (const kind of state.kinds()) {
    for (const object of state.list(kind)) {
      if (!seen.has(objectId(object))) changes.push({ type: 'delete', object });
    }
  }
  return changes;
}

/** Whether two sightings of an object are the same: the same uid and resourceVersion, else the same content (managedFields aside). */
export function sameObject(held: KubeObject, object: KubeObject): boolean {
  const rv = object.metadata.resourceVersion;
  if (rv !== undefined && rv === held.metadata.resourceVersion && object.metadata.uid === held.metadata.uid) return true;
  const { managedFields: _a, ...a } = held.metadata;
  const { managedFields: _b, ...b } = object.metadata;
  return canonicalJson({ ...held, metadata: a }) === canonicalJson({ ...object, metadata: b });
}
