// Original file: proto/mcpmux/v1/admin.proto


export interface DiffVersionsRequest {
  /**
   * May be empty when there is one group.
   */
  'group'?: (string);
  'fromVersion'?: (string);
  /**
   * Empty for the current version.
   */
  'toVersion'?: (string);
}

export interface DiffVersionsRequest__Output {
  /**
   * May be empty when there is one group.
   */
  'group': (string);
  'fromVersion': (string);
  /**
   * Empty for the current version.
   */
  'toVersion': (string);
}
