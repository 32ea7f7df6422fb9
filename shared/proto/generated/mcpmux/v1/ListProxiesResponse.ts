// Original file: proto/mcpmux/v1/admin.proto

import type { ProxyStatus as _mcpmux_v1_ProxyStatus, ProxyStatus__Output as _mcpmux_v1_ProxyStatus__Output } from '../../mcpmux/v1/ProxyStatus.ts';

export interface ListProxiesResponse {
  'proxies'?: (_mcpmux_v1_ProxyStatus)[];
  /**
   * Empty on the last page.
   */
  'nextPageToken'?: (string);
  /**
   * Where this control plane's event history (ListEvents, WatchEvents, past versions) lives, e.g.
   * "memory (this replica only)", "file /var/lib/mcpmux/events.jsonl", "nats stream MCPMUX_EVENTS":
   * what another replica or a restart can still answer.
   */
  'history'?: (string);
}

export interface ListProxiesResponse__Output {
  'proxies': (_mcpmux_v1_ProxyStatus__Output)[];
  /**
   * Empty on the last page.
   */
  'nextPageToken': (string);
  /**
   * Where this control plane's event history (ListEvents, WatchEvents, past versions) lives, e.g.
   * "memory (this replica only)", "file /var/lib/mcpmux/events.jsonl", "nats stream MCPMUX_EVENTS":
   * what another replica or a restart can still answer.
   */
  'history': (string);
}
