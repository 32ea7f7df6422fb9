// The part of a translation that Services and EndpointSlices never change: which Gateways are ours,
// where each HTTPRoute attaches and which (listener, path) it wins, which backends each Gateway
// serves, and the statuses of all of it. It reads Gateways, GatewayClasses, HTTPRoutes,
// ReferenceGrants, Namespaces and the backend objects (their existence and whether they are valid,
// never their targets), so it is kept and reused while none of those kinds changed (state.ts keeps
// an unchanged kind's buckets from state to state): the events a cluster sends all day, pods
// coming and going, cost no route work.
import type { Listener, Route } from '../../shared/config/types.ts';
import { EncodedRun, freezeShared } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { attach, type Attachment } from './attach.ts';
import type { ClusterIndex } from './cluster-index.ts';
import { ownedGateways, type GatewayListener, type OwnedGateway } from './gateways.ts';
import { Kinds } from './kinds.ts';
import { sortBy, uniqueSorted } from './order.ts';
import { at, list } from './read.ts';
import { backendSpec } from './resolve-cache.ts';
import { readHTTPRoute, type BackendKey, type ReadRoute, type RouteProblem } from './routes.ts';
import { condition, sortStatuses, type Condition, type ObjectStatus } from './status.ts';
import { LAYOUTS_KEPT, type TranslateCache } from './translate-cache.ts';

/** A backend some attached route names. */
export interface BackendSlot {
  key: BackendKey;
  object: KubeObject;
  /** Where its status goes in Layout.statuses; undefined when the backend is not valid (its status is there already). */
  status?: number;
}

export interface GroupLayout {
  group: string;
  /** Sorted by name; encoded once per layout (version.ts). */
  listeners: EncodedRun<Listener>;
  /**
   * In precedence order, encoded once per layout: routes in namespace/name order, then their rules
   * and matches in spec order. Where two serve the same path for the same hostname on a listener,
   * the first serves it: the order proxies break such ties in, as the layout did (addRoutes).
   */
  routes: EncodedRun<Route>;
  /** Indexes into Layout.backends of the valid backends this Gateway serves, sorted by backend name. */
  backends: readonly number[];
  /** Where the Gateway's status is in Layout.statuses: its HTTPS listeners' conditions depend on Secrets, judged per run. */
  status: number;
  /** The served HTTPS listeners, in spec order. */
  tls: readonly GatewayListener[];
}

export interface Layout {
  /** One per Gateway of ours, sorted by group. */
  groups: readonly GroupLayout[];
  backends: readonly BackendSlot[];
  /** Every status, in their final order; a valid backend's entry is a stand-in with no conditions, replaced per run. */
  statuses: readonly ObjectStatus[];
}

export interface LayoutOptions {
  gatewayClasses: readonly string[];
  controllerName: string;
}

/** The kinds a layout reads: a change to any of them makes a new one. */
const LAYOUT_KINDS = [Kinds.HTTPRoute, Kinds.Gateway, Kinds.GatewayClass, Kinds.ReferenceGrant, Kinds.Namespace, Kinds.AgentgatewayBackend, Kinds.MCPBackend];
/** The layout of a state, reused from an earlier run (TranslateCache.layouts) when its inputs are the same. */
export function layoutOf(state: ClusterState, options: LayoutOptions, index: ClusterIndex, cache: TranslateCache): Layout {
  const kept = cache.layouts;
  const inputs = [options.gatewayClasses.join('\n'), options.controllerName, ...LAYOUT_KINDS.map((kind) => state.buckets(kind))];
  const at = kept.findIndex((k) => k.inputs.length === inputs.length && k.inputs.every((input, i) => input === inputs[i]));
  if (at >= 0) return kept[at]!.layout;
  const layout = computeLayout(state, options, index, cache);
  kept.unshift({ inputs, layout });
  kept.length = Math.min(kept.length, LAYOUTS_KEPT);
  return layout;
}

/** What one Gateway accumulates while routes are attached. */
interface GroupBuild {
  gateway: OwnedGateway;
  routes: Map<string, Route>;
  /** "<listener>\0<hostname>\0<path prefix>" → the route name that serves it (first come, in sorted route order). */
  claims: Map<string, string>;
  backends: Map<string, BackendKey>;
}

function computeLayout(state: ClusterState, options: LayoutOptions, index: ClusterIndex, cache: TranslateCache): Layout {
  const owned = ownedGateways(state, options.gatewayClasses, options.controllerName);
  const builds = new Map<string, GroupBuild>(
    owned.gateways.map((gateway) => [gateway.group, { gateway, routes: new Map(), claims: new Map(), backends: new Map() }]),
  );
  const gateways = new Map(owned.gateways.map((g) => [g.group, g]));
  const statuses: ObjectStatus[] = [...owned.statuses];
  /** By backend id, in the order routes first name them. */
  const backends = new Map<string, { key: BackendKey; object: KubeObject; invalid?: string }>();

  const backendOf = (key: BackendKey): { key: BackendKey; object: KubeObject; invalid?: string } => {
    const id = backendId(key);
    let entry = backends.get(id);
    if (!entry) {
      const object = state.get(key.groupKind, key.namespace, key.name)!; // routes.ts checked it exists
      const spec = backendSpec(state.derived, object);
      entry = typeof spec === 'string' ? { key, object, invalid: spec } : { key, object };
      backends.set(id, entry);
    }
    return entry;
  };

  /** "<group>\0<listener>" → routes attached there: the listeners' attachedRoutes. */
  const attached = new Map<string, number>();

  for (const object of state.list(Kinds.HTTPRoute)) {
    const attachments = attach(object, gateways, index);
    if (attachments.length === 0) continue; // not attached to a Gateway of ours: not our business
    const route = readHTTPRoute(object, state);
    const invalid = new Map<string, RouteProblem>();
    for (const match of route.matches) {
      const { invalid: why } = backendOf(match.backend);
      if (why !== undefined) {
        const { groupKind, namespace, name } = match.backend;
        const message = `${groupKind.split('.')[0]} ${namespace}/${name} is not valid: ${why}`;
        invalid.set(backendId(match.backend), { reason: 'InvalidBackend', message });
      }
    }
    const usable = route.matches.filter((m) => !invalid.has(backendId(m.backend)));
    const problems = [...route.unresolved, ...invalid.values()];
    const hasHostnames = list(at(object, 'spec', 'hostnames')).some((h) => typeof h === 'string');
    for (const attachment of attachments) {
      for (const listener of attachment.rejected ? [] : attachment.listeners) {
        const key = `${attachment.gateway.group}\0${listener}`;
        attached.set(key, (attached.get(key) ?? 0) + 1);
      }
      const conflicts = attachment.rejected ? [] : addRoutes(builds.get(attachment.gateway.group)!, usable, attachment, hasHostnames);
      statuses.push(routeStatus(route, attachment, problems, [...route.partial, ...conflicts]));
    }
  }

  for (const status of owned.statuses) {
    for (const listener of status.listeners ?? []) listener.attachedRoutes = attached.get(`${status.namespace}/${status.name}\0${listener.name}`) ?? 0;
  }

  // A valid backend's conditions depend on the Services it selects: a stand-in holds its place.
  const standIns = new Map<ObjectStatus, string>();
  for (const [id, { key, object, invalid }] of backends) {
    const status: ObjectStatus = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: key.namespace,
      name: key.name,
      conditions: invalid === undefined ? [] : [condition('Accepted', false, 'InvalidParameters', invalid)],
    };
    if (invalid === undefined) standIns.set(status, id);
    statuses.push(status);
  }
  const sorted = sortStatuses(statuses).map((status) => freezeShared(status));

  const ids = [...backends.keys()];
  const position = new Map(ids.map((id, i) => [id, i]));
  const slots: BackendSlot[] = [...backends.values()].map(({ key, object }) => ({ key, object }));
  sorted.forEach((status, i) => {
    const id = standIns.get(status);
    if (id !== undefined) slots[position.get(id)!]!.status = i;
  });

  const statusOf = new Map<string, number>();
  sorted.forEach((status, i) => {
    if (status.listeners && status.kind === 'Gateway') statusOf.set(`${status.namespace}/${status.name}`, i);
  });
  const groups = [...builds.values()].map((build): GroupLayout => {
    const served = sortBy(build.backends.values(), (key) => [`${key.namespace}/${key.name}`]);
    return {
      group: build.gateway.group,
      listeners: EncodedRun.encode(sortBy(build.gateway.listeners.map((l) => l.listener), (l) => [l.name]), undefined, false, cache.version),
      // Insertion order is claim order (see GroupLayout.routes).
      routes: EncodedRun.encode([...build.routes.values()].map((r) => ({ ...r, listeners: uniqueSorted(r.listeners), hostnames: uniqueSorted(r.hostnames) })), undefined, false, cache.version),
      backends: served.map((key) => position.get(backendId(key))!),
      status: statusOf.get(build.gateway.group)!,
      tls: build.gateway.listeners.filter((l) => l.listener.protocol === 'HTTPS'),
    };
  });
  return { groups: sortBy(groups, (g) => [g.group]), backends: slots, statuses: sorted };
}

/**
 * Adds a route's matches to a Gateway on the listeners it attached to, each for the hostnames it
 * serves there. A (listener, hostname, path prefix) already served by an earlier route stays with
 * it; routes are visited in namespace/name order, so which one wins never depends on timing.
 * Returns the conflicts, for the route's status.
 */
function addRoutes(build: GroupBuild, matches: ReadRoute['matches'], attachment: Attachment, hasHostnames: boolean): string[] {
  const conflicts: string[] = [];
  for (const match of matches) {
    const won: string[] = [];
    const wonHostnames: string[] = [];
    attachment.listeners.forEach((listener, i) => {
      let any = false;
      for (const hostname of attachment.hostnames[i] ?? ['']) {
        const claim = `${listener}\0${hostname}\0${match.pathPrefix}`;
        const owner = build.claims.get(claim);
        if (owner !== undefined && owner !== match.name) {
          conflicts.push(`${match.name}: path ${match.pathPrefix} on listener ${listener}${hostname ? ` for ${hostname}` : ''} is already served by ${owner}`);
          continue;
        }
        build.claims.set(claim, match.name);
        any = true;
        wonHostnames.push(hostname);
      }
      if (any) won.push(listener);
    });
    if (won.length === 0) continue;
    const backend = `${match.backend.namespace}/${match.backend.name}`;
    const existing = build.routes.get(match.name);
    build.routes.set(match.name, {
      name: match.name,
      listeners: [...(existing?.listeners ?? []), ...won],
      pathPrefix: match.pathPrefix,
      backend,
      // A route without hostnames serves what its listeners take: none of its own.
      hostnames: hasHostnames ? [...(existing?.hostnames ?? []), ...wonHostnames] : [],
    });
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
