// What of an object goes into a shared history (the JetStream event log): everything but Secret
// values. A Secret is kept with its values redacted and a fingerprint of them, so a replica that
// reads the Secret itself (by name, from the apiserver) can tell whether it holds the same values
// the leader saw, and no credential ever lands in NATS.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/config/version.ts';
import { redactObject } from '../snapshots/redact.ts';
import type { KubeObject } from '../sources/source.ts';

/** The annotation a Secret in the history carries: the fingerprint of its values. */
export const DATA_FINGERPRINT = 'mcpmux.dev/data-sha256';

/**
 * sha256 over the Secret's uid, type and values. The uid salts it, so equal values in two Secrets
 * (or in a Secret deleted and made again) do not share a fingerprint. A low-entropy value could be
 * guessed by whoever reads the stream and tries candidates: docs/operations.md says to keep the
 * history in its own NATS account.
 */
export function secretFingerprint(secret: KubeObject): string {
  const { uid } = secret.metadata as { uid?: unknown };
  return createHash('sha256')
    .update(canonicalJson({ uid: uid ?? null, type: secret.type ?? null, data: secret.data ?? null, stringData: secret.stringData ?? null }))
    .digest('hex');
}

/** The object as the shared history keeps it: a Secret redacted and fingerprinted, anything else as is. */
export function historyForm(object: KubeObject): KubeObject {
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return object;
  const redacted = redactObject(object) as KubeObject;
  return {
    ...redacted,
    metadata: { ...redacted.metadata, annotations: { ...redacted.metadata.annotations, [DATA_FINGERPRINT]: secretFingerprint(object) } },
  };
}

/** Whether `secret` (as a source read it, with values) is the one `held` (history form) stands for. */
export function holdsValuesOf(held: KubeObject, secret: KubeObject): boolean {
  const recorded = held.metadata.annotations?.[DATA_FINGERPRINT];
  return recorded !== undefined && recorded === secretFingerprint(secret);
}
