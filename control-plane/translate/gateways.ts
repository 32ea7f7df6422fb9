// Which Gateways are ours, and their listeners. A Gateway is ours when its class is one we serve and
// that GatewayClass object is absent or names our controller: we never act for another controller.
import type { Listener } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { GATEWAY_API_GROUP, Kinds } from './kinds.ts';
import { compareStrings } from './order.ts';
import { at, integer, record, records, string } from './read.ts';
import { readSelector, type LabelSelector } from './selectors.ts';
import { condition, type ListenerStatus, type ObjectStatus } from './status.ts';

export type AllowedNamespaces = { from: 'Same' } | { from: 'All' } | { from: 'Selector'; selector: LabelSelector };

export interface GatewayListener {
  listener: Listener;
  allowedNamespaces: AllowedNamespaces;
  /** Whether allowedRoutes.kinds (when given) lets HTTPRoutes in. */
  allowsHTTPRoute: boolean;
}

export interface OwnedGateway {
  object: KubeObject;
  namespace: string;
  name: string;
  /** "<namespace>/<name>": the proxy group. */
  group: string;
  /** Valid listeners, in spec order. */
  listeners: GatewayListener[];
}

export interface OwnedGateways {
  /** Sorted by group. */
  gateways: OwnedGateway[];
  /** GatewayClass and Gateway statuses. */
  statuses: ObjectStatus[];
}

const PROTOCOLS = new Set(['HTTP', 'HTTPS']);

export function ownedGateways(state: ClusterState, gatewayClasses: readonly string[], controllerName: string): OwnedGateways {
  const ours = new Set<string>();
  const statuses: ObjectStatus[] = [];
  for (const name of gatewayClasses) {
    const gatewayClass = state.get(Kinds.GatewayClass, '', name);
    const controller = string(at(gatewayClass, 'spec', 'controllerName'));
    if (gatewayClass && controller !== controllerName) continue;
    ours.add(name);
    if (gatewayClass) {
      statuses.push({
        apiVersion: gatewayClass.apiVersion,
        kind: gatewayClass.kind,
        namespace: '',
        name,
        conditions: [condition('Accepted', true, 'Accepted', `handled by ${controllerName}`)],
      });
    }
  }

  const gateways: OwnedGateway[] = [];
  for (const object of state.list(Kinds.Gateway)) {
    if (!ours.has(string(at(object, 'spec', 'gatewayClassName')) ?? '')) continue;
    const namespace = object.metadata.namespace ?? '';
    const group = `${namespace}/${object.metadata.name}`;
    const { listeners, invalid, statuses: listenerStatuses } = readListeners(object);
    gateways.push({ object, namespace, name: object.metadata.name, group, listeners });
    const accepted =
      invalid.length === 0
        ? condition('Accepted', true, 'Accepted', 'the Gateway is served by mcpmux')
        : condition('Accepted', listeners.length > 0, 'ListenersNotValid', invalid.join('; '));
    statuses.push({
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace,
      name: object.metadata.name,
      conditions: [
        accepted,
        listeners.length > 0
          ? condition('Programmed', true, 'Programmed', `configuration built for proxy group ${group}`)
          : condition('Programmed', false, 'Invalid', 'the Gateway has no valid listener'),
      ],
      listeners: listenerStatuses,
    });
  }
  gateways.sort((a, b) => compareStrings(a.group, b.group));
  return { gateways, statuses };
}

/** What HTTPRoute-only listeners support, and the attachedRoutes the layout counts later (layout.ts). */
const HTTP_ROUTE_KIND = Object.freeze({ group: GATEWAY_API_GROUP, kind: 'HTTPRoute' });

function readListeners(gateway: KubeObject): { listeners: GatewayListener[]; invalid: string[]; statuses: ListenerStatus[] } {
  const listeners: GatewayListener[] = [];
  const invalid: string[] = [];
  const statuses: ListenerStatus[] = [];
  const seen = new Set<string>();
  // A listener's status: attachedRoutes is counted by the layout (0 here), once routes are attached.
  const status = (name: string, problem?: { reason: string; message: string }, allowsRoutes = true): void => {
    statuses.push({
      name,
      supportedKinds: allowsRoutes ? [HTTP_ROUTE_KIND] : [],
      attachedRoutes: 0,
      conditions: problem
        ? [condition('Accepted', false, problem.reason, problem.message), condition('Programmed', false, 'Invalid', problem.message), condition('ResolvedRefs', true, 'ResolvedRefs', 'no references to resolve')]
        : [
            condition('Accepted', true, 'Accepted', 'listener accepted'),
            condition('Programmed', true, 'Programmed', 'served by the proxies of this Gateway'),
            condition(
              'ResolvedRefs',
              allowsRoutes,
              allowsRoutes ? 'ResolvedRefs' : 'InvalidRouteKinds',
              allowsRoutes ? 'no references to resolve' : 'allowedRoutes.kinds names no kind mcpmux serves (HTTPRoute)',
            ),
          ],
    });
  };
  for (const [i, spec] of records(at(gateway, 'spec', 'listeners')).entries()) {
    const name = string(spec.name);
    const port = integer(spec.port);
    const protocol = string(spec.protocol) ?? '';
    const label = `listener ${name ?? `#${i}`}`;
    if (!name || seen.has(name)) {
      invalid.push(`${label}: needs a unique name`);
      continue;
    }
    seen.add(name);
    if (port === undefined || port < 1 || port > 65535) {
      invalid.push(`${label}: port must be 1-65535`);
      status(name, { reason: 'PortUnavailable', message: 'port must be 1-65535' });
      continue;
    }
    if (!PROTOCOLS.has(protocol)) {
      invalid.push(`${label}: protocol ${protocol || '(none)'} is not supported (HTTP, HTTPS)`);
      status(name, { reason: 'UnsupportedProtocol', message: `protocol ${protocol || '(none)'} is not supported (HTTP, HTTPS)` });
      continue;
    }
    const allowed = readAllowedNamespaces(at(spec, 'allowedRoutes', 'namespaces'));
    if (typeof allowed === 'string') {
      invalid.push(`${label}: ${allowed}`);
      status(name, { reason: 'Invalid', message: allowed });
      continue;
    }
    const hostname = string(spec.hostname);
    const allowsRoutes = allowsHTTPRoute(at(spec, 'allowedRoutes', 'kinds'));
    listeners.push({
      listener: { name, port, protocol, hostnames: hostname ? [hostname] : [], certificateSecrets: [] },
      allowedNamespaces: allowed,
      allowsHTTPRoute: allowsRoutes,
    });
    status(name, undefined, allowsRoutes);
  }
  return { listeners, invalid, statuses };
}

function readAllowedNamespaces(value: unknown): AllowedNamespaces | string {
  const from = string(record(value)?.from) ?? 'Same';
  switch (from) {
    case 'Same':
    case 'All':
      return { from };
    case 'Selector': {
      const selector = readSelector(record(value)?.selector);
      return typeof selector === 'string' ? `allowedRoutes.namespaces.selector: ${selector}` : { from, selector };
    }
    default:
      return `allowedRoutes.namespaces.from must be All, Same or Selector, not ${from}`;
  }
}

function allowsHTTPRoute(kinds: unknown): boolean {
  const list = records(kinds);
  if (list.length === 0) return true;
  return list.some((k) => (string(k.group) ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP && k.kind === 'HTTPRoute');
}
