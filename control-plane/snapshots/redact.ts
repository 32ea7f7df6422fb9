import type { Snapshot } from '../../shared/config/types.ts';

export const REDACTED = '<redacted>';

/**
 * The snapshot as the admin API shows it: every secret value replaced, keys kept. The environment
 * of stdio targets is treated the same way: local development puts tokens there.
 */
export function redactSnapshot(snapshot: Snapshot): Snapshot {
  return {
    ...snapshot,
    targets: snapshot.targets.map((target) =>
      target.stdio ? { ...target, stdio: { ...target.stdio, env: Object.fromEntries(Object.keys(target.stdio.env).map((key) => [key, REDACTED])) } } : target,
    ),
    // API keys are only hashes, but a weak key's hash can be guessed: not shown either.
    policies: snapshot.policies.map((policy) =>
      policy.authentication
        ? { ...policy, authentication: { ...policy.authentication, apiKeys: policy.authentication.apiKeys.map((k) => ({ principal: k.principal, sha256: REDACTED })) } }
        : policy,
    ),
    secrets: snapshot.secrets.map((secret) => ({
      name: secret.name,
      data: Object.fromEntries(Object.keys(secret.data).map((key) => [key, REDACTED])),
    })),
  };
}

const redactMap = (value: unknown): unknown =>
  value && typeof value === 'object' ? Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED])) : value;

/**
 * Redacts the data of a Kubernetes Secret object, and the `env` values of an MCPBackend's stdio
 * targets, as the snapshot does (for event listings).
 */
export function redactObject(object: Record<string, unknown>): Record<string, unknown> {
  if (object.kind === 'Secret') return { ...object, data: redactMap(object.data), stringData: redactMap(object.stringData) };
  const spec = object.spec as { targets?: unknown } | undefined;
  if (object.kind !== 'MCPBackend' || !Array.isArray(spec?.targets)) return object;
  const targets = spec.targets.map((entry: unknown) => {
    const fixed = (entry as { static?: { env?: unknown } } | null)?.static;
    if (!fixed || typeof fixed !== 'object' || fixed.env === undefined) return entry;
    return { ...(entry as object), static: { ...fixed, env: redactMap(fixed.env) } };
  });
  return { ...object, spec: { ...spec, targets } };
}
