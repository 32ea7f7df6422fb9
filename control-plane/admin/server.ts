import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import {
  toStruct,
  toTimestamp,
  type AdminEvent,
  type GetSnapshotRequest,
  type ListEventsRequest,
  type ListVersionsRequest,
  type DiffVersionsRequest,
  type ProxyStatus,
  type VersionInfo,
} from '../../shared/proto/messages.ts';
import type { ConfigEvent } from '../events/event.ts';
import type { EventLog } from '../events/log.ts';
import type { ProxyState } from '../discovery/proxies.ts';
import type { SnapshotCache } from '../snapshots/cache.ts';
import { diffSnapshots } from '../snapshots/diff.ts';
import { redactObject, redactSnapshot } from '../snapshots/redact.ts';

const DEFAULT_EVENT_LIMIT = 1000;
/**
 * New events a WatchEvents reader may fall behind by before its call is ended (RESOURCE_EXHAUSTED):
 * the event log's default retention, so the from_seq it is told to resume from is usually retained.
 */
export const WATCH_MAX_BEHIND = 10_000;

/** Where ListProxies reads: this replica's registry, or the whole fleet's (discovery/fleet-proxies.ts). */
export interface ProxyListing {
  list(): ProxyState[];
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

class AdminError extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, message: string) {
    super(message);
    this.code = code;
  }
}

/** Read-only inspection over gRPC. Secrets are redacted in every answer. */
export class AdminServer {
  readonly #cache: SnapshotCache;
  readonly #events: EventLog;
  readonly #proxies: ProxyListing;
  readonly #watchMaxBehind: number;

  /**
   * `watchMaxBehind`: how many new events a WatchEvents call may have waiting for a slow reader
   * before it is ended (default WATCH_MAX_BEHIND).
   */
  constructor(options: { cache: SnapshotCache; events: EventLog; proxies: ProxyListing; watchMaxBehind?: number }) {
    this.#cache = options.cache;
    this.#events = options.events;
    this.#proxies = options.proxies;
    this.#watchMaxBehind = Math.max(1, options.watchMaxBehind ?? WATCH_MAX_BEHIND);
  }

  handlers(): grpc.UntypedServiceImplementation {
    return {
      GetSnapshot: unary((request: GetSnapshotRequest): Snapshot => this.getSnapshot(request)),
      ListVersions: unary((request: ListVersionsRequest) => ({ versions: this.listVersions(request) })),
      ListEvents: unary((request: ListEventsRequest) => ({ events: this.listEvents(request) })),
      ListProxies: unary(() => ({ proxies: this.listProxies() })),
      DiffVersions: unary((request: DiffVersionsRequest) => this.diffVersions(request)),
      WatchEvents: (call: grpc.ServerWritableStream<{ fromSeq: string }, AdminEvent>) => this.watchEvents(call),
    };
  }

  diffVersions(request: DiffVersionsRequest): Record<string, unknown> {
    const group = this.#group(request.group);
    if (!request.fromVersion) throw new AdminError(grpc.status.INVALID_ARGUMENT, 'name from_version (see ListVersions)');
    const records = this.#cache.versions(group);
    const find = (version: string) => {
      const record = records.find((r) => r.version === version);
      if (!record) throw new AdminError(grpc.status.NOT_FOUND, `no version ${version} of group ${group}; see ListVersions`);
      return record;
    };
    const from = find(request.fromVersion);
    const to = request.toVersion ? find(request.toVersion) : records[0]!;
    const changes = diffSnapshots(redactSnapshot(from.snapshot), redactSnapshot(to.snapshot)).map((c) => ({
      kind: c.kind,
      name: c.name,
      change: c.change,
      before: c.before ? toStruct(c.before) : null,
      after: c.after ? toStruct(c.after) : null,
    }));
    // The events that lie between the two versions, when going forward in time.
    const events = to.eventSeq > from.eventSeq ? this.#events.list(from.eventSeq + 1, to.eventSeq - from.eventSeq).map(toAdminEvent) : [];
    return {
      group,
      fromVersion: from.version,
      toVersion: to.version,
      fromEventSeq: String(from.eventSeq),
      toEventSeq: String(to.eventSeq),
      changes,
      events,
    };
  }

  /**
   * Retained events from from_seq (0: none), then every new one, until the client cancels; at the
   * reader's pace. An event is written only while gRPC takes more (call.write says when its buffer
   * is full, 'drain' when to go on): the retained backlog waits in the log, new events in this
   * call's queue, as references, never as encoded messages. A watcher more than `watchMaxBehind`
   * new events behind is ended with RESOURCE_EXHAUSTED naming the from_seq to watch again from,
   * rather than held on to without bound (a client that stopped reading but keeps its connection).
   */
  watchEvents(call: grpc.ServerWritableStream<{ fromSeq: string }, AdminEvent>): void {
    const from = Number(call.request.fromSeq || 0);
    const maxBehind = this.#watchMaxBehind;
    /** The seq of the newest event written to the call, and of the newest one taken in. */
    let written = from > 0 ? from - 1 : this.#events.lastSeq;
    let taken = written;
    /** The retained backlog (read at subscription), then new events; `next` is the first not yet written. */
    let backlog: ConfigEvent[] = [];
    let next = 0;
    const queue: ConfigEvent[] = [];
    let head = 0;
    let waiting = false; // for 'drain'
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      unsubscribe();
      backlog = [];
      queue.length = 0;
    };
    const pump = (): void => {
      while (!done && !waiting) {
        let event: ConfigEvent | undefined;
        if (next < backlog.length) event = backlog[next++];
        else if (head < queue.length) event = queue[head++];
        else break;
        written = event!.seq;
        if (!call.write(toAdminEvent(event!))) waiting = true;
      }
      if (next >= backlog.length && backlog.length > 0) backlog = [];
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
    };
    // Subscribe first, then read the backlog: nothing appended in between is missed or repeated.
    const unsubscribe = this.#events.subscribe((events) => {
      if (done) return;
      for (const event of events) {
        if (event.seq <= taken) continue; // a backlog event appended again by a racing subscription
        taken = event.seq;
        queue.push(event);
      }
      if (queue.length - head > maxBehind) {
        const details = `this watcher fell more than ${maxBehind} events behind (it reads more slowly than events arrive); ` +
          `it was sent every event up to seq ${written}: watch again with from_seq ${written + 1}`;
        finish();
        call.emit('error', Object.assign(new Error(details), { code: grpc.status.RESOURCE_EXHAUSTED, details }));
        return;
      }
      pump();
    });
    if (from > 0) {
      backlog = this.#events.list(from);
      taken = Math.max(taken, backlog.at(-1)?.seq ?? 0);
    }
    call.on('drain', () => {
      waiting = false;
      pump();
    });
    call.on('cancelled', finish);
    call.on('close', finish);
    call.on('error', finish);
    pump();
  }

  getSnapshot(request: GetSnapshotRequest): Snapshot {
    const group = this.#group(request.group);
    const snapshot = request.version ? this.#cache.getVersion(group, request.version) : this.#cache.get(group);
    if (!snapshot) {
      const what = request.version ? `version ${request.version} of group ${group}` : `a snapshot for group ${group}`;
      throw new AdminError(grpc.status.NOT_FOUND, `no ${what}; see ListVersions`);
    }
    return redactSnapshot(snapshot);
  }

  listVersions(request: ListVersionsRequest): VersionInfo[] {
    const groups = request.group ? [request.group] : this.#cache.groups();
    return groups.flatMap((group) =>
      this.#cache.versions(group).map((r) => ({
        group: r.group,
        version: r.version,
        builtAt: toTimestamp(r.builtAt),
        eventSeq: String(r.eventSeq),
      })),
    );
  }

  listEvents(request: ListEventsRequest): AdminEvent[] {
    const from = Number(request.fromSeq || 0);
    return this.#events.list(from, request.limit || DEFAULT_EVENT_LIMIT).map(toAdminEvent);
  }

  listProxies(): ProxyStatus[] {
    return this.#proxies.list().map((p) => ({ ...p, lastSeen: toTimestamp(p.lastSeen) }));
  }

  #group(requested: string): string {
    if (requested) return requested;
    const groups = this.#cache.groups();
    if (groups.length === 1) return groups[0]!;
    throw new AdminError(
      grpc.status.INVALID_ARGUMENT,
      groups.length === 0 ? 'no gateway has a snapshot yet' : `several groups exist (${groups.join(', ')}); name one in "group"`,
    );
  }
}

function toAdminEvent(event: ConfigEvent): AdminEvent {
  return {
    seq: String(event.seq),
    time: toTimestamp(event.time),
    source: event.source,
    kind: event.kind,
    namespace: event.namespace,
    name: event.name,
    type: event.type,
    object: toStruct(redactObject(event.object as Record<string, unknown>)),
  };
}

function unary<Req, Res>(handler: (request: Req) => Res): Unary<Req, Res> {
  return (call, callback) => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      const code = error instanceof AdminError ? error.code : grpc.status.INTERNAL;
      const details = error instanceof Error ? error.message : String(error);
      callback({ code, details, name: 'AdminError', message: details });
    }
  };
}
