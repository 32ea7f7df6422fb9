// The translator: cluster state → one sealed snapshot per Gateway of ours (the proxy group
// "<namespace>/<name>"), plus the status conditions of the objects it read. Pure and deterministic:
// no I/O, no clock, output sorted, and only spec-level fields read, so volatile metadata
// (resourceVersion, managedFields, uid, timestamps) and file order never change a version.
import type { Backend, Route, Snapshot, Target } from '../../shared/config/types.ts';
import { sealSnapshot } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { attach, type Attachment } from './attach.ts';
import { readBackend } from './backends.ts';
import { ClusterIndex } from './cluster-index.ts';
import { ownedGateways, type OwnedGateway } from './gateways.ts';
import { Kinds, MCPMUX_CONTROLLER_NAME } from './kinds.ts';
import { sortBy, uniqueSorted } from './order.ts';
import { readHTTPRoute, type BackendKey, type ReadRoute, type RouteProblem } from './routes.ts';
import { condition, sortStatuses, type Condition, type ObjectStatus } from './status.ts';
import { resolveBackend, type ResolvedBackend } from './targets.ts';

/** The classes the files source serves unless told otherwise: ours, and the tutorial's. */
export const DEFAULT_FILES_GATEWAY_CLASSES: readonly string[] = Object.freeze(['mcpmux', 'agentgateway']);

export interface TranslateOptions {
  /** GatewayClass names we serve. */
  gatewayClasses: readonly string[];
  /** A GatewayClass object naming another controller keeps its Gateways out. Default mcpmux.dev/gateway-controller. */
  controllerName?: string;
  /**
   * Whether MCPBackend stdio targets (commands the proxies run) are served. Only for the files
   * source (local development): objects from a cluster must never make proxies spawn processes.
   * Default false: such targets are left out and their backend says so (StdioNotAllowed).
   */
  allowStdio?: boolean;
}

export interface TranslateResult {
  /** One per Gateway of ours, sorted by group. */
  snapshots: Snapshot[];
  /** Sorted by kind, namespace, name, parent. */
  statuses: ObjectStatus[];
}

/** What one Gateway accumulates while routes are attached. */
interface GroupBuild {
  gateway: OwnedGateway;
  routes: Map<string, Route>;
  /** "<listener>\0<path prefix>" → the route name that serves it (first come, in sorted route order). */
  claims: Map<string, string>;
  backends: Map<string, BackendKey>;
}

export function translate(state: ClusterState, options: TranslateOptions): TranslateResult {
  const index = new ClusterIndex(state);
  const owned = ownedGateways(state, options.gatewayClasses, options.controllerName ?? MCPMUX_CONTROLLER_NAME);
  const builds = new Map<string, GroupBuild>(
    owned.gateways.map((gateway) => [gateway.group, { gateway, routes: new Map(), claims: new Map(), backends: new Map() }]),
  );
  const gateways = new Map(owned.gateways.map((g) => [g.group, g]));
  const statuses: ObjectStatus[] = [...owned.statuses];
  const backends = new Map<string, { key: BackendKey; object: KubeObject; resolved: ResolvedBackend | string }>();

  const backendOf = (key: BackendKey): ResolvedBackend | string => {
    const id = backendId(key);
    let entry = backends.get(id);
    if (!entry) {
      const object = state.get(key.groupKind, key.namespace, key.name)!; // routes.ts checked it exists
      const spec = readBackend(object);
      entry = { key, object, resolved: typeof spec === 'string' ? spec : resolveBackend(spec, index, { allowStdio: options.allowStdio === true }) };
      backends.set(id, entry);
    }
    return entry.resolved;
  };

  for (const object of state.list(Kinds.HTTPRoute)) {
    const attachments = attach(object, gateways, index);
    if (attachments.length === 0) continue; // not attached to a Gateway of ours: not our business
    const route = readHTTPRoute(object, state);
    const invalid = new Map<string, RouteProblem>();
    for (const match of route.matches) {
      const resolved = backendOf(match.backend);
      if (typeof resolved === 'string') {
        const { groupKind, namespace, name } = match.backend;
        const message = `${groupKind.split('.')[0]} ${namespace}/${name} is not valid: ${resolved}`;
        invalid.set(backendId(match.backend), { reason: 'InvalidBackend', message });
      }
    }
    const usable = route.matches.filter((m) => !invalid.has(backendId(m.backend)));
    const problems = [...route.unresolved, ...invalid.values()];
    for (const attachment of attachments) {
      const conflicts = attachment.rejected ? [] : addRoutes(builds.get(attachment.gateway.group)!, usable, attachment.listeners);
      statuses.push(routeStatus(route, attachment, problems, [...route.partial, ...conflicts]));
    }
  }

  for (const { key, object, resolved } of backends.values()) {
    statuses.push({
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: key.namespace,
      name: key.name,
      conditions: typeof resolved === 'string' ? [condition('Accepted', false, 'InvalidParameters', resolved)] : resolved.conditions,
    });
  }

  const snapshots = [...builds.values()].map((build) => {
    const resolved = [...build.backends.values()].map((key) => backendOf(key)).filter((r): r is ResolvedBackend => typeof r !== 'string');
    return sealSnapshot({
      group: build.gateway.group,
      listeners: sortBy(build.gateway.listeners.map((l) => l.listener), (l) => [l.name]),
      routes: sortBy(build.routes.values(), (r) => [r.name]).map((r) => ({ ...r, listeners: uniqueSorted(r.listeners) })),
      backends: sortBy(resolved.map((r): Backend => r.backend), (b) => [b.name]),
      targets: sortBy(resolved.flatMap((r): Target[] => r.targets), (t) => [t.backend, t.name]),
      policies: [],
      secrets: [],
    });
  });
  return { snapshots: sortBy(snapshots, (s) => [s.group]), statuses: sortStatuses(statuses) };
}

/**
 * Adds a route's matches to a Gateway on the given listeners. A (listener, path prefix) pair already
 * served by an earlier route stays with it; routes are visited in namespace/name order, so which one
 * wins never depends on timing. Returns the conflicts, for the route's status.
 */
function addRoutes(build: GroupBuild, matches: ReadRoute['matches'], listeners: string[]): string[] {
  const conflicts: string[] = [];
  for (const match of matches) {
    const won = listeners.filter((listener) => {
      const claim = `${listener}\0${match.pathPrefix}`;
      const owner = build.claims.get(claim);
      if (owner !== undefined && owner !== match.name) {
        conflicts.push(`${match.name}: path ${match.pathPrefix} on listener ${listener} is already served by ${owner}`);
        return false;
      }
      build.claims.set(claim, match.name);
      return true;
    });
    if (won.length === 0) continue;
    const backend = `${match.backend.namespace}/${match.backend.name}`;
    const existing = build.routes.get(match.name);
    build.routes.set(match.name, { name: match.name, listeners: [...(existing?.listeners ?? []), ...won], pathPrefix: match.pathPrefix, backend });
    build.backends.set(backendId(match.backend), match.backend);
  }
  return conflicts;
}

function routeStatus(route: ReadRoute, attachment: Attachment, problems: RouteProblem[], partial: string[]): ObjectStatus {
  const conditions: Condition[] = [
    attachment.rejected
      ? condition('Accepted', false, attachment.rejected.reason, attachment.rejected.message)
      : condition('Accepted', true, 'Accepted', `attached to Gateway ${attachment.gateway.group} listeners ${attachment.listeners.join(', ')}`),
    problems.length > 0
      ? condition('ResolvedRefs', false, problems[0]!.reason, problems.map((p) => p.message).join('; '))
      : condition('ResolvedRefs', true, 'ResolvedRefs', 'all backendRefs resolve'),
  ];
  if (partial.length > 0) conditions.push(condition('PartiallyInvalid', true, 'UnsupportedValue', partial.join('; ')));
  return {
    apiVersion: route.object.apiVersion,
    kind: route.object.kind,
    namespace: route.namespace,
    name: route.name,
    parentRef: attachment.parentRef,
    conditions,
  };
}

function backendId(key: BackendKey): string {
  return `${key.groupKind}|${key.namespace}|${key.name}`;
}
