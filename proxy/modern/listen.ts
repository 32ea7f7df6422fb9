// `subscriptions/listen` for 2026-07-28 clients: one long-lived SSE stream per request, fanned out
// per target. The stream is acknowledged first (what was asked for, narrowed to what the gateway
// offers), then carries, each tagged with the client's subscription id:
// - the gateway's own list changes: a config push that changes what the client can see (targets
//   added or removed, filters) is news on every matching stream;
// - each target's own: a 2026-07-28 target gets a listen stream of its own; a 2025 target gets an
//   upstream session whose GET stream (and `resources/subscribe`) reports them. Resource URIs are
//   rewritten to the client's view; list changes are coalesced briefly.
// Progress and log lines never travel here. The client closing the stream ends every upstream
// subscription it made; the gateway shutting down ends it with a result.
import type { ServerResponse } from 'node:http';
import type { JSONRPCNotification, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { MCPMUX_VERSION } from '../../shared/version.ts';
import { namesArePrefixed } from '../federation/names.ts';
import { unwrapUri, wrapUri } from '../federation/resource-uris.ts';
import { unwrapTaskId, wrapTaskIds } from '../federation/task-ids.ts';
import type { CompiledBackend, CompiledRoute, CompiledTarget, RoutingTable } from '../routing/table.ts';
import { routeFor } from '../routing/hosts.ts';
import type { UpstreamConnection, UpstreamMessage } from '../upstream/connection.ts';
import { ModernListen } from '../upstream/modern-listen.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import { UpstreamSession } from '../upstream/session.ts';
import { bridgedCapabilities } from './upstreams.ts';
import { META_KEYS } from './wire.ts';

export type ListKind = 'tools' | 'prompts' | 'resources';

export interface ListenFilter {
  lists: ReadonlySet<ListKind>;
  resourceSubscriptions: readonly string[];
  /** The tasks extension's task ids (as the client knows them: `<target>:<id>`). */
  taskIds: readonly string[];
}

const FILTER_KEYS: Readonly<Record<ListKind, string>> = { tools: 'toolsListChanged', prompts: 'promptsListChanged', resources: 'resourcesListChanged' };
const LIST_CHANGED: Readonly<Record<ListKind, string>> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
};
const KIND_OF: Readonly<Record<string, ListKind>> = Object.fromEntries(Object.entries(LIST_CHANGED).map(([kind, method]) => [method, kind as ListKind]));

/** A list change heard within this long of another of the same kind is the same news. */
const COALESCE_MS = 50;
/** How long the acknowledgement waits for the upstream subscriptions to be in place. */
const ACK_WAIT_MS = 3_000;
/** Comment lines on an idle stream, so intermediaries keep it open. */
const KEEP_ALIVE_MS = 15_000;

/** The client's `notifications` filter, checked; McpmuxError MCPMUX_INVALID_PARAMS when malformed. */
export function readListenFilter(params: Readonly<Record<string, unknown>> | undefined): ListenFilter {
  const notifications = params?.notifications;
  if (notifications === undefined) return { lists: new Set(), resourceSubscriptions: [], taskIds: [] };
  if (notifications === null || typeof notifications !== 'object' || Array.isArray(notifications)) {
    throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'subscriptions/listen: params.notifications must be an object');
  }
  const n = notifications as Record<string, unknown>;
  const lists = new Set<ListKind>();
  for (const kind of ['tools', 'prompts', 'resources'] as const) {
    const flag = n[FILTER_KEYS[kind]];
    if (flag !== undefined && typeof flag !== 'boolean') throw new McpmuxError('MCPMUX_INVALID_PARAMS', `subscriptions/listen: notifications.${FILTER_KEYS[kind]} must be a boolean`);
    if (flag === true) lists.add(kind);
  }
  const uris = n.resourceSubscriptions;
  if (uris !== undefined && (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string'))) {
    throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'subscriptions/listen: notifications.resourceSubscriptions must be an array of URIs');
  }
  const taskIds = n.taskIds;
  if (taskIds !== undefined && (!Array.isArray(taskIds) || taskIds.some((t) => typeof t !== 'string'))) {
    throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'subscriptions/listen: notifications.taskIds must be an array of task ids');
  }
  return { lists, resourceSubscriptions: (uris as string[] | undefined) ?? [], taskIds: (taskIds as string[] | undefined) ?? [] };
}

export interface ListenStreamsOptions {
  pool: UpstreamPool;
  logger: Logger;
  initializeTimeoutMs: number;
  /** Listen streams one principal (or, anonymous, one client address) may hold at once. Default 16. */
  maxPerHolder?: number;
  onLimit?: (limit: string) => void;
}

interface Subscription {
  stop(): void;
  /** Settles once the upstream listens (acknowledged, or its GET stream open). */
  ready?: Promise<void>;
}

class ListenStream {
  readonly id: RequestId;
  readonly holder: string;
  readonly routePrefix: string;
  /** The route it was opened on, followed across tables (hosts.ts routeFor). */
  routeName: string;
  readonly filter: ListenFilter;
  readonly #res: ServerResponse;
  readonly #logger: Logger;
  readonly #keepAlive: NodeJS.Timeout;
  readonly #lastSent = new Map<ListKind, number>();
  /** Upstream subscriptions by target name (with the endpoint they were opened on). */
  readonly upstream = new Map<string, { endpoint: string; subscription: Subscription }>();
  backend: CompiledBackend;
  /** The `_meta` modern upstreams get for this stream (our version, the client's capabilities). */
  readonly meta: Readonly<Record<string, unknown>>;
  closed = false;
  /** What was to be sent before the acknowledgement went out: the acknowledgement comes first. */
  #early: string[] | undefined = [];

  constructor(id: RequestId, holder: string, route: CompiledRoute, filter: ListenFilter, meta: Readonly<Record<string, unknown>>, res: ServerResponse, logger: Logger) {
    this.id = id;
    this.meta = meta;
    this.holder = holder;
    this.routePrefix = route.pathPrefix;
    this.routeName = route.name;
    this.filter = filter;
    this.backend = route.backend;
    this.#res = res;
    this.#logger = logger;
    this.#keepAlive = setInterval(() => this.#write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    this.#keepAlive.unref();
  }

  /** The acknowledgement: what this stream will carry. */
  acknowledge(): void {
    const honoured: Record<string, unknown> = {};
    for (const kind of this.filter.lists) honoured[FILTER_KEYS[kind]] = true;
    if (this.filter.resourceSubscriptions.length > 0) honoured.resourceSubscriptions = [...this.filter.resourceSubscriptions];
    if (this.filter.taskIds.length > 0) honoured.taskIds = [...this.filter.taskIds];
    this.#res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    const early = this.#early ?? [];
    this.#early = undefined;
    this.send({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: honoured } });
    for (const text of early) this.#write(text);
  }

  /** A list of `kind` changed, if this stream asked for it (coalesced). */
  listChanged(kind: ListKind): void {
    if (!this.filter.lists.has(kind)) return;
    const now = Date.now();
    if (now - (this.#lastSent.get(kind) ?? 0) < COALESCE_MS) return;
    this.#lastSent.set(kind, now);
    this.send({ jsonrpc: '2.0', method: LIST_CHANGED[kind] });
  }

  /** A resource the client subscribed to (its URI as the client knows it) was updated. */
  resourceUpdated(uri: string, params: Record<string, unknown>): void {
    if (!this.filter.resourceSubscriptions.includes(uri)) return;
    this.send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { ...params, uri } });
  }

  /** A task's status changed (its id as the client knows it), if this stream follows it. */
  taskChanged(method: string, params: Record<string, unknown>): void {
    if (typeof params.taskId !== 'string' || !this.filter.taskIds.includes(params.taskId)) return;
    this.send({ jsonrpc: '2.0', method, params });
  }

  send(notification: JSONRPCNotification): void {
    const params = { ...notification.params, _meta: { ...(notification.params?._meta as Record<string, unknown> | undefined), [META_KEYS.subscriptionId]: this.id } };
    this.#write(`event: message\ndata: ${JSON.stringify({ ...notification, params })}\n\n`);
  }

  /** Ends the stream: with the listen result when the gateway ends it, bare when the client left. */
  end(graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.#keepAlive);
    for (const { subscription } of this.upstream.values()) subscription.stop();
    this.upstream.clear();
    if (graceful && !this.#res.destroyed) {
      this.#res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: this.id, result: { resultType: 'complete', _meta: { [META_KEYS.subscriptionId]: this.id } } })}\n\n`);
    } else if (!this.#res.destroyed) this.#res.end();
  }

  #write(text: string): void {
    if (this.closed || this.#res.destroyed) return;
    if (this.#early) {
      // Keep-alives before the acknowledgement are dropped; notifications wait for it.
      if (!text.startsWith(':')) this.#early.push(text);
      return;
    }
    try {
      this.#res.write(text);
    } catch (error) {
      this.#logger.debug({ err: errorMessage(error) }, 'listen stream write failed');
    }
  }
}

export class ListenStreams {
  readonly #options: ListenStreamsOptions;
  readonly #streams = new Set<ListenStream>();

  constructor(options: ListenStreamsOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Serves one listen request until the client closes it. `holder` names who is counted against the
   * limit (the principal, or the client's address); `meta` is the `_meta` modern upstreams get.
   */
  async open(res: ServerResponse, id: RequestId, holder: string, route: CompiledRoute, filter: ListenFilter, meta: Readonly<Record<string, unknown>>): Promise<void> {
    const max = this.#options.maxPerHolder ?? 16;
    if ([...this.#streams].filter((s) => s.holder === holder).length >= max) {
      this.#options.onLimit?.('listen-streams');
      throw new McpmuxError('MCPMUX_LIMIT_EXCEEDED', `${holder} already holds ${max} subscriptions/listen streams; close one first`);
    }
    const stream = new ListenStream(id, holder, route, filter, meta, res, this.#options.logger);
    this.#streams.add(stream);
    res.once('close', () => {
      this.#streams.delete(stream);
      stream.end(false);
    });
    // The acknowledgement waits (briefly) for the upstream subscriptions: a change right after it is heard.
    const subscribed = this.#subscribeTargets(stream);
    await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, ACK_WAIT_MS).unref())]);
    if (stream.closed) return;
    stream.acknowledge();
  }

  /** A new routing table: every stream whose view changed hears it, and follows its targets. */
  applied(table: RoutingTable): void {
    for (const stream of this.#streams) {
      const route = routeFor(table, stream.routeName, stream.routePrefix);
      const backend = route?.backend;
      if (!route || !backend) {
        stream.end(true);
        this.#streams.delete(stream);
        continue;
      }
      const changed = backend.fingerprint !== stream.backend.fingerprint;
      stream.backend = backend;
      stream.routeName = route.name;
      if (!changed) continue;
      for (const kind of ['tools', 'prompts', 'resources'] as const) stream.listChanged(kind);
      void this.#subscribeTargets(stream);
    }
  }

  /** Shutdown: every stream ends with its result. */
  closeAll(): void {
    for (const stream of this.#streams) stream.end(true);
    this.#streams.clear();
  }

  /** Opens what is missing and stops what is gone, per target of the stream's backend; settles once the new ones are in place. */
  #subscribeTargets(stream: ListenStream): Promise<unknown> {
    const wanted = new Map(stream.backend.targets.map((t) => [t.name, t]));
    for (const [name, { endpoint, subscription }] of stream.upstream) {
      const target = wanted.get(name);
      if (!target || !target.endpoints.some((e) => e.url === endpoint)) {
        subscription.stop();
        stream.upstream.delete(name);
      }
    }
    if (stream.filter.lists.size === 0 && stream.filter.resourceSubscriptions.length === 0 && stream.filter.taskIds.length === 0) return Promise.resolve();
    const opening: Array<Promise<unknown>> = [];
    for (const target of wanted.values()) {
      if (stream.upstream.has(target.name) || target.unavailable !== undefined || target.stdio) continue;
      const endpoint = this.#options.pool.pickEndpoint(target);
      if (!endpoint) continue;
      const placeholder: { stop(): void; inner?: Subscription; stopped?: boolean } = {
        stop() {
          this.stopped = true;
          this.inner?.stop();
        },
      };
      stream.upstream.set(target.name, { endpoint: endpoint.url, subscription: placeholder });
      opening.push(
        this.#subscribeTarget(stream, target, endpoint, stream.meta).then(
          async (inner) => {
            if (placeholder.stopped || stream.closed) inner.stop();
            else placeholder.inner = inner;
            await inner.ready;
          },
          (error: unknown) => this.#options.logger.warn({ target: target.name, err: errorMessage(error) }, 'target left out of a subscriptions/listen stream'),
        ),
      );
    }
    return Promise.allSettled(opening);
  }

  async #subscribeTarget(stream: ListenStream, target: CompiledTarget, endpoint: CompiledTarget['endpoints'][number], meta: Readonly<Record<string, unknown>>): Promise<Subscription> {
    const prefixed = (): boolean => namesArePrefixed(stream.backend.prefixMode, stream.backend.targets.length);
    const onlyTarget = (): string | undefined => (stream.backend.targets.length === 1 ? stream.backend.targets[0]?.name : undefined);
    // The client's URIs this target owns, as the target knows them.
    const owned = new Map<string, string>();
    for (const uri of stream.filter.resourceSubscriptions) {
      const unwrapped = unwrapUri(prefixed(), onlyTarget(), uri);
      if (unwrapped?.target === target.name) owned.set(unwrapped.uri, uri);
    }
    const tasks = stream.filter.taskIds.map((id) => unwrapTaskId(id)).filter((t) => t?.target === target.name).map((t) => t!.taskId);
    let session: UpstreamConnection | undefined;
    const heard = (message: UpstreamMessage): void => {
      if ('id' in message) {
        // Nobody on a listen stream answers an upstream's questions.
        session?.respond({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: `${message.method} cannot be answered on a subscriptions/listen stream` } }).catch(() => undefined);
        return;
      }
      const kind = KIND_OF[message.method];
      if (kind !== undefined) {
        stream.listChanged(kind);
        return;
      }
      if (message.method.startsWith('notifications/tasks')) {
        stream.taskChanged(message.method, wrapTaskIds(target.name, message.params ?? {}) as Record<string, unknown>);
        return;
      }
      if (message.method === 'notifications/resources/updated') {
        const uri = (message.params as { uri?: unknown } | undefined)?.uri;
        if (typeof uri !== 'string') return;
        const { _meta: _dropped, ...rest } = (message.params ?? {}) as Record<string, unknown>;
        stream.resourceUpdated(owned.get(uri) ?? wrapUri(prefixed(), target.name, uri), rest);
      }
    };
    const verdict = target.protocol === 'PROTOCOL_SSE' ? { era: 'legacy' as const } : await this.#options.pool.eras.verdict(target, endpoint);
    if (verdict.era === 'modern') {
      const notifications: Record<string, unknown> = {};
      for (const kind of stream.filter.lists) notifications[FILTER_KEYS[kind]] = true;
      if (owned.size > 0) notifications.resourceSubscriptions = [...owned.keys()];
      if (tasks.length > 0) notifications.taskIds = tasks;
      return new ModernListen({
        dispatcher: this.#options.pool.dispatcher,
        endpoint,
        target: target.name,
        logger: this.#options.logger,
        meta,
        notifications,
        onNotification: heard,
        // Whatever changed while the stream was down was not heard: say the lists may have changed.
        onReconnected: () => {
          for (const kind of stream.filter.lists) stream.listChanged(kind);
        },
      });
    }
    // A 2025 target: an upstream session of this stream's own, listening on its GET stream.
    session = new UpstreamSession({
      dispatcher: this.#options.pool.dispatcher,
      target: target.name,
      endpoint,
      logger: this.#options.logger,
      listen: true,
      onMessage: heard,
      onReinitialized: () => {
        for (const kind of stream.filter.lists) stream.listChanged(kind);
      },
    });
    const capabilities = bridgedCapabilities((meta[META_KEYS.clientCapabilities] as Record<string, unknown> | undefined) ?? {});
    await session.initialize({ protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'mcpmux-listen', version: MCPMUX_VERSION } }, { timeoutMs: target.initializeTimeoutMs ?? this.#options.initializeTimeoutMs });
    const opened = session;
    if (owned.size > 0 && opened.initializeResult?.capabilities.resources?.subscribe) {
      for (const uri of owned.keys()) {
        opened.request({ method: 'resources/subscribe', params: { uri } }, { timeoutMs: this.#options.initializeTimeoutMs }).catch((error: unknown) =>
          this.#options.logger.debug({ target: target.name, uri, err: errorMessage(error) }, 'resources/subscribe refused'),
        );
      }
    }
    return { stop: () => void opened.close(), ready: Promise.resolve() };
  }
}
