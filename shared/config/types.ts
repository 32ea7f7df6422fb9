// The config model of proto/mcpmux/v1/config.proto as TypeScript sees it after @grpc/proto-loader
// (camelCase fields, enums as their names, every field present). Written once here, checked by tsc;
// proto/ stays the single wire contract.

export type PrefixMode = 'PREFIX_MODE_UNSPECIFIED' | 'PREFIX_MODE_ALWAYS' | 'PREFIX_MODE_CONDITIONAL' | 'PREFIX_MODE_NEVER';
export type FailureMode = 'FAILURE_MODE_UNSPECIFIED' | 'FAILURE_MODE_OPEN' | 'FAILURE_MODE_CLOSED';
export type Protocol = 'PROTOCOL_UNSPECIFIED' | 'PROTOCOL_STREAMABLE_HTTP' | 'PROTOCOL_SSE' | 'PROTOCOL_STDIO';
/** UNSPECIFIED (a control plane that predates the field) means AUTO. */
export type ProtocolEra = 'PROTOCOL_ERA_UNSPECIFIED' | 'PROTOCOL_ERA_AUTO' | 'PROTOCOL_ERA_LEGACY' | 'PROTOCOL_ERA_MODERN';

/** A configured era as operators write it: unspecified (an older control plane) or unknown is auto. */
export function protocolEraName(era: ProtocolEra | string | undefined): 'auto' | 'legacy' | 'modern' {
  return era === 'PROTOCOL_ERA_LEGACY' ? 'legacy' : era === 'PROTOCOL_ERA_MODERN' ? 'modern' : 'auto';
}

export interface Listener {
  name: string;
  port: number;
  /** HTTP or HTTPS. */
  protocol: string;
  /** Empty means any host; `*.example.com` is a wildcard (not the bare domain). */
  hostnames: string[];
  /** HTTPS: snapshot Secrets with `tls.crt` and `tls.key` (PEM); a name not in `secrets` did not resolve. None usable: not served (handshakes refused). */
  certificateSecrets: string[];
}

export interface Route {
  name: string;
  listeners: string[];
  pathPrefix: string;
  backend: string;
  /** Effective hostnames (the route's, intersected with its listeners'); empty: any host its listeners take. */
  hostnames: string[];
}

export interface ServerInfo {
  name: string;
  version: string;
}

export interface Backend {
  name: string;
  prefixMode: PrefixMode;
  failureMode: FailureMode;
  targets: string[];
  toolInclude: string[];
  toolExclude: string[];
  /** proto-loader gives null for an unset message field. */
  serverInfo: ServerInfo | null;
  instructions: string;
}

export interface Endpoint {
  address: string;
  port: number;
  ready: boolean;
}

export interface Timeouts {
  requestMs: number;
  initializeMs: number;
}

export interface Target {
  backend: string;
  name: string;
  endpoints: Endpoint[];
  path: string;
  protocol: Protocol;
  scheme: string;
  timeouts: Timeouts;
  authSecret: string;
  source: string;
  /** PROTOCOL_STDIO only (files source): the command the proxy runs. null otherwise (proto-loader's unset message). */
  stdio: StdioCommand | null;
  /** The MCP era the proxy speaks to it: AUTO probes; always LEGACY for PROTOCOL_SSE and PROTOCOL_STDIO. */
  protocolEra: ProtocolEra;
}

export interface StdioCommand {
  command: string;
  args: string[];
  /** Added to the proxy's environment. */
  env: Record<string, string>;
  /** '' means the proxy's working directory. */
  cwd: string;
}

export interface Policy {
  name: string;
  /** The backends (by name) whose routes it guards. */
  backends: string[];
  authentication: Authentication | null;
  authorization: Authorization | null;
}

export interface Authorization {
  rules: AccessRule[];
}

export interface AccessRule {
  name: string;
  effect: 'allow' | 'deny';
  subjects: string[];
  groups: string[];
  scopes: string[];
  tools: string[];
  targets: string[];
}

export interface Authentication {
  jwt: JwtProvider[];
  apiKeys: ApiKey[];
}

export interface JwtProvider {
  issuer: string;
  audiences: string[];
  jwksUri: string;
  jwksJson: string;
}

export interface ApiKey {
  principal: string;
  /** Lower-case hex sha256 of the key. */
  sha256: string;
}

export interface Secret {
  name: string;
  data: Record<string, string>;
}

/** Everything in a snapshot but its version: what the translator produces and the hash covers. */
export interface SnapshotContent {
  group: string;
  listeners: Listener[];
  routes: Route[];
  backends: Backend[];
  targets: Target[];
  policies: Policy[];
  secrets: Secret[];
}

export interface Snapshot extends SnapshotContent {
  version: string;
}
