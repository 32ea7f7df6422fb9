// Original file: proto/mcpmux/v1/admin.proto

import type { Event as _mcpmux_v1_Event, Event__Output as _mcpmux_v1_Event__Output } from '../../mcpmux/v1/Event.ts';

export interface ListEventsResponse {
  'events'?: (_mcpmux_v1_Event)[];
  /**
   * Empty on the last page (the newest event is in this one). It names the next seq: events
   * appended meanwhile are on the next page, none twice.
   */
  'nextPageToken'?: (string);
}

export interface ListEventsResponse__Output {
  'events': (_mcpmux_v1_Event__Output)[];
  /**
   * Empty on the last page (the newest event is in this one). It names the next seq: events
   * appended meanwhile are on the next page, none twice.
   */
  'nextPageToken': (string);
}
