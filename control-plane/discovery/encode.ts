// Encoding a snapshot once per version instead of once per stream, and from the parts of earlier
// versions instead of from scratch.
//
// A DiscoveryResponse is `version_info = 1, nonce = 2, snapshot = 3`. Only the nonce differs between
// the streams a version goes to, and protobuf messages concatenate: the encoding of
// {version_info, nonce} followed by the encoding of {snapshot} is the encoding of all three (each
// field appears once). So the snapshot part is encoded once per version and every stream only
// encodes its few bytes of version and nonce; with 1000 proxies that is the difference between
// 1000 encodes of the snapshot per change and one.
//
// The snapshot part itself is assembled from the encodings of its members. A repeated field is
// its entries (tag, length, member) one after the other, so a snapshot's encoding is its version
// and group followed by each list's entries, concatenated, and an entry depends on its member
// alone. Members of a sealed snapshot never change (shared/config/version.ts: it is frozen at its
// top, all through in tests) and a translator run reuses the objects of unchanged backends,
// targets and routes, so for a sealed snapshot each entry is kept beside
// its object (weak maps in the encoder's EncodeCache): a backend's entry keyed by the Backend, its targets' entries as one run
// keyed by the same Backend (checked against the target objects, and rebuilt from the entries of
// those that are the same), a route's by the Route. The version after one event is encoded from
// a few thousand kept buffers plus the one backend that changed, not 10k targets.
//
// A response may also carry a Gateway's requestState keys (field 4, after the snapshot: protobuf
// writes fields in number order). They are per stream, like the nonce, and never part of the shared
// snapshot bytes: encodeResponse appends them to one stream's response only. A response carrying
// only keys (no snapshot) is assembled the same way with an empty snapshot part.
//
// The bytes are exactly proto-loader's (protobufjs: fields in number order, every field present
// written, defaults included): the common members are written here directly (Listener, Route,
// Backend, Target without stdio), and anything else, or any value not of the exact type the
// config model gives it, is encoded by proto-loader's own serializer, one member at a time.
// encode.test.ts holds the two to the same bytes.
import type * as grpc from '@grpc/grpc-js';
import type { Backend, Snapshot } from '../../shared/config/types.ts';
import { serviceDefinition } from '../../shared/proto/load.ts';
import type { DiscoveryResponse, RequestStateKeys } from '../../shared/proto/messages.ts';
import { varintSize, writeBackend, writeListener, writeRoute, writeTarget, writeVarint, Writer } from './proto-writer.ts';

/** Marks a response whose snapshot part is already encoded (field 3, tag included). */
export const ENCODED_SNAPSHOT: unique symbol = Symbol('mcpmux.discovery.encodedSnapshot');

/**
 * A response as the discovery loop writes it: a plain DiscoveryResponse (so proto-loader's own
 * serializer still encodes it correctly) that also carries its snapshot's encoding for ours. A
 * keys-only response has no snapshot and an empty encoding.
 */
export type OutgoingResponse = DiscoveryResponse & { [ENCODED_SNAPSHOT]?: Buffer };

type Serialize = (value: unknown) => Buffer;

function discoveryMethod(): grpc.MethodDefinition<unknown, unknown> {
  const method = serviceDefinition('DiscoveryService').StreamSnapshots;
  if (!method) throw new Error('proto method mcpmux.v1.DiscoveryService/StreamSnapshots not found');
  return method;
}

/**
 * Encodes each group's current snapshot part of a DiscoveryResponse once. Only the current version
 * of a group is ever pushed, so one encoding per group is kept (not one per version in the cache's
 * history, which for large snapshots would hold megabytes per version).
 */
export class SnapshotEncoder {
  readonly #current = new Map<string, { version: string; bytes: Buffer }>();
  /** The members' entries, kept from version to version. */
  readonly #cache = new EncodeCache();

  /** The encoding of `{snapshot}` as a DiscoveryResponse: field 3 only. */
  encode(snapshot: Snapshot): Buffer {
    const cached = this.#current.get(snapshot.group);
    // The version is a hash of the content: the same version is the same bytes.
    if (cached?.version === snapshot.version) return cached.bytes;
    const bytes = encodeSnapshotResponse(snapshot, this.#cache);
    this.#current.set(snapshot.group, { version: snapshot.version, bytes });
    return bytes;
  }

  /**
   * The response for one stream, carrying the shared encoding of its snapshot, and this stream's
   * requestState keys when given (encoded for this response alone).
   */
  response(snapshot: Snapshot, nonce: string, keys?: RequestStateKeys): OutgoingResponse {
    const response: OutgoingResponse = { versionInfo: snapshot.version, nonce, snapshot, [ENCODED_SNAPSHOT]: this.encode(snapshot) };
    if (keys) response.requestStateKeys = keys;
    return response;
  }
}

/**
 * A response that carries requestState keys and no snapshot: `versionInfo` is the version the proxy
 * serves already (it ACKs with it), so nothing else changes on its side.
 */
export function keysResponse(versionInfo: string, nonce: string, keys: RequestStateKeys): OutgoingResponse {
  return { versionInfo, nonce, snapshot: null, requestStateKeys: keys, [ENCODED_SNAPSHOT]: EMPTY };
}

const EMPTY = Buffer.alloc(0);

/**
 * `{snapshot}` as a DiscoveryResponse (field 3 only), assembled from the kept entries of its
 * members (in `cache`; a fresh one keeps nothing from earlier calls): the same bytes as
 * proto-loader's serializer gives for `{ snapshot }`.
 */
export function encodeSnapshotResponse(snapshot: Snapshot, cache: EncodeCache = new EncodeCache()): Buffer {
  const pieces = snapshotPieces(snapshot, cache);
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = Buffer.allocUnsafe(1 + varintSize(length) + length);
  out[0] = 0x1a; // field 3, length-delimited
  let pos = writeVarint(out, 1, length);
  for (const piece of pieces) {
    out.set(piece, pos);
    pos += piece.length;
  }
  return out;
}

/**
 * The response serializer of StreamSnapshots: `version_info` and `nonce` encoded per stream, then
 * the snapshot bytes shared by every stream of that version. A response without them (written by
 * other code) is encoded whole, as before.
 */
export function discoveryResponseSerializer(): (value: OutgoingResponse) => Buffer {
  const serialize = discoveryMethod().responseSerialize as Serialize;
  return (value) => {
    const snapshot = value[ENCODED_SNAPSHOT];
    return snapshot ? encodeResponse(value.versionInfo, value.nonce, snapshot, value.requestStateKeys ?? undefined) : serialize(value);
  };
}

/**
 * Fields 1 (version_info) and 2 (nonce) as length-delimited strings, then `snapshot` (field 3, already
 * encoded; empty for none), then `request_state_keys` (field 4) when given, in one buffer.
 */
export function encodeResponse(versionInfo: string, nonce: string, snapshot: Buffer, keys?: RequestStateKeys): Buffer {
  const versionLength = Buffer.byteLength(versionInfo);
  const nonceLength = Buffer.byteLength(nonce);
  const fieldSize = (length: number): number => (length === 0 ? 0 : 1 + varintSize(length) + length); // proto3 omits empty strings
  const keysLength = keys ? keysMessageLength(keys) : 0;
  const keysSize = keys ? 1 + varintSize(keysLength) + keysLength : 0;
  const out = Buffer.allocUnsafe(fieldSize(versionLength) + fieldSize(nonceLength) + snapshot.length + keysSize);
  let pos = 0;
  const writeString = (tag: number, text: string, length: number): void => {
    if (length === 0) return;
    out[pos++] = tag;
    pos = writeVarint(out, pos, length);
    pos += out.write(text, pos, length, 'utf8');
  };
  const writeBytes = (tag: number, bytes: Uint8Array): void => {
    out[pos++] = tag;
    pos = writeVarint(out, pos, bytes.length);
    out.set(bytes, pos);
    pos += bytes.length;
  };
  writeString(0x0a, versionInfo, versionLength); // field 1, wire type 2
  writeString(0x12, nonce, nonceLength); // field 2, wire type 2
  snapshot.copy(out, pos);
  pos += snapshot.length;
  if (keys) {
    out[pos++] = 0x22; // field 4, wire type 2
    pos = writeVarint(out, pos, keysLength);
    // RequestStateKeys: current 1, previous 2; as protobufjs, a bytes field is written when set, even empty.
    writeBytes(0x0a, keys.current);
    if (keys.previous != null) writeBytes(0x12, keys.previous);
  }
  return out;
}

/** The length of an encoded RequestStateKeys message. */
function keysMessageLength(keys: RequestStateKeys): number {
  const field = (bytes: Uint8Array): number => 1 + varintSize(bytes.length) + bytes.length;
  return field(keys.current) + (keys.previous != null ? field(keys.previous) : 0);
}

// ---- The snapshot's pieces ----

/** Snapshot fields (config.proto) by number, and the list fields in number order. */
const LIST_FIELDS = [
  [3, 'listeners'],
  [4, 'routes'],
  [5, 'backends'],
  [6, 'targets'],
  [7, 'policies'],
  [8, 'secrets'],
] as const;
type ListField = (typeof LIST_FIELDS)[number][1];

/** One backend's targets (the run of consecutive targets naming it) encoded, keyed by the Backend object. */
interface TargetRun {
  items: readonly unknown[];
  bytes: Buffer;
  /** Where each item's entry ends in `bytes`. */
  ends: readonly number[];
}

/**
 * What encoding keeps from one snapshot to the next, owned by its SnapshotEncoder. Entries are keyed
 * by member object: members of a sealed snapshot never change, so an entry stands for as long as
 * its object lives (weak maps drop it with the object).
 */
export class EncodeCache {
  /** Each list field's entries (tag included) by member object. */
  readonly entries: Readonly<Record<ListField, WeakMap<object, Buffer>>> = {
    listeners: new WeakMap(),
    routes: new WeakMap(),
    backends: new WeakMap(),
    targets: new WeakMap(), // unused for targets paired with a backend: see targetRuns
    policies: new WeakMap(),
    secrets: new WeakMap(),
  };
  /** Each Backend's run of targets. */
  readonly targetRuns = new WeakMap<object, TargetRun>();
  readonly #writer = new Writer();
  #serialize: Serialize | undefined;

  /** The one writer (encoding is synchronous), empty. */
  scratch(): Writer {
    this.#writer.pos = 0;
    return this.#writer;
  }

  /** proto-loader's serializer of a DiscoveryResponse. */
  serialize(): Serialize {
    this.#serialize ??= discoveryMethod().responseSerialize as Serialize;
    return this.#serialize;
  }
}

/** The snapshot's encoding (without the field 3 wrapper), in pieces to concatenate. */
function snapshotPieces(snapshot: Snapshot, cache: EncodeCache): Buffer[] {
  const writer = cache.scratch();
  const ok = typeof snapshot.version === 'string' && typeof snapshot.group === 'string' &&
    writer.string(0x0a, snapshot.version) && writer.string(0x12, snapshot.group) &&
    LIST_FIELDS.every(([, field]) => Array.isArray(snapshot[field]));
  if (!ok) return [serializeFields(cache, { version: snapshot.version, group: snapshot.group }), ...LIST_FIELDS.map(([, field]) => serializeFields(cache, { [field]: snapshot[field] }))];
  const pieces: Buffer[] = [writer.take()];
  // Entries are kept only for a sealed snapshot's members, which never change: sealed means frozen.
  const keep = Object.isFrozen(snapshot);
  for (const [, field] of LIST_FIELDS) {
    if (field === 'targets') targetPieces(snapshot.targets, snapshot.backends, pieces, cache, keep);
    else for (const member of snapshot[field] as readonly unknown[]) pieces.push(memberEntry(field, member, cache, keep));
  }
  return pieces;
}

/** A member's entry in its list field, kept for a member of a sealed snapshot (`sealed`). */
function memberEntry(field: ListField, member: unknown, cache: EncodeCache, sealed: boolean): Buffer {
  const keep = sealed && member !== null && typeof member === 'object';
  if (keep) {
    const kept = cache.entries[field].get(member);
    if (kept) return kept;
  }
  const writer = cache.scratch();
  const bytes = writeEntry(writer, field, member) ? writer.take() : serializeFields(cache, { [field]: [member] });
  if (keep) cache.entries[field].set(member, bytes);
  return bytes;
}

/** Writes a member's entry directly, for the kinds written here; false (nothing written) for anything else. */
function writeEntry(writer: Writer, field: ListField, member: unknown): boolean {
  const start = writer.pos;
  let ok: boolean;
  switch (field) {
    case 'listeners':
      ok = writeListener(writer, member);
      break;
    case 'routes':
      ok = writeRoute(writer, member);
      break;
    case 'backends':
      ok = writeBackend(writer, member);
      break;
    case 'targets':
      ok = writeTarget(writer, member);
      break;
    default:
      ok = false;
  }
  if (!ok) writer.pos = start;
  return ok;
}

/**
 * The targets' entries: each run of consecutive targets of one backend from the run kept for that
 * Backend object when its targets are the same objects, else encoded again (reusing the entries
 * of those that are), and kept. Runs without a Backend of their name in the snapshot are encoded
 * member by member.
 */
function targetPieces(targets: readonly unknown[], backends: readonly unknown[], pieces: Buffer[], cache: EncodeCache, sealed: boolean): void {
  const byName = new Map<string, object>();
  for (const backend of backends) {
    const name = backend !== null && typeof backend === 'object' ? (backend as Partial<Backend>).name : undefined;
    if (typeof name === 'string' && !byName.has(name)) byName.set(name, backend as object);
  }
  for (let start = 0; start < targets.length; ) {
    const name = backendOf(targets[start]);
    let end = start + 1;
    if (name !== undefined) while (end < targets.length && backendOf(targets[end]) === name) end++;
    const backend = name === undefined ? undefined : byName.get(name);
    if (backend && sealed) pieces.push(targetRun(backend, targets, start, end, cache).bytes);
    else for (let i = start; i < end; i++) pieces.push(memberEntry('targets', targets[i], cache, sealed));
    start = end;
  }
}

/** Whether `items` are targets[start, end), the same objects. */
function sameItems(items: readonly unknown[], targets: readonly unknown[], start: number, end: number): boolean {
  if (items.length !== end - start) return false;
  for (let i = 0; i < items.length; i++) if (items[i] !== targets[start + i]) return false;
  return true;
}

function backendOf(target: unknown): string | undefined {
  if (target === null || typeof target !== 'object') return undefined;
  const backend: unknown = (target as { backend?: unknown }).backend;
  return typeof backend === 'string' ? backend : undefined;
}

/** The run of targets[start, end) for a backend: kept, or built from the kept one's entries and kept. */
function targetRun(backend: object, targets: readonly unknown[], start: number, end: number, cache: EncodeCache): TargetRun {
  const earlier = cache.targetRuns.get(backend);
  if (earlier && sameItems(earlier.items, targets, start, end)) return earlier;
  // Entries of the earlier run's items, by item: a backend encoded again because one of its 500
  // targets changed copies the other 499.
  const earlierAt = earlier ? new Map(earlier.items.map((item, i) => [item, i])) : undefined;
  const writer = cache.scratch();
  const items = targets.slice(start, end);
  const ends: number[] = [];
  let objects = true;
  for (const item of items) {
    objects &&= item !== null && typeof item === 'object';
    const at = earlierAt?.get(item);
    if (at !== undefined) {
      writer.bytes(earlier!.bytes.subarray(at === 0 ? 0 : earlier!.ends[at - 1], earlier!.ends[at]));
    } else if (!writeEntry(writer, 'targets', item)) {
      writer.bytes(serializeFields(cache, { targets: [item] }));
    }
    ends.push(writer.pos);
  }
  const run = { items, bytes: writer.take(), ends };
  if (objects) cache.targetRuns.set(backend, run);
  return run;
}

/**
 * Snapshot fields encoded by proto-loader, as they appear in a snapshot's encoding: the encoding of
 * `{ snapshot: fields }` without its field 3 tag and length.
 */
function serializeFields(cache: EncodeCache, fields: Partial<Record<keyof Snapshot, unknown>>): Buffer {
  const bytes = cache.serialize()({ snapshot: fields });
  if (bytes.length === 0) return bytes; // nothing set at all (and no snapshot field either)
  let pos = 1; // past the tag of field 3
  while ((bytes[pos++]! & 0x80) !== 0); // past its length
  return bytes.subarray(pos);
}

/**
 * The DiscoveryService definition with the shared-encoding serializer on StreamSnapshots, for
 * grpc.Server#addService (proto-loader's own serializer would re-encode the whole snapshot for
 * every stream).
 */
export function discoveryServiceDefinition(): grpc.ServiceDefinition {
  const base = serviceDefinition('DiscoveryService');
  const method = discoveryMethod();
  return { ...base, StreamSnapshots: { ...method, responseSerialize: discoveryResponseSerializer() as (value: unknown) => Buffer } };
}
