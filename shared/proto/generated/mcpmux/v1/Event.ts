// Original file: proto/mcpmux/v1/admin.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';
import type { Long } from '@grpc/proto-loader';

export interface Event {
  'seq'?: (number | string | Long);
  'time'?: (_google_protobuf_Timestamp | null);
  /**
   * "files" or "kubernetes".
   */
  'source'?: (string);
  'kind'?: (string);
  'namespace'?: (string);
  'name'?: (string);
  /**
   * "upsert" or "delete".
   */
  'type'?: (string);
  /**
   * The object as the source saw it (Secret data redacted).
   */
  'object'?: (_google_protobuf_Struct | null);
}

export interface Event__Output {
  'seq': (string);
  'time': (_google_protobuf_Timestamp__Output | null);
  /**
   * "files" or "kubernetes".
   */
  'source': (string);
  'kind': (string);
  'namespace': (string);
  'name': (string);
  /**
   * "upsert" or "delete".
   */
  'type': (string);
  /**
   * The object as the source saw it (Secret data redacted).
   */
  'object': (_google_protobuf_Struct__Output | null);
}
