// The translator: cluster state → one sealed snapshot per Gateway of ours (the proxy group
// "<namespace>/<name>"), plus the status conditions of the objects it read. Pure and deterministic:
// no I/O, no clock, output sorted, and only spec-level fields read, so volatile metadata
// (resourceVersion, managedFields, uid, timestamps) and file order never change a version.
//
// Incremental underneath, without giving that up: what a run derives from unchanged inputs is
// reused from earlier runs, keyed by the identity of immutable state objects and buckets (state.ts),
// never by time or order, and kept in the TranslateCache the caller passes in (translate-cache.ts:
// what each part holds and why it cannot go stale), never in a module. The route layout (layout.ts) is kept while no Gateway-side kind changed;
// each backend's targets (resolve-cache.ts) while nothing it selected changed; each target and its
// canonical JSON (targets.ts, version.ts) while its Service and EndpointSlices did not change. So
// one changed Service costs about one backend's work plus hashing that backend's leaves of the
// version and its top (version.ts), and the result is the same, byte for byte, as a run that had
// never seen an earlier state.
import type { Policy, Secret, Snapshot, Target } from '../../shared/config/types.ts';
import { EncodedRun, freezeShared, sealParts } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import type { BackendSpec } from './backends.ts';
import { ClusterIndex } from './cluster-index.ts';
import { Kinds, MCPMUX_CONTROLLER_NAME } from './kinds.ts';
import { layoutOf, type BackendSlot } from './layout.ts';
import { backendSpec, resolveCached, type Resolution, type Resolved } from './resolve-cache.ts';
import { condition, type Condition, type ObjectStatus } from './status.ts';
import { gatewayProgrammed, INVALID_ROUTE_KINDS, type CertificateRefProblem, type GatewayListener } from './gateways.ts';
import { compareStrings } from './order.ts';
import { readTlsSecret, TLS_PAIR, tlsSnapshotSecret } from './tls-secrets.ts';
import { upstreamSecretName } from './targets.ts';
import { backendPolicy, secretValue } from './authentication.ts';
import { TranslateCache } from './translate-cache.ts';

export { TranslateCache };

/** The classes the files source serves unless told otherwise: ours, and the tutorial's. */
export const DEFAULT_FILES_GATEWAY_CLASSES: readonly string[] = Object.freeze(['mcpmux', 'agentgateway']);
/** The classes the kubernetes source serves unless told otherwise: ours alone (a cluster may run agentgateway too). */
export const DEFAULT_KUBERNETES_GATEWAY_CLASSES: readonly string[] = Object.freeze(['mcpmux']);

export interface TranslateOptions {
  /** GatewayClass names we serve. */
  gatewayClasses: readonly string[];
  /** A GatewayClass object naming another controller keeps its Gateways out. Default mcpmux.dev/gateway-controller. */
  controllerName?: string;
  /**
   * Whether MCPBackend stdio targets (commands the proxies run) are served. Only for the files
   * source (local development): objects from a cluster must never make proxies spawn processes.
   * Default false: such targets are left out and their backend says so (StdioNotAllowed).
   */
  allowStdio?: boolean;
  /**
   * Leave upstream credentials out: a control plane serving plaintext discovery off loopback
   * (control-plane.ts). A backend with one gets no targets, and ResolvedRefs False
   * (CredentialsWithheld) says why.
   */
  withholdCredentials?: boolean;
}

export interface TranslateResult {
  /** One per Gateway of ours, sorted by group; sealed (deep-frozen). */
  snapshots: Snapshot[];
  /** Sorted by kind, namespace, name, parent. Each status is frozen: later runs share it. */
  statuses: ObjectStatus[];
}

/**
 * The translation of `state`. `cache` holds what earlier runs derived (translate-cache.ts): the
 * caller owns it, keeps it across runs for speed, and may pass a fresh one for the same result.
 */
export function translate(state: ClusterState, options: TranslateOptions, cache: TranslateCache): TranslateResult {
  const index = new ClusterIndex(state);
  const layout = layoutOf(state, { gatewayClasses: options.gatewayClasses, controllerName: options.controllerName ?? MCPMUX_CONTROLLER_NAME }, index, cache);
  const resolveOptions = { allowStdio: options.allowStdio === true };
  const resolutions: Resolution[] = layout.backends.map((slot) => resolveCached(slot.object, index, resolveOptions, cache));

  // What backends take from Secrets (upstream credential, JWKS, API keys) is read on every run (a
  // few backends have any), so a rotated Secret is a new version without any backend being
  // resolved again.
  const fromSecrets = layout.backends.map((slot) => secretParts(state, slot.object, options.withholdCredentials === true));

  const statuses = [...layout.statuses];
  // HTTPS listeners' certificates, read on every run for the same reason: a rotated Secret is a
  // new version (proxies swap the certificate live), a broken one a listener status.
  const certificates = layout.groups.map((group) => {
    const parts = listenerCertificates(state, group.tls, options.withholdCredentials === true);
    if (parts.listeners.size > 0) statuses[group.status] = withCertificateStatuses(statuses[group.status]!, parts.listeners);
    return parts.secrets;
  });
  layout.backends.forEach((slot, i) => {
    if (slot.status === undefined) return;
    const status = backendStatus(slot, resolutions[i]!, cache.backendStatuses);
    const { problems, withheld } = fromSecrets[i]!;
    statuses[slot.status] = withheld ? withCredentialsWithheld(status) : problems.length === 0 ? status : withUnresolvedSecrets(status, problems);
  });

  const snapshots = layout.groups.map((group, g) => {
    // The layout lists only valid backends, sorted by name; each one's targets are sorted by name
    // and carry that backend's name, unique in a snapshot (routes.ts refuses two kinds sharing
    // one), so the concatenation is in (backend, name) order without sorting 10k targets again.
    const resolved = group.backends.map((i) => valid(layout.backends[i]!, resolutions[i]!));
    return sealParts({
      group: group.group,
      listeners: [group.listeners],
      routes: [group.routes],
      backends: resolved.map((r, k) => (fromSecrets[group.backends[k]!]!.withheld ? Object.freeze({ ...r.backend, targets: Object.freeze([]) as unknown as string[] }) : r.backend)),
      targets: resolved.map((r, k) => (fromSecrets[group.backends[k]!]!.withheld ? NO_TARGETS : r.targets)),
      policies: group.backends.map((i) => fromSecrets[i]!.policy).filter((p): p is Policy => p !== undefined),
      secrets: [...group.backends.map((i) => fromSecrets[i]!.credential).filter((c): c is Secret => c !== undefined), ...certificates[g]!],
    }, cache.version);
  });
  return { snapshots, statuses };
}

/** A withheld backend's targets: none. */
const NO_TARGETS = EncodedRun.encode<Target>([]);

/** What a Gateway's HTTPS listeners take from Secrets: the certificates (sorted by name), and each listener's ResolvedRefs and Programmed conditions. */
interface ListenerCertificates {
  secrets: Secret[];
  listeners: Map<string, { resolvedRefs: Condition; programmed: Condition }>;
}

const NO_CERTIFICATES: ListenerCertificates = Object.freeze({ secrets: [], listeners: new Map() });

/** `withhold`: plaintext discovery off loopback (TranslateOptions.withholdCredentials): no private key goes to proxies, so no listener is programmed. */
function listenerCertificates(state: ClusterState, listeners: readonly GatewayListener[], withhold: boolean): ListenerCertificates {
  if (listeners.length === 0) return NO_CERTIFICATES;
  const secrets = new Map<string, Secret>();
  const conditions = new Map<string, { resolvedRefs: Condition; programmed: Condition }>();
  for (const { listener, certificates, certificateProblems, allowsHTTPRoute } of listeners) {
    const problems: CertificateRefProblem[] = [...certificateProblems];
    let usable = 0;
    for (const { namespace, name } of certificates) {
      const found = state.get(Kinds.Secret, namespace, name);
      const pair = found ? state.derived.of(TLS_PAIR, found) : readTlsSecret(found, namespace, name);
      if (typeof pair === 'string') {
        problems.push({ reason: 'InvalidCertificateRef', message: pair });
        continue;
      }
      usable++;
      if (withhold) continue;
      const secret = tlsSnapshotSecret(namespace, name, pair);
      secrets.set(secret.name, secret);
    }
    const resolvedRefs =
      problems.length > 0
        ? condition('ResolvedRefs', false, problems[0]!.reason, problems.map((p) => p.message).join('; '))
        : allowsHTTPRoute
          ? condition('ResolvedRefs', true, 'ResolvedRefs', `certificate${certificates.length > 1 ? 's' : ''} ${certificates.map((c) => `${c.namespace}/${c.name}`).join(', ')} resolved`)
          : INVALID_ROUTE_KINDS;
    const programmed =
      usable > 0 && withhold
        ? condition('Programmed', false, 'Invalid', 'the certificate is withheld: the control plane serves discovery in plaintext on a non-loopback address, so no private key goes to proxies (use mTLS, the default in a cluster, or --insecure-discovery); the proxies refuse TLS handshakes on this listener')
        : usable > 0
        ? condition('Programmed', true, 'Programmed', 'served by the proxies of this Gateway, TLS terminated with its certificate')
        : condition('Programmed', false, 'Invalid', 'no usable certificate: the proxies refuse TLS handshakes on this listener until one resolves');
    conditions.set(listener.name, { resolvedRefs, programmed });
  }
  return { secrets: [...secrets.values()].sort((a, b) => compareStrings(a.name, b.name)), listeners: conditions };
}

/** The Gateway's status with its HTTPS listeners' conditions as the Secrets say, and Programmed as its listeners are. */
function withCertificateStatuses(status: ObjectStatus, listeners: ListenerCertificates['listeners']): ObjectStatus {
  const patched = (status.listeners ?? []).map((entry) => {
    const found = listeners.get(entry.name);
    if (!found) return entry;
    return { ...entry, conditions: entry.conditions.map((c) => (c.type === 'ResolvedRefs' ? found.resolvedRefs : c.type === 'Programmed' ? found.programmed : c)) };
  });
  const anyServed = patched.some((l) => l.conditions.some((c) => c.type === 'Programmed' && c.status === 'True'));
  const group = `${status.namespace}/${status.name}`;
  const conditions = status.conditions.map((c) => (c.type === 'Programmed' ? gatewayProgrammed(anyServed, group) : c));
  return freezeShared({ ...status, conditions, listeners: patched });
}

/** A backend's upstream credential and policy, and the Secrets among them that did not resolve. */
interface SecretParts {
  credential: Secret | undefined;
  policy: Policy | undefined;
  problems: string[];
  /** The backend has an upstream credential, left out with its targets (TranslateOptions.withholdCredentials). */
  withheld?: boolean;
}

const NO_SECRET_PARTS: SecretParts = Object.freeze({ credential: undefined, policy: undefined, problems: [] });

function secretParts(state: ClusterState, object: KubeObject, withhold: boolean): SecretParts {
  const spec = backendSpec(state.derived, object);
  if (typeof spec === 'string' || (!spec.upstreamAuth && !spec.authentication && !spec.authorization)) return NO_SECRET_PARTS;
  if (withhold && spec.upstreamAuth) return { credential: undefined, policy: backendPolicy(state, spec)?.policy, problems: [], withheld: true };
  const credential = upstreamCredential(state, spec);
  const policy = backendPolicy(state, spec);
  const problems = [...(typeof credential === 'string' ? [credential] : []), ...(policy?.problems ?? [])];
  return { credential: typeof credential === 'string' ? undefined : credential, policy: policy?.policy, problems };
}

/**
 * A backend's upstream credential as the snapshot Secret its targets name (authSecret), or why it
 * cannot be read; undefined for a backend without one. The Secret's other keys stay out.
 */
function upstreamCredential(state: ClusterState, spec: BackendSpec): Secret | string | undefined {
  if (!spec.upstreamAuth) return undefined;
  const { secret, key, header } = spec.upstreamAuth;
  const namespace = spec.object.metadata.namespace ?? '';
  const found = state.get(Kinds.Secret, namespace, secret);
  if (!found) return `Secret ${namespace}/${secret} (spec.upstreamAuth) not found`;
  const value = secretValue(found, key);
  if (value === undefined) return `Secret ${namespace}/${secret} has no key ${key} (spec.upstreamAuth)`;
  if (/[\r\n\0]/.test(value)) return `Secret ${namespace}/${secret} key ${key} holds a line break or NUL, which no header may carry`;
  return { name: upstreamSecretName(spec), data: { header, value } };
}

/**
 * The backend's status when Secrets it names (upstream credential, JWKS, API keys) do not resolve:
 * ResolvedRefs False (SecretNotFound), replacing the targets' ResolvedRefs.
 */
function withUnresolvedSecrets(status: ObjectStatus, problems: readonly string[]): ObjectStatus {
  return withResolvedRefs(status, condition('ResolvedRefs', false, 'SecretNotFound', problems.join('; ')));
}

/** The backend's status when its credential is withheld: ResolvedRefs False (CredentialsWithheld). */
function withCredentialsWithheld(status: ObjectStatus): ObjectStatus {
  const refs = condition(
    'ResolvedRefs',
    false,
    'CredentialsWithheld',
    'the control plane serves discovery in plaintext on a non-loopback address, so this backend\'s upstream credential (and its targets) are left out of snapshots; use mTLS (the default in a cluster) or start it with --insecure-discovery',
  );
  return withResolvedRefs(status, refs);
}

/** The status with `refs` as its ResolvedRefs condition (replacing the targets', or added). */
function withResolvedRefs(status: ObjectStatus, refs: Condition): ObjectStatus {
  const conditions = status.conditions.some((c) => c.type === 'ResolvedRefs') ? status.conditions.map((c) => (c.type === 'ResolvedRefs' ? refs : c)) : [...status.conditions, refs];
  return Object.freeze({ ...status, conditions });
}

/** Each resolution's status, made once (TranslateCache.backendStatuses): a run after one event reuses a thousand of them. */
function backendStatus(slot: BackendSlot, resolution: Resolution, backendStatuses: TranslateCache['backendStatuses']): ObjectStatus {
  const resolved = valid(slot, resolution);
  let status = backendStatuses.get(resolved);
  if (!status) {
    // A resolution is of one backend object (resolve-cache.ts), so of one slot's object and key.
    const { object, key } = slot;
    status = Object.freeze({ apiVersion: object.apiVersion, kind: object.kind, namespace: key.namespace, name: key.name, conditions: resolved.resolved.conditions });
    backendStatuses.set(resolved, status);
  }
  return status;
}

/** The layout judged the backend valid from its object, as resolving it does: a string here is a bug. */
function valid(slot: BackendSlot, resolution: Resolution): Resolved {
  if (typeof resolution === 'string') throw new Error(`backend ${slot.key.namespace}/${slot.key.name} was laid out as valid but is not: ${resolution}`);
  return resolution;
}
