// ReferenceGrants (gateway.networking.k8s.io): a reference from an object in one namespace to an
// object in another is valid only when a ReferenceGrant in the target's namespace allows it. Read
// for HTTPRoute backendRefs (routes.ts) and Gateway listener certificateRefs (gateways.ts).
import type { ClusterState } from '../state/state.ts';
import { Kinds } from './kinds.ts';
import { at, records, string } from './read.ts';

/** Who refers: the referring object's group, kind and namespace. */
export interface GrantFrom {
  group: string;
  kind: string;
  namespace: string;
}

/** What is referred to ('' is the core group). */
export interface GrantTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Whether a ReferenceGrant in `to.namespace` lets objects like `from` reference `to`. */
export function referenceGranted(state: ClusterState, from: GrantFrom, to: GrantTo): boolean {
  return state.list(Kinds.ReferenceGrant).some((grant) => {
    if (grant.metadata.namespace !== to.namespace) return false;
    const fromOk = records(at(grant, 'spec', 'from')).some(
      (f) => (string(f.group) ?? '') === from.group && f.kind === from.kind && f.namespace === from.namespace,
    );
    const toOk = records(at(grant, 'spec', 'to')).some(
      (t) => (string(t.group) ?? '') === to.group && t.kind === to.kind && (string(t.name) ?? to.name) === to.name,
    );
    return fromOk && toOk;
  });
}
