// The kubernetes source: client-node informers (list, then watch from the list's resourceVersion)
// for every kind the translator reads, turned into the same SourceChange batches the files source
// emits.
//
// What client-node's ListWatch does and does not do, and what is added here:
//  - it relists on 410 Gone (the watch's resourceVersion is too old) and reconciles the relist
//    against its cache: deletes for objects gone, updates only where resourceVersion changed. So a
//    relist neither loses a delete nor repeats an unchanged object;
//  - on any other error (connection refused, an apiserver restart cutting the stream, 5xx, 403) it
//    calls its error handlers and stops for good. Each informer here restarts with jittered
//    exponential backoff; a restart resumes the watch from the last resourceVersion it saw, so
//    nothing that happened meanwhile is missed (and a 410 then relists, as above);
//  - an optional kind (a CRD) that is not installed answers 404: counted as synced and empty, logged
//    once, and looked for again every few seconds, so installing the CRD later just works. If it is
//    removed, its objects are deleted and the informer starts over.
//
// Secrets are never listed cluster-wide: the control plane names the ones backends reference
// (setSecretRefs), and each gets its own informer on that one name (a field selector), so the
// control plane reads no other Secret and RBAC can say so.
//
// Batching: the initial lists of all informers are one batch; the Secrets the receiver names while
// taking it (setSecretRefs) are read next, and come as one more batch. start() resolves after both:
// a source is synced only once every referenced Secret has been read or found missing, so the first
// snapshot never denies callers of a guarded route for want of its API keys. Later changes are
// coalesced for a few milliseconds, the last change of an object winning.
import { ListWatch, Watch, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { isNotFound, KubeApiError, KubeClient } from '../kube/client.ts';
import { apiVersionOf, collectionPath, Resources, WATCHED, type ResourceType } from '../kube/resources.ts';
import { objectId, type KubeObject, type Source, type SourceChange } from './source.ts';

export interface KubernetesSourceOptions {
  client: KubeClient;
  logger: Logger;
  /** Namespaces to watch; empty or absent: all. Cluster-scoped kinds are watched either way (Namespaces only for all). */
  namespaces?: readonly string[];
  /** The kinds to watch (default: what the translator reads). */
  resources?: readonly ResourceType[];
  /** Quiet period that ends a burst of watch events (default 5 ms), and the longest a burst is held (default 100 ms). */
  batch?: { quietMs: number; maxDelayMs: number };
  /** Restart backoff after an error: base, cap (default 250 ms, 30 s); full jitter. */
  backoff?: { baseMs: number; maxMs: number };
  /** How often a kind that is not installed is looked for again (default 10 s). */
  missingRetryMs?: number;
}

type ListedObject = KubernetesObject & KubeObject;

export class KubernetesSource implements Source {
  readonly name = 'kubernetes' as const;
  readonly #options: KubernetesSourceOptions;
  readonly #logger: Logger;
  readonly #watchers: ResourceWatcher[] = [];
  /** One informer per referenced Secret, by "namespace/name". */
  readonly #secrets = new Map<string, ResourceWatcher>();
  readonly #pending = new Map<string, SourceChange>();
  #emit: ((changes: SourceChange[]) => void) | null = null;
  #synced = false;
  #timer: NodeJS.Timeout | null = null;
  #burstStarted = 0;
  #stopped = false;

  constructor(options: KubernetesSourceOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  async start(emit: (changes: SourceChange[]) => void): Promise<void> {
    this.#emit = emit;
    const namespaces = [...new Set(this.#options.namespaces ?? [])].filter(Boolean);
    const types = this.#options.resources ?? WATCHED;
    for (const type of types) {
      // A Namespace list needs cluster-wide read access, which a namespace-scoped install lacks;
      // namespace selectors then see the names alone (kubernetes.io/metadata.name).
      if (type === Resources.Namespace && namespaces.length > 0) continue;
      const scopes = type.namespaced && namespaces.length > 0 ? namespaces : [undefined];
      for (const namespace of scopes) this.#watchers.push(new ResourceWatcher(type, namespace, this.#options, (change) => this.#queue(change)));
    }
    this.#logger.info(
      { server: this.#options.client.server, namespaces: namespaces.length > 0 ? namespaces : 'all', kinds: types.map((t) => t.kind) },
      'kubernetes source: listing and watching',
    );
    await Promise.all(this.#watchers.map((watcher) => watcher.start()));
    if (this.#stopped) return;
    // The initial batch: the receiver names the Secrets it references (setSecretRefs) as it takes it.
    this.#flush(true);
    // Those Secrets are part of the initial state: until each is read (or found missing), a snapshot
    // would deny every caller of a guarded route and leave credentialed targets unavailable. Their
    // changes are one more batch before start() resolves (and a batch naming more Secrets, one more).
    for (let pending = this.#unsyncedSecrets(); pending.length > 0; pending = this.#unsyncedSecrets()) {
      await Promise.all(pending.map((watcher) => watcher.whenSynced()));
      if (this.#stopped) return;
      this.#flush(false);
    }
    this.#synced = true;
    this.#logger.info({ objects: this.#watchers.reduce((n, w) => n + w.size, 0), secrets: this.#secrets.size }, 'kubernetes source synced');
  }

  #unsyncedSecrets(): ResourceWatcher[] {
    return [...this.#secrets.values()].filter((watcher) => !watcher.synced);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#emit = null;
    await Promise.all([...this.#watchers, ...this.#secrets.values()].map((watcher) => watcher.stop()));
  }

  /**
   * The Secrets backends reference now: new ones are watched (their objects arrive as changes),
   * ones no longer referenced stop being watched and are deleted from the state.
   */
  setSecretRefs(refs: ReadonlyArray<{ namespace: string; name: string }>): void {
    if (this.#stopped) return;
    const scoped = this.#options.namespaces ?? [];
    const wanted = new Map(refs.filter((r) => scoped.length === 0 || scoped.includes(r.namespace)).map((r) => [`${r.namespace}/${r.name}`, r]));
    for (const [key, watcher] of this.#secrets) {
      if (wanted.has(key)) continue;
      this.#secrets.delete(key);
      for (const object of watcher.objects()) this.#queue({ type: 'delete', object });
      void watcher.stop();
    }
    for (const [key, ref] of wanted) {
      if (this.#secrets.has(key)) continue;
      const watcher = new ResourceWatcher(Resources.Secret, ref.namespace, this.#options, (change) => this.#queue(change), `metadata.name=${ref.name}`);
      this.#secrets.set(key, watcher);
      void watcher.start();
    }
  }

  /** Per-kind state, for /readyz and tests. */
  status(): Array<{ kind: string; namespace: string; synced: boolean; installed: boolean; objects: number; restarts: number }> {
    return [...this.#watchers, ...this.#secrets.values()].map((w) => ({ kind: w.type.kind, namespace: w.namespace ?? '', synced: w.synced, installed: w.installed, objects: w.size, restarts: w.restarts }));
  }

  #queue(change: SourceChange): void {
    if (this.#stopped) return;
    this.#pending.set(objectId(change.object), change);
    if (!this.#synced) return; // the initial batch is flushed by start()
    const { quietMs, maxDelayMs } = this.#options.batch ?? { quietMs: 5, maxDelayMs: 100 };
    const now = Date.now();
    if (!this.#timer) this.#burstStarted = now;
    else clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, Math.min(quietMs, this.#burstStarted + maxDelayMs - now)));
  }

  /** Emits what is pending; the first batch even when empty (the initial state may be nothing), no other. */
  #flush(first = false): void {
    this.#timer = null;
    const emit = this.#emit;
    if (!emit) return;
    // Sorted by identity: a batch's order never depends on which watch answered first.
    const ids = [...this.#pending.keys()].sort();
    const changes = ids.map((id) => this.#pending.get(id)!);
    this.#pending.clear();
    if (changes.length > 0 || first) emit(changes);
  }
}

/** One informer (a kind, in one namespace or all), kept running. */
class ResourceWatcher {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  synced = false;
  /** False while the kind's API answers 404 (a CRD not installed). */
  installed = true;
  restarts = 0;
  readonly #options: KubernetesSourceOptions;
  readonly #logger: Logger;
  readonly #changed: (change: SourceChange) => void;
  readonly #path: string;
  readonly #fieldSelector: string | undefined;
  #informer: Informer<ListedObject> & ObjectCache<ListedObject>;
  /** Consecutive failures, for the backoff; reset once a watch has stayed up a while. */
  #failures = 0;
  #startedAt = 0;
  #errored = false;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;
  #onSynced: (() => void) | null = null;
  #firstSync: Promise<void> = Promise.resolve();

  constructor(type: ResourceType, namespace: string | undefined, options: KubernetesSourceOptions, changed: (change: SourceChange) => void, fieldSelector?: string) {
    this.type = type;
    this.namespace = namespace;
    this.#options = options;
    this.#logger = options.logger;
    this.#changed = changed;
    this.#path = collectionPath(type, namespace);
    this.#fieldSelector = fieldSelector;
    this.#informer = this.#makeInformer();
  }

  get size(): number {
    return this.#informer.list().length;
  }

  objects(): KubeObject[] {
    return this.#informer.list().map((object) => this.#normalize(object));
  }

  /** Resolves once the first list has been read (or the kind found not installed). */
  start(): Promise<void> {
    this.#firstSync = new Promise<void>((resolve) => (this.#onSynced = resolve));
    void this.#run();
    return this.#firstSync;
  }

  /** What start() returned: resolves once the first list has been read, or the watcher stopped. */
  whenSynced(): Promise<void> {
    return this.#firstSync;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#markSynced(); // nobody waits on a stopped source
    await this.#informer.stop();
  }

  #makeInformer(): Informer<ListedObject> & ObjectCache<ListedObject> {
    const informer = new ListWatch<ListedObject>(this.#path, new Watch(this.#options.client.config), () => this.#list(), false, undefined, this.#fieldSelector);
    // Callbacks of a replaced informer (see #notInstalled) are ignored.
    const live = (): boolean => this.#informer === informer && !this.#stopped;
    informer.on('add', (object) => live() && this.#changed({ type: 'upsert', object: this.#normalize(object) }));
    informer.on('update', (object) => live() && this.#changed({ type: 'upsert', object: this.#normalize(object) }));
    informer.on('delete', (object) => live() && this.#changed({ type: 'delete', object: this.#normalize(object) }));
    informer.on('error', (error: unknown) => live() && this.#failed(error));
    return informer;
  }

  /** The list, with each item's apiVersion and kind (a list's items carry neither). */
  async #list(): Promise<{ metadata?: { resourceVersion?: string }; items: ListedObject[] }> {
    const list = await this.#options.client.request<{ metadata?: { resourceVersion?: string }; items?: ListedObject[] | null }>('GET', this.#path, {
      query: { fieldSelector: this.#fieldSelector },
    });
    const apiVersion = apiVersionOf(this.type);
    const items = (list.items ?? []).map((item) => ({ ...item, apiVersion: item.apiVersion ?? apiVersion, kind: item.kind ?? this.type.kind }));
    return { metadata: list.metadata, items };
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    this.#errored = false;
    this.#startedAt = Date.now();
    // start() resolves after the list has been applied and the watch has connected, or after an
    // error was reported (then #failed has scheduled the next try).
    await this.#informer.start();
    if (this.#stopped || this.#errored) return;
    if (!this.installed) this.#logger.info({ kind: this.type.kind, namespace: this.namespace }, 'kind now installed: watching it');
    this.installed = true;
    this.#markSynced();
  }

  #failed(error: unknown): void {
    this.#errored = true;
    if (this.#stopped) return;
    if (this.type.optional && isNotFound(error)) {
      this.#notInstalled();
      return;
    }
    // A watch that stayed up a while before it broke starts the backoff over.
    if (Date.now() - this.#startedAt > 30_000) this.#failures = 0;
    this.#failures++;
    this.restarts++;
    const { baseMs, maxMs } = this.#options.backoff ?? { baseMs: 250, maxMs: 30_000 };
    const delay = Math.round(Math.random() * Math.min(maxMs, baseMs * 2 ** Math.min(this.#failures - 1, 20)));
    const status = error instanceof KubeApiError ? error.status : undefined;
    const hint = status === 401 ? ' (credentials refused)' : status === 403 ? ' (RBAC: the control plane needs get, list and watch on it)' : '';
    this.#logger.warn(
      { kind: this.type.kind, namespace: this.namespace, err: errorMessage(error), failures: this.#failures, retryInMs: delay, synced: this.synced },
      `watch of ${this.type.kind} failed${hint}; restarting`,
    );
    this.#schedule(delay);
  }

  /** The kind's API is gone (or never was): its objects are deleted, and it is looked for again later. */
  #notInstalled(): void {
    const objects = this.#informer.list();
    if (this.installed) {
      this.#logger.info(
        { kind: this.type.kind, apiVersion: apiVersionOf(this.type), namespace: this.namespace, retryInMs: this.#retryMs() },
        `${this.type.kind} is not installed in this cluster (no such API); looking again periodically`,
      );
    }
    this.installed = false;
    for (const object of objects) this.#changed({ type: 'delete', object: this.#normalize(object) });
    // A fresh informer: the old one's cache still holds what was just deleted.
    const old = this.#informer;
    this.#informer = this.#makeInformer();
    void old.stop();
    this.#markSynced();
    this.#schedule(this.#retryMs());
  }

  #retryMs(): number {
    return this.#options.missingRetryMs ?? 10_000;
  }

  #schedule(delay: number): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.#run();
    }, delay);
  }

  #markSynced(): void {
    this.synced = true;
    const onSynced = this.#onSynced;
    this.#onSynced = null;
    onSynced?.();
  }

  /** A watch event's object as the rest of the control plane expects it (apiVersion and kind set). */
  #normalize(object: ListedObject): KubeObject {
    if (object.apiVersion && object.kind) return object;
    return { ...object, apiVersion: object.apiVersion || apiVersionOf(this.type), kind: object.kind || this.type.kind };
  }
}
