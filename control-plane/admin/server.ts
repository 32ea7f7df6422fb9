import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../shared/log.ts';
import type { Snapshot } from '../../shared/config/types.ts';
import {
  toStruct,
  toTimestamp,
  type AdminEvent,
  type DiffVersionsRequest,
  type DiffVersionsResponse,
  type GetSnapshotRequest,
  type ListEventsRequest,
  type ListEventsResponse,
  type ListProxiesRequest,
  type ListProxiesResponse,
  type ListVersionsRequest,
  type ListVersionsResponse,
  type VersionInfo,
  type WatchEventsRequest,
} from '../../shared/proto/messages.ts';
import type { ConfigEvent } from '../events/event.ts';
import { JsonlEventLog } from '../events/jsonl-log.ts';
import type { EventLog } from '../events/log.ts';
import type { ProxyState } from '../discovery/proxies.ts';
import type { SnapshotCache, VersionRecord } from '../snapshots/cache.ts';
import { diffSnapshots } from '../snapshots/diff.ts';
import { fieldChanges } from '../snapshots/field-diff.ts';
import { redactObject, redactSnapshot } from '../snapshots/redact.ts';
import { decodePageToken, encodePageToken, EVENT_PAGE, pageAfter, pageSize, PageRequestError, PROXY_PAGE, VERSION_PAGE, type PageToken } from './paging.ts';

/** ListProxies' `history` when the event log is kept in this process only. */
export const MEMORY_HISTORY = 'memory (this replica only)';
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
  readonly #history: () => string;
  readonly #logger: Logger | undefined;

  /**
   * `watchMaxBehind`: how many new events a WatchEvents call may have waiting for a slow reader
   * before it is ended (default WATCH_MAX_BEHIND). `history`: where the event history lives, for
   * ListProxies and the errors that depend on it; by default "file PATH" for a JSONL log, else
   * MEMORY_HISTORY (a log kept elsewhere, such as a NATS stream, should say so here).
   */
  constructor(options: { cache: SnapshotCache; events: EventLog; proxies: ProxyListing; watchMaxBehind?: number; history?: () => string; logger?: Logger }) {
    this.#logger = options.logger;
    this.#cache = options.cache;
    this.#events = options.events;
    this.#proxies = options.proxies;
    this.#watchMaxBehind = Math.max(1, options.watchMaxBehind ?? WATCH_MAX_BEHIND);
    const events = options.events;
    this.#history = options.history ?? (events instanceof JsonlEventLog ? () => `file ${events.path}` : () => MEMORY_HISTORY);
  }

  handlers(): grpc.UntypedServiceImplementation {
    const internal = (method: string) => (error: unknown): void =>
      this.#logger?.error({ method, err: error instanceof Error ? error.stack : String(error) }, 'admin call failed inside the control plane (a bug): the caller got INTERNAL');
    return {
      GetSnapshot: unary((request: GetSnapshotRequest): Snapshot => this.getSnapshot(request), internal('GetSnapshot')),
      ListVersions: unary((request: ListVersionsRequest): ListVersionsResponse => this.listVersions(request), internal('ListVersions')),
      ListEvents: unary((request: ListEventsRequest): ListEventsResponse => this.listEvents(request), internal('ListEvents')),
      ListProxies: unary((request: ListProxiesRequest): ListProxiesResponse => this.listProxies(request), internal('ListProxies')),
      DiffVersions: unary((request: DiffVersionsRequest): DiffVersionsResponse => this.diffVersions(request), internal('DiffVersions')),
      WatchEvents: (call: grpc.ServerWritableStream<WatchEventsRequest, AdminEvent>) => this.watchEvents(call),
    };
  }

  diffVersions(request: DiffVersionsRequest): DiffVersionsResponse {
    const group = this.#group(request.group);
    if (!request.fromVersion) throw new AdminError(grpc.status.INVALID_ARGUMENT, 'name from_version (see ListVersions)');
    const records = this.#cache.versions(group);
    const find = (version: string): VersionRecord => {
      const record = records.find((r) => r.version === version);
      if (!record) throw this.#versionNotFound(group, version);
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
      fields: fieldChanges(c.before, c.after),
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
  watchEvents(call: grpc.ServerWritableStream<WatchEventsRequest, AdminEvent>): void {
    const from = Number(call.request.fromSeq || 0);
    // A from_seq whose events are not all here: said now, so a resuming watcher never gets a gap.
    const missing = from > 0 ? this.#unretained(from, 'watch') : undefined;
    if (missing) {
      call.emit('error', Object.assign(new Error(missing), { code: grpc.status.OUT_OF_RANGE, details: missing }));
      return;
    }
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
      if (request.version) throw this.#versionNotFound(group, request.version);
      throw new AdminError(grpc.status.NOT_FOUND, `no snapshot for group ${group}; see ListVersions`);
    }
    return redactSnapshot(snapshot);
  }

  /**
   * Groups by name, each group's versions newest first. The token names the last version given
   * (group, version and the event that made it), so versions built between two calls, which come
   * first in their group, never shift the next page.
   */
  listVersions(request: ListVersionsRequest): ListVersionsResponse {
    const size = pageSize(request.pageSize, VERSION_PAGE);
    const token = decodePageToken('versions', request.pageToken);
    if (token && token.q !== request.group) {
      const of = (group: string): string => (group ? `group ${group}` : 'every group');
      throw new PageRequestError(`page_token was given by ListVersions of ${of(token.q)}, not of ${of(request.group)}: send it with the same group, or no page_token to start again`);
    }
    const groups = request.group ? [request.group] : this.#cache.groups();
    const versions: VersionInfo[] = [];
    let last: VersionRecord | undefined;
    let more = false;
    // The token's group, or the one after it if it has gone meanwhile.
    let g = token ? groups.findIndex((group) => group >= token.group) : 0;
    if (g === -1) g = groups.length;
    for (; g < groups.length && !more; g++) {
      const records = this.#cache.versions(groups[g]!);
      const start = token && groups[g] === token.group ? resumeAfter(records, token) : 0;
      for (let i = start; i < records.length; i++) {
        if (versions.length === size) {
          more = true;
          break;
        }
        const r = records[i]!;
        versions.push({ group: r.group, version: r.version, builtAt: toTimestamp(r.builtAt), eventSeq: String(r.eventSeq) });
        last = r;
      }
    }
    const next = more && last ? encodePageToken({ k: 'versions', q: request.group, group: last.group, version: last.version, seq: last.eventSeq }) : '';
    return { versions, nextPageToken: next };
  }

  /** By seq; the token is the next seq, so events appended between two calls are on a later page, none twice. */
  listEvents(request: ListEventsRequest): ListEventsResponse {
    const size = pageSize(request.pageSize || request.limit, EVENT_PAGE);
    const token = decodePageToken('events', request.pageToken);
    let from = Number(request.fromSeq || 0);
    if (token) {
      const missing = this.#unretained(token.next, 'page');
      if (missing) throw new AdminError(grpc.status.OUT_OF_RANGE, missing);
      from = token.next;
    }
    const events = this.#events.list(from, size);
    const last = events.at(-1);
    const more = events.length === size && last !== undefined && last.seq < this.#events.lastSeq;
    return { events: events.map(toAdminEvent), nextPageToken: more ? encodePageToken({ k: 'events', next: last.seq + 1 }) : '' };
  }

  /** By node id; the token is the last node id given. */
  listProxies(request: ListProxiesRequest): ListProxiesResponse {
    const size = pageSize(request.pageSize, PROXY_PAGE);
    const token = decodePageToken('proxies', request.pageToken);
    const { items, more } = pageAfter(this.#proxies.list(), (p) => p.nodeId, token?.after ?? '', size);
    return {
      proxies: items.map((p) => ({ ...p, lastSeen: toTimestamp(p.lastSeen) })),
      nextPageToken: more ? encodePageToken({ k: 'proxies', after: items.at(-1)!.nodeId }) : '',
      history: this.#history(),
    };
  }

  /** NOT_FOUND for a version not kept, naming the oldest kept one: asked for one older, the reader sees why. */
  #versionNotFound(group: string, version: string): AdminError {
    const records = this.#cache.versions(group);
    const oldest = records.at(-1);
    if (!oldest) {
      const groups = this.#cache.groups();
      return new AdminError(grpc.status.NOT_FOUND, `no version ${version} of group ${group}: no version of that group is kept (groups: ${groups.join(', ') || 'none yet'}); see ListVersions`);
    }
    return new AdminError(
      grpc.status.NOT_FOUND,
      `no version ${version} of group ${group}: it is not among the ${records.length} versions kept (history: ${this.#history()}; an older version, or one another replica or a restarted control plane built, is not here); ` +
        `oldest available: version ${oldest.version} built at event seq ${oldest.eventSeq}; see ListVersions`,
    );
  }

  /**
   * Why the events from `from` on cannot all be given, or undefined when they can. A watch needs
   * every one from `from` to the newest (a compacted log keeps only each object's last event before
   * its window: resuming there would skip some); a page needs only that retention has not passed
   * `from` (paging from_seq 0 walks through a compacted log's gaps as ListEvents always did).
   */
  #unretained(from: number, use: 'watch' | 'page'): string | undefined {
    const field = use === 'watch' ? 'from_seq' : 'page_token: the next event';
    const lastSeq = this.#events.lastSeq;
    const oldest = this.#events.list(0, 1)[0]?.seq;
    if (from > lastSeq + 1) {
      const again = use === 'watch' ? `watch again with from_seq 0 (new events only)${oldest ? ` or from_seq ${completeFrom(this.#events.list(0))} (the retained ones first)` : ''}` : 'list again without page_token';
      return `${field} ${from} is past the newest event (seq ${lastSeq}): it was numbered by another event history than this one (${this.#history()}): ` +
        `another replica's, or this control plane's before a restart; ${again}`;
    }
    if (oldest === undefined || from === lastSeq + 1) return undefined;
    const present = use === 'watch' ? gapless(this.#events.list(from), from) : from >= oldest;
    if (present) return undefined;
    const complete = completeFrom(this.#events.list(0));
    const compacted = complete !== oldest ? `, and every event is retained only from seq ${complete} on (older ones were compacted to each object's last change)` : '';
    const again = use === 'watch'
      ? `read the current state (GetSnapshot) and watch again with from_seq ${complete}`
      : `events were dropped while paging; list again with from_seq ${oldest}, or page with a larger page_size`;
    return `${field} ${from} is no longer retained: the oldest retained event is seq ${oldest}${compacted} (history: ${this.#history()}); ${again}`;
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

/** Where a token's group goes on: after its last version, or (gone meanwhile) at the first one older. */
function resumeAfter(records: readonly VersionRecord[], token: Extract<PageToken, { k: 'versions' }>): number {
  const at = records.findIndex((r) => r.version === token.version && r.eventSeq === token.seq);
  if (at !== -1) return at + 1;
  const older = records.findIndex((r) => r.eventSeq < token.seq);
  return older === -1 ? records.length : older;
}

/** Whether `events` (ascending seqs) are every event from `from` on: seqs are numbered one by one. */
function gapless(events: readonly ConfigEvent[], from: number): boolean {
  return events.length > 0 && events[0]!.seq === from && events.at(-1)!.seq - from + 1 === events.length;
}

/** The first seq from which every event up to the newest is in `events` (seqs are numbered one by one). */
function completeFrom(events: readonly ConfigEvent[]): number {
  let i = events.length - 1;
  while (i > 0 && events[i - 1]!.seq === events[i]!.seq - 1) i--;
  return events[i]?.seq ?? 0;
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

/** `internal`: told of an error that is not the caller's (a bug): the caller only sees INTERNAL. */
function unary<Req, Res>(handler: (request: Req) => Res, internal?: (error: unknown) => void): Unary<Req, Res> {
  return (call, callback) => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      const code = error instanceof AdminError ? error.code : error instanceof PageRequestError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
      if (code === grpc.status.INTERNAL) internal?.(error);
      const details = error instanceof Error ? error.message : String(error);
      callback({ code, details, name: 'AdminError', message: details });
    }
  };
}
