// A Target's fields, listed once: name, config.proto field number and kind, in proto order (the
// order the translator builds them in, targets.ts). Both fast writers of a target are driven by
// this list, so neither lists the fields again: canonical JSON (canonical-json.ts, for versions)
// and protobuf (control-plane/discovery/proto-writer.ts, for the wire). A field of a kind below
// needs: config.proto, the Target type (types.ts), the translator's targetOf() (targets.ts) and a
// row here; the compiler refuses a Target key without a row. A new kind (another message inside a
// Target) also needs its case in the two writers.
import type { Protocol, ProtocolEra, Target } from './types.ts';

/** config.proto enum values by name (typed by the generated enums: a value the .proto gains fails tsc here). */
export const PROTOCOLS: Readonly<Record<Protocol, number>> = { PROTOCOL_UNSPECIFIED: 0, PROTOCOL_STREAMABLE_HTTP: 1, PROTOCOL_SSE: 2, PROTOCOL_STDIO: 3 };
export const PROTOCOL_ERAS: Readonly<Record<ProtocolEra, number>> = { PROTOCOL_ERA_UNSPECIFIED: 0, PROTOCOL_ERA_AUTO: 1, PROTOCOL_ERA_LEGACY: 2, PROTOCOL_ERA_MODERN: 3 };

/**
 * string, enum (by name: a string in JSON, its number on the wire), and the three messages:
 * endpoints (repeated Endpoint), timeouts (Timeouts), stdio (StdioCommand: only null is written
 * by the fast writers; a target with a command takes the generic paths).
 */
export type TargetFieldKind = 'string' | 'enum' | 'endpoints' | 'timeouts' | 'stdio';

export interface TargetField {
  readonly key: keyof Target;
  /** The field number in config.proto's Target: below 16, so its tag is one byte. */
  readonly number: number;
  readonly kind: TargetFieldKind;
  /** For an enum: its values. */
  readonly values?: Readonly<Record<string, number>>;
}

export const TARGET_FIELDS = [
  { key: 'backend', number: 1, kind: 'string' },
  { key: 'name', number: 2, kind: 'string' },
  { key: 'endpoints', number: 3, kind: 'endpoints' },
  { key: 'path', number: 4, kind: 'string' },
  { key: 'protocol', number: 5, kind: 'enum', values: PROTOCOLS },
  { key: 'scheme', number: 6, kind: 'string' },
  { key: 'timeouts', number: 7, kind: 'timeouts' },
  { key: 'authSecret', number: 8, kind: 'string' },
  { key: 'source', number: 10, kind: 'string' },
  { key: 'stdio', number: 11, kind: 'stdio' },
  { key: 'protocolEra', number: 12, kind: 'enum', values: PROTOCOL_ERAS },
] as const satisfies readonly TargetField[];

// Every key of Target has its row: a Target field added without one does not compile.
type Unlisted = Exclude<keyof Target, (typeof TARGET_FIELDS)[number]['key']>;
const EVERY_FIELD_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;
void EVERY_FIELD_LISTED;

/** The keys in proto order: a target's own keys, as the translator builds it. */
export const TARGET_KEYS: readonly string[] = TARGET_FIELDS.map((field) => field.key);
