// Original file: proto/mcpmux/v1/discovery.proto

import type { MethodDefinition } from '@grpc/proto-loader'
import type { DiscoveryRequest as _mcpmux_v1_DiscoveryRequest, DiscoveryRequest__Output as _mcpmux_v1_DiscoveryRequest__Output } from '../../mcpmux/v1/DiscoveryRequest.ts';
import type { DiscoveryResponse as _mcpmux_v1_DiscoveryResponse, DiscoveryResponse__Output as _mcpmux_v1_DiscoveryResponse__Output } from '../../mcpmux/v1/DiscoveryResponse.ts';

export interface DiscoveryServiceDefinition {
  StreamSnapshots: MethodDefinition<_mcpmux_v1_DiscoveryRequest, _mcpmux_v1_DiscoveryResponse, _mcpmux_v1_DiscoveryRequest__Output, _mcpmux_v1_DiscoveryResponse__Output>
}
