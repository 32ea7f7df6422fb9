// The config model of proto/mcpmux/v1/config.proto as TypeScript sees it: the shapes are generated
// from the .proto, not written here. `npm run proto:types` (shared/proto/generate-types.ts) runs
// @grpc/proto-loader's proto-loader-gen-types with the flags that match LOADER_OPTIONS in
// shared/proto/load.ts, into shared/proto/generated/; shared/proto/generated.test.ts fails when
// that folder is stale. Each name below is the generated `X__Output`: the message as the loader
// decodes it (camelCase fields, enums as their names, every field present, an unset message field
// null), which is also the shape the control plane builds and encodes. proto/ stays the single
// wire contract: add a field there, run `npm run proto:types`, and tsc names every place that builds one.
import type { AccessRule__Output } from '../proto/generated/mcpmux/v1/AccessRule.ts';
import type { ApiKey__Output } from '../proto/generated/mcpmux/v1/ApiKey.ts';
import type { Authentication__Output } from '../proto/generated/mcpmux/v1/Authentication.ts';
import type { Authorization__Output } from '../proto/generated/mcpmux/v1/Authorization.ts';
import type { Backend__Output } from '../proto/generated/mcpmux/v1/Backend.ts';
import type { Endpoint__Output } from '../proto/generated/mcpmux/v1/Endpoint.ts';
import type { FailureMode__Output } from '../proto/generated/mcpmux/v1/FailureMode.ts';
import type { JwtProvider__Output } from '../proto/generated/mcpmux/v1/JwtProvider.ts';
import type { Listener__Output } from '../proto/generated/mcpmux/v1/Listener.ts';
import type { Policy__Output } from '../proto/generated/mcpmux/v1/Policy.ts';
import type { PrefixMode__Output } from '../proto/generated/mcpmux/v1/PrefixMode.ts';
import type { Protocol__Output } from '../proto/generated/mcpmux/v1/Protocol.ts';
import type { ProtocolEra__Output } from '../proto/generated/mcpmux/v1/ProtocolEra.ts';
import type { Route__Output } from '../proto/generated/mcpmux/v1/Route.ts';
import type { Secret__Output } from '../proto/generated/mcpmux/v1/Secret.ts';
import type { ServerInfo__Output } from '../proto/generated/mcpmux/v1/ServerInfo.ts';
import type { Snapshot__Output } from '../proto/generated/mcpmux/v1/Snapshot.ts';
import type { StdioCommand__Output } from '../proto/generated/mcpmux/v1/StdioCommand.ts';
import type { Target__Output } from '../proto/generated/mcpmux/v1/Target.ts';
import type { Timeouts__Output } from '../proto/generated/mcpmux/v1/Timeouts.ts';

export type PrefixMode = PrefixMode__Output;
export type FailureMode = FailureMode__Output;
export type Protocol = Protocol__Output;
export type ProtocolEra = ProtocolEra__Output;

/** A configured era as operators write it: unspecified (an older control plane) or unknown is auto. */
export function protocolEraName(era: ProtocolEra | string | undefined): 'auto' | 'legacy' | 'modern' {
  return era === 'PROTOCOL_ERA_LEGACY' ? 'legacy' : era === 'PROTOCOL_ERA_MODERN' ? 'modern' : 'auto';
}

// Field docs are the .proto's comments (the generated files carry them). An unset message field is
// null as decoded: Backend.serverInfo, Target.timeouts and Target.stdio, Policy.authentication and
// Policy.authorization.
export type Listener = Listener__Output;
export type Route = Route__Output;
export type ServerInfo = ServerInfo__Output;
export type Backend = Backend__Output;
export type Endpoint = Endpoint__Output;
export type Timeouts = Timeouts__Output;
export type Target = Target__Output;
export type StdioCommand = StdioCommand__Output;
export type Policy = Policy__Output;
export type Authorization = Authorization__Output;
export type AccessRule = AccessRule__Output;
export type Authentication = Authentication__Output;
export type JwtProvider = JwtProvider__Output;
export type ApiKey = ApiKey__Output;
export type Secret = Secret__Output;
export type Snapshot = Snapshot__Output;

/** Everything in a snapshot but its version: what the translator produces and the hash covers. */
export type SnapshotContent = Omit<Snapshot, 'version'>;
