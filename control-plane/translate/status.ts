// Status conditions the translator reports next to the snapshots, Gateway API style, so users see in
// `kubectl get` why a route or backend did not make it. Written by the status writer, not here.
import { canonicalJson } from '../../shared/config/version.ts';
import { compareStrings } from './order.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** A reference to a Gateway as an HTTPRoute's parentRefs entry spells it, defaults filled in. */
export interface ParentRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
}

/** A Gateway listener's status, as Gateway API's status.listeners entry needs it. */
export interface ListenerStatus {
  name: string;
  /** Route kinds the listener takes: HTTPRoute, or none when allowedRoutes.kinds names only others. */
  supportedKinds: Array<{ group: string; kind: string }>;
  /** Routes attached to it (accepted for at least this listener). */
  attachedRoutes: number;
  conditions: Condition[];
}

export interface ObjectStatus {
  apiVersion: string;
  kind: string;
  /** "" for cluster-scoped objects (GatewayClass). */
  namespace: string;
  name: string;
  /** For HTTPRoutes: the parent this status is about (one status per parentRefs entry that is ours). */
  parentRef?: ParentRef;
  conditions: Condition[];
  /** For Gateways: one entry per listener with a name, in spec order. */
  listeners?: ListenerStatus[];
}

/** Condition types where True is the bad news (Gateway API's "negative polarity" conditions). */
const NEGATIVE_POLARITY = new Set(['Conflicted', 'PartiallyInvalid']);

/** Whether a condition reports a problem a user should look at. */
export function isProblem(condition: Condition): boolean {
  return NEGATIVE_POLARITY.has(condition.type) ? condition.status === 'True' : condition.status === 'False';
}

export function condition(type: string, ok: boolean, reason: string, message: string): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

/**
 * Statuses in a stable order: kind, namespace, name, then parent (by its canonical JSON, computed
 * only for the statuses that need it: one route's several parents).
 */
export function sortStatuses(statuses: Iterable<ObjectStatus>): ObjectStatus[] {
  const parents = new Map<ParentRef, string>();
  const parent = (s: ObjectStatus): string => {
    if (!s.parentRef) return '';
    let text = parents.get(s.parentRef);
    if (text === undefined) parents.set(s.parentRef, (text = canonicalJson(s.parentRef)));
    return text;
  };
  return [...statuses].sort(
    (a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name) || compareStrings(parent(a), parent(b)),
  );
}
