// The Kubernetes names the translator reads: group-qualified kinds (as the state indexes them),
// annotations, labels. The MCP appProtocol list lives in app-protocol.ts.

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
export const AGENTGATEWAY_GROUP = 'agentgateway.dev';
export const MCPMUX_GROUP = 'mcpmux.dev';

export const Kinds = {
  Service: 'Service',
  Secret: 'Secret',
  Namespace: 'Namespace',
  EndpointSlice: 'EndpointSlice.discovery.k8s.io',
  GatewayClass: `GatewayClass.${GATEWAY_API_GROUP}`,
  Gateway: `Gateway.${GATEWAY_API_GROUP}`,
  HTTPRoute: `HTTPRoute.${GATEWAY_API_GROUP}`,
  ReferenceGrant: `ReferenceGrant.${GATEWAY_API_GROUP}`,
  AgentgatewayBackend: `AgentgatewayBackend.${AGENTGATEWAY_GROUP}`,
  MCPBackend: `MCPBackend.${MCPMUX_GROUP}`,
} as const;

/** The backend kinds an HTTPRoute backendRef may name, by `group/kind` of the ref. */
export const BACKEND_REF_KINDS: Readonly<Record<string, string>> = {
  [`${AGENTGATEWAY_GROUP}/AgentgatewayBackend`]: Kinds.AgentgatewayBackend,
  [`${MCPMUX_GROUP}/MCPBackend`]: Kinds.MCPBackend,
};

export const Annotations = {
  // On a Service:
  /** Overrides the target name derived from the Service. */
  targetName: 'mcpmux.dev/target-name',
  /** Where the Service's MCP server is reached, e.g. http://127.0.0.1:3001/mcp; wins over EndpointSlices. */
  url: 'mcpmux.dev/url',
  /** HTTP path of the MCP endpoint when not /mcp. */
  path: 'mcpmux.dev/path',
  /** auto | legacy | modern: the MCP era of the Service's targets; wins over the backend's protocolEra (protocol-era.ts). */
  protocolEra: 'mcpmux.dev/protocol-era',

  // On an AgentgatewayBackend or MCPBackend (backend-options.ts). Present, even empty, wins over the
  // MCPBackend spec field it stands for.
  /** always | conditional | never (spec.prefixMode). */
  prefixMode: 'mcpmux.dev/prefix-mode',
  /** Comma-separated tool name globs (spec.tools.include). */
  toolInclude: 'mcpmux.dev/tool-include',
  /** Comma-separated tool name globs (spec.tools.exclude). */
  toolExclude: 'mcpmux.dev/tool-exclude',
  /** serverInfo.name clients see (spec.serverInfo.name). */
  serverName: 'mcpmux.dev/server-name',
  /** serverInfo.version clients see (spec.serverInfo.version). */
  serverVersion: 'mcpmux.dev/server-version',
  /** The instructions of initialize (spec.instructions). */
  instructions: 'mcpmux.dev/instructions',
} as const;

export const Labels = {
  /** Ties an EndpointSlice to its Service. */
  serviceName: 'kubernetes.io/service-name',
  /** Set on every Namespace by the apiserver; lets namespace selectors work without Namespace objects. */
  namespaceName: 'kubernetes.io/metadata.name',
} as const;

/** The controller we are, as a GatewayClass names it. */
export const MCPMUX_CONTROLLER_NAME = 'mcpmux.dev/gateway-controller';
