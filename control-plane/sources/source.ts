// The contract between a source of Kubernetes objects (a folder of YAML, an apiserver) and the rest
// of the control plane. Sources speak in plain Kubernetes objects; nothing downstream sees files,
// watch events or informer types.

/** A Kubernetes object as a source saw it. Only the identifying fields are typed; the rest is read defensively. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface SourceChange {
  type: 'upsert' | 'delete';
  /** For a delete: the object as last seen. */
  object: KubeObject;
}

export type SourceName = 'files' | 'kubernetes';

export interface Source {
  readonly name: SourceName;
  /**
   * Emits the initial state, then resolves: the source is synced. The initial state is one batch
   * (possibly empty), followed, for a source that reads Secrets on demand, by the batches of the
   * Secrets named by setSecretRefs while it was taken: when start() resolves, every referenced
   * Secret has been read or found missing. Later changes are emitted as they happen, one batch per
   * coalesced burst, never an empty one. Rejects when the initial state cannot be read at all.
   */
  start(emit: (changes: SourceChange[]) => void): Promise<void>;
  /** Stops watching; no emit happens after it resolves. */
  stop(): Promise<void>;
  /**
   * The Secrets the state references (upstream credentials of backends): a source that reads a
   * cluster watches exactly these; a folder of YAML has them all already and ignores this.
   */
  setSecretRefs?(refs: ReadonlyArray<{ namespace: string; name: string }>): void;
}

/** "gateway.networking.k8s.io" for "gateway.networking.k8s.io/v1"; "" for the core group ("v1"). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * The kind qualified by its API group, as kubectl spells resources ("Gateway.gateway.networking.k8s.io",
 * "Service" for the core group). Versions are left out: v1 and v1beta1 of a kind are the same objects,
 * while an Istio Gateway and a Gateway API Gateway are not.
 */
export function groupKind(apiVersion: string, kind: string): string {
  const group = apiGroup(apiVersion);
  return group ? `${kind}.${group}` : kind;
}

/** Identity of an object across files, events and state: group-qualified kind, namespace and name. */
export function objectId(object: KubeObject): string {
  return `${groupKind(object.apiVersion, object.kind)}|${object.metadata.namespace ?? ''}|${object.metadata.name}`;
}
