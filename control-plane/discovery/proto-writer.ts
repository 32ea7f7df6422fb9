// Protobuf written directly for the common members of a snapshot (Listener, Route, Backend, Target
// without stdio), byte for byte as protobufjs writes them: fields in number order, every present
// field written, defaults included. A writer returns false at the first value it would not write
// exactly so; encode.ts, which assembles snapshots from these entries, then rewinds and lets
// proto-loader serialize that member.
//
// Kept by hand although the types are generated (shared/proto/generated/: shapes only, they encode
// nothing): a whole 10k-target snapshot encodes about 5× faster than with proto-loader's serializer
// (16 ms against 87 ms in `node test/bench/scenarios/translation.ts --quick`), and kept entries
// make the version after one event ~1 ms. encode.test.ts holds the bytes to proto-loader's, byte
// for byte; the checks below (and the Target field list, shared/config/target-fields.ts) make tsc
// fail when the .proto gains a field or an enum value (after `npm run proto:types`) that these
// writers would otherwise leave out without a word.
import { TARGET_FIELDS } from '../../shared/config/target-fields.ts';
import type { Backend, Endpoint, FailureMode, Listener, PrefixMode, Route, ServerInfo, Timeouts } from '../../shared/config/types.ts';

const PREFIX_MODES: Readonly<Record<PrefixMode, number>> = { PREFIX_MODE_UNSPECIFIED: 0, PREFIX_MODE_ALWAYS: 1, PREFIX_MODE_CONDITIONAL: 2, PREFIX_MODE_NEVER: 3 };
const FAILURE_MODES: Readonly<Record<FailureMode, number>> = { FAILURE_MODE_UNSPECIFIED: 0, FAILURE_MODE_OPEN: 1, FAILURE_MODE_CLOSED: 2 };

/** Compiles only when `Missing` is empty: tsc names the field a writer does not write. */
type NoneMissing<Missing extends never> = Missing;
/** The fields of each message the writers below handle (a Target's are TARGET_FIELDS, which holds itself to Target). */
type WrittenFields = [
  NoneMissing<Exclude<keyof Listener, 'name' | 'port' | 'protocol' | 'hostnames' | 'certificateSecrets'>>,
  NoneMissing<Exclude<keyof Route, 'name' | 'listeners' | 'pathPrefix' | 'backend' | 'hostnames'>>,
  NoneMissing<Exclude<keyof Backend, 'name' | 'prefixMode' | 'failureMode' | 'targets' | 'toolInclude' | 'toolExclude' | 'serverInfo' | 'instructions'>>,
  NoneMissing<Exclude<keyof ServerInfo, 'name' | 'version'>>,
  NoneMissing<Exclude<keyof Endpoint, 'address' | 'port' | 'ready'>>,
  NoneMissing<Exclude<keyof Timeouts, 'requestMs' | 'initializeMs'>>,
];

type Fields = Record<string, unknown>;

function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

// Each writer writes a whole entry (tag, length, message) and returns false at the first value it
// does not write exactly as protobufjs would; the caller then rewinds and serializes the member
// with proto-loader. protobufjs leaves out a field that is null or undefined and writes every other
// one, empty strings, zeros and false included; a repeated field is left out when empty.

/** Listener (Snapshot field 3): name 1, port 2, protocol 3, hostnames 4, certificate_secrets 5. */
export function writeListener(w: Writer, value: unknown): boolean {
  const m = record(value);
  if (!m) return false;
  const at = w.begin(0x1a);
  return w.optString(0x0a, m.name) && w.optUint32(0x10, m.port) && w.optString(0x1a, m.protocol) && w.strings(0x22, m.hostnames) && w.strings(0x2a, m.certificateSecrets) && w.end(at);
}

/** Route (Snapshot field 4): name 1, listeners 2, path_prefix 3, backend 4, hostnames 5. */
export function writeRoute(w: Writer, value: unknown): boolean {
  const m = record(value);
  if (!m) return false;
  const at = w.begin(0x22);
  return w.optString(0x0a, m.name) && w.strings(0x12, m.listeners) && w.optString(0x1a, m.pathPrefix) && w.optString(0x22, m.backend) && w.strings(0x2a, m.hostnames) && w.end(at);
}

/** Backend (Snapshot field 5): name 1, prefix_mode 2, failure_mode 3, targets 4, tool_include 5, tool_exclude 6, server_info 7, instructions 8. */
export function writeBackend(w: Writer, value: unknown): boolean {
  const m = record(value);
  if (!m) return false;
  const at = w.begin(0x2a);
  if (!(w.optString(0x0a, m.name) && w.optEnum(0x10, m.prefixMode, PREFIX_MODES) && w.optEnum(0x18, m.failureMode, FAILURE_MODES))) return false;
  if (!(w.strings(0x22, m.targets) && w.strings(0x2a, m.toolInclude) && w.strings(0x32, m.toolExclude))) return false;
  if (m.serverInfo != null) {
    const info = record(m.serverInfo);
    if (!info) return false;
    const inner = w.begin(0x3a);
    if (!(w.optString(0x0a, info.name) && w.optString(0x12, info.version) && w.end(inner))) return false;
  }
  return w.optString(0x42, m.instructions) && w.end(at);
}

/** The Target's fields (shared/config/target-fields.ts), each with its tag: varint for enums, length-delimited for the rest. */
const TARGET_PROTO = TARGET_FIELDS.map(({ key, number, kind, ...rest }) => ({ key, kind, tag: (number << 3) | (kind === 'enum' ? 0 : 2), values: 'values' in rest ? rest.values : {} }));

/**
 * Target (Snapshot field 6): its fields as shared/config/target-fields.ts lists them (backend 1,
 * name 2, endpoints 3, path 4, protocol 5, scheme 6, timeouts 7, auth_secret 8, source 10,
 * protocol_era 12); a target with stdio (11) is left to proto-loader.
 */
export function writeTarget(w: Writer, value: unknown): boolean {
  const m = record(value);
  if (!m || m.stdio != null) return false;
  const at = w.begin(0x32);
  for (let i = 0; i < TARGET_PROTO.length; i++) {
    const { key, kind, tag, values } = TARGET_PROTO[i]!;
    const member = m[key];
    switch (kind) {
      case 'string':
        if (!w.optString(tag, member)) return false;
        break;
      case 'enum':
        if (!w.optEnum(tag, member, values)) return false;
        break;
      case 'endpoints':
        if (member == null) break;
        if (!Array.isArray(member)) return false;
        for (const item of member as unknown[]) {
          const endpoint = record(item);
          if (!endpoint) return false;
          const inner = w.begin(tag);
          if (!(w.optString(0x0a, endpoint.address) && w.optUint32(0x10, endpoint.port) && w.optBool(0x18, endpoint.ready) && w.end(inner))) return false;
        }
        break;
      case 'timeouts': {
        if (member == null) break;
        const timeouts = record(member);
        if (!timeouts) return false;
        const inner = w.begin(tag);
        if (!(w.optUint32(0x08, timeouts.requestMs) && w.optUint32(0x10, timeouts.initializeMs) && w.end(inner))) return false;
        break;
      }
      case 'stdio':
        break; // null: left out, as protobufjs does
      default: {
        const never: never = kind;
        throw new Error(`unknown target field kind ${String(never)}`);
      }
    }
  }
  return w.end(at);
}

/** Any code unit of a surrogate pair, or a lone one: such strings go to proto-loader (see Writer.optString). */
const SURROGATE = /[\uD800-\uDFFF]/;

/** Writes protobuf into a growing buffer; messages get their length when they end (see begin/end). */
export class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** What was written, copied out; the writer starts again empty. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }

  bytes(data: Uint8Array): void {
    this.room(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  varint(value: number): void {
    this.room(5);
    this.pos = writeVarint(this.buf, this.pos, value);
  }

  /** Starts a length-delimited message field: its tag and one byte kept for its length. Returns where. */
  begin(tag: number): number {
    this.room(2);
    this.buf[this.pos++] = tag;
    return this.pos++;
  }

  /** Ends the message begun at `at`: writes its length there, moving the message if that takes more than a byte. */
  end(at: number): true {
    const length = this.pos - at - 1;
    const size = varintSize(length);
    if (size > 1) {
      this.room(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    writeVarint(this.buf, at, length);
    return true;
  }

  /** A string field, unless null or undefined; false for anything but a string, or one with surrogates. */
  optString(tag: number, value: unknown): boolean {
    if (value == null) return true;
    return typeof value === 'string' && this.string(tag, value);
  }

  /**
   * A string field. protobufjs writes a string of surrogates two ways (its own UTF-8 encoder for
   * short strings writes a lone surrogate as three bytes of its own, Buffer's writes U+FFFD): such
   * strings are rare enough to leave to it, which keeps the bytes the same in every case.
   */
  string(tag: number, value: string): boolean {
    const n = value.length;
    this.room(1 + 5 + n * 3);
    const buf = this.buf;
    buf[this.pos++] = tag;
    if (n < 0x80) {
      // ASCII, the common case, in JavaScript: a one-byte length, then the characters.
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return true;
      }
    }
    if (SURROGATE.test(value)) return false;
    const length = Buffer.byteLength(value, 'utf8');
    this.pos = writeVarint(buf, this.pos, length);
    this.pos += buf.write(value, this.pos, length, 'utf8');
    return true;
  }

  /** Every member of a repeated string field (none when null or empty); false unless a list of strings. */
  strings(tag: number, value: unknown): boolean {
    if (value == null) return true;
    if (!Array.isArray(value)) return false;
    for (const item of value as unknown[]) if (typeof item !== 'string' || !this.string(tag, item)) return false;
    return true;
  }

  /** A uint32 field, unless null or undefined; false for anything but an integer in range (protobufjs would wrap it). */
  optUint32(tag: number, value: unknown): boolean {
    if (value == null) return true;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) return false;
    this.room(1);
    this.buf[this.pos++] = tag;
    this.varint(value);
    return true;
  }

  optBool(tag: number, value: unknown): boolean {
    if (value == null) return true;
    if (typeof value !== 'boolean') return false;
    this.room(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = value ? 1 : 0;
    return true;
  }

  /** An enum field given by name, unless null or undefined; false for a name it does not have (or a number). */
  optEnum(tag: number, value: unknown, values: Readonly<Record<string, number>>): boolean {
    if (value == null) return true;
    if (typeof value !== 'string' || !Object.hasOwn(values, value)) return false;
    this.room(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = values[value]!; // every value is below 128: one varint byte
    return true;
  }
}

export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

/** Writes a uint32 as a varint at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value > 0x7f) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}
