// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: every
// control plane replica serves discovery, one (the lease holder) writes status, Events and the
// proxies it provisions.
//
//  - The holder renews every retry period; it steps down if it could not renew for the renew
//    deadline (before the lease can run out, so two replicas never both believe they lead).
//  - A candidate takes the lease once it has seen the same holder record, unchanged, for the lease
//    duration by its own clock (never by comparing the holder's timestamps with its clock: clocks
//    of two machines differ).
//  - Every write is a PUT with the resourceVersion last read: of two candidates, one wins (409 for
//    the other).
//  - stop() releases the lease (holder emptied, duration 1 s) so a successor takes over at once.
//  - start() waits for the first round: a Lease that cannot be read or created for a reason no retry
//    fixes (its namespace does not exist, RBAC forbids it, the credentials are refused) is an error
//    at start naming the Lease and what to do, never a warning repeated forever while the replica
//    reports ready and nothing is ever written. Until a round has succeeded, `problem` says why.
import { EventEmitter } from 'node:events';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { isConflict, isNotFound, KubeApiError, type KubeClient } from './client.ts';
import { objectPath, collectionPath, Resources } from './resources.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This replica's identity (pod name, or host and pid). */
  identity: string;
  /** Default 15 s / 10 s / 2 s, client-go's. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Emits 'change' (leading: boolean) when this replica gains or loses the lease. */
export class LeaderElector extends EventEmitter<{ change: [leading: boolean] }> {
  readonly #options: Required<Omit<LeaderElectionOptions, 'logger' | 'client'>> & Pick<LeaderElectionOptions, 'logger' | 'client'>;
  #leading = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = true;
  /** The holder record last read, and when (our clock) it last changed. */
  #observed: { key: string; at: number } | null = null;
  /** When we last renewed successfully. */
  #renewedAt = 0;
  #round: Promise<void> = Promise.resolve();
  /** Whether a round has completed (leading or not), and the last round's error if it failed. */
  #succeeded = false;
  #lastError: unknown;

  constructor(options: LeaderElectionOptions) {
    super();
    this.#options = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...options,
    };
    if (this.#options.renewDeadlineMs >= this.#options.leaseDurationMs) throw new Error('leader election: the renew deadline must be shorter than the lease duration');
  }

  get leading(): boolean {
    return this.#leading;
  }

  get identity(): string {
    return this.#options.identity;
  }

  /**
   * Starts competing; resolves after the first round. Rejects (and stops) when that round failed for
   * a reason retrying will not fix (LeaseUnavailable); other failures (the apiserver briefly away)
   * are retried, and `problem` reports them until a round succeeds.
   */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
    await this.#round;
    const error = this.#lastError;
    if (!this.#succeeded && error !== undefined && permanent(error)) {
      await this.stop();
      const { namespace, name } = this.#options;
      throw new LeaseUnavailable(namespace, name, error);
    }
  }

  /** Why this replica cannot take part in the election yet (no round has succeeded); undefined once one has. */
  get problem(): string | undefined {
    if (this.#succeeded) return undefined;
    const lease = `${this.#options.namespace}/${this.#options.name}`;
    return this.#lastError === undefined ? `leader election: first round on Lease ${lease} under way` : `leader election: Lease ${lease}: ${errorMessage(this.#lastError)}`;
  }

  /** Stops competing; a leader releases the lease so another replica takes over without waiting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#round;
    if (this.#leading) {
      await this.#release().catch((error: unknown) => this.#options.logger.warn({ err: errorMessage(error) }, 'could not release the leader lease'));
      this.#setLeading(false);
    }
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#round = this.#tryAcquireOrRenew()
      .then(() => {
        if (this.#lastError !== undefined && this.#succeeded) this.#options.logger.info({ lease: `${this.#options.namespace}/${this.#options.name}` }, 'leader election rounds succeed again');
        this.#succeeded = true;
        this.#lastError = undefined;
      })
      .catch((error: unknown) => {
        // The first failure of a run is a warning; the same failure again is not repeated every round.
        const again = this.#lastError !== undefined && errorMessage(this.#lastError) === errorMessage(error);
        this.#lastError = error;
        const fields = { err: errorMessage(error), lease: `${this.#options.namespace}/${this.#options.name}` };
        if (again) this.#options.logger.debug(fields, 'leader election round failed again');
        else this.#options.logger.warn(fields, 'leader election round failed');
      })
      .finally(() => {
        // A leader that could not renew within the deadline steps down before the lease expires.
        if (this.#leading && Date.now() - this.#renewedAt > this.#options.renewDeadlineMs) {
          this.#options.logger.warn({ identity: this.#options.identity }, 'could not renew the leader lease in time; stepping down');
          this.#setLeading(false);
        }
        if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.#jittered());
      });
  }

  /** The leader renews on the period; candidates poll with jitter so they do not collide. */
  #jittered(): number {
    const period = this.#options.retryPeriodMs;
    return this.#leading ? period : Math.round(period * (1 + Math.random() * 0.2));
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { client, namespace, name, identity, leaseDurationMs } = this.#options;
    const now = new Date();
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await client.request<Lease>('GET', objectPath(Resources.Lease, namespace, name));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const created = await won(client.request('POST', collectionPath(Resources.Lease, namespace), {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec },
      }));
      if (created) {
        this.#renewedAt = Date.now();
        this.#options.logger.info({ identity }, 'acquired the leader lease (created it)');
        this.#setLeading(true);
      }
      return;
    }
    const held = lease.spec ?? {};
    const key = `${held.holderIdentity ?? ''}|${held.renewTime ?? ''}|${held.leaseDurationSeconds ?? ''}`;
    if (this.#observed?.key !== key) this.#observed = { key, at: Date.now() };
    const holder = held.holderIdentity ?? '';
    const mine = holder === identity;
    const durationMs = (held.leaseDurationSeconds ?? 0) * 1000;
    if (!mine && holder !== '' && Date.now() < this.#observed.at + durationMs) {
      if (this.#leading) this.#setLeading(false); // someone else holds it (we lost it while partitioned)
      return;
    }
    const next: LeaseSpec = mine
      ? { ...held, renewTime: spec.renewTime, leaseDurationSeconds: spec.leaseDurationSeconds }
      : { ...spec, leaseTransitions: (held.leaseTransitions ?? 0) + 1 };
    if (!(await won(client.request('PUT', objectPath(Resources.Lease, namespace, name), { body: { ...lease, spec: next } })))) return;
    this.#renewedAt = Date.now();
    if (!mine) this.#options.logger.info({ identity, previous: holder || '(none)' }, 'acquired the leader lease');
    this.#setLeading(true);
  }

  async #release(): Promise<void> {
    const { client, namespace, name, identity } = this.#options;
    const lease = await client.request<Lease>('GET', objectPath(Resources.Lease, namespace, name));
    if (lease.spec?.holderIdentity !== identity) return;
    await client.request('PUT', objectPath(Resources.Lease, namespace, name), {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } },
    });
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#options.logger.info({ identity: this.#options.identity, leading }, leading ? 'leading: writing status and provisioning proxies' : 'not leading');
    this.emit('change', leading);
  }
}

/** Whether a write went through; false when another replica wrote first (409 Conflict, or 409 AlreadyExists on create). */
async function won(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Failures of the Lease API no retry fixes: 404 on the create (the namespace does not exist; or no
 * Lease API), 403 (RBAC), 401 (credentials), 422 (an invalid namespace, name or identity).
 */
function permanent(error: unknown): boolean {
  return error instanceof KubeApiError && [401, 403, 404, 422].includes(error.status);
}

/** The first election round found the Lease unusable: what happened and what to do. */
export class LeaseUnavailable extends McpmuxError {
  constructor(namespace: string, name: string, cause: unknown) {
    const status = cause instanceof KubeApiError ? cause.status : 0;
    const what = cause instanceof KubeApiError ? cause.message.replace(/^\S+ \S+: /, '') : errorMessage(cause);
    const hint = status === 404
      ? `the namespace must exist: pass --leader-election-namespace NS (a namespace where this identity may create Leases), or create namespace ${namespace}`
      : status === 403
        ? `RBAC: this identity needs create on leases.coordination.k8s.io in ${namespace}, and get and update on Lease ${name}; or pass --leader-election-namespace NS`
        : status === 401
          ? 'the apiserver refused the credentials of the kubeconfig'
          : 'check --leader-election-namespace, --leader-election-name and --identity';
    super('MCPMUX_USAGE', `mcpmux control-plane: cannot use the leader election Lease ${namespace}/${name}: ${what}; ${hint}`, { cause });
    this.name = 'LeaseUnavailable';
  }
}
