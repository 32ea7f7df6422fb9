import type * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { startHealthServer } from '../shared/ops/health-server.ts';
import { AdminServer } from './admin/server.ts';
import { ProxyRegistry } from './discovery/proxies.ts';
import { DiscoveryServer } from './discovery/server.ts';
import { MemoryEventLog, type EventLog } from './events/log.ts';
import { startGrpcServer, stopGrpcServer } from './grpc/server.ts';
import { SnapshotCache } from './snapshots/cache.ts';
import { Debouncer } from './snapshots/debounce.ts';
import type { Source } from './sources/source.ts';
import { emptyState, reduceAll, type ClusterState } from './state/reducer.ts';
import { isProblem, type ObjectStatus } from './translate/status.ts';
import { translate } from './translate/translate.ts';

export interface ControlPlaneOptions {
  source: Source;
  gatewayClasses: string[];
  address: string;
  grpcPort: number;
  httpPort: number;
  eventLogRetention: number;
  logger: Logger;
  /**
   * Rebuild coalescing (snapshots/debounce.ts): an isolated change rebuilds at once; changes within
   * quietMs of a rebuild wait for quietMs of quiet, at most maxDelayMs. Default 50 ms / 1 s.
   */
  debounce?: { quietMs: number; maxDelayMs: number; leading?: boolean };
}

export interface RunningControlPlane {
  grpcPort: number;
  httpPort: number;
  cache: SnapshotCache;
  events: EventLog;
  proxies: ProxyRegistry;
  close(): Promise<void>;
}

/**
 * The control plane's one loop: source → event log → reducer → (debounced) translator → snapshot
 * cache → discovery streams. Configuration flows one way; nothing here touches an MCP message.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const { logger } = options;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const builds = new Counter({ name: 'mcpmux_snapshot_builds_total', help: 'Snapshot rebuilds (translator runs)', registers: [metrics] });
  const pushes = new Counter({ name: 'mcpmux_discovery_pushes_total', help: 'Snapshots sent to proxies', labelNames: ['group'], registers: [metrics] });
  const acks = new Counter({ name: 'mcpmux_discovery_acks_total', help: 'Snapshot ACKs from proxies', labelNames: ['group'], registers: [metrics] });
  const nacks = new Counter({ name: 'mcpmux_discovery_nacks_total', help: 'Snapshot NACKs from proxies', labelNames: ['group'], registers: [metrics] });
  // Every push and ACK counts, N per version: each group's labelled child is looked up once.
  const perGroup = (counter: Counter<'group'>): ((group: string) => Counter.Internal) => {
    const children = new Map<string, Counter.Internal>();
    return (group) => {
      let child = children.get(group);
      if (!child) children.set(group, (child = counter.labels({ group })));
      return child;
    };
  };
  const [pushesOf, acksOf, nacksOf] = [perGroup(pushes), perGroup(acks), perGroup(nacks)];
  const lastSeq = new Gauge({ name: 'mcpmux_event_log_last_seq', help: 'Sequence number of the newest event', registers: [metrics] });

  const events = new MemoryEventLog({ retention: options.eventLogRetention });
  const cache = new SnapshotCache();
  const proxies = new ProxyRegistry();
  let state: ClusterState = emptyState();
  let synced = false;
  let built = false;
  let serving = false;

  const rebuild = (): void => {
    const started = performance.now();
    try {
      // stdio targets run commands on the proxies: a folder on this machine may ask for that, a cluster may not.
      const { snapshots, statuses } = translate(state, { gatewayClasses: options.gatewayClasses, allowStdio: options.source.name === 'files' });
      const changed = cache.setAll(snapshots, events.lastSeq);
      builds.inc();
      built = true;
      reportProblems(statuses);
      if (changed.length > 0) {
        logger.info({ changed: changed.map((g) => `${g}@${cache.get(g)?.version ?? 'deleted'}`), ms: Math.round(performance.now() - started) }, 'snapshots rebuilt');
      }
      if (snapshots.length === 0) logger.warn({ gatewayClasses: options.gatewayClasses }, 'no Gateway of a class we serve: proxies will wait');
    } catch (error) {
      // The translator is pure and total; reaching this is a bug. Keep the last good snapshots.
      logger.error({ error: errorMessage(error) }, 'translation failed; keeping the last snapshots');
    }
  };
  // Each problem is logged once when it appears (and once when it clears), not on every rebuild.
  let reported = new Map<string, string>();
  const reportProblems = (statuses: readonly ObjectStatus[]): void => {
    const now = new Map<string, string>();
    for (const status of statuses) {
      for (const c of status.conditions.filter(isProblem)) {
        const where = `${status.kind} ${status.namespace ? `${status.namespace}/` : ''}${status.name} ${c.type}`;
        now.set(where, `${c.reason}: ${c.message}`);
        if (reported.get(where) !== now.get(where)) logger.warn({ object: where, reason: c.reason }, c.message);
      }
    }
    for (const where of reported.keys()) if (!now.has(where)) logger.info({ object: where }, 'problem resolved');
    reported = now;
  };
  const debouncer = new Debouncer(rebuild, options.debounce ?? { quietMs: 50, maxDelayMs: 1000 });

  const discovery = new DiscoveryServer({
    cache,
    proxies,
    logger,
    callbacks: {
      onPush: (_node, group) => pushesOf(group).inc(),
      onAck: (_node, group) => acksOf(group).inc(),
      onNack: (_node, group) => nacksOf(group).inc(),
    },
  });
  const admin = new AdminServer({ cache, events, proxies });

  const health = await startHealthServer({
    address: options.address,
    port: options.httpPort,
    ready: () => {
      if (!synced) return { ready: false, reason: `source ${options.source.name} not synced` };
      if (!built) return { ready: false, reason: 'building first snapshots' };
      return serving ? { ready: true } : { ready: false, reason: 'gRPC server starting' };
    },
    metrics,
  });
  let grpcServer: grpc.Server | undefined;
  try {
    await options.source.start((changes) => {
      const appended = events.append(options.source.name, changes);
      // One copy per touched kind per batch: a 10k-object initial list stays cheap.
      state = reduceAll(state, appended);
      lastSeq.set(events.lastSeq);
      if (synced) debouncer.trigger();
    });
    synced = true;
    rebuild();
    const started = await startGrpcServer({ address: options.address, port: options.grpcPort, discovery: discovery.service(), admin: admin.handlers() });
    grpcServer = started.server;
    serving = true;
    logger.info({ grpc: `${options.address}:${started.port}`, http: `${options.address}:${health.port}`, source: options.source.name }, 'control plane ready');
    return {
      grpcPort: started.port,
      httpPort: health.port,
      cache,
      events,
      proxies,
      close: async () => {
        debouncer.cancel();
        await options.source.stop();
        discovery.closeAll();
        if (grpcServer) await stopGrpcServer(grpcServer);
        await health.close();
      },
    };
  } catch (error) {
    debouncer.cancel();
    await options.source.stop().catch(() => undefined);
    await health.close();
    throw error;
  }
}
