// Writes the translator's statuses to the cluster (status subresources), and Kubernetes Events on a
// Gateway when its proxies reject a snapshot. Only the leader writes status (leader.ts); the control
// plane enables and disables that as leadership moves. A NACK Event is written by the replica that
// holds the proxy's stream, leader or not (only it hears the NACK), under a name derived from
// (Gateway, version, error): when several replicas' proxies reject the same version for the same
// reason, the first create wins and the others' AlreadyExists is the deduplication.
//
// One pass at a time, always from the newest statuses and state: a pass that finds the cluster
// already saying the same writes nothing (status-patch.ts). Writes carry the resourceVersion they
// were computed from; a 409 means the object changed meanwhile, and its watch event brings a
// rebuild and a new pass, so a conflict is dropped, not retried. Other failures retry with backoff.
import { createHash } from 'node:crypto';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { apiGroup, groupKind, objectId, type KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { Kinds } from '../translate/kinds.ts';
import type { ObjectStatus } from '../translate/status.ts';
import { isConflict, isNotFound, type KubeClient } from './client.ts';
import { collectionPath, objectPath, Resources, type ResourceType } from './resources.ts';
import { SerialPasses } from './serial-passes.ts';
import { statusWrites } from './status-patch.ts';

export interface StatusWriterOptions {
  client: KubeClient;
  logger: Logger;
  controllerName: string;
  /** Where Events say they come from (the pod name). */
  instance: string;
  now?: () => Date;
  /** Retry delay after a failed pass (default 1 s, doubling to 30 s). */
  retryMs?: number;
}

const STATUS_KINDS: ReadonlyMap<string, ResourceType> = new Map<string, ResourceType>([
  [Kinds.GatewayClass, Resources.GatewayClass],
  [Kinds.Gateway, Resources.Gateway],
  [Kinds.HTTPRoute, Resources.HTTPRoute],
  [Kinds.MCPBackend, Resources.MCPBackend],
  [Kinds.AgentgatewayBackend, Resources.AgentgatewayBackend],
]);

export class StatusWriter {
  readonly #options: StatusWriterOptions;
  readonly #now: () => Date;
  #enabled = false;
  #input: { statuses: readonly ObjectStatus[]; state: ClusterState } | null = null;
  readonly #passes: SerialPasses;
  #retry: NodeJS.Timeout | null = null;
  #failures = 0;
  /** What we last wrote per object, and from which resourceVersion: not written twice while the watch catches up. */
  readonly #written = new Map<string, { fromVersion: string; status: string }>();
  /** NACK events already recorded (or being recorded), by their name. */
  readonly #nacks = new Set<string>();
  #stopped = false;
  /** Status writes made (for tests and metrics). */
  writes = 0;

  constructor(options: StatusWriterOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#passes = new SerialPasses(() => this.#pass(), (error) => options.logger.warn({ err: errorMessage(error) }, 'status pass failed'));
  }

  /** Leader: write. Not leader: stop writing (a pass under way finishes its current write). */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    if (enabled) this.#schedule();
  }

  /** The newest statuses and the state they were computed from. */
  update(statuses: readonly ObjectStatus[], state: ClusterState): void {
    this.#input = { statuses, state };
    this.#schedule();
  }

  /** Resolves when no pass is running or due (tests). */
  idle(): Promise<void> {
    return this.#passes.idle();
  }

  stop(): void {
    this.#enabled = false;
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
  }

  /**
   * A Warning Event on the Gateway of a proxy group whose proxy rejected a version, once per
   * (Gateway, version, error): `kubectl describe gateway` then shows why proxies run an older config.
   * Written whether or not this replica leads: the replica holding the proxy's stream is the only one
   * that hears the NACK. Its name is derived from (Gateway, version, error), so the same NACK heard by
   * several replicas (their proxies) is one Event: a create that finds it exists (409) is done.
   */
  async recordNack(gateway: KubeObject | undefined, proxy: string, version: string, error: string): Promise<void> {
    if (this.#stopped || !gateway) return;
    const namespace = gateway.metadata.namespace ?? 'default';
    const name = nackEventName(gateway.metadata.name, namespace, version, error);
    if (this.#nacks.has(name)) return;
    this.#nacks.add(name);
    if (this.#nacks.size > 1000) this.#nacks.delete(this.#nacks.values().next().value!);
    const time = this.#now().toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: gateway.apiVersion,
        kind: gateway.kind,
        namespace,
        name: gateway.metadata.name,
        uid: gateway.metadata.uid,
        resourceVersion: gateway.metadata.resourceVersion,
      },
      type: 'Warning',
      reason: 'SnapshotRejected',
      message: `proxy ${proxy} rejected configuration version ${version}: ${error}`.slice(0, 1024),
      source: { component: 'mcpmux-control-plane' },
      reportingComponent: this.#options.controllerName,
      reportingInstance: this.#options.instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    try {
      await this.#options.client.request('POST', collectionPath(Resources.Event, namespace), { body: event });
    } catch (err) {
      if (isConflict(err)) return; // AlreadyExists: another replica (or an earlier life of this one) recorded it
      this.#nacks.delete(name); // not recorded: the next NACK of it tries again
      this.#options.logger.warn({ err: errorMessage(err), gateway: `${namespace}/${gateway.metadata.name}` }, 'could not record the NACK as an Event');
    }
  }

  #schedule(): void {
    if (!this.#enabled || !this.#input) return;
    if (this.#retry) return; // a retry is due; it uses the newest input
    this.#passes.request();
  }

  async #pass(): Promise<void> {
    const input = this.#input;
    if (!input) return;
    const { state } = input;
    const writes = statusWrites(input.statuses, (kind, namespace, name) => state.get(kind, namespace, name), state.list(Kinds.HTTPRoute), {
      controllerName: this.#options.controllerName,
      now: this.#now().toISOString(),
    });
    let failed = 0;
    for (const { object, status } of writes) {
      if (!this.#enabled) return;
      const id = objectId(object);
      const fromVersion = object.metadata.resourceVersion ?? '';
      const text = JSON.stringify(status);
      const last = this.#written.get(id);
      if (last && last.fromVersion === fromVersion && last.status === text) continue; // written; the watch has not caught up
      const type = STATUS_KINDS.get(groupKind(object.apiVersion, object.kind));
      if (!type) continue;
      const version = object.apiVersion.slice(apiGroup(object.apiVersion).length + 1) || type.version;
      const path = objectPath({ ...type, version }, object.metadata.namespace, object.metadata.name, 'status');
      try {
        await this.#options.client.request('PATCH', path, { patch: 'merge', body: { metadata: { resourceVersion: fromVersion }, status } });
        this.#written.set(id, { fromVersion, status: text });
        this.writes++;
      } catch (error) {
        if (isConflict(error) || isNotFound(error)) continue; // changed or gone: a new pass follows its event
        failed++;
        this.#options.logger.warn({ err: errorMessage(error), object: id }, 'status write failed');
      }
    }
    if (this.#written.size > 4 * writes.length + 1000) this.#written.clear();
    if (failed === 0) {
      this.#failures = 0;
      return;
    }
    this.#failures++;
    const base = this.#options.retryMs ?? 1000;
    const delay = Math.min(30_000, base * 2 ** (this.#failures - 1));
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#schedule();
    }, delay);
  }
}

/**
 * The NACK Event's name: the Gateway's name (cut so the whole stays a valid name), a dot, and 16 hex
 * digits of a sha256 over (namespace, Gateway, version, error). Every replica derives the same.
 */
export function nackEventName(gateway: string, namespace: string, version: string, error: string): string {
  const digest = createHash('sha256').update(JSON.stringify([namespace, gateway, version, error])).digest('hex').slice(0, 16);
  return `${gateway.slice(0, 253 - 17).replace(/[.-]+$/, '')}.${digest}`;
}
