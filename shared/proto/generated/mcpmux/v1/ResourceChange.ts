// Original file: proto/mcpmux/v1/admin.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';
import type { FieldChange as _mcpmux_v1_FieldChange, FieldChange__Output as _mcpmux_v1_FieldChange__Output } from '../../mcpmux/v1/FieldChange.ts';

export interface ResourceChange {
  /**
   * "listener", "route", "backend", "target", "policy" or "secret".
   */
  'kind'?: (string);
  /**
   * Its name in the snapshot ("<backend>/<target>" for targets).
   */
  'name'?: (string);
  /**
   * "added", "removed" or "changed".
   */
  'change'?: (string);
  /**
   * Absent for "added" (before) and "removed" (after). Secrets redacted.
   */
  'before'?: (_google_protobuf_Struct | null);
  'after'?: (_google_protobuf_Struct | null);
  /**
   * The fields that differ: for "changed", each field added, removed or changed; for "added" and
   * "removed", the resource's top-level fields that hold something.
   */
  'fields'?: (_mcpmux_v1_FieldChange)[];
}

export interface ResourceChange__Output {
  /**
   * "listener", "route", "backend", "target", "policy" or "secret".
   */
  'kind': (string);
  /**
   * Its name in the snapshot ("<backend>/<target>" for targets).
   */
  'name': (string);
  /**
   * "added", "removed" or "changed".
   */
  'change': (string);
  /**
   * Absent for "added" (before) and "removed" (after). Secrets redacted.
   */
  'before': (_google_protobuf_Struct__Output | null);
  'after': (_google_protobuf_Struct__Output | null);
  /**
   * The fields that differ: for "changed", each field added, removed or changed; for "added" and
   * "removed", the resource's top-level fields that hold something.
   */
  'fields': (_mcpmux_v1_FieldChange__Output)[];
}
