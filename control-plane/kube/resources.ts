// The resource types the kubernetes source watches, and how their API paths are spelt.
import { AGENTGATEWAY_GROUP, GATEWAY_API_GROUP, MCPMUX_GROUP } from '../translate/kinds.ts';

export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Lower-case plural, as in the URL. */
  plural: string;
  kind: string;
  namespaced: boolean;
  /**
   * Not every cluster has it (a CRD): a 404 on its list means "not installed", which is logged and
   * retried with backoff rather than failing the control plane, and counts as synced and empty.
   */
  optional: boolean;
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The list/watch path, in one namespace or across all of them. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  return type.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}` : `${base}/${type.plural}`;
}

/** The path of one object (and of its subresource, e.g. "status"). */
export function objectPath(type: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  const collection = collectionPath(type, type.namespaced ? namespace : undefined);
  return `${collection}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

const core = (plural: string, kind: string, namespaced = true): ResourceType => ({ group: '', version: 'v1', plural, kind, namespaced, optional: false });

export const Resources = {
  Namespace: core('namespaces', 'Namespace', false),
  Service: core('services', 'Service'),
  Secret: core('secrets', 'Secret'),
  ConfigMap: core('configmaps', 'ConfigMap'),
  ServiceAccount: core('serviceaccounts', 'ServiceAccount'),
  Event: core('events', 'Event'),
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true, optional: false },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, optional: false },
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, optional: false },
  GatewayClass: { group: GATEWAY_API_GROUP, version: 'v1', plural: 'gatewayclasses', kind: 'GatewayClass', namespaced: false, optional: true },
  Gateway: { group: GATEWAY_API_GROUP, version: 'v1', plural: 'gateways', kind: 'Gateway', namespaced: true, optional: true },
  HTTPRoute: { group: GATEWAY_API_GROUP, version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', namespaced: true, optional: true },
  ReferenceGrant: { group: GATEWAY_API_GROUP, version: 'v1beta1', plural: 'referencegrants', kind: 'ReferenceGrant', namespaced: true, optional: true },
  MCPBackend: { group: MCPMUX_GROUP, version: 'v1alpha1', plural: 'mcpbackends', kind: 'MCPBackend', namespaced: true, optional: true },
  AgentgatewayBackend: { group: AGENTGATEWAY_GROUP, version: 'v1alpha1', plural: 'agentgatewaybackends', kind: 'AgentgatewayBackend', namespaced: true, optional: true },
} as const satisfies Record<string, ResourceType>;

/**
 * What the translator reads from a cluster. Secrets are not here: only the ones backends reference
 * are read, one by one (never a cluster-wide list of every Secret).
 */
export const WATCHED: readonly ResourceType[] = [
  Resources.Namespace,
  Resources.Service,
  Resources.EndpointSlice,
  Resources.GatewayClass,
  Resources.Gateway,
  Resources.HTTPRoute,
  Resources.ReferenceGrant,
  Resources.MCPBackend,
  Resources.AgentgatewayBackend,
];
