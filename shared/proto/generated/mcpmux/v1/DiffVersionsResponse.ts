// Original file: proto/mcpmux/v1/admin.proto

import type { ResourceChange as _mcpmux_v1_ResourceChange, ResourceChange__Output as _mcpmux_v1_ResourceChange__Output } from '../../mcpmux/v1/ResourceChange.ts';
import type { Event as _mcpmux_v1_Event, Event__Output as _mcpmux_v1_Event__Output } from '../../mcpmux/v1/Event.ts';
import type { Long } from '@grpc/proto-loader';

export interface DiffVersionsResponse {
  'group'?: (string);
  'fromVersion'?: (string);
  'toVersion'?: (string);
  /**
   * The events that made each version.
   */
  'fromEventSeq'?: (number | string | Long);
  'toEventSeq'?: (number | string | Long);
  'changes'?: (_mcpmux_v1_ResourceChange)[];
  /**
   * The retained events after from_event_seq up to to_event_seq (empty when going back in time).
   */
  'events'?: (_mcpmux_v1_Event)[];
}

export interface DiffVersionsResponse__Output {
  'group': (string);
  'fromVersion': (string);
  'toVersion': (string);
  /**
   * The events that made each version.
   */
  'fromEventSeq': (string);
  'toEventSeq': (string);
  'changes': (_mcpmux_v1_ResourceChange__Output)[];
  /**
   * The retained events after from_event_seq up to to_event_seq (empty when going back in time).
   */
  'events': (_mcpmux_v1_Event__Output)[];
}
