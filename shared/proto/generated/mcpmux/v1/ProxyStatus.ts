// Original file: proto/mcpmux/v1/admin.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface ProxyStatus {
  'nodeId'?: (string);
  'group'?: (string);
  'connected'?: (boolean);
  'ackedVersion'?: (string);
  /**
   * The version most recently sent to it.
   */
  'sentVersion'?: (string);
  'lastNackVersion'?: (string);
  'lastNackError'?: (string);
  'lastSeen'?: (_google_protobuf_Timestamp | null);
  'metadata'?: ({[key: string]: string});
}

export interface ProxyStatus__Output {
  'nodeId': (string);
  'group': (string);
  'connected': (boolean);
  'ackedVersion': (string);
  /**
   * The version most recently sent to it.
   */
  'sentVersion': (string);
  'lastNackVersion': (string);
  'lastNackError': (string);
  'lastSeen': (_google_protobuf_Timestamp__Output | null);
  'metadata': ({[key: string]: string});
}
