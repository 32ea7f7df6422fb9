// Opens what `--event-log nats` needs on NATS: the connection, the history stream (events, builds,
// base) and the fleet's proxy bucket. The control plane wires what they report into its loop
// (control-plane.ts); how the history stays one is replicated-history.ts.
import { connect, type NatsConnection } from 'nats';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { natsConnectionOptions, type NatsAccess } from '../../shared/net/nats-connect.ts';
import { FleetProxies } from '../discovery/fleet-proxies.ts';
import type { ProxyRegistry, ProxyState } from '../discovery/proxies.ts';
import { HistoryStream } from './history-stream.ts';
import { ReplicatedHistory, type ReplicatedHistoryOptions } from './replicated-history.ts';

export interface SharedHistoryOptions {
  nats: NatsAccess;
  /** JetStream stream name (default MCPMUX_EVENTS); its base is in the object store `<stream>_base`. */
  stream: string;
  /** Stream max age (0: none) and max bytes. */
  maxAgeMs: number;
  maxBytes: number;
  /** Copies JetStream keeps (3 on a clustered NATS). */
  replicas: number;
  /** How often the leader checks whether to compact by age (default a minute). */
  compactCheckMs?: number;
  /** How often a replica rewrites its proxies' records in the KV bucket (default 10 s; they expire after three times this). */
  proxyRefreshMs?: number;
}

export interface SharedHistory {
  history: ReplicatedHistory;
  fleet: FleetProxies;
  /** Stops following the stream and publishing proxies, then closes the connection. */
  close(): Promise<void>;
}

type HistoryCallbacks = Pick<ReplicatedHistoryOptions, 'onEvents' | 'onBuild' | 'onTakeover'>;

export async function openSharedHistory(
  options: SharedHistoryOptions,
  replica: { identity: string; source: string; retention: number; proxies: ProxyRegistry; logger: Logger },
  callbacks: HistoryCallbacks & { onProxyUpdate(state: ProxyState): void },
): Promise<SharedHistory> {
  const { logger } = replica;
  // A NATS installed with this control plane (the chart's) may come up after it: wait for it
  // rather than exit and restart, saying so; the pod is not ready meanwhile.
  const waiting = setTimeout(() => logger.warn({ nats: redactedServers(options.nats.servers) }, 'waiting for NATS (the shared history): not reachable yet'), 2000);
  let nats: NatsConnection;
  try {
    nats = await connect({ ...natsConnectionOptions(options.nats, `mcpmux-control-plane ${replica.identity}`), waitOnFirstConnect: true });
  } catch (error) {
    throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `cannot reach NATS for the shared history (--event-log nats --nats ${redactedServers(options.nats.servers)}): ${errorMessage(error)}`, { cause: error });
  } finally {
    clearTimeout(waiting);
  }
  try {
    const stream = await HistoryStream.open(nats, { stream: options.stream, maxAgeMs: options.maxAgeMs, maxBytes: options.maxBytes, replicas: options.replicas, logger });
    const refreshMs = options.proxyRefreshMs ?? 10_000;
    const kv = await nats.jetstream().views.kv(`${options.stream}_proxies`, { ttl: refreshMs * 3, history: 1, replicas: options.replicas });
    const fleet = new FleetProxies({ kv, replica: replica.identity, local: replica.proxies, logger, refreshMs, ttlMs: refreshMs * 3, onUpdate: callbacks.onProxyUpdate });
    const history = new ReplicatedHistory({
      stream,
      source: replica.source,
      retention: replica.retention,
      maxAgeMs: options.maxAgeMs,
      logger,
      compactCheckMs: options.compactCheckMs,
      onEvents: callbacks.onEvents,
      onBuild: callbacks.onBuild,
      onTakeover: callbacks.onTakeover,
    });
    return {
      history,
      fleet,
      async close() {
        await history.stop();
        await fleet.stop();
        await nats.close();
      },
    };
  } catch (error) {
    await nats.close();
    throw error;
  }
}

/** NATS URLs as a log may show them: without the user, password or token they may carry. */
function redactedServers(servers: string): string {
  return servers.replace(/\/\/[^@/]*@/g, '//');
}
