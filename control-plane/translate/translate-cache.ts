// Everything the translator keeps from one run to the next, in one object its owner creates and
// passes in (control-plane.ts keeps one for its life; a test or a one-off translation makes its
// own). The translator holds no state of its own: the same state, options and cache give the same
// result, and a fresh cache gives the same result as a warm one, only slower (translate-cache.test.ts).
//
// Each entry is keyed by the identity of immutable inputs (state objects and buckets are values,
// replaced, never edited: state.ts) and the options it was made with, so an entry is never wrong
// for its key: it is the answer, or never looked up again. The one whose answer also depends on
// other inputs (a resolution: the Services it selected) records them and checks them on each use.
// Weak maps drop their entries with the key; the lists (layouts here, laid-out digests in the
// VersionCache) are bounded.
//
//  - resolutions (resolve-cache.ts): backend object → its resolution, the options it was made
//    with, what it read of the cluster and those parts' tokens. Reused while every read answers
//    the same, checked on each run, so a changed Service re-resolves only the backends that read it.
//  - layouts (layout.ts): the last LAYOUTS_KEPT route layouts, each with its inputs: the options
//    and the buckets of every kind a layout reads. Reused while all of them are the same objects.
//  - backendStatuses (translate.ts): a resolution → its backend's status, so a run after one event
//    reuses a thousand of them. A resolution is of one backend object (resolve-cache.ts).
//  - version (shared/config/version-cache.ts): sealed values and their leaf digests, the last
//    layout of each group's digests, and the JSON writers runs are encoded with.
//
// What is derived from one object or one bucket alone (a Service's MCP ports, a namespace's index
// of Services, a Secret's certificate) lives beside the states instead, in their DerivedData
// (state.ts), because the reducer fills it as objects arrive (derived.ts), before any translation.
// The discovery service's encoder keeps its own entries (discovery/encode.ts, SnapshotEncoder).
import { VersionCache } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import type { Layout } from './layout.ts';
import type { Entry, Resolved } from './resolve-cache.ts';
import type { ObjectStatus } from './status.ts';

/** Route layouts kept: a few, for processes that translate with several option sets (tests). */
export const LAYOUTS_KEPT = 4;

export class TranslateCache {
  readonly resolutions = new WeakMap<KubeObject, Entry>();
  /** Most recently used first. */
  readonly layouts: Array<{ inputs: readonly unknown[]; layout: Layout }> = [];
  readonly backendStatuses = new WeakMap<Resolved, ObjectStatus>();
  readonly version = new VersionCache();
}
