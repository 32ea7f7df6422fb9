import type { RequestStateKeys } from './modern/request-state.ts';
import { Counter, Gauge, Registry, collectDefaultMetrics, type RegistryContentType } from 'prom-client';
import type { Snapshot } from '../shared/config/types.ts';
import type { Logger } from '../shared/log.ts';
import { MCPMUX_VERSION } from '../shared/version.ts';
import { tracingEnabled } from '../shared/telemetry/tracing.ts';
import { startHealthServer } from '../shared/ops/health-server.ts';
import type { TlsMaterial } from '../shared/net/tls.ts';
import { hostPort, isLoopbackAddress } from '../shared/net/address.ts';
import { ConfigClient } from './config/client.ts';
import { CertificateRenewal } from './config/certificate-renewal.ts';
import { ERA_METADATA_PREFIX } from '../shared/admin/proxy-metadata.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { Fleet } from './fleet/fleet.ts';
import { promProxyMetrics, sessionsGauge } from './metrics.ts';
import { SessionRouter, type WorkerPlace } from './workers/session-routing.ts';
import { tagSessionIds } from './workers/session-owner.ts';

export interface ProxyOptions {
  controlPlane: string;
  gateway: string;
  address: string;
  port: number;
  /** Gateway listener port → port to serve it on (--listener-ports); undefined: the lowest listener port on `port`. */
  listenerPorts?: ReadonlyMap<number, number> | undefined;
  httpPort: number;
  replicaId: string;
  /** Run stdio targets' commands (see CompileOptions.allowStdio). */
  allowStdio?: boolean;
  /** Origin and Host allow-lists (DNS rebinding); undefined keeps the ProxyServer defaults. */
  allowedOrigins?: string[] | undefined;
  allowedHosts?: string[] | undefined;
  /** Limits (see ProxyServerOptions); undefined keeps the defaults. */
  limits?: {
    maxBodyBytes?: number;
    maxJsonDepth?: number;
    maxSessions?: number;
    maxSessionsPerPrincipal?: number;
    maxAnonymousSessionsPerAddress?: number;
    maxInFlightPerSession?: number;
    slowClientBufferBytes?: number;
    sessionIdleTtlMs?: number;
    sessionInitializeTimeoutMs?: number;
  };
  /** mTLS to the control plane (see ConfigClientOptions). */
  tls?: TlsMaterial | undefined;
  /**
   * mTLS with a certificate from the control plane's CA, for this pod's projected ServiceAccount
   * token (config/certificate-renewal.ts): the CA bundle file and the token file.
   */
  controlPlaneCa?: { caFile: string; tokenFile: string } | undefined;
  tlsServerName?: string;
  /** Share sessions with the other replicas through this NATS (nats://host:port[,…]); undefined: alone. */
  nats?: string | undefined;
  /** Names of the NATS buckets, stream and subjects. Default mcpmux. */
  natsPrefix?: string | undefined;
  /** NATS credentials file and TLS CA (see shared/net/nats-connect.ts). */
  natsCreds?: string | undefined;
  natsCa?: string | undefined;
  /** Copies JetStream keeps of the session buckets and event stream (3 on a clustered NATS). */
  natsReplicas?: number | undefined;
  /** How long a graceful shutdown waits for requests in flight. Default 20 s. */
  drainTimeoutMs?: number | undefined;
  /** Keys of the requestState tokens (--request-state-key-file); default a random key of this replica. */
  requestStateKeys?: RequestStateKeys | undefined;
  /** How long a call to a 2025 upstream waits for a 2026-07-28 client's retry. */
  heldCallMs?: number | undefined;
  /** How long a 2025 upstream's list without listChanged is cached (ProxyServerOptions.listCacheTtlMs). Default 0: not cached. */
  listCacheTtlMs?: number | undefined;
  /**
   * This proxy is one worker of a pod (mcpmux proxy --workers N, proxy/workers): the primary serves
   * the pod's health port (httpPort is not bound here), and without NATS sessions are routed to the
   * worker that owns them. Undefined: a proxy on its own.
   */
  worker?: WorkerPlace | undefined;
  logger: Logger;
}

export interface RunningProxy {
  port: number;
  /** The health port; 0 in a worker (the pod's primary serves it). */
  httpPort: number;
  /** What /readyz says of this proxy. */
  ready(): { ready: boolean; reason?: string };
  /** What /metrics shows of this proxy. */
  metrics: Registry<RegistryContentType>;
  server: ProxyServer;
  config: ConfigClient;
  close(): Promise<void>;
}

/** A proxy replica: config client → routing table → MCP server, plus health and metrics. */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const { logger } = options;
  // With tracing on, /metrics speaks OpenMetrics: the only format that carries exemplars (trace ids on the latency histogram).
  const metrics = new Registry<RegistryContentType>();
  if (tracingEnabled) metrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: metrics });
  const applied = new Gauge({ name: 'mcpmux_proxy_snapshot_info', help: 'The snapshot version this proxy serves (value 1)', labelNames: ['group', 'version'], registers: [metrics] });

  const limitHits = new Counter({ name: 'mcpmux_proxy_limit_hits_total', help: 'Requests refused by a limit, by limit', labelNames: ['limit'], registers: [metrics] });
  const limits = Object.fromEntries(Object.entries(options.limits ?? {}).filter(([, v]) => v !== undefined));
  const fleet = options.nats
    ? await Fleet.open({
        servers: options.nats,
        credsFile: options.natsCreds,
        caFile: options.natsCa,
        natsReplicas: options.natsReplicas,
        prefix: options.natsPrefix,
        replicaId: options.replicaId,
        idleTtlMs: options.limits?.sessionIdleTtlMs ?? 30 * 60_000,
        logger,
      })
    : undefined;
  // Workers sharing sessions through NATS are fleet members like replicas; without it they route them.
  let router: SessionRouter | undefined;
  if (options.worker && !fleet) {
    tagSessionIds(options.worker.index);
    const forwarded = new Counter({ name: 'mcpmux_proxy_worker_forwarded_requests_total', help: "Requests this worker passed on to the worker holding their session (the client spread a session over connections) or their held call (a 2026-07-28 retry)", registers: [metrics] });
    router = new SessionRouter(options.worker, logger, () => forwarded.inc());
  }
  const server = new ProxyServer({
    ...(fleet ? { fleet } : {}),
    ...(router ? { sessionRouter: router } : {}),
    metrics: promProxyMetrics(metrics, { exemplars: tracingEnabled }),
    address: options.address,
    port: options.port,
    ...(options.listenerPorts ? { listenerPorts: options.listenerPorts } : {}),
    logger,
    ...limits,
    onLimit: (limit) => limitHits.inc({ limit }),
    replicaId: options.replicaId,
    ...(options.requestStateKeys ? { requestStateKeys: options.requestStateKeys } : {}),
    ...(options.heldCallMs ? { heldCallMs: options.heldCallMs } : {}),
    ...(options.listCacheTtlMs ? { listCacheTtlMs: options.listCacheTtlMs } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
  await server.start();
  await router?.listen((req, res, gatewayPort) => server.serveForwarded(req, res, gatewayPort));
  sessionsGauge(metrics, () => server.sessionsByTransport());
  if (fleet) {
    new Gauge({
      name: 'mcpmux_proxy_fleet_nats_connected',
      help: '1 while this replica reaches NATS (sessions of other replicas need it), 0 while not',
      registers: [metrics],
      collect() {
        this.set(fleet.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mcpmux_proxy_fleet_session_records',
      help: 'Session records of the fleet cached by this replica (every live session it has heard of)',
      registers: [metrics],
      collect() {
        this.set(fleet.cachedRecords);
      },
    });
  }
  const apply = (snapshot: Snapshot): void => {
    // Compiling validates: a snapshot that cannot be served throws here and is NACKed.
    server.apply(compileRoutingTable(snapshot, { allowStdio: options.allowStdio === true }));
    applied.reset();
    applied.set({ group: snapshot.group, version: snapshot.version }, 1);
  };
  const applyRequestStateKeys = requestStateKeysFromControlPlane(options, server, logger);
  const renewal = options.controlPlaneCa
    ? new CertificateRenewal({ controlPlane: options.controlPlane, gateway: options.gateway, caFile: options.controlPlaneCa.caFile, tokenFile: options.controlPlaneCa.tokenFile, tlsServerName: options.tlsServerName, logger })
    : undefined;
  renewal?.start();
  const config = new ConfigClient({
    controlPlane: options.controlPlane,
    nodeId: options.replicaId,
    group: options.gateway,
    metadata: { port: String(server.port), pid: String(process.pid), version: MCPMUX_VERSION, ...(options.listenerPorts ? { listenerPorts: [...options.listenerPorts].map(([gateway]) => `${gateway}=${server.portOf(gateway)}`).join(',') } : {}) },
    tls: options.tls,
    certificates: renewal?.live,
    tlsServerName: options.tlsServerName,
    apply,
    applyRequestStateKeys,
    logger,
  });
  // `mcpmux proxies` shows what each upstream was found to speak.
  server.onUpstreamEra((target, era) => config.report({ [`${ERA_METADATA_PREFIX}${target}`]: era }));
  const ready = (): { ready: boolean; reason?: string } => (server.draining ? { ready: false, reason: 'draining' } : server.version ? { ready: true } : { ready: false, reason: 'no snapshot yet' });
  // A worker's health is served by its pod's primary (workers/admin.ts), which asks every worker.
  const health = options.worker ? undefined : await startHealthServer({ address: options.address, port: options.httpPort, ready, metrics });
  config.start();
  logger.info(
    { mcp: `http://${hostPort(options.address, server.port)}`, ...(options.listenerPorts ? { listenerPorts: [...options.listenerPorts].map(([gateway]) => `${gateway}=${server.portOf(gateway)}`) } : {}), addresses: server.addresses, ...(health ? { http: `${options.address}:${health.port}` } : {}), controlPlane: options.controlPlane, replica: options.replicaId, nats: options.nats ?? 'none' },
    'proxy listening',
  );
  return {
    port: server.port,
    httpPort: health?.port ?? 0,
    ready,
    metrics,
    server,
    config,
    close: async () => {
      // Readiness turns false first, so a balancer stops sending new work while in-flight work ends.
      await server.drain(options.drainTimeoutMs ?? 20_000);
      config.close();
      renewal?.stop();
      await router?.close();
      await health?.close();
    },
  };
}

/**
 * What the proxy does with the requestState keys its control plane sends (docs/security.md): with
 * --request-state-key-file the file wins (said once); otherwise each new set replaces the keys in
 * use (the old current key keeps opening its tokens until they expire). A control plane sends keys
 * only over mTLS or loopback: a proxy dialling a plaintext one elsewhere says at start that it
 * keeps a random key of its own. Keys are never logged.
 */
function requestStateKeysFromControlPlane(options: ProxyOptions, server: ProxyServer, logger: Logger): (keys: RequestStateKeys) => void {
  if (options.requestStateKeys) {
    let said = false;
    return () => {
      if (!said) logger.info('the control plane sent requestState keys; --request-state-key-file wins, so they are ignored');
      said = true;
    };
  }
  const host = options.controlPlane.replace(/^[a-z][a-z0-9+.-]*:\/\/\/?/i, '').replace(/:\d+$/, '');
  if (!options.tls && !options.controlPlaneCa && !isLoopbackAddress(host)) {
    logger.warn(
      { controlPlane: options.controlPlane },
      "plaintext control plane off loopback: it sends no requestState keys, so this replica seals 2026-07-28 retries with a random key of its own and a client's retry must come back to it (use mTLS, or --request-state-key-file)",
    );
  }
  let applied: RequestStateKeys | undefined;
  const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => (a === undefined || b === undefined ? a === b : Buffer.compare(a, b) === 0);
  return (keys) => {
    // Every stream (each reconnect) carries the keys again: only a change is applied and said.
    if (applied && same(applied.current, keys.current) && same(applied.previous, keys.previous)) return;
    server.setRequestStateKeys(keys);
    logger.info({ rotated: applied !== undefined, previous: keys.previous !== undefined }, "requestState keys from the control plane applied: every replica of this Gateway opens the others' tokens");
    applied = { current: Uint8Array.from(keys.current), ...(keys.previous ? { previous: Uint8Array.from(keys.previous) } : {}) };
  };
}
