// Discovery and admin messages as proto-loader presents them: each name is the generated
// `X__Output` (shared/proto/generated/, kept fresh as shared/config/types.ts says), so uint64
// fields are strings and an unset message field (a Timestamp, a Struct, the snapshot) is null.
// The few shapes written here are ones the generator cannot say, each checked by tsc (`Narrowing`
// below): RequestStateKeys and DiscoveryResponse, one shape for the writing and the reading side,
// take every value the loader decodes and give only values it encodes; StructValue and ProtoValue
// (Struct as the admin server writes it, one member of Value's oneof) give only values it encodes.
import type { ListValue as ListValueInput } from './generated/google/protobuf/ListValue.ts';
import type { Struct as StructInput } from './generated/google/protobuf/Struct.ts';
import type { Timestamp__Output } from './generated/google/protobuf/Timestamp.ts';
import type { Value as ValueInput } from './generated/google/protobuf/Value.ts';
import type { DiffVersionsRequest__Output } from './generated/mcpmux/v1/DiffVersionsRequest.ts';
import type { DiffVersionsResponse__Output } from './generated/mcpmux/v1/DiffVersionsResponse.ts';
import type { DiscoveryRequest__Output } from './generated/mcpmux/v1/DiscoveryRequest.ts';
import type { DiscoveryResponse as DiscoveryResponseInput, DiscoveryResponse__Output } from './generated/mcpmux/v1/DiscoveryResponse.ts';
import type { ErrorDetail__Output } from './generated/mcpmux/v1/ErrorDetail.ts';
import type { Event__Output } from './generated/mcpmux/v1/Event.ts';
import type { FieldChange__Output } from './generated/mcpmux/v1/FieldChange.ts';
import type { GetSnapshotRequest__Output } from './generated/mcpmux/v1/GetSnapshotRequest.ts';
import type { ListEventsRequest__Output } from './generated/mcpmux/v1/ListEventsRequest.ts';
import type { ListEventsResponse__Output } from './generated/mcpmux/v1/ListEventsResponse.ts';
import type { ListProxiesRequest__Output } from './generated/mcpmux/v1/ListProxiesRequest.ts';
import type { ListProxiesResponse__Output } from './generated/mcpmux/v1/ListProxiesResponse.ts';
import type { ListVersionsRequest__Output } from './generated/mcpmux/v1/ListVersionsRequest.ts';
import type { ListVersionsResponse__Output } from './generated/mcpmux/v1/ListVersionsResponse.ts';
import type { Node__Output } from './generated/mcpmux/v1/Node.ts';
import type { ProxyStatus__Output } from './generated/mcpmux/v1/ProxyStatus.ts';
import type { RequestStateKeys as RequestStateKeysInput, RequestStateKeys__Output } from './generated/mcpmux/v1/RequestStateKeys.ts';
import type { ResourceChange__Output } from './generated/mcpmux/v1/ResourceChange.ts';
import type { VersionInfo__Output } from './generated/mcpmux/v1/VersionInfo.ts';
import type { WatchEventsRequest__Output } from './generated/mcpmux/v1/WatchEventsRequest.ts';

/**
 * `T`, a hand-written shape, provided every `Decoded` value fits it and every `T` fits `Input` (what
 * the loader encodes); otherwise tsc reports the constraint that does not hold.
 */
type Narrowing<Decoded extends T, T extends Input, Input> = T;

export type Node = Node__Output;
export type ErrorDetail = ErrorDetail__Output;
export type DiscoveryRequest = DiscoveryRequest__Output;

/**
 * A Gateway's requestState keys: 32 bytes each. Decoded, both are Buffers and `previous` is empty
 * when absent; written (control plane), any Uint8Array, and `previous` is left out when there is
 * none: one shape for both sides.
 */
export type RequestStateKeys = Narrowing<RequestStateKeys__Output, { current: Uint8Array; previous?: Uint8Array | undefined }, RequestStateKeysInput>;

/**
 * `snapshot` is null in a response that only carries requestStateKeys. `requestStateKeys` (only on
 * the first response of a stream and when the keys change, only over mTLS or loopback; never part
 * of the snapshot) is null as decoded and left out when written without keys.
 */
export type DiscoveryResponse = Narrowing<
  DiscoveryResponse__Output,
  Omit<DiscoveryResponse__Output, 'requestStateKeys'> & { requestStateKeys?: RequestStateKeys | null },
  DiscoveryResponseInput
>;

export type Timestamp = Timestamp__Output;

export function toTimestamp(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function fromTimestamp(ts: Timestamp | null | undefined): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;
}

export type GetSnapshotRequest = GetSnapshotRequest__Output;

/** The paging fields of ListProxies, ListVersions and ListEvents (admin.proto says how they work): pageSize 0 is the call's default, pageToken '' the first page. */
export type PageRequest = Pick<ListProxiesRequest__Output, 'pageSize' | 'pageToken'>;
export type ListVersionsRequest = ListVersionsRequest__Output;
export type ListVersionsResponse = ListVersionsResponse__Output;
export type VersionInfo = VersionInfo__Output;
export type DiffVersionsRequest = DiffVersionsRequest__Output;
/** `limit` is the former name of pageSize, read when pageSize is 0. */
export type ListEventsRequest = ListEventsRequest__Output;
export type ListEventsResponse = ListEventsResponse__Output;
export type WatchEventsRequest = WatchEventsRequest__Output;

/**
 * google.protobuf.Struct / Value as the admin server writes them (toStruct): exactly one member of
 * Value's `kind` oneof, named by `kind`, as proto-loader (oneofs: true) also decodes it. The
 * generated Value lists every member as optional; this union says one is there.
 */
export type StructValue = Narrowing<never, { fields: Record<string, ProtoValue> }, StructInput>;
export type ProtoValue = Narrowing<
  never,
  | { kind: 'nullValue'; nullValue: 'NULL_VALUE' }
  | { kind: 'numberValue'; numberValue: number }
  | { kind: 'stringValue'; stringValue: string }
  | { kind: 'boolValue'; boolValue: boolean }
  | { kind: 'structValue'; structValue: StructValue }
  | { kind: 'listValue'; listValue: Narrowing<never, { values: ProtoValue[] }, ListValueInput> },
  ValueInput
>;

export function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { kind: 'nullValue', nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { kind: 'numberValue', numberValue: value };
  if (typeof value === 'string') return { kind: 'stringValue', stringValue: value };
  if (typeof value === 'boolean') return { kind: 'boolValue', boolValue: value };
  if (Array.isArray(value)) return { kind: 'listValue', listValue: { values: value.map(toProtoValue) } };
  if (typeof value === 'object') return { kind: 'structValue', structValue: toStruct(value as Record<string, unknown>) };
  return { kind: 'stringValue', stringValue: String(value) };
}

export function toStruct(object: Record<string, unknown>): StructValue {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) fields[key] = toProtoValue(value);
  return { fields };
}

/** admin.proto's Event (named so beside the control plane's own events); `object` has Secret data redacted. */
export type AdminEvent = Event__Output;
export type ProxyStatus = ProxyStatus__Output;
export type ListProxiesRequest = ListProxiesRequest__Output;
/** `history`: where the control plane's event history lives ("memory (this replica only)", "file PATH", ...). */
export type ListProxiesResponse = ListProxiesResponse__Output;
/** One field that differs between two versions of a resource: values as JSON text, '' for absent. */
export type FieldChange = FieldChange__Output;
/** `kind`: "listener", "route", "backend", "target", "policy" or "secret"; `change`: "added", "removed" or "changed". */
export type ResourceChange = ResourceChange__Output;
export type DiffVersionsResponse = DiffVersionsResponse__Output;
