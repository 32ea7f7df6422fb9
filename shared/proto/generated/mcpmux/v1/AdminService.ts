// Original file: proto/mcpmux/v1/admin.proto

import type { MethodDefinition } from '@grpc/proto-loader'
import type { DiffVersionsRequest as _mcpmux_v1_DiffVersionsRequest, DiffVersionsRequest__Output as _mcpmux_v1_DiffVersionsRequest__Output } from '../../mcpmux/v1/DiffVersionsRequest.ts';
import type { DiffVersionsResponse as _mcpmux_v1_DiffVersionsResponse, DiffVersionsResponse__Output as _mcpmux_v1_DiffVersionsResponse__Output } from '../../mcpmux/v1/DiffVersionsResponse.ts';
import type { Event as _mcpmux_v1_Event, Event__Output as _mcpmux_v1_Event__Output } from '../../mcpmux/v1/Event.ts';
import type { GetSnapshotRequest as _mcpmux_v1_GetSnapshotRequest, GetSnapshotRequest__Output as _mcpmux_v1_GetSnapshotRequest__Output } from '../../mcpmux/v1/GetSnapshotRequest.ts';
import type { ListEventsRequest as _mcpmux_v1_ListEventsRequest, ListEventsRequest__Output as _mcpmux_v1_ListEventsRequest__Output } from '../../mcpmux/v1/ListEventsRequest.ts';
import type { ListEventsResponse as _mcpmux_v1_ListEventsResponse, ListEventsResponse__Output as _mcpmux_v1_ListEventsResponse__Output } from '../../mcpmux/v1/ListEventsResponse.ts';
import type { ListProxiesRequest as _mcpmux_v1_ListProxiesRequest, ListProxiesRequest__Output as _mcpmux_v1_ListProxiesRequest__Output } from '../../mcpmux/v1/ListProxiesRequest.ts';
import type { ListProxiesResponse as _mcpmux_v1_ListProxiesResponse, ListProxiesResponse__Output as _mcpmux_v1_ListProxiesResponse__Output } from '../../mcpmux/v1/ListProxiesResponse.ts';
import type { ListVersionsRequest as _mcpmux_v1_ListVersionsRequest, ListVersionsRequest__Output as _mcpmux_v1_ListVersionsRequest__Output } from '../../mcpmux/v1/ListVersionsRequest.ts';
import type { ListVersionsResponse as _mcpmux_v1_ListVersionsResponse, ListVersionsResponse__Output as _mcpmux_v1_ListVersionsResponse__Output } from '../../mcpmux/v1/ListVersionsResponse.ts';
import type { Snapshot as _mcpmux_v1_Snapshot, Snapshot__Output as _mcpmux_v1_Snapshot__Output } from '../../mcpmux/v1/Snapshot.ts';
import type { WatchEventsRequest as _mcpmux_v1_WatchEventsRequest, WatchEventsRequest__Output as _mcpmux_v1_WatchEventsRequest__Output } from '../../mcpmux/v1/WatchEventsRequest.ts';

export interface AdminServiceDefinition {
  DiffVersions: MethodDefinition<_mcpmux_v1_DiffVersionsRequest, _mcpmux_v1_DiffVersionsResponse, _mcpmux_v1_DiffVersionsRequest__Output, _mcpmux_v1_DiffVersionsResponse__Output>
  GetSnapshot: MethodDefinition<_mcpmux_v1_GetSnapshotRequest, _mcpmux_v1_Snapshot, _mcpmux_v1_GetSnapshotRequest__Output, _mcpmux_v1_Snapshot__Output>
  ListEvents: MethodDefinition<_mcpmux_v1_ListEventsRequest, _mcpmux_v1_ListEventsResponse, _mcpmux_v1_ListEventsRequest__Output, _mcpmux_v1_ListEventsResponse__Output>
  ListProxies: MethodDefinition<_mcpmux_v1_ListProxiesRequest, _mcpmux_v1_ListProxiesResponse, _mcpmux_v1_ListProxiesRequest__Output, _mcpmux_v1_ListProxiesResponse__Output>
  ListVersions: MethodDefinition<_mcpmux_v1_ListVersionsRequest, _mcpmux_v1_ListVersionsResponse, _mcpmux_v1_ListVersionsRequest__Output, _mcpmux_v1_ListVersionsResponse__Output>
  WatchEvents: MethodDefinition<_mcpmux_v1_WatchEventsRequest, _mcpmux_v1_Event, _mcpmux_v1_WatchEventsRequest__Output, _mcpmux_v1_Event__Output>
}
