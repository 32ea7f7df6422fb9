import { hash } from 'node:crypto';
import type { Snapshot, SnapshotContent } from './types.ts';

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

// Sealed values: deep-frozen by seal(), so what is derived from them can be kept for as long as
// they live. One weak map answers both "sealed?" (has an entry) and "leaf digest?" (the entry, or
// NOT_YET), and only values seal() was called on get an entry, not each object inside them: weak
// collections are costly to fill, and a 10k-target snapshot holds 50k objects.
const sealedDigest = new WeakMap<object, Buffer | null>();
/** The entry of a sealed value whose digest was not needed yet. */
const NOT_YET = null;

/** Deep-freezes a value and remembers it as sealed (see above). Returns it. */
export function seal<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !isSealed(value)) {
    freezeTree(value);
    sealedDigest.set(value, NOT_YET);
  }
  return value;
}

/**
 * Remembers as sealed a value its builder froze entirely, object by object, as it built it (the
 * translator's targets and backends: see targets.ts), without walking it again. Only for values
 * whose every object was frozen when it was made; `deepFrozen()` is how tests hold builders to it.
 */
export function sealBuilt<T extends object>(value: T): T {
  if (!Object.isFrozen(value)) throw new Error('sealBuilt: the value is not frozen');
  if (!sealedDigest.has(value)) sealedDigest.set(value, NOT_YET);
  return value;
}

/** Deep-freezes a value that no digest will be asked of (statuses): seal() without the weak map entry. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !isSealed(value)) freezeTree(value);
  return value;
}

/** Whether a value and everything it holds is frozen (for tests: what sealBuilt() trusts). */
export function deepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Object.isFrozen(value)) return false;
  return Object.values(value).every(deepFrozen);
}

function isSealed(value: object): boolean {
  // A sealed value is frozen, and asking Object.isFrozen costs nothing next to a weak map lookup.
  return Object.isFrozen(value) && sealedDigest.has(value);
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
   * from it, and the same items in the same order give `earlier` itself. `built`: the builder froze
   * every item deeply as it made it (the translator's targets, targets.ts), so they are not walked
   * again; tests hold it to that with deepFrozen().
   */
  static encode<T>(items: readonly T[], earlier?: EncodedRun<T>, built = false): EncodedRun<T> {
    if (earlier && sameItems(earlier.items, items)) return earlier;
    // Built: frozen, items and all, by their builder: the list is frozen without walking them (and
    // without a weak map entry: nothing asks whether a run's list is sealed).
    if (built) Object.freeze(items);
    else seal(items);
    const known = earlier && earlier.items.length > 0 ? new Map(earlier.items.map((item, i) => [item, i])) : undefined;
    // A run made from scratch goes into the shared slab (see JsonWriter), one made again after an
    // event into a buffer of its own: slabs full of runs that events replace one by one would
    // each be kept alive by their last run.
    const w = earlier ? jsonScratch() : jsonSlab();
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

/** Size of the slabs runs made from scratch are written into. */
const SLAB_BYTES = 64 * 1024;

/**
 * Canonical JSON written as UTF-8 into a buffer, one piece at a time: the bytes from `start` to
 * `pos`. Two of them: a scratch writer, reused for what is hashed and dropped or copied out, and a
 * slab writer whose pieces are views into the slab it writes (a translation from scratch makes a
 * thousand runs of a few kilobytes: a thousand buffers of their own would cost a copy each and
 * more work for the garbage collector than the bytes themselves).
 */
class JsonWriter {
  readonly #slab: boolean;
  buf: Buffer;
  pos = 0;
  /** Where the piece being written begins. */
  start = 0;

  constructor(slab: boolean) {
    this.#slab = slab;
    this.buf = Buffer.allocUnsafeSlow(SLAB_BYTES);
  }

  /** Room for `n` more bytes: a new buffer holding the piece so far when this one is full. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const length = this.pos - this.start;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#slab ? SLAB_BYTES : this.buf.length * 2, 2 * (length + n)));
    this.buf.copy(grown, 0, this.start, this.pos);
    this.buf = grown;
    this.start = 0;
    this.pos = length;
  }

  /** The piece, to keep: a view into the slab, or a copy of the scratch writer's. The next piece begins. */
  take(): Buffer {
    const piece = this.buf.subarray(this.start, this.pos);
    if (this.#slab) {
      this.start = this.pos;
      return piece;
    }
    this.start = this.pos = 0;
    return Buffer.from(piece);
  }

  /** The piece, to hash and forget (it is overwritten by the next one). */
  view(): Buffer {
    return this.buf.subarray(this.start, this.pos);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  bytes(data: Uint8Array): void {
    this.room(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** Text known to be ASCII (keys, punctuation, numbers). */
  ascii(text: string): void {
    this.room(text.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
    this.pos = pos;
  }

  /** Bytes made once (the keys and punctuation of a target): one copy rather than a loop per character. */
  seg(bytes: Buffer): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Any text, in UTF-8. */
  text(text: string): void {
    this.room(text.length * 3);
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  /**
   * A string as JSON.stringify writes it: printable ASCII other than quote and backslash as it
   * is, anything else (escapes, non-ASCII, lone surrogates) through JSON.stringify itself.
   */
  string(value: string): void {
    const n = value.length;
    this.room(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    buf[pos++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.pos = start;
        this.text(JSON.stringify(value));
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }
}

let scratchWriter: JsonWriter | undefined;
let slabWriter: JsonWriter | undefined;

/** The scratch JSON writer (everything here is synchronous), empty; one grown past a megabyte for a large list is not kept. */
function jsonScratch(): JsonWriter {
  if (!scratchWriter || scratchWriter.buf.length > 1024 * 1024) scratchWriter = new JsonWriter(false);
  scratchWriter.start = scratchWriter.pos = 0;
  return scratchWriter;
}

/** The slab writer, ready for a piece. */
function jsonSlab(): JsonWriter {
  slabWriter ??= new JsonWriter(true);
  slabWriter.pos = slabWriter.start; // drop anything left of a piece not taken
  return slabWriter;
}

/** A list member's canonical JSON: a Target's by the fast path, anything else by the generic one. */
function writeMember(w: JsonWriter, value: unknown): void {
  const mark = w.pos - w.start; // relative: writing may move the piece to a new buffer
  if (writeTarget(w, value)) return;
  w.pos = w.start + mark;
  if (writeBackend(w, value)) return;
  w.pos = w.start + mark;
  if (writeRoute(w, value)) return;
  w.pos = w.start + mark;
  w.text(canonicalJson(value));
}

const ROUTE_FIELDS: readonly string[] = ['name', 'listeners', 'pathPrefix', 'backend'];

/** canonicalJson() of a Route exactly as the translator builds it (see writeTarget): a thousand of them in a route layout. */
function writeRoute(w: JsonWriter, value: unknown): boolean {
  if (!hasFields(value, ROUTE_FIELDS)) return false;
  const { name, listeners, pathPrefix, backend } = value;
  if (typeof name !== 'string' || typeof pathPrefix !== 'string' || typeof backend !== 'string') return false;
  w.ascii('{"backend":');
  w.string(backend);
  if (!writeStrings(w, ',"listeners":', listeners)) return false;
  w.ascii(',"name":');
  w.string(name);
  w.ascii(',"pathPrefix":');
  w.string(pathPrefix);
  w.byte(0x7d);
  return true;
}

const BACKEND_FIELDS: readonly string[] = ['name', 'prefixMode', 'failureMode', 'targets', 'toolInclude', 'toolExclude', 'serverInfo', 'instructions'];
const SERVER_INFO_FIELDS: readonly string[] = ['name', 'version'];

/** canonicalJson() of a Backend exactly as the translator builds it (see writeTarget), for its leaf digest. */
function writeBackend(w: JsonWriter, value: unknown): boolean {
  if (!hasFields(value, BACKEND_FIELDS)) return false;
  const { name, prefixMode, failureMode, targets, toolInclude, toolExclude, serverInfo, instructions } = value;
  if (typeof name !== 'string' || typeof prefixMode !== 'string' || typeof failureMode !== 'string' || typeof instructions !== 'string') return false;
  if (serverInfo !== null && !(hasFields(serverInfo, SERVER_INFO_FIELDS) && typeof serverInfo.name === 'string' && typeof serverInfo.version === 'string')) return false;
  w.ascii('{"failureMode":');
  w.string(failureMode);
  w.ascii(',"instructions":');
  w.string(instructions);
  w.ascii(',"name":');
  w.string(name);
  w.ascii(',"prefixMode":');
  w.string(prefixMode);
  if (serverInfo === null) {
    w.ascii(',"serverInfo":null');
  } else {
    w.ascii(',"serverInfo":{"name":');
    w.string(serverInfo.name as string);
    w.ascii(',"version":');
    w.string(serverInfo.version as string);
    w.byte(0x7d);
  }
  return writeStrings(w, ',"targets":', targets) && writeStrings(w, ',"toolExclude":', toolExclude) && writeStrings(w, ',"toolInclude":', toolInclude) && (w.byte(0x7d), true);
}

/** A key and a list of strings; false if it is anything else. */
function writeStrings(w: JsonWriter, key: string, list: unknown): boolean {
  if (!Array.isArray(list)) return false;
  w.ascii(key);
  w.byte(0x5b);
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (typeof item !== 'string') return false;
    if (i > 0) w.byte(0x2c);
    w.string(item);
  }
  w.byte(0x5d);
  return true;
}

/** A Target's fields as the translator writes them (proto order), its Timeouts' and its Endpoints'. */
const TARGET_FIELDS: readonly string[] = ['backend', 'name', 'endpoints', 'path', 'protocol', 'scheme', 'timeouts', 'authSecret', 'source', 'stdio'];
const TIMEOUTS_FIELDS: readonly string[] = ['requestMs', 'initializeMs'];
const ENDPOINT_FIELDS: readonly string[] = ['address', 'port', 'ready'];

/** The keys and punctuation of a Target's canonical JSON, encoded once (see JsonWriter.seg). */
const T = {
  authSecret: Buffer.from('{"authSecret":'),
  backend: Buffer.from(',"backend":'),
  endpoints: Buffer.from(',"endpoints":['),
  firstAddress: Buffer.from('{"address":'),
  address: Buffer.from(',{"address":'),
  port: Buffer.from(',"port":'),
  ready: Buffer.from(',"ready":true}'),
  notReady: Buffer.from(',"ready":false}'),
  name: Buffer.from('],"name":'),
  path: Buffer.from(',"path":'),
  protocol: Buffer.from(',"protocol":'),
  scheme: Buffer.from(',"scheme":'),
  source: Buffer.from(',"source":'),
  initializeMs: Buffer.from(',"stdio":null,"timeouts":{"initializeMs":'),
  requestMs: Buffer.from(',"requestMs":'),
  end: Buffer.from('}}'),
};

/**
 * canonicalJson() of a Target exactly as the translator builds it, written out directly: several
 * times faster than the generic path, for the 10k targets of a snapshot built from scratch. False
 * for anything else (other keys or key order, a stdio command, a value of another type), with
 * something written that the caller discards; the generic path then encodes it. version.test.ts
 * holds the two to the same text.
 */
function writeTarget(w: JsonWriter, value: unknown): boolean {
  if (!hasFields(value, TARGET_FIELDS)) return false;
  const { backend, name, endpoints, path, protocol, scheme, timeouts, authSecret, source, stdio } = value;
  const strings = typeof backend === 'string' && typeof name === 'string' && typeof path === 'string' && typeof protocol === 'string' &&
    typeof scheme === 'string' && typeof authSecret === 'string' && typeof source === 'string';
  if (!strings || stdio !== null || !Array.isArray(endpoints)) return false;
  if (!hasFields(timeouts, TIMEOUTS_FIELDS) || !isFinite(timeouts.requestMs) || !isFinite(timeouts.initializeMs)) return false;
  w.seg(T.authSecret);
  w.string(authSecret);
  w.seg(T.backend);
  w.string(backend);
  w.seg(T.endpoints);
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint: unknown = endpoints[i];
    if (!hasFields(endpoint, ENDPOINT_FIELDS)) return false;
    const { address, port, ready } = endpoint;
    if (typeof address !== 'string' || !isFinite(port) || typeof ready !== 'boolean') return false;
    w.seg(i === 0 ? T.firstAddress : T.address);
    w.string(address);
    w.seg(T.port);
    w.ascii(String(port));
    w.seg(ready ? T.ready : T.notReady);
  }
  w.seg(T.name);
  w.string(name);
  w.seg(T.path);
  w.string(path);
  w.seg(T.protocol);
  w.string(protocol);
  w.seg(T.scheme);
  w.string(scheme);
  w.seg(T.source);
  w.string(source);
  w.seg(T.initializeMs);
  w.ascii(String(timeouts.initializeMs));
  w.seg(T.requestMs);
  w.ascii(String(timeouts.requestMs));
  w.seg(T.end);
  return true;
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

/**
 * For some lists of a snapshot, optionally: the runs it is made of, in order. Checked, never
 * trusted: a list that is not exactly its runs (the same objects, in order) is encoded member by
 * member, and target runs that are not the version's runs (one backend each, neighbours differing)
 * are hashed from their members: the same version either way.
 */
export type SnapshotRuns = { [K in 'listeners' | 'routes' | 'targets' | 'policies' | 'secrets']?: ReadonlyArray<EncodedRun<SnapshotContent[K][number]>> };

/** The one place a snapshot's version is computed (see the top of this file). */
export function snapshotVersion(content: SnapshotContent): string {
  return versionOf(versioned(content), {});
}

/**
 * Seals content into a versioned, frozen snapshot. `runs` may say which runs a list is made of
 * (see SnapshotRuns).
 */
export function sealSnapshot(content: SnapshotContent, runs: SnapshotRuns = {}): Snapshot {
  const fields = versioned(content);
  // The lists made of runs: their members are sealed with their runs.
  const made: Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined> = {};
  for (const key of SORTED_KEYS) {
    const list = fields[key];
    if (!Array.isArray(list) || isSealed(list)) continue;
    const given = (runs as Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined>)[key];
    if (given && madeOf(list, given)) made[key] = given;
    else for (let i = 0; i < list.length; i++) seal(list[i]);
    // Its members sealed, the list is sealed without another walk.
    sealedDigest.set(Object.freeze(list), NOT_YET);
  }
  return seal({ ...content, version: versionOf(fields, made) });
}

/** A snapshot's content with some lists given as the runs they are made of (the translator's). */
export type SnapshotParts = Omit<SnapshotContent, 'listeners' | 'routes' | 'targets'> & {
  [K in 'listeners' | 'routes' | 'targets']: ReadonlyArray<EncodedRun<SnapshotContent[K][number]>>;
};

/**
 * sealSnapshot() for lists given as runs: each list is made here, from its runs, so it is its runs
 * by construction (nothing to check member by member: 10k targets after every event).
 */
export function sealParts(parts: SnapshotParts): Snapshot {
  const { group, backends, policies, secrets } = parts;
  const listeners = concatRuns(parts.listeners);
  const routes = concatRuns(parts.routes);
  const targets = concatRuns(parts.targets);
  const content: SnapshotContent = { group, listeners, routes, backends, targets, policies, secrets };
  for (const list of [listeners, routes, targets]) sealedDigest.set(Object.freeze(list), NOT_YET);
  for (const list of [backends, policies, secrets]) {
    if (isSealed(list)) continue;
    for (let i = 0; i < list.length; i++) seal(list[i]);
    sealedDigest.set(Object.freeze(list), NOT_YET);
  }
  const made = { listeners: parts.listeners, routes: parts.routes, targets: parts.targets };
  return seal({ ...content, version: versionOf(versioned(content), made) });
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
function versionOf(fields: Record<string, unknown>, runs: Readonly<Record<string, ReadonlyArray<EncodedRun<unknown>> | undefined>>): string {
  let text = '{';
  for (const key of SORTED_KEYS) {
    const value = fields[key];
    if (value === undefined) continue; // as canonicalJson() drops it
    text += `${text.length === 1 ? '' : ','}"${key}":`;
    if (!Array.isArray(value)) text += canonicalJson(value);
    else if (key === 'backends') text += `"${hexHash(concatDigests(fields.group, key, value.map(memberDigest)))}"`;
    else if (key === 'targets') text += `"${hexHash(concatDigests(fields.group, key, targetRunDigests(value, runs[key])))}"`;
    else text += `"${listHash(value, runs[key])}"`;
  }
  return hexHash(`${text}}`).slice(0, 16);
}

/** The digests of a group's backends and targets laid end to end last time, and how many groups are kept. */
const laidOut = new Map<string, { digests: readonly Buffer[]; bytes: Buffer }>();
const LAID_OUT_KEPT = 32;

/**
 * Digests laid end to end, in one buffer. The last layout of the same list of the same group is
 * kept: after one event most digests are the same objects at the same places, and copying the
 * last bytes then writing the few that differ costs less than a copy per digest. Kept digests are
 * compared by identity (they never change), so the bytes are the same either way.
 */
function concatDigests(group: unknown, list: string, digests: readonly Buffer[]): Buffer {
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
function memberDigest(value: unknown): Buffer {
  if (value === null || typeof value !== 'object') return digest(canonicalJson(value));
  const cached = sealedDigest.get(value);
  if (cached) return cached; // neither undefined (not sealed) nor NOT_YET
  const w = jsonScratch();
  writeMember(w, value);
  const leaf = digest(w.view());
  if (cached === NOT_YET) sealedDigest.set(value, leaf);
  return leaf;
}

/** The leaf digests of the target list: one per run, from the given runs when they are the version's runs. */
function targetRunDigests(targets: readonly unknown[], runs: ReadonlyArray<EncodedRun<unknown>> | undefined): Buffer[] {
  const digests: Buffer[] = [];
  if (runs && areTargetRuns(runs)) {
    for (const run of runs) if (run.items.length > 0) digests.push(EncodedRun.digest(run));
    return digests;
  }
  for (let start = 0; start < targets.length; ) {
    const key = runKey(targets[start]);
    let end = start + 1;
    if (key !== undefined) while (end < targets.length && runKey(targets[end]) === key) end++;
    digests.push(digest(listBytes(targets, start, end)));
    start = end;
  }
  return digests;
}

/** canonicalJson(list.slice(start, end)) in UTF-8, in the scratch writer (valid until it is used again). */
function listBytes(list: readonly unknown[], start: number, end: number): Buffer {
  const w = jsonScratch();
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
function listHash(list: readonly unknown[], runs: ReadonlyArray<EncodedRun<unknown>> | undefined): string {
  const nonEmpty = runs?.filter((run) => run.items.length > 0);
  if (!nonEmpty) return hexHash(listBytes(list, 0, list.length));
  if (nonEmpty.length === 1) return EncodedRun.hex(nonEmpty[0]!);
  const w = jsonScratch();
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
