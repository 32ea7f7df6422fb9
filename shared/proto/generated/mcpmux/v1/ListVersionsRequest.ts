// Original file: proto/mcpmux/v1/admin.proto


export interface ListVersionsRequest {
  /**
   * Empty for every group.
   */
  'group'?: (string);
  /**
   * 0: 100; at most 1000.
   */
  'pageSize'?: (number);
  /**
   * Empty for the first page; else the next_page_token of the previous answer (same group).
   */
  'pageToken'?: (string);
}

export interface ListVersionsRequest__Output {
  /**
   * Empty for every group.
   */
  'group': (string);
  /**
   * 0: 100; at most 1000.
   */
  'pageSize': (number);
  /**
   * Empty for the first page; else the next_page_token of the previous answer (same group).
   */
  'pageToken': (string);
}
