// Original file: proto/mcpmux/v1/admin.proto


export interface ListProxiesRequest {
  /**
   * 0: 500; at most 5000.
   */
  'pageSize'?: (number);
  /**
   * Empty for the first page; else the next_page_token of the previous answer.
   */
  'pageToken'?: (string);
}

export interface ListProxiesRequest__Output {
  /**
   * 0: 500; at most 5000.
   */
  'pageSize': (number);
  /**
   * Empty for the first page; else the next_page_token of the previous answer.
   */
  'pageToken': (string);
}
