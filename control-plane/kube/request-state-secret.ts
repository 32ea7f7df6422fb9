// The requestState master keys in a cluster (request-state/keys.ts): one Secret in the control
// plane's own namespace, `mcpmux-request-state` by default, with data keys `current` and, during a
// rotation, `previous` (raw bytes, at least 32 each).
//
//  - The leader creates it when it finds none: a random `current` (and, when it had keys from a
//    Secret that was since deleted, those as `previous`, so tokens already out still open).
//  - Every replica, leading or not, reads it (GET by name) and watches it (a watch with a
//    metadata.name field selector, renewed every few tens of seconds), so all derive the same keys
//    for every Gateway, and a rotation (an operator moving `current` to `previous` and writing a
//    new `current`, docs/security.md) reaches every proxy within moments.
//  - The control plane never updates or deletes it. RBAC: get and watch on that one name, and
//    create on Secrets in its own namespace (a create carries no name RBAC could check).
//  - A Secret whose keys are unusable (missing, too short) is reported, never overwritten: the keys
//    in use stay (none before the first good ones: proxies then keep random keys of their own).
// Nothing here logs a key, or the Secret's data.
import { randomBytes } from 'node:crypto';
import { Watch } from '@kubernetes/client-node';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { MIN_MASTER_KEY_BYTES, sameKeys, type MasterKeys } from '../request-state/keys.ts';
import { isConflict, isNotFound, KubeApiError, type KubeClient } from './client.ts';
import { collectionPath, objectPath, Resources } from './resources.ts';

export const DEFAULT_REQUEST_STATE_SECRET = 'mcpmux-request-state';

export interface RequestStateSecretOptions {
  client: KubeClient;
  /** The control plane's own namespace. */
  namespace: string;
  name: string;
  logger: Logger;
  /** Master keys read from the Secret, each time they change. */
  onKeys(keys: MasterKeys): void;
  /** How long a follower waits before looking for the Secret again while it does not exist; base of the error backoff (default 2 s). */
  retryMs?: number;
  /** How long one watch request lasts before it is renewed (default 25 s: under client-node's 30 s idle timeout). */
  watchSeconds?: number;
}

interface SecretObject {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string> | null;
}

/** The master keys a Secret holds, or why it holds none usable. */
export function parseRequestStateSecret(secret: SecretObject): MasterKeys | { error: string } {
  const data = secret.data ?? {};
  const decode = (key: 'current' | 'previous'): Buffer | undefined => (typeof data[key] === 'string' && data[key] !== '' ? Buffer.from(data[key], 'base64') : undefined);
  const current = decode('current');
  const previous = decode('previous');
  if (!current) return { error: 'it has no data.current' };
  if (current.length < MIN_MASTER_KEY_BYTES) return { error: `data.current is ${current.length} bytes; a master key is at least ${MIN_MASTER_KEY_BYTES}` };
  if (previous && previous.length < MIN_MASTER_KEY_BYTES) return { error: `data.previous is ${previous.length} bytes; a master key is at least ${MIN_MASTER_KEY_BYTES}` };
  return previous ? { current, previous } : { current };
}

/** Reads and watches the Secret on every replica; the leader creates it (see above). */
export class RequestStateSecret {
  readonly #options: RequestStateSecretOptions;
  readonly #path: string;
  readonly #watcher: Watch;
  #leading = false;
  #stopped = true;
  #keys: MasterKeys | undefined;
  #reported = '';
  #failures = 0;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();

  constructor(options: RequestStateSecretOptions) {
    this.#options = options;
    this.#path = objectPath(Resources.Secret, options.namespace, options.name);
    this.#watcher = new Watch(options.client.config);
  }

  get #where(): string {
    return `${this.#options.namespace}/${this.#options.name}`;
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
        if (!waitingSaid) this.#options.logger.info({ secret: this.#where }, 'requestState master keys: waiting for the leader to create their Secret');
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

  /** Takes a Secret's keys when they are usable and new. */
  #accept(secret: SecretObject): void {
    const parsed = parseRequestStateSecret(secret);
    if ('error' in parsed) {
      const report = `${secret.metadata?.resourceVersion ?? ''} ${parsed.error}`;
      if (report !== this.#reported) {
        this.#options.logger.error(
          { secret: this.#where, problem: parsed.error, keeping: this.#keys ? 'the keys in use' : 'no keys: proxies keep random keys of their own' },
          'requestState master key Secret unusable; fix it (docs/security.md, "requestState keys")',
        );
      }
      this.#reported = report;
      return;
    }
    this.#reported = '';
    if (sameKeys(parsed, this.#keys)) return;
    const first = this.#keys === undefined;
    this.#keys = parsed;
    this.#options.logger.info({ secret: this.#where, previous: parsed.previous !== undefined }, first ? 'requestState master keys read from their Secret' : 'requestState master keys changed (rotation): pushing new keys to proxies');
    this.#options.onKeys(parsed);
  }

  async #create(): Promise<void> {
    const { client, namespace, name, logger } = this.#options;
    const data: Record<string, string> = { current: randomBytes(32).toString('base64') };
    // A Secret deleted under us: the keys it held open the tokens already out.
    if (this.#keys) data.previous = this.#keys.current.toString('base64');
    try {
      await client.request('POST', collectionPath(Resources.Secret, namespace), {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace,
            labels: { 'app.kubernetes.io/name': 'mcpmux', 'app.kubernetes.io/component': 'request-state-keys', 'app.kubernetes.io/managed-by': 'mcpmux-control-plane' },
            annotations: { 'mcpmux.dev/description': 'Master keys of requestState tokens (current, previous). Rotate: docs/security.md. Never shown by mcpmux.' },
          },
          type: 'Opaque',
          data,
        },
      });
      logger.info({ secret: this.#where, previous: data.previous !== undefined }, 'requestState master keys: created their Secret with a new random key');
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
            this.#options.logger.warn({ secret: this.#where }, `requestState master key Secret deleted; keeping the keys in use${this.#leading ? '' : ' until the leader creates a new one'}`);
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
    this.#options.logger.warn({ secret: this.#where, err: errorMessage(error), retryInMs: delay }, `requestState master keys: cannot ${what} their Secret${hint}`);
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
