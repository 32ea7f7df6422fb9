// Which listener a request reaches and which routes it may match there (Gateway API, docs/listeners.md):
//  - the listeners sharing the port it came in on are told apart by hostname: the request's Host
//    (on TLS, first its SNI, which chose the certificate) picks the most specific listener that
//    takes it (an exact name over a wildcard, a longer wildcard over a shorter, a listener without
//    hostnames last); none: no listener takes it (404);
//  - on that listener, only its routes: each route that takes the Host, most specific hostname
//    first, then longest path prefix, then the snapshot's order (the control plane's precedence).
// Derived from a routing table once, on first use (a WeakMap by table), so a request costs a
// couple of lookups; views that depend on the Host are kept per Host name, a bounded number.
import { bestMatch, hostnameSpecificity } from '../../shared/net/hostnames.ts';
import type { CompiledListener, CompiledRoute, ListenerProtocol, RouteView, RoutingTable } from './table.ts';

/** The listeners of one Gateway port. */
export interface ListenerPort {
  readonly port: number;
  readonly protocol: ListenerProtocol;
  readonly listeners: readonly CompiledListener[];
}

/** A listener and what it serves. */
export interface ServedListener {
  readonly listener: CompiledListener;
  /** The routes attached to it, longest prefix first; whether any has hostnames. */
  readonly view: RouteView;
  readonly hostRouted: boolean;
}

export interface ListenerIndex {
  readonly ports: ReadonlyMap<number, ListenerPort>;
  /** The lowest port: what a proxy serves on its one port when no listener ports are mapped. */
  readonly firstPort: ListenerPort | undefined;
  readonly listeners: ReadonlyMap<string, ServedListener>;
  readonly routesByName: ReadonlyMap<string, CompiledRoute>;
}

const indexes = new WeakMap<RoutingTable, ListenerIndex>();

export function listenerIndex(table: RoutingTable): ListenerIndex {
  let index = indexes.get(table);
  if (!index) {
    index = buildIndex(table);
    indexes.set(table, index);
  }
  return index;
}

function buildIndex(table: RoutingTable): ListenerIndex {
  const ports = new Map<number, ListenerPort>();
  for (const listener of table.listeners) {
    const found = ports.get(listener.port);
    ports.set(listener.port, { port: listener.port, protocol: listener.protocol, listeners: [...(found?.listeners ?? []), listener] });
  }
  const listeners = new Map<string, ServedListener>();
  for (const listener of table.listeners) {
    // table.routes is longest prefix first, snapshot order among equals: kept as is.
    const routes = table.routes.filter((r) => r.listeners.includes(listener.name));
    listeners.set(listener.name, {
      listener,
      view: { routes, sseAlias: routes.length === 1 ? routes[0] : undefined },
      hostRouted: routes.some((r) => r.hostnames.length > 0),
    });
  }
  const lowest = [...ports.keys()].sort((a, b) => a - b)[0];
  const routesByName = new Map<string, CompiledRoute>();
  for (const route of table.routes) routesByName.set(route.name, route);
  return { ports, firstPort: lowest === undefined ? undefined : ports.get(lowest), listeners, routesByName };
}

/**
 * The listener of `port` that takes `hostname` (a request's Host without its port, or an SNI;
 * lowercase), or undefined. Undefined `hostname` (no SNI): only a listener without hostnames.
 */
export function selectListener(port: ListenerPort, hostname: string | undefined): CompiledListener | undefined {
  let best: CompiledListener | undefined;
  let bestScore = -1;
  for (const listener of port.listeners) {
    let score: number;
    if (listener.hostnames.length === 0) score = 0;
    else {
      const match = hostname === undefined ? undefined : bestMatch(listener.hostnames, hostname);
      if (match === undefined) continue;
      score = hostnameSpecificity(match);
    }
    if (score > bestScore) {
      best = listener;
      bestScore = score;
    }
  }
  return best;
}

/** Host views kept per listener: a client may send any Host, so the cache is bounded and starts over when full. */
const MAX_HOST_VIEWS = 512;
const hostViews = new WeakMap<ServedListener, Map<string, RouteView>>();

/** What a request for `hostname` may match on a listener (the listener took that hostname). */
export function routeView(served: ServedListener, hostname: string): RouteView {
  if (!served.hostRouted) return served.view;
  let views = hostViews.get(served);
  if (!views) hostViews.set(served, (views = new Map()));
  let view = views.get(hostname);
  if (!view) {
    view = hostView(served, hostname);
    if (views.size >= MAX_HOST_VIEWS) views.clear();
    views.set(hostname, view);
  }
  return view;
}

function hostView(served: ServedListener, hostname: string): RouteView {
  // A route without hostnames serves what the listener took: as specific as the listener's match.
  const listenerScore = hostnameSpecificity(bestMatch(served.listener.hostnames, hostname));
  const scored: Array<{ route: CompiledRoute; score: number }> = [];
  for (const route of served.view.routes) {
    if (route.hostnames.length === 0) {
      scored.push({ route, score: listenerScore });
      continue;
    }
    const match = bestMatch(route.hostnames, hostname);
    if (match !== undefined) scored.push({ route, score: hostnameSpecificity(match) });
  }
  // Stable: longest prefix first, then snapshot order, within one specificity.
  scored.sort((a, b) => b.score - a.score);
  const routes = scored.map((s) => s.route);
  return { routes, sseAlias: routes.length === 1 ? routes[0] : undefined };
}

/**
 * The route a session continues on in a new table: the route of its name, while it still serves
 * the session's prefix; else (renamed, or a session from an older replica that named none) the
 * one route serving that prefix, when all routes serving it lead to one backend.
 */
export function routeFor(table: RoutingTable, name: string | undefined, prefix: string): CompiledRoute | undefined {
  const named = name === undefined ? undefined : listenerIndex(table).routesByName.get(name);
  if (named && named.pathPrefix === prefix) return named;
  const candidates = table.routes.filter((r) => r.pathPrefix === prefix);
  return candidates.length > 0 && candidates.every((r) => r.backend === candidates[0]!.backend) ? candidates[0] : undefined;
}
