import { createHash, type Hash } from 'node:crypto';
import type { Snapshot, SnapshotContent } from './types.ts';

// Sealed values: deep-frozen by seal(), so what is derived from them (their canonical JSON) can be
// kept for as long as they live. The translator seals the parts it reuses across runs (backends,
// routes, runs of targets: EncodedRun), so a run after one event hashes a 10k-target snapshot from
// mostly cached pieces. One weak map answers both "sealed?" (has an entry) and "canonical JSON?"
// (the entry, or NOT_YET), and only values seal() was called on get an entry, not each object
// inside them: weak collections are costly to fill, and a 10k-target snapshot holds 50k objects.
const sealedJson = new WeakMap<object, string>();
/** The entry of a sealed value whose canonical JSON was not needed yet (no JSON text is empty). */
const NOT_YET = '';

/** Deep-freezes a value and remembers it as sealed (see above). Returns it. */
export function seal<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !isSealed(value)) {
    freezeTree(value);
    sealedJson.set(value, NOT_YET);
  }
  return value;
}

function isSealed(value: object): boolean {
  // A sealed value is frozen, and asking Object.isFrozen costs nothing next to a weak map lookup.
  return Object.isFrozen(value) && sealedJson.has(value);
}

/**
 * Freezes a value and everything it holds, except values already sealed. An object that is merely
 * frozen is still descended into: someone may have frozen only its top.
 */
function freezeTree(value: object): void {
  Object.freeze(value);
  // Indexes and for-in rather than Object.values: no array per object, for the 50k objects of a
  // large snapshot.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeMember(value[i]);
  } else {
    for (const key in value) freezeMember((value as Record<string, unknown>)[key]);
  }
}

function freezeMember(member: unknown): void {
  if (member !== null && typeof member === 'object' && !isSealed(member)) freezeTree(member);
}

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined members dropped. Arrays keep their
 * order, so whoever builds a snapshot sorts its lists (the translator does).
 */
export function canonicalJson(value: unknown): string {
  // The native serializer writes keys in property order, so a copy with its keys inserted in sorted
  // order serializes canonically, several times faster than assembling the text in JavaScript.
  // Integer-like keys defeat that (engines put them first, in numeric order) and so does
  // "__proto__" (it cannot be assigned as data): such values take the direct path.
  const copy = sortedCopy(value);
  return copy === UNSORTABLE ? directCanonicalJson(value) : (JSON.stringify(copy) ?? 'null');
}

/**
 * A run of members of a snapshot list, sealed and encoded once. The translator keeps one per
 * backend (its targets) and builds each snapshot's target list from them (see sealSnapshot), so a
 * snapshot after one event is encoded from a thousand cached runs rather than ten thousand cached
 * targets, and a snapshot built from scratch needs no cache entry per target. Made only by
 * EncodedRun.encode, so its text is the canonical JSON of its members.
 */
export class EncodedRun<T> {
  readonly items: readonly T[];
  /** Each member's canonical JSON. */
  readonly #members: readonly string[];
  /** The members' canonical JSON joined with ",". */
  readonly #text: string;

  private constructor(items: readonly T[], members: readonly string[]) {
    this.items = items;
    this.#members = members;
    this.#text = members.join(',');
  }

  /**
   * Seals the items and encodes them; members also in `earlier` (the same objects) keep their text
   * from it, and the same items in the same order give `earlier` itself.
   */
  static encode<T>(items: readonly T[], earlier?: EncodedRun<T>): EncodedRun<T> {
    if (earlier && earlier.items.length === items.length && earlier.items.every((item, i) => item === items[i])) return earlier;
    seal(items);
    const known = earlier ? new Map(earlier.items.map((item, i) => [item, earlier.#members[i]!])) : undefined;
    return new EncodedRun(items, items.map((item) => known?.get(item) ?? targetJson(item) ?? canonicalJson(item)));
  }

  /** The run's text, for sealSnapshot. */
  static text(run: EncodedRun<unknown>): string {
    return run.#text;
  }
}

/** A Target's fields as the translator writes them (proto order), its Timeouts' and its Endpoints'. */
const TARGET_FIELDS: readonly string[] = ['backend', 'name', 'endpoints', 'path', 'protocol', 'scheme', 'timeouts', 'authSecret', 'source', 'stdio'];
const TIMEOUTS_FIELDS: readonly string[] = ['requestMs', 'initializeMs'];
const ENDPOINT_FIELDS: readonly string[] = ['address', 'port', 'ready'];

/**
 * canonicalJson() of a Target exactly as the translator builds it, written out directly: two to
 * three times faster than the generic path, for the 10k targets of a snapshot built from scratch.
 * Undefined for anything else (other keys or key order, a stdio command, a value of another type),
 * which the generic path then encodes; version.test.ts holds the two to the same text.
 */
function targetJson(value: unknown): string | undefined {
  if (!hasFields(value, TARGET_FIELDS)) return undefined;
  const { backend, name, endpoints, path, protocol, scheme, timeouts, authSecret, source, stdio } = value;
  const strings = typeof backend === 'string' && typeof name === 'string' && typeof path === 'string' && typeof protocol === 'string' &&
    typeof scheme === 'string' && typeof authSecret === 'string' && typeof source === 'string';
  if (!strings || stdio !== null || !Array.isArray(endpoints)) return undefined;
  if (!hasFields(timeouts, TIMEOUTS_FIELDS) || !isFinite(timeouts.requestMs) || !isFinite(timeouts.initializeMs)) return undefined;
  let list = '';
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint: unknown = endpoints[i];
    if (!hasFields(endpoint, ENDPOINT_FIELDS)) return undefined;
    const { address, port, ready } = endpoint;
    if (typeof address !== 'string' || !isFinite(port) || typeof ready !== 'boolean') return undefined;
    list += `${i === 0 ? '' : ','}{"address":${JSON.stringify(address)},"port":${port},"ready":${ready}}`;
  }
  const q = JSON.stringify;
  return (
    `{"authSecret":${q(authSecret)},"backend":${q(backend)},"endpoints":[${list}],"name":${q(name)},"path":${q(path)},` +
    `"protocol":${q(protocol)},"scheme":${q(scheme)},"source":${q(source)},"stdio":null,` +
    `"timeouts":{"initializeMs":${timeouts.initializeMs},"requestMs":${timeouts.requestMs}}}`
  );
}

/**
 * A record whose enumerable keys are exactly `fields`, in that order. for-in rather than
 * Object.keys (no array per object): it lists own keys in Object.keys order, then any inherited
 * enumerable ones, which make the count differ.
 */
function hasFields(value: unknown, fields: readonly string[]): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  let n = 0;
  for (const key in value) if (key !== fields[n++]) return false;
  return n === fields.length;
}

/** A number JSON writes as `${n}` (NaN and the infinities it writes as null). */
function isFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** For each list of a snapshot, optionally: the runs it is made of, in order. */
export type SnapshotRuns = { [K in Exclude<keyof SnapshotContent, 'group'>]?: ReadonlyArray<EncodedRun<SnapshotContent[K][number]>> };

/** The one place a snapshot's version is computed: a hash of its canonical encoding. */
export function snapshotVersion(content: SnapshotContent): string {
  return hashPieces(content.group, canonicalPieces(versioned(content), {}, false));
}

/**
 * Seals content into a versioned, frozen snapshot. `runs` may say which runs a list is made of
 * (checked: a list that is not exactly its runs is encoded member by member, the same text).
 */
export function sealSnapshot(content: SnapshotContent, runs: SnapshotRuns = {}): Snapshot {
  // One pass over the lists both seals their members and encodes them (a member sealed earlier
  // costs one cache lookup, a run one for all its members); the lists, all of whose members are
  // sealed then, are sealed without another walk.
  const fields = versioned(content);
  const version = hashPieces(content.group, canonicalPieces(fields, runs, true));
  for (const value of Object.values(fields)) {
    if (Array.isArray(value) && !isSealed(value)) sealedJson.set(Object.freeze(value), NOT_YET);
  }
  return seal({ ...content, version });
}

/** The fields a version covers, in a fresh object so nothing else in `content` can slip in. */
function versioned(content: SnapshotContent): Record<string, unknown> {
  const { group, listeners, routes, backends, targets, policies, secrets } = content;
  return { group, listeners, routes, backends, targets, policies, secrets };
}

/**
 * canonicalJson(content) cut into pieces whose concatenation is that text: the runs a list is made
 * of, or its members one by one (sealed ones from the cache), and the text between them. With
 * `sealMembers`, members are sealed on the way.
 */
function canonicalPieces(content: Record<string, unknown>, runs: Readonly<Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined>>, sealMembers: boolean): string[] {
  const pieces: string[] = [];
  let text = '{'; // not yet pushed
  let first = true;
  for (const key of Object.keys(content).sort()) {
    const value = content[key];
    if (value === undefined) continue; // as canonicalJson() drops it
    text += `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    if (!Array.isArray(value)) {
      text += canonicalJson(value);
      continue;
    }
    pieces.push(`${text}[`);
    const made = runs[key];
    if (made && madeOf(value, made)) {
      let firstMember = true;
      for (const run of made) {
        if (run.items.length === 0) continue;
        // The separator apart: a run's text is then the same string as last time, which
        // hashPieces compares by pointer rather than by its thousands of characters.
        if (!firstMember) pieces.push(',');
        pieces.push(EncodedRun.text(run));
        firstMember = false;
      }
    } else {
      for (let i = 0; i < value.length; i++) {
        if (i > 0) pieces.push(',');
        pieces.push(memberJson(value[i], sealMembers));
      }
    }
    text = ']';
  }
  pieces.push(`${text}}`);
  return pieces;
}

/** Whether the list is the runs' items, in order (the same objects). */
function madeOf(list: readonly unknown[], runs: ReadonlyArray<EncodedRun<unknown>>): boolean {
  let i = 0;
  for (const run of runs) {
    for (const item of run.items) if (list[i++] !== item) return false;
  }
  return i === list.length;
}

/** A list member's canonical JSON, from the cache when the member is sealed; `sealIt` seals it first. */
function memberJson(value: unknown, sealIt: boolean): string {
  if (value === null || typeof value !== 'object') return canonicalJson(value);
  const cached = sealedJson.get(value);
  if (cached) return cached; // neither undefined (not sealed) nor NOT_YET
  if (cached === undefined && sealIt) seal(value);
  const text = canonicalJson(value);
  if (cached !== undefined || sealIt) sealedJson.set(value, text);
  return text;
}

/** About how much text is hashed between two kept hash states (see hashPieces). */
const BLOCK_CHARS = 64 * 1024;
/** Text gathered for one update() call, at least. */
const UPDATE_CHARS = 2048;
/** Groups whose last hashed pieces are kept. */
const KEPT_GROUPS = 16;

interface Hashed {
  pieces: readonly string[];
  /** The hash after pieces [0, end), at block ends, in order. */
  checkpoints: ReadonlyArray<{ end: number; hash: Hash }>;
}

const lastHashed = new Map<string, Hashed>();

/**
 * sha256 of the concatenated pieces (16 hex digits). SHA-256 consumes its input in order, so the
 * state after a prefix can be kept and continued: the pieces hashed last time for the same group
 * are kept with the state after every block, and hashing resumes after the last block that is
 * unchanged. A new version after an EndpointSlice change (its target is among the last pieces,
 * since targets sort last) hashes half the snapshot on average instead of all of it. Pieces are
 * compared by content, so the result never depends on what was hashed before.
 */
function hashPieces(group: string, pieces: readonly string[]): string {
  const previous = lastHashed.get(group);
  const same = previous ? firstDifference(previous.pieces, pieces) : 0;
  const checkpoints = previous ? previous.checkpoints.filter((c) => c.end <= same) : [];
  const resume = checkpoints.at(-1);
  const hash = resume ? resume.hash.copy() : createHash('sha256');
  // Small pieces (a member, a separator) are gathered into one update() call; a large one (a
  // backend's targets) is hashed as it is, since copying it costs more than a call.
  let pending = '';
  let size = 0; // characters since the last checkpoint
  const flush = (): void => {
    if (pending) hash.update(pending);
    pending = '';
  };
  for (let i = resume ? resume.end : 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (piece.length >= UPDATE_CHARS) {
      flush();
      hash.update(piece);
    } else if ((pending += piece).length >= UPDATE_CHARS) {
      flush();
    }
    size += piece.length;
    if (size >= BLOCK_CHARS) {
      flush();
      checkpoints.push({ end: i + 1, hash: hash.copy() });
      size = 0;
    }
  }
  flush();
  lastHashed.delete(group); // re-inserted last: the map is in least recently used order
  lastHashed.set(group, { pieces, checkpoints });
  if (lastHashed.size > KEPT_GROUPS) lastHashed.delete(lastHashed.keys().next().value!);
  return hash.digest('hex').slice(0, 16);
}

/** The index of the first piece that differs (or the shorter length). */
function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const UNSORTABLE: unique symbol = Symbol('unsortable');

/**
 * A plain copy of a JSON-like value whose objects have their keys in sorted order and no undefined
 * members, with what canonical JSON writes as null (functions, symbols, undefined in arrays)
 * replaced by null; UNSORTABLE when some key cannot be placed in sorted order.
 */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? null : value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i];
      const item = member === undefined ? null : sortedCopy(member);
      if (item === UNSORTABLE) return UNSORTABLE;
      copy[i] = item;
    }
    return copy;
  }
  const keys = sortedKeys(Object.keys(value));
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    if (!isPlainKey(key)) return UNSORTABLE;
    const member: unknown = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    const item = sortedCopy(member);
    if (item === UNSORTABLE) return UNSORTABLE;
    copy[key] = item;
  }
  return copy;
}

/**
 * Key lists met lately, each with its sorted order. Values of one type share a key list, and
 * Array.prototype.sort allocates much more than it sorts for ten keys: 10k targets would sort 20k
 * small arrays per snapshot.
 */
const recentShapes: Array<{ keys: readonly string[]; sorted: readonly string[] }> = [];
const RECENT_SHAPES = 16;

function sortedKeys(keys: string[]): readonly string[] {
  if (isSorted(keys)) return keys;
  for (const shape of recentShapes) if (sameKeys(shape.keys, keys)) return shape.sorted;
  const sorted = [...keys].sort();
  recentShapes.unshift({ keys, sorted });
  recentShapes.length = Math.min(recentShapes.length, RECENT_SHAPES);
  return sorted;
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Keys an object literal keeps in insertion order: no array indices (they start with a digit), no "__proto__". */
function isPlainKey(key: string): boolean {
  const first = key.charCodeAt(0);
  return !(first >= 48 && first <= 57) && key !== '__proto__';
}

/** canonicalJson() assembled in JavaScript: slower, but exact for any keys. */
function directCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(directCanonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${directCanonicalJson(v)}`).join(',')}}`;
}
