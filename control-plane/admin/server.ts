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
import type { ProxyRegistry } from '../discovery/proxies.ts';
import type { SnapshotCache } from '../snapshots/cache.ts';
import { diffSnapshots } from '../snapshots/diff.ts';
import { redactObject, redactSnapshot } from '../snapshots/redact.ts';

const DEFAULT_EVENT_LIMIT = 1000;

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
  readonly #proxies: ProxyRegistry;

  constructor(options: { cache: SnapshotCache; events: EventLog; proxies: ProxyRegistry }) {
    this.#cache = options.cache;
    this.#events = options.events;
    this.#proxies = options.proxies;
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

  /** Retained events from from_seq (0: none), then every new one, until the client cancels. */
  watchEvents(call: grpc.ServerWritableStream<{ fromSeq: string }, AdminEvent>): void {
    const from = Number(call.request.fromSeq || 0);
    let last = 0;
    const send = (event: ConfigEvent): void => {
      if (event.seq <= last) return; // a backlog event appended again by a racing subscription
      last = event.seq;
      call.write(toAdminEvent(event));
    };
    // Subscribe first, then send the backlog: nothing appended in between is missed or repeated.
    const unsubscribe = this.#events.subscribe((events) => {
      for (const event of events) send(event);
    });
    if (from > 0) for (const event of this.#events.list(from)) send(event);
    const end = (): void => unsubscribe();
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
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
