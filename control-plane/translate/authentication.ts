// A backend's authentication (MCPBackend spec.authentication) as the snapshot Policy that guards its
// routes: JWT providers (the JWKS from its URI, or the document in a Secret) and API keys from a
// Secret, each key as its sha256 only, so no key ever reaches a proxy. Secrets that do not resolve
// are left out and reported; a policy with nothing left denies every request (fail closed).
import { createHash } from 'node:crypto';
import type { ApiKey, JwtProvider, Policy } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import type { BackendSpec } from './backends.ts';
import { Kinds } from './kinds.ts';
import { record, string } from './read.ts';

export interface BackendPolicy {
  policy: Policy;
  /** Why part of it did not resolve (a missing Secret or key), for the backend's status. */
  problems: string[];
}

export function backendPolicy(state: ClusterState, spec: BackendSpec): BackendPolicy | undefined {
  const auth = spec.authentication;
  const authorization = spec.authorization ? { rules: spec.authorization.map((rule) => ({ ...rule })) } : null;
  if (!auth) return authorization ? { policy: { name: `authentication/${spec.ref}`, backends: [spec.ref], authentication: null, authorization }, problems: [] } : undefined;
  const namespace = spec.object.metadata.namespace ?? '';
  const problems: string[] = [];
  const jwt: JwtProvider[] = [];
  for (const provider of auth.jwt) {
    let jwksJson = '';
    if (provider.jwksSecret) {
      const value = secretValue(state.get(Kinds.Secret, namespace, provider.jwksSecret.name), provider.jwksSecret.key);
      if (value === undefined) {
        problems.push(`Secret ${namespace}/${provider.jwksSecret.name} key ${provider.jwksSecret.key} (JWKS of ${provider.issuer}) not found`);
        continue;
      }
      jwksJson = value;
    }
    jwt.push({ issuer: provider.issuer, audiences: provider.audiences, jwksUri: provider.jwksUri, jwksJson });
  }
  const apiKeys: ApiKey[] = [];
  if (auth.apiKeysSecret) {
    const secret = state.get(Kinds.Secret, namespace, auth.apiKeysSecret);
    if (!secret) problems.push(`Secret ${namespace}/${auth.apiKeysSecret} (API keys) not found`);
    const keys = new Set([...Object.keys(record(secret?.data) ?? {}), ...Object.keys(record(secret?.stringData) ?? {})]);
    for (const principal of [...keys].sort()) {
      const value = secretValue(secret, principal);
      if (value) apiKeys.push({ principal, sha256: createHash('sha256').update(value).digest('hex') });
    }
  }
  return { policy: { name: `authentication/${spec.ref}`, backends: [spec.ref], authentication: { jwt, apiKeys }, authorization }, problems };
}

/** A Secret's key: stringData as it is, data decoded from base64. */
export function secretValue(secret: KubeObject | undefined, key: string): string | undefined {
  if (!secret) return undefined;
  const plain = string(record(secret.stringData)?.[key]);
  if (plain !== undefined) return plain;
  const encoded = string(record(secret.data)?.[key]);
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}
