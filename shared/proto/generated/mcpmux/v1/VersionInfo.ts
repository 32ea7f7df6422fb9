// Original file: proto/mcpmux/v1/admin.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { Long } from '@grpc/proto-loader';

export interface VersionInfo {
  'group'?: (string);
  'version'?: (string);
  'builtAt'?: (_google_protobuf_Timestamp | null);
  /**
   * The last event sequence number folded into it.
   */
  'eventSeq'?: (number | string | Long);
}

export interface VersionInfo__Output {
  'group': (string);
  'version': (string);
  'builtAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * The last event sequence number folded into it.
   */
  'eventSeq': (string);
}
