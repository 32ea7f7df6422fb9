// A Secret in the control plane's own namespace that the control plane makes for itself and every
// replica reads: the requestState master keys (request-state-secret.ts) and the CA of its mTLS
// (pki/ca-secret.ts).
//
//  - The leader creates it when it finds none (a create carries no name RBAC could check; the
//    other verbs are limited to that one name).
//  - Every replica, leading or not, reads it (GET by name) and watches it (a watch with a
//    metadata.name field selector, renewed every few tens of seconds), so all replicas hold the
//    same value and an operator's edit (a rotation) reaches every replica within moments.
//  - The control plane never updates or deletes it. A Secret whose data is unusable is reported,
//    never overwritten: the value in use stays.
// Nothing here logs the Secret's data.
import { Watch } from '@kubernetes/client-node';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { isConflict, isNotFound, KubeApiError, type KubeClient } from './client.ts';
import { collectionPath, objectPath, Resources } from './resources.ts';

export interface SecretObject {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string> | null;
}

/** What one kind of leader-created Secret holds, and how it is made. */
export interface SecretKind<T> {
  /** What the value is, for log lines ("requestState master keys"). */
  what: string;
  /** Where an operator reads how to fix or rotate it ("docs/security.md, \"requestState keys\""). */
  docs: string;
  /** The value a Secret holds, or why it holds none usable. */
  parse(secret: SecretObject): T | { error: string };
  same(a: T, b: T | undefined): boolean;
  /** The data (base64 values) of a new Secret; `previous` is the value in use when the Secret was deleted under us. */
  create(previous: T | undefined): Promise<Record<string, string>>;
  /** Labels and annotations of a new Secret. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Fields for the log line that says the value was taken (never the value). */
  describe?(value: T): Record<string, unknown>;
}

export interface LeaderCreatedSecretOptions<T> {
  client: KubeClient;
  /** The control plane's own namespace. */
  namespace: string;
  name: string;
  logger: Logger;
  kind: SecretKind<T>;
  /** The value read from the Secret, each time it changes. */
  onValue(value: T): void;
  /** How long a follower waits before looking for the Secret again while it does not exist; base of the error backoff (default 2 s). */
  retryMs?: number;
  /** How long one watch request lasts before it is renewed (default 25 s: under client-node's 30 s idle timeout). */
  watchSeconds?: number;
}

/** Reads and watches the Secret on every replica; the leader creates it (see above). */
export class LeaderCreatedSecret<T> {
  readonly #options: LeaderCreatedSecretOptions<T>;
  readonly #path: string;
  readonly #watcher: Watch;
  #leading = false;
  #stopped = true;
  #value: T | undefined;
  #reported = '';
  #failures = 0;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();

  constructor(options: LeaderCreatedSecretOptions<T>) {
    this.#options = options;
    this.#path = objectPath(Resources.Secret, options.namespace, options.name);
    this.#watcher = new Watch(options.client.config);
  }

  get #where(): string {
    return `${this.#options.namespace}/${this.#options.name}`;
  }

  /** The value in use (undefined before the first usable one). */
  get value(): T | undefined {
    return this.#value;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wakeUp();
    await this.#loop;
  }

  /** The leader creates the Secret when it is missing; a replica that starts leading looks at once. */
  setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) this.#wakeUp();
  }

  async #run(): Promise<void> {
    let waitingSaid = false;
    while (!this.#stopped) {
      let secret: SecretObject;
      try {
        secret = await this.#options.client.request<SecretObject>('GET', this.#path);
      } catch (error) {
        if (this.#stopped) return;
        if (!isNotFound(error)) {
          await this.#failed(error, 'read');
          continue;
        }
        if (this.#leading) {
          await this.#create();
          continue;
        }
        if (!waitingSaid) this.#options.logger.info({ secret: this.#where }, `${this.#options.kind.what}: waiting for the leader to create their Secret`);
        waitingSaid = true;
        await this.#sleep(this.#options.retryMs ?? 2000);
        continue;
      }
      waitingSaid = false;
      this.#accept(secret);
      const ended = await this.#watch(secret.metadata?.resourceVersion);
      if (ended instanceof Error && !this.#stopped) await this.#failed(ended, 'watch');
      else this.#failures = 0;
    }
  }

  /** Takes a Secret's value when it is usable and new. */
  #accept(secret: SecretObject): void {
    const { kind, logger } = this.#options;
    const parsed = kind.parse(secret);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const problem = (parsed as { error: string }).error;
      const report = `${secret.metadata?.resourceVersion ?? ''} ${problem}`;
      if (report !== this.#reported) {
        logger.error({ secret: this.#where, problem, keeping: this.#value ? 'the value in use' : 'nothing yet' }, `${kind.what}: their Secret is unusable; fix it (${kind.docs})`);
      }
      this.#reported = report;
      return;
    }
    this.#reported = '';
    const value = parsed as T;
    if (kind.same(value, this.#value)) return;
    const first = this.#value === undefined;
    this.#value = value;
    logger.info({ secret: this.#where, ...kind.describe?.(value) }, first ? `${kind.what} read from their Secret` : `${kind.what} changed (rotation): taking the new ones`);
    this.#options.onValue(value);
  }

  async #create(): Promise<void> {
    const { client, namespace, name, logger, kind } = this.#options;
    try {
      const data = await kind.create(this.#value);
      await client.request('POST', collectionPath(Resources.Secret, namespace), {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: kind.labels, annotations: kind.annotations }, type: 'Opaque', data },
      });
      logger.info({ secret: this.#where, kept: this.#value !== undefined }, `${kind.what}: created their Secret`);
    } catch (error) {
      if (isConflict(error)) return; // another replica created it first: read that one
      await this.#failed(error, 'create');
    }
  }

  /** Watches the Secret from `resourceVersion` until the watch ends: undefined when it ended normally (renewal, deletion, 410), the error otherwise. */
  #watch(resourceVersion: string | undefined): Promise<Error | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        this.#abort?.abort();
        this.#abort = undefined;
        // Aborted by us, or client-node's idle timeout on a quiet watch: a renewal, not a failure.
        const normal = !(error instanceof Error) || this.#stopped || error.name === 'AbortError' || error.name === 'TimeoutError';
        resolve(normal ? undefined : (error as Error));
      };
      const query = {
        fieldSelector: `metadata.name=${this.#options.name}`,
        resourceVersion,
        timeoutSeconds: this.#options.watchSeconds ?? 25,
      };
      this.#watcher
        .watch(collectionPath(Resources.Secret, this.#options.namespace), query, (phase: string, object: unknown) => {
          if (phase === 'ADDED' || phase === 'MODIFIED') this.#accept(object as SecretObject);
          else if (phase === 'DELETED') {
            this.#options.logger.warn({ secret: this.#where }, `${this.#options.kind.what}: their Secret was deleted; keeping the value in use${this.#leading ? '' : ' until the leader creates a new one'}`);
            finish();
          } else if (phase === 'ERROR') finish(); // e.g. 410 Expired: read it again
        }, (error: unknown) => finish(error))
        .then(
          (controller) => {
            if (settled || this.#stopped) controller.abort();
            else this.#abort = controller;
          },
          (error: unknown) => finish(error),
        );
    });
  }

  async #failed(error: unknown, what: 'read' | 'watch' | 'create'): Promise<void> {
    this.#failures++;
    const base = this.#options.retryMs ?? 2000;
    const delay = Math.round(Math.min(30_000, base * 2 ** Math.min(this.#failures - 1, 10)) * (0.5 + Math.random() / 2));
    const status = error instanceof KubeApiError ? error.status : (error as { statusCode?: number }).statusCode;
    const hint = status === 403
      ? ` (RBAC: the control plane needs get and watch on Secret ${this.#where}, and create on Secrets in ${this.#options.namespace})`
      : '';
    this.#options.logger.warn({ secret: this.#where, err: errorMessage(error), retryInMs: delay }, `${this.#options.kind.what}: cannot ${what} their Secret${hint}`);
    await this.#sleep(delay);
  }

  /** Waits `ms`, or less when woken (stop, or this replica starts leading). */
  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#timer = setTimeout(() => this.#wakeUp(), ms);
      this.#wake = resolve;
    });
  }

  #wakeUp(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
