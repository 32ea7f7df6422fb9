// Where an HTTPRoute attaches: its parentRefs that name one of our Gateways, narrowed by sectionName
// and port, then by each listener's allowedRoutes (namespaces, kinds) and by hostnames.
import type { ClusterIndex } from './cluster-index.ts';
import type { GatewayListener, OwnedGateway } from './gateways.ts';
import { GATEWAY_API_GROUP } from './kinds.ts';
import { at, integer, list, records, string } from './read.ts';
import type { KubeObject } from '../sources/source.ts';
import type { RouteProblem } from './routes.ts';
import { selectorMatches } from './selectors.ts';
import type { ParentRef } from './status.ts';
import { hostnamesIntersect, intersectHostnames } from '../../shared/net/hostnames.ts';

export interface Attachment {
  gateway: OwnedGateway;
  parentRef: ParentRef;
  /** Names of the listeners the route lands on; empty when rejected. */
  listeners: string[];
  /**
   * Per listener it lands on (same order), the hostnames it serves there: its spec.hostnames
   * intersected with the listener's (Gateway API), or the listener's own when it has none; `''`
   * stands for any (neither has any).
   */
  hostnames: string[][];
  rejected?: RouteProblem;
}

/** One attachment per parentRefs entry that names a Gateway of ours, in spec order. */
export function attach(route: KubeObject, gateways: ReadonlyMap<string, OwnedGateway>, index: ClusterIndex): Attachment[] {
  const attachments: Attachment[] = [];
  const routeNamespace = route.metadata.namespace ?? '';
  const hostnames = list(at(route, 'spec', 'hostnames')).filter((h): h is string => typeof h === 'string').map((h) => h.toLowerCase());
  for (const ref of records(at(route, 'spec', 'parentRefs'))) {
    const parentRef: ParentRef = {
      group: string(ref.group) ?? GATEWAY_API_GROUP,
      kind: string(ref.kind) ?? 'Gateway',
      namespace: string(ref.namespace) ?? routeNamespace,
      name: string(ref.name) ?? '',
    };
    const sectionName = string(ref.sectionName);
    const port = integer(ref.port);
    if (sectionName !== undefined) parentRef.sectionName = sectionName;
    if (port !== undefined) parentRef.port = port;
    if (parentRef.group !== GATEWAY_API_GROUP || parentRef.kind !== 'Gateway') continue;
    const gateway = gateways.get(`${parentRef.namespace}/${parentRef.name}`);
    if (!gateway) continue;

    const reject = (reason: string, message: string): void => {
      attachments.push({ gateway, parentRef, listeners: [], hostnames: [], rejected: { reason, message } });
    };
    const named = gateway.listeners.filter(
      (l) => (sectionName === undefined || l.listener.name === sectionName) && (port === undefined || l.listener.port === port),
    );
    if (named.length === 0) {
      reject('NoMatchingParent', `Gateway ${gateway.group} has no valid listener${sectionName ? ` named ${sectionName}` : ''}${port ? ` on port ${port}` : ''}`);
      continue;
    }
    const allowed = named.filter((l) => l.allowsHTTPRoute && namespaceAllowed(l, gateway, routeNamespace, index));
    if (allowed.length === 0) {
      reject('NotAllowedByListeners', `the listeners of Gateway ${gateway.group} do not allow HTTPRoutes from namespace ${routeNamespace}`);
      continue;
    }
    const served = allowed.map((l) => effectiveHostnames(l.listener.hostnames, hostnames));
    const matching = allowed.filter((_, i) => served[i]!.length > 0);
    if (matching.length === 0) {
      reject('NoMatchingListenerHostname', `no listener of Gateway ${gateway.group} matches the route's hostnames ${hostnames.join(', ')}`);
      continue;
    }
    attachments.push({ gateway, parentRef, listeners: matching.map((l) => l.listener.name), hostnames: served.filter((h) => h.length > 0) });
  }
  return attachments;
}

function namespaceAllowed(listener: GatewayListener, gateway: OwnedGateway, namespace: string, index: ClusterIndex): boolean {
  const allowed = listener.allowedNamespaces;
  switch (allowed.from) {
    case 'Same':
      return namespace === gateway.namespace;
    case 'All':
      return true;
    case 'Selector':
      return selectorMatches(allowed.selector, index.namespaceLabels(namespace));
    default: {
      const never: never = allowed;
      throw new Error(`unknown allowedRoutes ${String(never)}`);
    }
  }
}

/** Gateway API hostname intersection: equal, or a "*." wildcard covering the other (or both wildcards nesting). */
export { hostnamesIntersect };

/**
 * The hostnames a route serves on a listener (Gateway API): a route without hostnames takes the
 * listener's (`''`, any, when the listener has none either); a listener without any takes the
 * route's; otherwise each intersection of the two. Empty: they share no hostname.
 */
export function effectiveHostnames(listener: readonly string[], route: readonly string[]): string[] {
  if (route.length === 0) return listener.length === 0 ? [''] : [...listener];
  if (listener.length === 0) return [...new Set(route)];
  const found = new Set<string>();
  for (const l of listener) for (const r of route) {
    const both = intersectHostnames(l, r);
    if (both !== undefined) found.add(both);
  }
  return [...found];
}
