// Backends resolved by an earlier run, reused while nothing they read has changed. Resolving a
// backend (targets.ts) reads only its own object, the options and the cluster through a
// ServiceLookup; a run records which parts of the index it read and their tokens (cluster-index.ts).
// A later run whose index answers those reads the same would compute the same result, so it takes
// the cached one: after one event only the backends that read the changed Service are resolved
// again, and those reuse the targets whose Service and EndpointSlices are unchanged.
//
// Keyed by the backend's object, whose identity stands for its content (state.ts: objects in a state
// are frozen values, replaced, never edited), in the TranslateCache the caller passes in
// (translate-cache.ts).
import type { Backend, Target } from '../../shared/config/types.ts';
import { canonicalJson, EncodedRun, seal, type VersionCache } from '../../shared/config/version.ts';
import type { KubeObject } from '../sources/source.ts';
import type { Derivation, DerivedData } from '../state/state.ts';
import { Kinds } from './kinds.ts';
import { readBackend, type BackendSpec } from './backends.ts';
import { ClusterIndex, type McpService, type Read, type Recorded, type ServiceLookup } from './cluster-index.ts';
import type { LabelSelector } from './selectors.ts';
import { resolveBackend, type ResolveOptions, type ResolvedBackend, type ServiceTargetBuild } from './targets.ts';
import type { TranslateCache } from './translate-cache.ts';

/**
 * A valid backend resolved, sealed, to build snapshots from: its Backend (one leaf of a version, whose
 * hash is kept beside the object: version.ts) and its targets as an encoded run (another leaf).
 */
export interface Resolved {
  resolved: ResolvedBackend;
  backend: Backend;
  /** canonicalJson(backend), to tell whether a backend resolved again came out the same; computed once one is. */
  backendJson: string | undefined;
  targets: EncodedRun<Target>;
}

/** A backend's resolution, or why the backend is not valid (its Accepted=False message). */
export type Resolution = Resolved | string;

/** What TranslateCache.resolutions keeps of a backend object. */
export interface Entry {
  allowStdio: boolean;
  /** What the resolution read, as the index of its run answered. */
  reads: readonly Recorded[];
  /** The token of each distinct part those reads were answered from: the fast check. */
  parts: readonly Recorded[];
  resolution: Resolution;
  /** How its Service targets were built, to build the next resolution of this object from. */
  builds: readonly ServiceTargetBuild[];
}

/** A backend object (MCPBackend, AgentgatewayBackend) read: readBackend(), once per object (state.ts: as it arrives). */
export const BACKEND_SPEC: Derivation<BackendSpec | string> = Object.freeze({ kinds: [Kinds.MCPBackend, Kinds.AgentgatewayBackend], derive: readBackend });

/** readBackend(), once per object. */
export function backendSpec(derived: DerivedData, object: KubeObject): BackendSpec | string {
  return derived.of(BACKEND_SPEC, object);
}

/** resolveBackend(readBackend(object)), reusing an earlier run's result when it is still valid. */
export function resolveCached(object: KubeObject, index: ClusterIndex, options: ResolveOptions, cache: TranslateCache): Resolution {
  const entries = cache.resolutions;
  const entry = entries.get(object);
  if (entry && entry.allowStdio === options.allowStdio) {
    // Usually nothing the backend read from changed: one token per namespace it looked into.
    if (entry.parts.every((part) => index.token(part.read) === part.token)) return entry.resolution;
    // Something in those namespaces changed; if what this backend read did not, it stays valid,
    // and its tokens are brought up to date so the next run takes the fast check again.
    if (entry.reads.every((read) => index.answers(read))) {
      entries.set(object, { ...entry, reads: entry.reads.map((r) => index.refresh(r)), parts: entry.parts.map((p) => index.refresh(p)) });
      return entry.resolution;
    }
  }
  const spec = backendSpec(index.derived, object);
  if (typeof spec === 'string') {
    entries.set(object, { allowStdio: options.allowStdio, reads: [], parts: [], resolution: spec, builds: [] });
    return spec;
  }
  const recorder = new RecordingLookup(index);
  const { resolved, builds } = resolveBackend(spec, recorder, options, entry?.builds);
  const resolution = sealed(resolved, entry && typeof entry.resolution !== 'string' ? entry.resolution : undefined, cache.version);
  entries.set(object, { allowStdio: options.allowStdio, reads: recorder.reads(), parts: recorder.parts(), resolution, builds });
  return resolution;
}

/**
 * A resolution sealed (every later run and snapshot shares it) and encoded, sharing with the earlier
 * resolution of the same object whatever came out the same: a backend resolved again because one
 * of its targets changed keeps its Backend (and so its leaf digest, version.ts), and its other
 * targets and their canonical JSON.
 */
function sealed(resolved: ResolvedBackend, earlier: Resolved | undefined, cache: VersionCache): Resolved {
  const targets = EncodedRun.encode(resolved.targets, earlier?.targets, true, cache);
  // Compared by canonical JSON only when there is an earlier one (never in a translation from scratch).
  const backendJson = earlier ? canonicalJson(resolved.backend) : undefined;
  const sameBackend = earlier !== undefined && (earlier.backendJson ?? canonicalJson(earlier.backend)) === backendJson;
  const backend = sameBackend ? earlier.backend : seal(resolved.backend, cache);
  if (earlier && targets === earlier.targets && sameBackend && canonicalJson(resolved.conditions) === canonicalJson(earlier.resolved.conditions)) return earlier;
  return { resolved: Object.freeze({ backend, targets: targets.items, conditions: seal(resolved.conditions, cache) }), backend, backendJson, targets };
}

/** Reads like the index it wraps, and records each read with its answer. */
class RecordingLookup implements ServiceLookup {
  readonly #index: ClusterIndex;
  readonly derived: DerivedData;
  readonly #reads: Recorded[] = [];
  /** Namespaces and namespace labels read already (a namespace selector reads them for each selector). */
  readonly #seen = new Set<string>();
  /** One read per part of the index read from: by kind of read, then namespace. */
  readonly #parts = new Map<Read['of'], Map<string, Recorded>>();
  /**
   * slicesOf() calls not recorded yet, by namespace: recorded as one read per namespace (see
   * cluster-index.ts, Read), not one per Service, for the 10k Services of a translation from scratch.
   */
  readonly #slices = new Map<string, { services: string[]; answers: unknown[] }>();

  constructor(index: ClusterIndex) {
    this.#index = index;
    this.derived = index.derived;
  }

  namespaces(): readonly string[] {
    this.#record('namespaces', { of: 'namespaces' });
    return this.#index.namespaces();
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> {
    this.#record(`namespace\0${namespace}`, { of: 'namespace', namespace });
    return this.#index.namespaceLabels(namespace);
  }

  selectServices(namespace: string, selector: LabelSelector): McpService[] {
    const services = this.#index.selectServices(namespace, selector);
    // Not deduplicated: selectors are few, and telling two apart costs more than a second entry.
    this.#add(this.#index.record({ of: 'services', namespace, selector }, services));
    return services;
  }

  slicesOf(namespace: string, service: string): readonly KubeObject[] | undefined {
    const slices = this.#index.slicesOf(namespace, service);
    // Not deduplicated either: a Service is read once per MCP port, and a second entry is harmless.
    let pending = this.#slices.get(namespace);
    if (!pending) this.#slices.set(namespace, (pending = { services: [], answers: [] }));
    pending.services.push(service);
    pending.answers.push(slices ?? ClusterIndex.NO_SLICES);
    return slices;
  }

  reads(): Recorded[] {
    this.#flush();
    return this.#reads;
  }

  parts(): Recorded[] {
    this.#flush();
    return [...this.#parts.values()].flatMap((byNamespace) => [...byNamespace.values()]);
  }

  #flush(): void {
    for (const [namespace, { services, answers }] of this.#slices) this.#add(this.#index.record({ of: 'slices', namespace, services }, answers));
    this.#slices.clear();
  }

  #record(key: string, read: Read): void {
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#add(this.#index.record(read));
  }

  #add(recorded: Recorded): void {
    this.#reads.push(recorded);
    const { read } = recorded;
    let byNamespace = this.#parts.get(read.of);
    if (!byNamespace) this.#parts.set(read.of, (byNamespace = new Map()));
    const namespace = 'namespace' in read ? read.namespace : '';
    if (!byNamespace.has(namespace)) byNamespace.set(namespace, recorded);
  }
}
