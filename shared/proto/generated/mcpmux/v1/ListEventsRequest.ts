// Original file: proto/mcpmux/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface ListEventsRequest {
  /**
   * First sequence number to return; 0 for all that are retained (one older than the oldest
   * retained starts there: the first event's seq says where). Read on the first page only: a
   * page_token says where the next page starts.
   */
  'fromSeq'?: (number | string | Long);
  /**
   * The former name of page_size, still read when page_size is 0.
   */
  'limit'?: (number);
  /**
   * 0: 1000; at most 10000.
   */
  'pageSize'?: (number);
  /**
   * Empty for the first page; else the next_page_token of the previous answer.
   */
  'pageToken'?: (string);
}

export interface ListEventsRequest__Output {
  /**
   * First sequence number to return; 0 for all that are retained (one older than the oldest
   * retained starts there: the first event's seq says where). Read on the first page only: a
   * page_token says where the next page starts.
   */
  'fromSeq': (string);
  /**
   * The former name of page_size, still read when page_size is 0.
   */
  'limit': (number);
  /**
   * 0: 1000; at most 10000.
   */
  'pageSize': (number);
  /**
   * Empty for the first page; else the next_page_token of the previous answer.
   */
  'pageToken': (string);
}
