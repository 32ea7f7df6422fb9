import type { Snapshot } from '../../shared/config/types.ts';

export const REDACTED = '<redacted>';

/** The snapshot as the admin API shows it: every secret value replaced, keys kept. */
export function redactSnapshot(snapshot: Snapshot): Snapshot {
  return {
    ...snapshot,
    secrets: snapshot.secrets.map((secret) => ({
      name: secret.name,
      data: Object.fromEntries(Object.keys(secret.data).map((key) => [key, REDACTED])),
    })),
  };
}

/** Redacts the data of a Kubernetes Secret object (for event listings). */
export function redactObject(object: Record<string, unknown>): Record<string, unknown> {
  if (object.kind !== 'Secret') return object;
  const redactMap = (value: unknown): unknown =>
    value && typeof value === 'object' ? Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED])) : value;
  return { ...object, data: redactMap(object.data), stringData: redactMap(object.stringData) };
}
