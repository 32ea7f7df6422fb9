// Discovery and admin messages as proto-loader presents them (see shared/config/types.ts for the
// conventions). uint64 fields arrive as strings.
import type { Snapshot } from '../config/types.ts';

export interface Node {
  id: string;
  metadata: Record<string, string>;
}

export interface ErrorDetail {
  code: string;
  message: string;
}

export interface DiscoveryRequest {
  node: Node | null;
  group: string;
  versionInfo: string;
  responseNonce: string;
  errorDetail: ErrorDetail | null;
}

/**
 * A Gateway's requestState keys (discovery.proto RequestStateKeys): 32 bytes each. As decoded,
 * `previous` is an empty Buffer when absent; as written, leave it out.
 */
export interface RequestStateKeys {
  current: Uint8Array;
  previous?: Uint8Array | undefined;
}

export interface DiscoveryResponse {
  versionInfo: string;
  nonce: string;
  /** Null (as decoded) in a response that only carries requestStateKeys. */
  snapshot: Snapshot;
  /** Only on the first response of a stream and when the keys change, and only over mTLS or loopback; never part of the snapshot. */
  requestStateKeys?: RequestStateKeys | null;
}

export interface Timestamp {
  seconds: string;
  nanos: number;
}

export function toTimestamp(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function fromTimestamp(ts: Timestamp | null | undefined): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;
}

export interface GetSnapshotRequest {
  group: string;
  version: string;
}

/** The paging fields of ListProxies, ListVersions and ListEvents (admin.proto says how they work). */
export interface PageRequest {
  /** 0: the call's default. */
  pageSize: number;
  /** '' for the first page. */
  pageToken: string;
}

export interface ListVersionsRequest extends PageRequest {
  group: string;
}

export interface ListVersionsResponse {
  versions: VersionInfo[];
  /** '' on the last page. */
  nextPageToken: string;
}

export interface VersionInfo {
  group: string;
  version: string;
  builtAt: Timestamp;
  eventSeq: string;
}

export interface DiffVersionsRequest {
  group: string;
  fromVersion: string;
  toVersion: string;
}

export interface ListEventsRequest extends PageRequest {
  fromSeq: string;
  /** The former name of pageSize, read when pageSize is 0. */
  limit: number;
}

export interface ListEventsResponse {
  events: AdminEvent[];
  nextPageToken: string;
}

export interface WatchEventsRequest {
  fromSeq: string;
}

/** google.protobuf.Struct / Value as proto-loader (objects: true, oneofs: true) shapes them. */
export interface StructValue {
  fields: Record<string, ProtoValue>;
}
export type ProtoValue =
  | { kind: 'nullValue'; nullValue: 'NULL_VALUE' }
  | { kind: 'numberValue'; numberValue: number }
  | { kind: 'stringValue'; stringValue: string }
  | { kind: 'boolValue'; boolValue: boolean }
  | { kind: 'structValue'; structValue: StructValue }
  | { kind: 'listValue'; listValue: { values: ProtoValue[] } };

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

export interface AdminEvent {
  seq: string;
  time: Timestamp;
  source: string;
  kind: string;
  namespace: string;
  name: string;
  type: string;
  object: StructValue | null;
}

export interface ProxyStatus {
  nodeId: string;
  group: string;
  connected: boolean;
  ackedVersion: string;
  sentVersion: string;
  lastNackVersion: string;
  lastNackError: string;
  lastSeen: Timestamp;
  metadata: Record<string, string>;
}

export type ListProxiesRequest = PageRequest;

export interface ListProxiesResponse {
  proxies: ProxyStatus[];
  nextPageToken: string;
  /** Where the control plane's event history lives ("memory (this replica only)", "file PATH", ...). */
  history: string;
}

/** One field that differs between two versions of a resource: values as JSON text, '' for absent. */
export interface FieldChange {
  path: string;
  before: string;
  after: string;
}

export interface ResourceChange {
  /** "listener", "route", "backend", "target", "policy" or "secret". */
  kind: string;
  name: string;
  /** "added", "removed" or "changed". */
  change: string;
  before: StructValue | null;
  after: StructValue | null;
  fields: FieldChange[];
}

export interface DiffVersionsResponse {
  group: string;
  fromVersion: string;
  toVersion: string;
  fromEventSeq: string;
  toEventSeq: string;
  changes: ResourceChange[];
  events: AdminEvent[];
}
