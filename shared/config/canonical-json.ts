// Canonical JSON (object keys sorted, no whitespace, undefined members dropped), the encoding the
// snapshot version is a hash of (see version.ts): as a string, and written as UTF-8 into reusable
// buffers with fast paths for the snapshot's own records (targets, backends, routes), which the
// translator encodes by the ten thousand.
import { TARGET_FIELDS, TARGET_KEYS, type TargetFieldKind } from './target-fields.ts';

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined members dropped. Arrays keep their
 * order, so whoever builds a snapshot sorts its lists (the translator does).
 */
export function canonicalJson(value: unknown): string {
  // The native serializer writes keys in property order, so a copy with its keys inserted in sorted
  // order serializes canonically, several times faster than assembling the text in JavaScript.
  // Integer-like keys defeat that (engines put them first, in numeric order) and so does
  // "__proto__" (it cannot be assigned as data): such values take the direct path.
  const copy = sortedCopy(value, []);
  return copy === UNSORTABLE ? directCanonicalJson(value) : (JSON.stringify(copy) ?? 'null');
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
export class JsonWriter {
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

/** A list member's canonical JSON: a Target's by the fast path, anything else by the generic one. */
export function writeMember(w: JsonWriter, value: unknown): void {
  const mark = w.pos - w.start; // relative: writing may move the piece to a new buffer
  if (writeTarget(w, value)) return;
  w.pos = w.start + mark;
  if (writeBackend(w, value)) return;
  w.pos = w.start + mark;
  if (writeRoute(w, value)) return;
  w.pos = w.start + mark;
  w.text(canonicalJson(value));
}

const ROUTE_FIELDS: readonly string[] = ['name', 'listeners', 'pathPrefix', 'backend', 'hostnames'];

/** canonicalJson() of a Route exactly as the translator builds it (see writeTarget): a thousand of them in a route layout. */
function writeRoute(w: JsonWriter, value: unknown): boolean {
  if (!hasFields(value, ROUTE_FIELDS)) return false;
  const { name, listeners, pathPrefix, backend, hostnames } = value;
  if (typeof name !== 'string' || typeof pathPrefix !== 'string' || typeof backend !== 'string') return false;
  w.ascii('{"backend":');
  w.string(backend);
  if (!writeStrings(w, ',"hostnames":', hostnames)) return false;
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

/** A Target's Timeouts' and Endpoints' fields as the translator writes them. */
const TIMEOUTS_FIELDS: readonly string[] = ['requestMs', 'initializeMs'];
const ENDPOINT_FIELDS: readonly string[] = ['address', 'port', 'ready'];

/**
 * A Target's fields (target-fields.ts) in the order canonical JSON writes them (keys in code-unit
 * order), each with its key and punctuation encoded once (see JsonWriter.seg).
 */
const TARGET_JSON: ReadonlyArray<{ key: string; kind: TargetFieldKind; seg: Buffer }> = [...TARGET_FIELDS]
  .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  .map(({ key, kind }, i) => ({ key, kind, seg: Buffer.from(`${i === 0 ? '{' : ','}"${key}":`) }));

/** The keys and punctuation of a Target's endpoints and timeouts, encoded once. */
const T = {
  firstAddress: Buffer.from('{"address":'),
  address: Buffer.from(',{"address":'),
  port: Buffer.from(',"port":'),
  ready: Buffer.from(',"ready":true}'),
  notReady: Buffer.from(',"ready":false}'),
  initializeMs: Buffer.from('{"initializeMs":'),
  requestMs: Buffer.from(',"requestMs":'),
};

/**
 * canonicalJson() of a Target exactly as the translator builds it (the fields of target-fields.ts,
 * in that order), written out directly: several times faster than the generic path, for the 10k
 * targets of a snapshot built from scratch. False for anything else (other keys or key order, a
 * stdio command, a value of another type), with something written that the caller discards; the
 * generic path then encodes it. version.test.ts holds the two to the same text.
 */
function writeTarget(w: JsonWriter, value: unknown): boolean {
  if (!hasFields(value, TARGET_KEYS)) return false;
  for (let i = 0; i < TARGET_JSON.length; i++) {
    const { key, kind, seg } = TARGET_JSON[i]!;
    const member = value[key];
    w.seg(seg);
    switch (kind) {
      case 'string':
      case 'enum':
        if (typeof member !== 'string') return false;
        w.string(member);
        break;
      case 'endpoints':
        if (!writeEndpoints(w, member)) return false;
        break;
      case 'timeouts':
        if (!hasFields(member, TIMEOUTS_FIELDS) || !isFinite(member.requestMs) || !isFinite(member.initializeMs)) return false;
        w.seg(T.initializeMs);
        w.ascii(String(member.initializeMs));
        w.seg(T.requestMs);
        w.ascii(String(member.requestMs));
        w.byte(0x7d);
        break;
      case 'stdio':
        if (member !== null) return false;
        w.ascii('null');
        break;
      default: {
        const never: never = kind;
        throw new Error(`unknown target field kind ${String(never)}`);
      }
    }
  }
  w.byte(0x7d);
  return true;
}

/** A Target's endpoints as a JSON list; false if they are anything else. */
function writeEndpoints(w: JsonWriter, endpoints: unknown): boolean {
  if (!Array.isArray(endpoints)) return false;
  w.byte(0x5b);
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
  w.byte(0x5d);
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

const UNSORTABLE: unique symbol = Symbol('unsortable');

/**
 * A plain copy of a JSON-like value whose objects have their keys in sorted order and no undefined
 * members, with what canonical JSON writes as null (functions, symbols, undefined in arrays)
 * replaced by null; UNSORTABLE when some key cannot be placed in sorted order.
 */
function sortedCopy(value: unknown, shapes: Shape[]): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? null : value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i];
      const item = member === undefined ? null : sortedCopy(member, shapes);
      if (item === UNSORTABLE) return UNSORTABLE;
      copy[i] = item;
    }
    return copy;
  }
  const keys = sortedKeys(Object.keys(value), shapes);
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    if (!isPlainKey(key)) return UNSORTABLE;
    const member: unknown = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    const item = sortedCopy(member, shapes);
    if (item === UNSORTABLE) return UNSORTABLE;
    copy[key] = item;
  }
  return copy;
}

/**
 * A key list met earlier in one canonicalJson() call, with its sorted order. Values of one type
 * share a key list, and Array.prototype.sort allocates much more than it sorts for ten keys: 10k
 * targets would sort 20k small arrays per snapshot. Kept per call, not across calls: a call's
 * result never depends on what other calls met.
 */
interface Shape {
  keys: readonly string[];
  sorted: readonly string[];
}
const RECENT_SHAPES = 16;

function sortedKeys(keys: string[], shapes: Shape[]): readonly string[] {
  if (isSorted(keys)) return keys;
  for (const shape of shapes) if (sameKeys(shape.keys, keys)) return shape.sorted;
  const sorted = [...keys].sort();
  shapes.unshift({ keys, sorted });
  shapes.length = Math.min(shapes.length, RECENT_SHAPES);
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
