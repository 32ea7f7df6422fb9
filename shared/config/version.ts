import { hash } from 'node:crypto';
import { canonicalJson, writeMember } from './canonical-json.ts';
import type { Snapshot, SnapshotContent } from './types.ts';
import { DEBUG_FREEZE, deepFrozen, freezeDeep } from './freeze.ts';
import { LAID_OUT_KEPT, VersionCache } from './version-cache.ts';

export { canonicalJson, deepFrozen, VersionCache };

// The version of a snapshot (DESIGN.md, "Versioning"): a hash of its canonical encoding, in a Merkle
// form, so that one event rehashes what it changed and not the whole snapshot:
//
//   version = the first 16 hex digits of sha256(canonicalJson(M)), where M is the snapshot content
//   (group, listeners, routes, backends, targets, policies, secrets) with each list replaced by a
//   hash, in hex:
//     - listeners, routes, policies, secrets: sha256 of the list's canonical JSON;
//     - backends: sha256 of the concatenated sha256 digests (32 bytes each) of each backend's
//       canonical JSON, in list order;
//     - targets: the same over runs: sha256 of the concatenated digests of each run's canonical
//       JSON (as a list), a run being a maximal sequence of consecutive targets with the same
//       `backend` string (a target without one is a run by itself). In a translated snapshot, a
//       run is one backend's targets.
//
// Deterministic (a function of the content alone: run boundaries come from the targets, never from
// how the translator built them), and any change to the content changes the version (sha256 is
// collision resistant at every level, and every level has a fixed or self-delimiting layout). The
// leaves are what the translator reuses across runs: a backend's digest is computed once per
// sealed Backend object and kept beside it, a run's once per EncodedRun (one per backend's
// targets, see resolve-cache.ts), the routes' once per route layout, so after one event the version
// costs the changed backend's leaves plus hashing 2 × 32 bytes per backend, not the 4 MB canonical
// JSON of a 10k-target snapshot.

// Sealed values: never changed once seal() is given them, so what is derived from them can be kept
// for as long as they live. Production trusts that and freezes only a sealed value's top (what the
// discovery encoder keeps entries by); tests, with MCPMUX_DEBUG_FREEZE=1, deep-freeze it so a write
// anywhere in it throws (freeze.ts). One weak map (VersionCache.sealed, version-cache.ts) answers
// both "sealed?" (has an entry) and "leaf digest?" (the entry, or NOT_YET), and only values seal()
// was called on get an entry, not each object inside them: weak collections are costly to fill,
// and a 10k-target snapshot holds 50k objects. Every function that keeps anything takes the
// VersionCache to keep it in; those that may be called without one make a fresh one (the same
// results, nothing reused).
/** The entry of a sealed value whose digest was not needed yet. */
const NOT_YET = null;

/** Freezes a value (see above) and remembers it as sealed. Returns it. */
export function seal<T>(value: T, cache: VersionCache = new VersionCache()): T {
  if (value !== null && typeof value === 'object' && !isSealed(value, cache)) {
    freezeSealed(value, cache);
    cache.sealed.set(value, NOT_YET);
  }
  return value;
}

/** Freezes a value no digest will be asked of (statuses) as seal() does, without the weak map entry. */
export function freezeShared<T>(value: T): T {
  if (value !== null && typeof value === 'object') freezeSealed(value, undefined);
  return value;
}

/** Its top in production; all of it, but for values sealed already, under MCPMUX_DEBUG_FREEZE. */
function freezeSealed(value: object, cache: VersionCache | undefined): void {
  if (DEBUG_FREEZE) freezeDeep(value, (member) => isSealed(member, cache));
  else Object.freeze(value);
}

function isSealed(value: object, cache: VersionCache | undefined): boolean {
  // A sealed value is frozen, and asking Object.isFrozen costs nothing next to a weak map lookup.
  return cache !== undefined && Object.isFrozen(value) && cache.sealed.has(value);
}

/** The sha256 digest of a leaf (32 bytes). One-shot: no Hash object per leaf. */
function digest(data: string | Uint8Array): Buffer {
  return hash('sha256', data, 'buffer') as Buffer;
}

/** sha256 in hex, of a text or of digests laid end to end. */
function hexHash(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

/**
 * A run of members of a snapshot list, sealed and encoded once. The translator keeps one per
 * backend (its targets: one leaf of the version, hashed once per run) and one per layout (listeners,
 * routes), and builds each snapshot's lists from them (see sealSnapshot). Made only by
 * EncodedRun.encode, so its bytes are the canonical JSON of its members as a list, in UTF-8: bytes
 * rather than a string, written member by member into one buffer, because building 10k targets'
 * JSON as strings made most of the garbage of a translation from scratch (and bytes outside the
 * JavaScript heap cost the garbage collector nothing to keep).
 */
export class EncodedRun<T> {
  readonly items: readonly T[];
  /** `[m1,m2,…]`: the items' canonical JSON as a list, UTF-8. */
  readonly #json: Buffer;
  /** Where each member's JSON ends in #json (it starts one byte after the previous end, or at 1). */
  readonly #ends: readonly number[];
  /** The sha256 digest of #json, once asked for. */
  #digest: Buffer | undefined;
  /** The digest in hex. */
  #hex: string | undefined;
  /** The `backend` all items share (a string), null if they do not (or there are none). */
  #backend: string | null = null;

  private constructor(items: readonly T[], json: Buffer, ends: readonly number[]) {
    this.items = items;
    this.#json = json;
    this.#ends = ends;
  }

  /**
   * Seals the items and encodes them; members also in `earlier` (the same objects) keep their bytes
   * from it, and the same items in the same order give `earlier` itself. `built`: the items are
   * new, made for this run by their builder (the translator's targets, targets.ts), so the list
   * gets no weak map entry of its own.
   */
  static encode<T>(items: readonly T[], earlier?: EncodedRun<T>, built = false, cache: VersionCache = new VersionCache()): EncodedRun<T> {
    if (earlier && sameItems(earlier.items, items)) return earlier;
    // Built: frozen as seal() would (freeze.ts), without a weak map entry: nothing asks whether a
    // run's list is sealed.
    if (built) freezeSealed(items, cache);
    else seal(items, cache);
    const known = earlier && earlier.items.length > 0 ? new Map(earlier.items.map((item, i) => [item, i])) : undefined;
    // A run made from scratch goes into the shared slab (see JsonWriter), one made again after an
    // event into a buffer of its own: slabs full of runs that events replace one by one would
    // each be kept alive by their last run.
    const w = earlier ? cache.scratch() : cache.slab();
    const ends = new Array<number>(items.length);
    let backend = items.length > 0 ? runKey(items[0]) : undefined;
    w.byte(0x5b); // [
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i > 0) w.byte(0x2c); // ,
      const at = known?.get(item);
      if (at === undefined) writeMember(w, item);
      else w.bytes(earlier!.#json.subarray(at === 0 ? 1 : earlier!.#ends[at - 1]! + 1, earlier!.#ends[at]));
      ends[i] = w.pos - w.start;
      if (backend !== undefined && runKey(item) !== backend) backend = undefined;
    }
    w.byte(0x5d); // ]
    const run = new EncodedRun(items, w.take(), ends);
    run.#backend = backend ?? null;
    return run;
  }

  /** The members' canonical JSON joined with "," (the list without its brackets). */
  static text(run: EncodedRun<unknown>): string {
    return run.#json.toString('utf8', 1, run.#json.length - 1);
  }

  /** The run's leaf digest: sha256 of its canonical JSON as a list. Kept and shared: never to be written to. */
  static digest(run: EncodedRun<unknown>): Buffer {
    run.#digest ??= digest(run.#json);
    return run.#digest;
  }

  /** The run's digest in hex: a list's hash in a version when the list is this one run (routes, listeners). */
  static hex(run: EncodedRun<unknown>): string {
    run.#hex ??= EncodedRun.digest(run).toString('hex');
    return run.#hex;
  }

  /** The members' bytes, without the brackets, for a list made of several runs. */
  static inner(run: EncodedRun<unknown>): Buffer {
    return run.#json.subarray(1, run.#json.length - 1);
  }

  /** The `backend` string every item has, or null: whether the run can be one target run of a version. */
  static backend(run: EncodedRun<unknown>): string | null {
    return run.#backend;
  }
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What groups targets into runs: their `backend`, when it is a string (undefined: a run of its own). */
function runKey(target: unknown): string | undefined {
  if (target === null || typeof target !== 'object') return undefined;
  const backend: unknown = (target as { backend?: unknown }).backend;
  return typeof backend === 'string' ? backend : undefined;
}


/**
 * For some lists of a snapshot, optionally: the runs it is made of, in order. Checked, never
 * trusted: a list that is not exactly its runs (the same objects, in order) is encoded member by
 * member, and target runs that are not the version's runs (one backend each, neighbours differing)
 * are hashed from their members: the same version either way.
 */
export type SnapshotRuns = { [K in 'listeners' | 'routes' | 'targets' | 'policies' | 'secrets']?: ReadonlyArray<EncodedRun<SnapshotContent[K][number]>> };

/** The one place a snapshot's version is computed (see the top of this file). */
export function snapshotVersion(content: SnapshotContent, cache: VersionCache = new VersionCache()): string {
  return versionOf(versioned(content), {}, cache);
}

/**
 * Seals content into a versioned, frozen snapshot. `runs` may say which runs a list is made of
 * (see SnapshotRuns).
 */
export function sealSnapshot(content: SnapshotContent, runs: SnapshotRuns = {}, cache: VersionCache = new VersionCache()): Snapshot {
  const fields = versioned(content);
  // The lists made of runs: their members are sealed with their runs.
  const made: Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined> = {};
  for (const key of SORTED_KEYS) {
    const list = fields[key];
    if (!Array.isArray(list) || isSealed(list, cache)) continue;
    const given = (runs as Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined>)[key];
    if (given && madeOf(list, given)) made[key] = given;
    else for (let i = 0; i < list.length; i++) seal(list[i], cache);
    // Its members sealed, the list is sealed without another walk.
    cache.sealed.set(Object.freeze(list), NOT_YET);
  }
  return seal({ ...content, version: versionOf(fields, made, cache) }, cache);
}

/** A snapshot's content with some lists given as the runs they are made of (the translator's). */
export type SnapshotParts = Omit<SnapshotContent, 'listeners' | 'routes' | 'targets'> & {
  [K in 'listeners' | 'routes' | 'targets']: ReadonlyArray<EncodedRun<SnapshotContent[K][number]>>;
};

/**
 * sealSnapshot() for lists given as runs: each list is made here, from its runs, so it is its runs
 * by construction (nothing to check member by member: 10k targets after every event).
 */
export function sealParts(parts: SnapshotParts, cache: VersionCache): Snapshot {
  const { group, backends, policies, secrets } = parts;
  const listeners = concatRuns(parts.listeners);
  const routes = concatRuns(parts.routes);
  const targets = concatRuns(parts.targets);
  const content: SnapshotContent = { group, listeners, routes, backends, targets, policies, secrets };
  for (const list of [listeners, routes, targets]) cache.sealed.set(Object.freeze(list), NOT_YET);
  for (const list of [backends, policies, secrets]) {
    if (isSealed(list, cache)) continue;
    for (let i = 0; i < list.length; i++) seal(list[i], cache);
    cache.sealed.set(Object.freeze(list), NOT_YET);
  }
  const made = { listeners: parts.listeners, routes: parts.routes, targets: parts.targets };
  return seal({ ...content, version: versionOf(versioned(content), made, cache) }, cache);
}

/** The runs' items in one list (flatMap is several times slower for 10k targets). */
function concatRuns<T>(runs: ReadonlyArray<EncodedRun<T>>): T[] {
  return runs.length === 1 ? [...runs[0]!.items] : ([] as T[]).concat(...runs.map((run) => run.items));
}

/** The fields a version covers, in a fresh object so nothing else in `content` can slip in. */
function versioned(content: SnapshotContent): Record<string, unknown> {
  const { group, listeners, routes, backends, targets, policies, secrets } = content;
  return { group, listeners, routes, backends, targets, policies, secrets };
}

/** The fields of SnapshotContent in code-unit order, the order canonical JSON writes them in. */
const SORTED_KEYS: readonly string[] = ['backends', 'group', 'listeners', 'policies', 'routes', 'secrets', 'targets'];

/**
 * The version: canonicalJson(M) (see the top of this file) written out, from the runs and cached
 * leaves where there are some, and hashed. `runs`: lists known to be made of them.
 */
function versionOf(fields: Record<string, unknown>, runs: Readonly<Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined>>, cache: VersionCache): string {
  let text = '{';
  for (const key of SORTED_KEYS) {
    const value = fields[key];
    if (value === undefined) continue; // as canonicalJson() drops it
    text += `${text.length === 1 ? '' : ','}"${key}":`;
    if (!Array.isArray(value)) text += canonicalJson(value);
    else if (key === 'backends') text += `"${hexHash(concatDigests(cache, fields.group, key, value.map((member) => memberDigest(member, cache))))}"`;
    else if (key === 'targets') text += `"${hexHash(concatDigests(cache, fields.group, key, targetRunDigests(value, runs[key], cache)))}"`;
    else text += `"${listHash(value, runs[key], cache)}"`;
  }
  return hexHash(`${text}}`).slice(0, 16);
}

/**
 * Digests laid end to end, in one buffer. The last layout of the same list of the same group is
 * kept: after one event most digests are the same objects at the same places, and copying the
 * last bytes then writing the few that differ costs less than a copy per digest. Kept digests are
 * compared by identity (they never change), so the bytes are the same either way.
 */
function concatDigests(cache: VersionCache, group: unknown, list: string, digests: readonly Buffer[]): Buffer {
  const { laidOut } = cache;
  const key = `${typeof group === 'string' ? group : canonicalJson(group)}\0${list}`;
  const last = laidOut.get(key);
  let bytes: Buffer;
  if (last && last.digests.length === digests.length) {
    bytes = Buffer.from(last.bytes);
    for (let i = 0; i < digests.length; i++) if (digests[i] !== last.digests[i]) bytes.set(digests[i]!, i * 32);
  } else {
    bytes = Buffer.allocUnsafe(digests.length * 32);
    for (let i = 0; i < digests.length; i++) bytes.set(digests[i]!, i * 32);
  }
  laidOut.delete(key); // re-inserted last: the map is in least recently used order
  laidOut.set(key, { digests, bytes });
  if (laidOut.size > LAID_OUT_KEPT) laidOut.delete(laidOut.keys().next().value!);
  return bytes;
}

/** The leaf digest of a list member; cached for a sealed one. */
function memberDigest(value: unknown, cache: VersionCache): Buffer {
  if (value === null || typeof value !== 'object') return digest(canonicalJson(value));
  const cached = cache.sealed.get(value);
  if (cached) return cached; // neither undefined (not sealed) nor NOT_YET
  const w = cache.scratch();
  writeMember(w, value);
  const leaf = digest(w.view());
  if (cached === NOT_YET) cache.sealed.set(value, leaf);
  return leaf;
}

/** The leaf digests of the target list: one per run, from the given runs when they are the version's runs. */
function targetRunDigests(targets: readonly unknown[], runs: ReadonlyArray<EncodedRun<unknown>> | undefined, cache: VersionCache): Buffer[] {
  const digests: Buffer[] = [];
  if (runs && areTargetRuns(runs)) {
    for (const run of runs) if (run.items.length > 0) digests.push(EncodedRun.digest(run));
    return digests;
  }
  for (let start = 0; start < targets.length; ) {
    const key = runKey(targets[start]);
    let end = start + 1;
    if (key !== undefined) while (end < targets.length && runKey(targets[end]) === key) end++;
    digests.push(digest(listBytes(targets, start, end, cache)));
    start = end;
  }
  return digests;
}

/** canonicalJson(list.slice(start, end)) in UTF-8, in the scratch writer (valid until it is used again). */
function listBytes(list: readonly unknown[], start: number, end: number, cache: VersionCache): Buffer {
  const w = cache.scratch();
  w.byte(0x5b);
  for (let i = start; i < end; i++) {
    if (i > start) w.byte(0x2c);
    writeMember(w, list[i]);
  }
  w.byte(0x5d);
  return w.view();
}

/** Whether the non-empty runs are each one backend's, neighbours differing: the runs the version hashes. */
function areTargetRuns(runs: ReadonlyArray<EncodedRun<unknown>>): boolean {
  let previous: string | undefined;
  for (const run of runs) {
    if (run.items.length === 0) continue;
    const backend = EncodedRun.backend(run);
    if (backend === null || backend === previous) return false;
    previous = backend;
  }
  return true;
}

/** sha256 (hex) of canonicalJson(list): its run's cached digest when it is one run, else from its runs' or members' bytes. */
function listHash(list: readonly unknown[], runs: ReadonlyArray<EncodedRun<unknown>> | undefined, cache: VersionCache): string {
  const nonEmpty = runs?.filter((run) => run.items.length > 0);
  if (!nonEmpty) return hexHash(listBytes(list, 0, list.length, cache));
  if (nonEmpty.length === 1) return EncodedRun.hex(nonEmpty[0]!);
  const w = cache.scratch();
  w.byte(0x5b);
  nonEmpty.forEach((run, i) => {
    if (i > 0) w.byte(0x2c);
    w.bytes(EncodedRun.inner(run));
  });
  w.byte(0x5d);
  return hexHash(w.view());
}

/** Whether the list is the runs' items, in order (the same objects). */
function madeOf(list: readonly unknown[], runs: ReadonlyArray<EncodedRun<unknown>>): boolean {
  let i = 0;
  for (const run of runs) {
    for (const item of run.items) if (list[i++] !== item) return false;
  }
  return i === list.length;
}
