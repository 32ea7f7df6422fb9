import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import {
  toStruct,
  toTimestamp,
  type AdminEvent,
  type GetSnapshotRequest,
  type ListEventsRequest,
  type ListVersionsRequest,
  type ProxyStatus,
  type VersionInfo,
} from '../../shared/proto/messages.ts';
import type { ConfigEvent } from '../events/event.ts';
import type { EventLog } from '../events/log.ts';
import type { ProxyRegistry } from '../discovery/proxies.ts';
import type { SnapshotCache } from '../snapshots/cache.ts';
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
    };
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
