// Original file: proto/mcpmux/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchEventsRequest {
  /**
   * First sequence number to send; 0 for only new events. To resume after a reconnect: the last
   * seq received + 1. One older than the oldest retained event (or past the newest + 1: another
   * replica's or a restarted control plane's numbering) is OUT_OF_RANGE, naming the oldest retained
   * seq, rather than a watch that silently starts later.
   */
  'fromSeq'?: (number | string | Long);
}

export interface WatchEventsRequest__Output {
  /**
   * First sequence number to send; 0 for only new events. To resume after a reconnect: the last
   * seq received + 1. One older than the oldest retained event (or past the newest + 1: another
   * replica's or a restarted control plane's numbering) is OUT_OF_RANGE, naming the oldest retained
   * seq, rather than a watch that silently starts later.
   */
  'fromSeq': (string);
}
