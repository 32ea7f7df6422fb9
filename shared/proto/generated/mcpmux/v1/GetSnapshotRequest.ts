// Original file: proto/mcpmux/v1/admin.proto


export interface GetSnapshotRequest {
  /**
   * "<namespace>/<name>" of a Gateway; may be empty when there is one group.
   */
  'group'?: (string);
  /**
   * Empty for the current snapshot.
   */
  'version'?: (string);
}

export interface GetSnapshotRequest__Output {
  /**
   * "<namespace>/<name>" of a Gateway; may be empty when there is one group.
   */
  'group': (string);
  /**
   * Empty for the current snapshot.
   */
  'version': (string);
}
