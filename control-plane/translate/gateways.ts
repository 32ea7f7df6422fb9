// Which Gateways are ours, and their listeners. A Gateway is ours when its class is one we serve and
// that GatewayClass object is absent or names our controller: we never act for another controller.
// A listener is served when mcpmux can serve it as written: HTTP, or HTTPS terminated with the
// certificate of its certificateRefs (tls.mode Terminate), distinct from the Gateway's other
// listeners; anything else is left out and its status says why (never served another way).
import type { Listener } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { GATEWAY_API_GROUP, Kinds } from './kinds.ts';
import { compareStrings } from './order.ts';
import { at, integer, record, records, string } from './read.ts';
import { readSelector, type LabelSelector } from './selectors.ts';
import { condition, type Condition, type ListenerStatus, type ObjectStatus } from './status.ts';
import { referenceGranted } from './reference-grants.ts';
import { tlsSecretName } from './tls-secrets.ts';
import { isValidHostname } from '../../shared/net/hostnames.ts';

export type AllowedNamespaces = { from: 'Same' } | { from: 'All' } | { from: 'Selector'; selector: LabelSelector };

/** A Secret an HTTPS listener's certificateRefs name and may use. */
export interface CertificateRef {
  namespace: string;
  name: string;
}

/** Why a certificateRef can never be used, whatever the Secrets say (ResolvedRefs=False). */
export interface CertificateRefProblem {
  reason: 'InvalidCertificateRef' | 'RefNotPermitted';
  message: string;
}

export interface GatewayListener {
  /** As the snapshot carries it: hostnames lowercase; HTTPS: certificateSecrets named after `certificates`. */
  listener: Listener;
  allowedNamespaces: AllowedNamespaces;
  /** Whether allowedRoutes.kinds (when given) lets HTTPRoutes in. */
  allowsHTTPRoute: boolean;
  /**
   * HTTPS: the Secrets its certificateRefs name that it may use (core Secrets, in its namespace or
   * granted by a ReferenceGrant), in spec order, without repeats. Whether each holds a usable
   * certificate is judged per translation (tls-secrets.ts): Secrets change without the Gateway.
   */
  certificates: readonly CertificateRef[];
  /** HTTPS: certificateRefs that cannot be used at all (another kind, no ReferenceGrant). */
  certificateProblems: readonly CertificateRefProblem[];
}

export interface OwnedGateway {
  object: KubeObject;
  namespace: string;
  name: string;
  /** "<namespace>/<name>": the proxy group. */
  group: string;
  /** Valid listeners (the ones served), in spec order. */
  listeners: GatewayListener[];
}

export interface OwnedGateways {
  /** Sorted by group. */
  gateways: OwnedGateway[];
  /** GatewayClass and Gateway statuses. */
  statuses: ObjectStatus[];
}

/** What mcpmux serves: HTTPRoutes over HTTP, or over TLS it terminates (HTTPS). TLS passthrough, TCP, UDP are not. */
const PROTOCOLS = new Set(['HTTP', 'HTTPS']);

/** The Gateways of ours, and their listeners. */
export function ownedGateways(state: ClusterState, gatewayClasses: readonly string[], controllerName: string): OwnedGateways {
  const { classes: ours, statuses } = ourClasses(state, gatewayClasses, controllerName);
  const gateways: OwnedGateway[] = [];
  for (const object of state.list(Kinds.Gateway)) {
    if (!ours.has(string(at(object, 'spec', 'gatewayClassName')) ?? '')) continue;
    const namespace = object.metadata.namespace ?? '';
    const group = `${namespace}/${object.metadata.name}`;
    const { listeners, invalid, statuses: listenerStatuses } = readListeners(object, state);
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
      conditions: [accepted, gatewayProgrammed(listeners.length > 0, group)],
      listeners: listenerStatuses,
    });
  }
  gateways.sort((a, b) => compareStrings(a.group, b.group));
  return { gateways, statuses };
}

/** The Gateway's Programmed condition: whether any of its listeners is served. */
export function gatewayProgrammed(anyServed: boolean, group: string): Condition {
  return anyServed
    ? condition('Programmed', true, 'Programmed', `configuration built for proxy group ${group}`)
    : condition('Programmed', false, 'Invalid', 'the Gateway has no listener that can be served');
}

/** The gateway classes we serve (named, and either without a GatewayClass object or one naming our controller), with those objects' statuses. */
function ourClasses(state: ClusterState, gatewayClasses: readonly string[], controllerName: string): { classes: Set<string>; statuses: ObjectStatus[] } {
  const classes = new Set<string>();
  const statuses: ObjectStatus[] = [];
  for (const name of gatewayClasses) {
    const gatewayClass = state.get(Kinds.GatewayClass, '', name);
    const controller = string(at(gatewayClass, 'spec', 'controllerName'));
    if (gatewayClass && controller !== controllerName) continue;
    classes.add(name);
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
  return { classes, statuses };
}

/** The Gateway objects of our classes, without reading their listeners (for what only needs which ones are ours). */
export function ourGatewayObjects(state: ClusterState, gatewayClasses: readonly string[], controllerName: string): KubeObject[] {
  const { classes } = ourClasses(state, gatewayClasses, controllerName);
  return state.list(Kinds.Gateway).filter((object) => classes.has(string(at(object, 'spec', 'gatewayClassName')) ?? ''));
}

/** What HTTPRoute-only listeners support, and the attachedRoutes the layout counts later (layout.ts). */
const HTTP_ROUTE_KIND = Object.freeze({ group: GATEWAY_API_GROUP, kind: 'HTTPRoute' });

/** A listener read from the spec, before conflicts between listeners are looked at. */
type ReadListener = { name: string; ok: GatewayListener } | { name: string; problem: { reason: string; message: string } };

function readListeners(gateway: KubeObject, state: ClusterState): { listeners: GatewayListener[]; invalid: string[]; statuses: ListenerStatus[] } {
  const read: ReadListener[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  for (const [i, spec] of records(at(gateway, 'spec', 'listeners')).entries()) {
    const name = string(spec.name);
    if (!name || seen.has(name)) {
      invalid.push(`listener ${name ?? `#${i}`}: needs a unique name`);
      continue;
    }
    seen.add(name);
    const listener = readListener(spec, name, gateway, state);
    if ('problem' in listener) invalid.push(`listener ${name}: ${listener.problem.message}`);
    read.push(listener);
  }
  // Listeners must be distinct (Gateway API): one port speaks one protocol, and on a port each
  // hostname (or none) belongs to one listener. Conflicted listeners are all left out: none wins.
  const conflicts = conflictsOf(read.flatMap((l) => ('ok' in l ? [l.ok] : [])));
  const listeners: GatewayListener[] = [];
  const statuses: ListenerStatus[] = [];
  for (const entry of read) {
    const conflict = 'ok' in entry ? conflicts.get(entry.name) : undefined;
    if (conflict) invalid.push(`listener ${entry.name}: ${conflict.message}`);
    else if ('ok' in entry) listeners.push(entry.ok);
    statuses.push(listenerStatus(entry, conflict));
  }
  return { listeners, invalid, statuses };
}

/** A listener's status as read from the Gateway (attachedRoutes is counted by the layout; an HTTPS listener's references are judged per translation). */
function listenerStatus(entry: ReadListener, conflict: { reason: string; message: string } | undefined): ListenerStatus {
  const noRefs = condition('ResolvedRefs', true, 'ResolvedRefs', 'no references to resolve');
  if ('problem' in entry || conflict) {
    const { reason, message } = conflict ?? (entry as { problem: { reason: string; message: string } }).problem;
    return {
      name: entry.name,
      supportedKinds: 'ok' in entry && !entry.ok.allowsHTTPRoute ? [] : [HTTP_ROUTE_KIND],
      attachedRoutes: 0,
      conditions: [
        condition('Accepted', false, reason, message),
        ...(conflict ? [condition('Conflicted', true, reason, message)] : []),
        condition('Programmed', false, 'Invalid', message),
        noRefs,
      ],
    };
  }
  const allowsRoutes = entry.ok.allowsHTTPRoute;
  return {
    name: entry.name,
    supportedKinds: allowsRoutes ? [HTTP_ROUTE_KIND] : [],
    attachedRoutes: 0,
    conditions: [
      condition('Accepted', true, 'Accepted', 'listener accepted'),
      condition('Programmed', true, 'Programmed', 'served by the proxies of this Gateway'),
      allowsRoutes ? noRefs : INVALID_ROUTE_KINDS,
    ],
  };
}

export const INVALID_ROUTE_KINDS: Condition = Object.freeze(
  condition('ResolvedRefs', false, 'InvalidRouteKinds', 'allowedRoutes.kinds names no kind mcpmux serves (HTTPRoute)'),
);

function readListener(spec: Readonly<Record<string, unknown>>, name: string, gateway: KubeObject, state: ClusterState): ReadListener {
  const problem = (reason: string, message: string): ReadListener => ({ name, problem: { reason, message } });
  const port = integer(spec.port);
  const protocol = string(spec.protocol) ?? '';
  if (port === undefined || port < 1 || port > 65535) return problem('PortUnavailable', 'port must be 1-65535');
  if (!PROTOCOLS.has(protocol)) return problem('UnsupportedProtocol', `protocol ${protocol || '(none)'} is not supported (HTTP, HTTPS)`);
  const hostname = string(spec.hostname)?.toLowerCase();
  if (hostname !== undefined && !isValidHostname(hostname)) return problem('Invalid', `hostname ${JSON.stringify(hostname)} is not a DNS name or a *. wildcard`);
  const allowed = readAllowedNamespaces(at(spec, 'allowedRoutes', 'namespaces'));
  if (typeof allowed === 'string') return problem('Invalid', allowed);
  const tls = record(spec.tls);
  if (protocol === 'HTTP' && tls) return problem('Invalid', 'tls is set on an HTTP listener: to terminate TLS, make it protocol HTTPS (it is not served as plain HTTP)');
  let certificates: CertificateRef[] = [];
  let certificateProblems: CertificateRefProblem[] = [];
  if (protocol === 'HTTPS') {
    const mode = string(tls?.mode) ?? 'Terminate';
    if (mode !== 'Terminate') return problem('UnsupportedProtocol', `tls.mode ${mode} is not supported: mcpmux terminates TLS (mode Terminate)`);
    ({ certificates, problems: certificateProblems } = readCertificateRefs(tls?.certificateRefs, gateway, state));
  }
  return {
    name,
    ok: {
      listener: { name, port, protocol, hostnames: hostname ? [hostname] : [], certificateSecrets: certificates.map((c) => tlsSecretName(c.namespace, c.name)) },
      allowedNamespaces: allowed,
      allowsHTTPRoute: allowsHTTPRoute(at(spec, 'allowedRoutes', 'kinds')),
      certificates,
      certificateProblems,
    },
  };
}

/**
 * An HTTPS listener's certificateRefs: the core Secrets it may use (its namespace, or another one
 * whose ReferenceGrant lets this Gateway's namespace in), and why the others cannot be used.
 */
function readCertificateRefs(value: unknown, gateway: KubeObject, state: ClusterState): { certificates: CertificateRef[]; problems: CertificateRefProblem[] } {
  const namespace = gateway.metadata.namespace ?? '';
  const certificates: CertificateRef[] = [];
  const problems: CertificateRefProblem[] = [];
  const refs = records(value);
  if (refs.length === 0) problems.push({ reason: 'InvalidCertificateRef', message: 'tls.certificateRefs names no certificate (a kubernetes.io/tls Secret)' });
  for (const [i, ref] of refs.entries()) {
    const group = string(ref.group) ?? '';
    const kind = string(ref.kind) ?? 'Secret';
    const name = string(ref.name) ?? '';
    const refNamespace = string(ref.namespace) ?? namespace;
    const what = `tls.certificateRefs[${i}]`;
    if (group !== '' || kind !== 'Secret') {
      problems.push({ reason: 'InvalidCertificateRef', message: `${what}: ${kind}${group ? `.${group}` : ''} is not supported (a core Secret of type kubernetes.io/tls)` });
    } else if (name === '') {
      problems.push({ reason: 'InvalidCertificateRef', message: `${what} has no name` });
    } else if (refNamespace !== namespace && !referenceGranted(state, { group: GATEWAY_API_GROUP, kind: 'Gateway', namespace }, { group: '', kind: 'Secret', namespace: refNamespace, name })) {
      problems.push({ reason: 'RefNotPermitted', message: `${what}: Secret ${refNamespace}/${name} is in another namespace and no ReferenceGrant there allows Gateways from ${namespace}` });
    } else if (!certificates.some((c) => c.namespace === refNamespace && c.name === name)) {
      certificates.push({ namespace: refNamespace, name });
    }
  }
  return { certificates, problems };
}

/**
 * Listeners that are not distinct, by name, with why: all the listeners of a port that mixes
 * protocols (ProtocolConflict), and listeners of one port and protocol sharing a hostname, or
 * sharing having none (HostnameConflict).
 */
function conflictsOf(listeners: readonly GatewayListener[]): Map<string, { reason: string; message: string }> {
  const conflicts = new Map<string, { reason: string; message: string }>();
  const byPort = new Map<number, GatewayListener[]>();
  for (const l of listeners) byPort.set(l.listener.port, [...(byPort.get(l.listener.port) ?? []), l]);
  for (const [port, onPort] of byPort) {
    const protocols = new Set(onPort.map((l) => l.listener.protocol));
    if (protocols.size > 1) {
      const message = `port ${port} is also used with another protocol (${[...protocols].join(', ')}): one port speaks one protocol`;
      for (const l of onPort) conflicts.set(l.listener.name, { reason: 'ProtocolConflict', message });
      continue;
    }
    const byHostname = new Map<string, GatewayListener[]>();
    for (const l of onPort) {
      const key = l.listener.hostnames[0] ?? '';
      byHostname.set(key, [...(byHostname.get(key) ?? []), l]);
    }
    for (const [hostname, same] of byHostname) {
      if (same.length < 2) continue;
      const message = `listeners ${same.map((l) => l.listener.name).join(', ')} all take ${hostname ? `hostname ${hostname}` : 'any hostname'} on port ${port}`;
      for (const l of same) conflicts.set(l.listener.name, { reason: 'HostnameConflict', message });
    }
  }
  return conflicts;
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
