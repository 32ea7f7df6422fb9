// The Secrets the translator reads: those backends reference (MCPBackend spec.upstreamAuth.secretRef,
// and spec.authentication's JWKS and API keys, in the backend's namespace) and the certificates of
// our Gateways' HTTPS listeners (certificateRefs in the Gateway's namespace, or in another one a
// ReferenceGrant opens to it). What a cluster source must read, and nothing else.
import type { ClusterState } from '../state/state.ts';
import { ownedGateways } from './gateways.ts';
import { Kinds } from './kinds.ts';
import { at, records, string } from './read.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

/** Which Gateways are ours (their certificates are read; another controller's are not). */
export interface SecretRefOptions {
  gatewayClasses: readonly string[];
  controllerName: string;
}

/** Sorted and without duplicates, so a caller can compare two answers as text. */
export function referencedSecrets(state: ClusterState, options: SecretRefOptions): SecretRef[] {
  const refs = new Map<string, SecretRef>();
  for (const gateway of ownedGateways(state, options.gatewayClasses, options.controllerName).gateways) {
    for (const { certificates } of gateway.listeners) for (const ref of certificates) refs.set(`${ref.namespace}/${ref.name}`, ref);
  }
  for (const backend of state.list(Kinds.MCPBackend)) {
    const namespace = backend.metadata.namespace ?? '';
    const auth = at(backend, 'spec', 'authentication');
    const names = [
      string(at(at(backend, 'spec', 'upstreamAuth'), 'secretRef', 'name')),
      string(at(auth, 'apiKeys', 'secretRef', 'name')),
      ...records(at(auth, 'jwt')).map((provider) => string(at(provider, 'jwks', 'secretRef', 'name'))),
    ];
    for (const name of names) if (name) refs.set(`${namespace}/${name}`, { namespace, name });
  }
  return [...refs.keys()].sort().map((key) => refs.get(key)!);
}
