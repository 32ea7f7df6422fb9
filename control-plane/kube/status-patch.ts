// From the translator's statuses to the status subresource writes that bring the cluster in line:
// pure, so what gets written (and what is left alone) is tested without an apiserver.
//
// Rules, as Gateway API controllers follow them:
//  - a condition keeps its lastTransitionTime while its status stays the same; observedGeneration is
//    the generation of the object the conditions were computed from;
//  - an HTTPRoute's status.parents holds one entry per (parent, controller): entries of other
//    controllers are kept as they are; ours are replaced, and removed once the route no longer
//    attaches to a Gateway of ours;
//  - nothing is written when the result equals what the object already shows (a controller that
//    writes on every resync floods the apiserver and every watcher).
import { canonicalJson } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import { groupKind } from '../sources/source.ts';
import { Kinds } from '../translate/kinds.ts';
import type { Condition, ListenerStatus, ObjectStatus, ParentRef } from '../translate/status.ts';

export interface StatusWrite {
  /** The object as last seen: its apiVersion, kind, namespace, name and resourceVersion. */
  object: KubeObject;
  /** The whole new status (sent as a merge patch of `status`, arrays replaced). */
  status: Record<string, unknown>;
}

export interface StatusPatchOptions {
  /** Our controllerName (HTTPRoute parent entries). */
  controllerName: string;
  /** RFC 3339 time for conditions that change status. */
  now: string;
}

/** Kubernetes' limit on a condition message. */
const MAX_MESSAGE = 32_768;

type Lookup = (groupKind: string, namespace: string, name: string) => KubeObject | undefined;

/**
 * The writes that make each object's status say what the translator found. `routes` is every
 * HTTPRoute the control plane sees: those holding a parent entry of ours that no status names any
 * more get it removed.
 */
export function statusWrites(statuses: readonly ObjectStatus[], lookup: Lookup, routes: Iterable<KubeObject>, options: StatusPatchOptions): StatusWrite[] {
  const byObject = new Map<string, ObjectStatus[]>();
  for (const status of statuses) {
    const id = `${groupKind(status.apiVersion, status.kind)}|${status.namespace}|${status.name}`;
    const list = byObject.get(id);
    if (list) list.push(status);
    else byObject.set(id, [status]);
  }
  const writes: StatusWrite[] = [];
  for (const [id, list] of byObject) {
    const first = list[0]!;
    const kind = id.slice(0, id.indexOf('|'));
    const object = lookup(kind, first.namespace, first.name);
    if (!object) continue;
    const status = kind === Kinds.HTTPRoute ? routeStatus(object, list, options) : objectStatus(object, first, options);
    if (status) writes.push({ object, status });
  }
  // Routes we wrote to before that no longer attach to a Gateway of ours.
  for (const route of routes) {
    const id = `${Kinds.HTTPRoute}|${route.metadata.namespace ?? ''}|${route.metadata.name}`;
    if (byObject.has(id)) continue;
    const status = routeStatus(route, [], options);
    if (status) writes.push({ object: route, status });
  }
  return writes;
}

function objectStatus(object: KubeObject, desired: ObjectStatus, options: StatusPatchOptions): Record<string, unknown> | undefined {
  const live = liveStatus(object);
  const generation = object.metadata.generation;
  const next: Record<string, unknown> = { ...live, conditions: conditions(listOf(live.conditions), desired.conditions, generation, options.now) };
  if (desired.listeners) {
    const liveListeners = new Map(listOf(live.listeners).map((l) => [String(l.name), l]));
    next.listeners = desired.listeners.map((l) => listenerStatus(l, liveListeners.get(l.name), generation, options.now));
  }
  return same(live, next) ? undefined : next;
}

function listenerStatus(desired: ListenerStatus, live: Record<string, unknown> | undefined, generation: number | undefined, now: string): Record<string, unknown> {
  return {
    name: desired.name,
    supportedKinds: desired.supportedKinds,
    attachedRoutes: desired.attachedRoutes,
    conditions: conditions(listOf(live?.conditions), desired.conditions, generation, now),
  };
}

function routeStatus(route: KubeObject, desired: readonly ObjectStatus[], options: StatusPatchOptions): Record<string, unknown> | undefined {
  const live = liveStatus(route);
  const liveParents = listOf(live.parents);
  const others = liveParents.filter((p) => p.controllerName !== options.controllerName);
  const ours = new Map(liveParents.filter((p) => p.controllerName === options.controllerName).map((p) => [parentKey(p.parentRef), p]));
  if (desired.length === 0 && ours.size === 0) return undefined;
  const parents = [
    ...others,
    ...desired.map((status) => ({
      parentRef: parentRefOut(status.parentRef!),
      controllerName: options.controllerName,
      conditions: conditions(listOf(ours.get(parentKey(status.parentRef))?.conditions), status.conditions, route.metadata.generation, options.now),
    })),
  ];
  const next = { ...live, parents };
  return same(live, next) ? undefined : next;
}

/** A parentRef as the status shows it: no port or sectionName unless the route gave one. */
function parentRefOut(ref: ParentRef): Record<string, unknown> {
  const out: Record<string, unknown> = { group: ref.group, kind: ref.kind, namespace: ref.namespace, name: ref.name };
  if (ref.sectionName !== undefined) out.sectionName = ref.sectionName;
  if (ref.port !== undefined) out.port = ref.port;
  return out;
}

/** Two parentRefs are the same parent when they name the same thing, defaults filled in. */
function parentKey(ref: unknown): string {
  const r = (ref ?? {}) as Record<string, unknown>;
  return [r.group ?? 'gateway.networking.k8s.io', r.kind ?? 'Gateway', r.namespace ?? '', r.name ?? '', r.sectionName ?? '', r.port ?? ''].join('|');
}

function conditions(live: readonly Record<string, unknown>[], desired: readonly Condition[], generation: number | undefined, now: string): Record<string, unknown>[] {
  const before = new Map(live.map((c) => [String(c.type), c]));
  return desired.map((c) => {
    const previous = before.get(c.type);
    const out: Record<string, unknown> = {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message.length > MAX_MESSAGE ? `${c.message.slice(0, MAX_MESSAGE - 3)}...` : c.message,
      lastTransitionTime: previous && previous.status === c.status && typeof previous.lastTransitionTime === 'string' ? previous.lastTransitionTime : now,
    };
    if (generation !== undefined) out.observedGeneration = generation;
    return out;
  });
}

function liveStatus(object: KubeObject): Record<string, unknown> {
  const status = object.status;
  return status !== null && typeof status === 'object' && !Array.isArray(status) ? (status as Record<string, unknown>) : {};
}

function listOf(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)) : [];
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
