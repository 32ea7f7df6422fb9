// An HTTPRoute's rules read into (path prefix → backend) pairs, independent of where it attaches:
// matches, backendRefs, the ReferenceGrants that permit cross-namespace refs. attach.ts decides
// which listeners each route lands on.
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { BACKEND_REF_KINDS, GATEWAY_API_GROUP } from './kinds.ts';
import { referenceGranted } from './reference-grants.ts';
import { at, integer, list, record, records, string } from './read.ts';

export interface BackendKey {
  /** As the state indexes it: "MCPBackend.mcpmux.dev". */
  groupKind: string;
  namespace: string;
  name: string;
}

export interface RouteMatch {
  /** "<namespace>/<route>/<rule index>/<match index>". */
  name: string;
  pathPrefix: string;
  backend: BackendKey;
}

export interface RouteProblem {
  reason: string;
  message: string;
}

export interface ReadRoute {
  object: KubeObject;
  namespace: string;
  name: string;
  /** In rule, then match order. */
  matches: RouteMatch[];
  /** backendRefs that do not resolve (ResolvedRefs=False). */
  unresolved: RouteProblem[];
  /** Parts of the route left out (PartiallyInvalid=True). */
  partial: string[];
}

export function readHTTPRoute(route: KubeObject, state: ClusterState): ReadRoute {
  const namespace = route.metadata.namespace ?? '';
  const result: ReadRoute = { object: route, namespace, name: route.metadata.name, matches: [], unresolved: [], partial: [] };
  for (const [r, rule] of records(at(route, 'spec', 'rules')).entries()) {
    let backend: BackendKey | undefined;
    for (const [b, ref] of records(rule.backendRefs).entries()) {
      if (integer(ref.weight) === 0) continue; // weight 0: the ref is there but takes no traffic
      const resolved = resolveBackendRef(ref, namespace, state);
      if ('reason' in resolved) {
        result.unresolved.push({ reason: resolved.reason, message: `rule ${r} backendRef ${b}: ${resolved.message}` });
      } else if (backend) {
        // A Route carries one backend: traffic splitting between MCP backends would split sessions.
        result.partial.push(`rule ${r}: only the first usable backendRef is served; backendRef ${b} is ignored`);
      } else {
        backend = resolved;
      }
    }
    if (!backend) continue;
    const matches = rule.matches === undefined ? [{}] : list(rule.matches);
    for (const [m, match] of matches.entries()) {
      const prefix = pathPrefix(record(match) ?? {});
      if (typeof prefix !== 'string') {
        result.partial.push(`rule ${r} match ${m}: ${prefix.unsupported}; the match is ignored`);
        continue;
      }
      result.matches.push({ name: `${namespace}/${route.metadata.name}/${r}/${m}`, pathPrefix: prefix, backend });
    }
  }
  return result;
}

/** The match's path prefix, normalized ("/mcp/" serves what "/mcp" does), or why it is unsupported. */
function pathPrefix(match: Readonly<Record<string, unknown>>): string | { unsupported: string } {
  for (const field of ['headers', 'queryParams', 'method'] as const) {
    if (match[field] !== undefined && list(match[field]).length !== 0) return { unsupported: `${field} matches are not supported` };
  }
  const type = string(at(match, 'path', 'type')) ?? 'PathPrefix';
  const value = string(at(match, 'path', 'value')) ?? '/';
  if (type !== 'PathPrefix') return { unsupported: `path type ${type} is not supported (PathPrefix only)` };
  if (!value.startsWith('/')) return { unsupported: `path ${value} must start with /` };
  return value.length > 1 ? value.replace(/\/+$/, '') || '/' : value;
}

const BACKEND_KINDS = Object.values(BACKEND_REF_KINDS);

function resolveBackendRef(ref: Readonly<Record<string, unknown>>, routeNamespace: string, state: ClusterState): BackendKey | RouteProblem {
  const group = string(ref.group) ?? '';
  const kind = string(ref.kind) ?? 'Service';
  const name = string(ref.name);
  const namespace = string(ref.namespace) ?? routeNamespace;
  const groupKind = BACKEND_REF_KINDS[`${group}/${kind}`];
  if (!groupKind) {
    return { reason: 'InvalidKind', message: `${kind}${group ? `.${group}` : ''} is not an MCP backend (AgentgatewayBackend.agentgateway.dev or MCPBackend.mcpmux.dev)` };
  }
  if (!name) return { reason: 'BackendNotFound', message: 'backendRef has no name' };
  if (namespace !== routeNamespace && !referenceGranted(state, { group: GATEWAY_API_GROUP, kind: 'HTTPRoute', namespace: routeNamespace }, { group, kind, namespace, name })) {
    return {
      reason: 'RefNotPermitted',
      message: `${kind} ${namespace}/${name} is in another namespace and no ReferenceGrant there allows HTTPRoutes from ${routeNamespace}`,
    };
  }
  if (!state.get(groupKind, namespace, name)) return { reason: 'BackendNotFound', message: `${kind} ${namespace}/${name} does not exist` };
  const other = BACKEND_KINDS.find((k) => k !== groupKind && state.get(k, namespace, name));
  if (other) {
    // Both would be Backend "<namespace>/<name>" in a snapshot; refuse rather than pick one silently.
    return { reason: 'BackendNameConflict', message: `${namespace}/${name} names both an AgentgatewayBackend and an MCPBackend; rename one` };
  }
  return { groupKind, namespace, name };
}
