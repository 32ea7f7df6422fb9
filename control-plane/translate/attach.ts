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

export interface Attachment {
  gateway: OwnedGateway;
  parentRef: ParentRef;
  /** Names of the listeners the route lands on; empty when rejected. */
  listeners: string[];
  rejected?: RouteProblem;
}

/** One attachment per parentRefs entry that names a Gateway of ours, in spec order. */
export function attach(route: KubeObject, gateways: ReadonlyMap<string, OwnedGateway>, index: ClusterIndex): Attachment[] {
  const attachments: Attachment[] = [];
  const routeNamespace = route.metadata.namespace ?? '';
  const hostnames = list(at(route, 'spec', 'hostnames')).filter((h): h is string => typeof h === 'string');
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
      attachments.push({ gateway, parentRef, listeners: [], rejected: { reason, message } });
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
    const matching = allowed.filter((l) => hostnames.length === 0 || l.listener.hostnames.length === 0 || l.listener.hostnames.some((h) => hostnames.some((r) => hostnamesIntersect(h, r))));
    if (matching.length === 0) {
      reject('NoMatchingListenerHostname', `no listener of Gateway ${gateway.group} matches the route's hostnames ${hostnames.join(', ')}`);
      continue;
    }
    attachments.push({ gateway, parentRef, listeners: matching.map((l) => l.listener.name) });
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
export function hostnamesIntersect(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  const covers = (wild: string, other: string): boolean => wild.startsWith('*.') && other.endsWith(wild.slice(1)) && other.length > wild.length - 1;
  return covers(x, y) || covers(y, x);
}
