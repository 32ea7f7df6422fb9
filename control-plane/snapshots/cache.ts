import type { Snapshot } from '../../shared/config/types.ts';
import { noteBuilt } from './tracing.ts';

/** One built version of a group, kept for history (admin ListVersions / GetSnapshot by version). */
export interface VersionRecord {
  group: string;
  version: string;
  builtAt: number;
  eventSeq: number;
  snapshot: Snapshot;
}

export type SnapshotListener = (snapshot: Snapshot | undefined) => void;

/**
 * The current snapshot of every proxy group, plus a bounded history per group. The discovery loop
 * only sees `get` and `subscribe`; it never learns where snapshots come from.
 */
export class SnapshotCache {
  readonly #current = new Map<string, Snapshot>();
  readonly #history = new Map<string, VersionRecord[]>();
  readonly #listeners = new Map<string, Set<SnapshotListener>>();
  readonly #anyGroupListeners = new Set<() => void>();
  readonly #historyLimit: number;
  readonly #now: () => number;

  constructor(options: { historyLimit?: number; now?: () => number } = {}) {
    this.#historyLimit = options.historyLimit ?? 100;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Replaces the whole set of groups. Groups whose version changed (or vanished) notify their
   * subscribers; unchanged groups stay silent. Returns the groups that changed.
   */
  setAll(snapshots: readonly Snapshot[], eventSeq: number, builtAt = this.#now()): string[] {
    const changed: string[] = [];
    const incoming = new Map(snapshots.map((s) => [s.group, s]));
    for (const [group, snapshot] of incoming) {
      if (this.#current.get(group)?.version === snapshot.version) continue;
      this.#current.set(group, snapshot);
      this.#record({ group, version: snapshot.version, builtAt, eventSeq, snapshot });
      changed.push(group);
    }
    for (const group of [...this.#current.keys()]) {
      if (incoming.has(group)) continue;
      this.#current.delete(group);
      changed.push(group);
    }
    for (const group of changed) for (const listener of this.#listeners.get(group) ?? []) listener(this.#current.get(group));
    if (changed.length > 0) for (const listener of this.#anyGroupListeners) listener();
    changed.sort();
    noteBuilt(changed, (group) => this.#current.get(group)?.version);
    return changed;
  }

  /**
   * Adds a past version to a group's history without making it current: a restarted control plane
   * replaying its event log (control-plane.ts). Oldest first, like setAll would have recorded them.
   */
  restore(record: VersionRecord): void {
    this.#record(record);
  }

  get(group: string): Snapshot | undefined {
    return this.#current.get(group);
  }

  groups(): string[] {
    return [...this.#current.keys()].sort();
  }

  /** Past versions of a group, newest first. */
  versions(group: string): VersionRecord[] {
    return [...(this.#history.get(group) ?? [])].reverse();
  }

  getVersion(group: string, version: string): Snapshot | undefined {
    return this.#history.get(group)?.find((r) => r.version === version)?.snapshot;
  }

  /** Calls `listener` whenever the group's snapshot changes (not with the current one). */
  subscribe(group: string, listener: SnapshotListener): () => void {
    let set = this.#listeners.get(group);
    if (!set) this.#listeners.set(group, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(group);
    };
  }

  /** Calls `listener` whenever the set of groups or any group's version changes. */
  subscribeAll(listener: () => void): () => void {
    this.#anyGroupListeners.add(listener);
    return () => this.#anyGroupListeners.delete(listener);
  }

  #record(record: VersionRecord): void {
    const list = this.#history.get(record.group) ?? [];
    // The newest version again (a restart rebuilding what it served last): its record stands, with
    // the event that made it.
    if (list.at(-1)?.version === record.version) return;
    // A version seen before (a revert) moves to the front rather than appearing twice.
    const kept = list.filter((r) => r.version !== record.version);
    kept.push(record);
    this.#history.set(record.group, kept.slice(-this.#historyLimit));
  }
}
