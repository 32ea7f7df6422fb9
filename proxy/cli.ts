import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { flag, type Command, type FlagValues } from '../shared/cli/command.ts';
import { waitForShutdown } from '../shared/cli/signals.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { McpmuxError } from '../shared/errors.ts';
import { loadTls } from '../shared/net/tls.ts';
import { readKeyFile } from './modern/key-file.ts';
import { parseListenerPorts } from './listener-ports.ts';
import { runPrimary } from './workers/primary.ts';
import { linkToPrimary, workerPlaceFromEnv } from './workers/worker-link.ts';
import { workerReplicaId, type WorkerPlace } from './workers/session-routing.ts';
import type { ProxyOptions } from './proxy.ts';

/** A comma-separated flag as a list; empty means "use the default" (undefined). */
function list(value: string): string[] | undefined {
  const items = value.split(',').map((v) => v.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'Serve one federated MCP endpoint (streamable HTTP) for a Gateway, configured live by the control plane.',
  usage: 'mcpmux proxy [--control-plane 127.0.0.1:18000] [--gateway NAMESPACE/NAME] [--port 8080 | --listener-ports 80=8080,443=8443] [--http-port 15000] [--workers N|auto]',
  description:
    'Locally the Gateway\'s listener port (80 in the tutorial; its lowest, when it has several) is served on --port. With\n' +
    '--listener-ports each Gateway listener port is served on its own port, with its own protocol: HTTP, or HTTPS with the\n' +
    'certificate of the listener\'s certificateRefs (SNI chooses among listeners sharing a port); --port is then not used.\n' +
    'A request reaches the listener of its port that takes its Host, and that listener\'s routes only. With --gateway omitted\n' +
    'the proxy serves the only Gateway there is. If the control plane goes away the proxy keeps serving its last snapshot\n' +
    'and reconnects.',
  examples: [
    'mcpmux proxy --port 8080',
    'mcpmux proxy --listener-ports 80=8080,443=8443   # an HTTP listener on 80 and an HTTPS one on 443',
    'mcpmux proxy --gateway agentgateway-system/mcp-gateway --control-plane 127.0.0.1:18000',
    'mcpmux proxy --nats nats://nats:4222 --replica-id proxy-0   # one of several replicas sharing sessions',
    'mcpmux proxy --workers auto   # one worker process per available CPU behind the one port',
    'mcpmux proxy --otlp-endpoint http://otel-collector.observability:4318   # traces to an OpenTelemetry Collector',
  ],
  flags: [
    { name: 'control-plane', type: 'string', default: '127.0.0.1:18000', description: 'host:port of the control plane gRPC server' },
    { name: 'gateway', type: 'string', default: '', description: 'NAMESPACE/NAME of the Gateway to serve (empty: the only one)' },
    { name: 'address', type: 'string', default: '127.0.0.1', description: 'address to bind; a loopback one (127.0.0.1, ::1, localhost) serves both 127.0.0.1 and ::1' },
    { name: 'port', type: 'number', default: 8080, description: 'port for MCP traffic: the Gateway\'s (lowest) listener port is served here, unless --listener-ports is given' },
    { name: 'listener-ports', type: 'string', default: '', description: 'GATEWAY_PORT=PORT,... : serve each Gateway listener port on its own port (HTTP or HTTPS, as the listener says; 0 picks a free one); listeners on ports not listed are not served' },
    { name: 'http-port', type: 'number', default: 15000, description: '/healthz, /readyz, /metrics' },
    { name: 'replica-id', type: 'string', default: '', description: 'unique id of this replica: letters, digits, - and _ (default: hostname-pid-random)' },
    { name: 'allow-stdio', type: 'boolean', default: false, description: 'run the commands of stdio targets (local development; mcpmux dev sets it)' },
    { name: 'allowed-origins', type: 'string', default: '', description: 'comma-separated Origins browsers may call from, or * (default: localhost origins); others get 403' },
    { name: 'max-body-bytes', type: 'number', default: 4 * 1024 * 1024, description: 'largest request body accepted (413 above it)' },
    { name: 'max-json-depth', type: 'number', default: 64, description: 'deepest JSON nesting accepted in a client message (429 above it)' },
    { name: 'max-sessions-per-replica', type: 'number', default: 10_000, description: 'sessions this replica holds at once, all clients together, 0 for no limit (429 above it)' },
    { name: 'max-sessions-per-principal', type: 'number', default: 100, description: 'sessions one authenticated principal may hold at once, 0 for no limit (429 above it)' },
    { name: 'max-anonymous-sessions-per-address', type: 'number', default: 100, description: 'sessions anonymous clients from one address (an IPv6 /64) may hold at once, 0 for no limit (429 above it)' },
    { name: 'max-in-flight-per-session', type: 'number', default: 64, description: 'requests one session may have in flight at once, each possibly an open SSE stream (429 above it)' },
    { name: 'session-idle-timeout', type: 'number', default: 1800, description: 'seconds an unused session is kept' },
    { name: 'session-initialize-timeout', type: 'number', default: 30, description: 'seconds a session opened without initialize (a legacy SSE stream) is kept before it is closed' },
    { name: 'slow-client-buffer-bytes', type: 'number', default: 8 * 1024 * 1024, description: 'unread bytes a client may leave on one stream before it is cut off (it may resume)' },
    { name: 'tls-ca', type: 'string', description: 'mTLS to the control plane: PEM CA its certificate chains to (with --tls-cert and --tls-key)' },
    { name: 'tls-cert', type: 'string', description: 'mTLS: this proxy\'s PEM certificate; its URI SANs name the gateways it may serve (mcpmux:gateway:NS/NAME)' },
    { name: 'tls-key', type: 'string', description: 'mTLS: PEM private key of --tls-cert' },
    { name: 'tls-server-name', type: 'string', description: 'mTLS: the name the control plane\'s certificate carries, when not the host of --control-plane' },
    { name: 'control-plane-ca', type: 'string', description: 'mTLS from the control plane\'s own CA (what provisioned proxies use): PEM bundle to check the control plane with; with --token-file, the proxy gets and renews its certificate itself' },
    { name: 'token-file', type: 'string', description: 'with --control-plane-ca: this pod\'s projected ServiceAccount token (audience mcpmux-control-plane), traded for a certificate naming --gateway' },
    { name: 'allowed-hosts', type: 'string', default: '', description: 'comma-separated Host names (*.example.com wildcards) clients may use, or * (default: localhost names on a loopback bind, any otherwise, for listeners without hostnames; a listener with hostnames takes those)' },
    { name: 'nats', type: 'string', default: '', description: 'nats://host:port[,...] with JetStream: replicas share sessions through it, so any replica serves any request (empty: sessions stay on this replica)' },
    { name: 'nats-creds', type: 'string', description: 'NATS credentials file (JWT + NKey) for --nats; a user:password or token may also sit in the URL (nats://user:pass@host)' },
    { name: 'nats-ca', type: 'string', description: 'PEM CA of the NATS server\'s certificate: TLS to NATS (also on with tls:// URLs)' },
    { name: 'nats-replicas', type: 'number', default: 1, description: 'copies JetStream keeps of the session buckets and event stream: 3 on a clustered NATS, so losing a NATS server loses no session' },
    { name: 'nats-prefix', type: 'string', default: 'mcpmux', description: 'names of the NATS buckets, stream and subjects (fleets sharing one NATS need different ones)' },
    { name: 'request-state-key-file', type: 'string', description: 'keys of the requestState tokens 2026-07-28 clients echo on retries: one base64/hex key of >= 32 bytes per line, current then previous (default: the control plane\'s, else a random key of this replica, so retries must come back to it)' },
    { name: 'list-cache-ttl', type: 'number', default: 0, description: 'seconds a 2025 upstream\'s tools/prompts/resources list is served from cache when the upstream does not declare listChanged (0: always asked; lists with listChanged are cached until their list_changed, 2026-07-28 ones for their ttlMs)' },
    { name: 'held-call-timeout', type: 'number', default: 60, description: 'seconds a call to a 2025 upstream waits for a 2026-07-28 client to answer its questions (the client\'s retry)' },
    {
      name: 'workers',
      type: 'string',
      default: '1',
      description:
        'worker processes serving the one port, N or auto (one per available CPU): each is a whole proxy (own control-plane stream as replica <replica-id>-w<k>, ' +
        'upstream connections, list caches); a primary hands them connections round-robin and serves --http-port for the pod. Without --nats a request on a session is passed ' +
        'to the worker holding it; with --nats the workers share sessions as replicas do. 1: one process, no primary',
    },
    { name: 'drain-timeout', type: 'number', default: 20, description: 'seconds a shutdown (SIGTERM) waits for requests in flight while sessions move to other replicas' },
    {
      name: 'otlp-endpoint',
      type: 'string',
      default: '',
      description:
        'OpenTelemetry traces over OTLP/HTTP to this collector (http://otel-collector:4318; /v1/traces is appended): a span per MCP request continuing the client\'s trace, ' +
        'one per upstream request under it; /metrics then speaks OpenMetrics with exemplars. Empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else no tracing',
    },
  ],
  async run(flags) {
    const workers = parseWorkers(flag.string(flags, 'workers'));
    // It names NATS subjects: a dotted host name is made safe.
    const podReplicaId = flag.string(flags, 'replica-id') || `${hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-${process.pid}-${randomBytes(3).toString('hex')}`;
    if (workers > 1 && cluster.isPrimary) {
      // Flags are checked here, once, as a lone proxy checks them: a mistake is not N workers' to die of.
      proxyOptions(flags, podReplicaId, undefined, createLogger('proxy'));
      return runPrimary({ workers, replicaId: podReplicaId, address: flag.string(flags, 'address'), httpPort: flag.number(flags, 'http-port'), drainTimeoutMs: flag.number(flags, 'drain-timeout') * 1000, logger: createLogger('proxy') });
    }
    if (workers === 1) return serve(flags, podReplicaId, undefined);
    const worker = workerPlaceFromEnv();
    try {
      return await serve(flags, workerReplicaId(worker.podReplicaId, worker.index), worker);
    } catch (error) {
      // The channel to the primary would keep a failed worker alive, or make it exit 0: it says why and exits 1.
      createLogger('proxy').child({ worker: worker.index }).error({ err: error instanceof Error ? error.message : String(error) }, 'worker cannot start');
      process.exit(1);
    }
  },
};

/** Runs one proxy (alone, or as worker `worker` of a pod) until a signal; the exit code. */
async function serve(flags: FlagValues, replicaId: string, worker: WorkerPlace | undefined): Promise<number> {
  const logger = worker ? createLogger('proxy').child({ worker: worker.index }) : createLogger('proxy');
  // Loaded here, not by the primary of a pod of workers, which serves no MCP (and so stays small).
  const [{ startProxy }, { otlpTracesUrl, startTracing }] = await Promise.all([import('./proxy.ts'), import('../shared/telemetry/tracing.ts')]);
  // Before anything serves: the proxy's metrics registry is chosen by whether tracing is on.
  const otlp = otlpTracesUrl(flag.string(flags, 'otlp-endpoint'));
  const stopTracing = otlp ? await startTracing({ serviceName: 'mcpmux-proxy', endpoint: otlp, logger, attributes: { 'service.instance.id': replicaId } }) : undefined;
  const running = await startProxy(proxyOptions(flags, replicaId, worker, logger));
  const unlink = worker ? linkToPrimary(running) : undefined;
  await waitForShutdown(logger);
  // A shutdown ends within --drain-timeout whatever NATS, an upstream or a client does: the drain
  // keeps to it, and should anything still hold the process open past it (and a moment for the
  // last writes), it exits anyway, saying so.
  const drainMs = flag.number(flags, 'drain-timeout') * 1000;
  const overdue = setTimeout(() => {
    logger.warn({ drainTimeoutMs: drainMs }, 'shutdown overran --drain-timeout: exiting now');
    process.exit(1);
  }, drainMs + SHUTDOWN_GRACE_MS);
  overdue.unref();
  await running.close();
  unlink?.();
  await stopTracing?.();
  // Its channel to the primary would keep a worker alive: let go, it exits.
  if (worker) process.disconnect?.();
  return 0;
}

/** The proxy's options from its flags (throws a usage error naming a bad one). */
function proxyOptions(flags: FlagValues, replicaId: string, worker: WorkerPlace | undefined, logger: Logger): ProxyOptions {
  const caFile = (flags['control-plane-ca'] as string | undefined) || undefined;
  const tokenFile = (flags['token-file'] as string | undefined) || undefined;
  if ((caFile === undefined) !== (tokenFile === undefined)) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux proxy: --control-plane-ca and --token-file go together');
  if (caFile && (flags['tls-cert'] || flags['tls-key'] || flags['tls-ca'])) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux proxy: --control-plane-ca gets a certificate from the control plane; do not also give --tls-ca/--tls-cert/--tls-key');
  if (caFile && !flag.string(flags, 'gateway')) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux proxy: --control-plane-ca needs --gateway NAMESPACE/NAME (the certificate names it)');
  return {
    controlPlane: flag.string(flags, 'control-plane'),
    gateway: flag.string(flags, 'gateway'),
    address: flag.string(flags, 'address'),
    port: flag.number(flags, 'port'),
    listenerPorts: parseListenerPorts(flag.string(flags, 'listener-ports')),
    httpPort: flag.number(flags, 'http-port'),
    replicaId,
    allowStdio: flag.boolean(flags, 'allow-stdio'),
    allowedOrigins: list(flag.string(flags, 'allowed-origins')),
    allowedHosts: list(flag.string(flags, 'allowed-hosts')),
    tls: loadTls(
      { ca: flags['tls-ca'] as string | undefined, cert: flags['tls-cert'] as string | undefined, key: flags['tls-key'] as string | undefined },
      { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' },
    ),
    tlsServerName: (flags['tls-server-name'] as string | undefined) || undefined,
    controlPlaneCa: caFile && tokenFile ? { caFile, tokenFile } : undefined,
    nats: flag.string(flags, 'nats') || undefined,
    natsPrefix: flag.string(flags, 'nats-prefix'),
    natsCreds: (flags['nats-creds'] as string | undefined) || undefined,
    natsCa: (flags['nats-ca'] as string | undefined) || undefined,
    natsReplicas: positive(flags, 'nats-replicas'),
    drainTimeoutMs: flag.number(flags, 'drain-timeout') * 1000,
    ...(flags['request-state-key-file'] ? { requestStateKeys: readKeyFile(flag.string(flags, 'request-state-key-file')) } : {}),
    heldCallMs: positive(flags, 'held-call-timeout') * 1000,
    ...(worker ? { worker } : {}),
    listCacheTtlMs: listCacheTtl(flags) * 1000,
    limits: {
      maxBodyBytes: positive(flags, 'max-body-bytes'),
      maxJsonDepth: positive(flags, 'max-json-depth'),
      maxSessions: atLeastZero(flags, 'max-sessions-per-replica'),
      maxSessionsPerPrincipal: flag.number(flags, 'max-sessions-per-principal'),
      maxAnonymousSessionsPerAddress: atLeastZero(flags, 'max-anonymous-sessions-per-address'),
      maxInFlightPerSession: positive(flags, 'max-in-flight-per-session'),
      sessionIdleTtlMs: positive(flags, 'session-idle-timeout') * 1000,
      sessionInitializeTimeoutMs: positive(flags, 'session-initialize-timeout') * 1000,
      slowClientBufferBytes: positive(flags, 'slow-client-buffer-bytes'),
    },
    logger,
  };
}


/** After --drain-timeout, what a shutdown may still take (the last log lines, closing the health port) before the process exits regardless. */
const SHUTDOWN_GRACE_MS = 1_000;

/** --workers: a count of 1 or more, or auto (the CPUs this process may use). */
function parseWorkers(value: string): number {
  if (value === 'auto') return availableParallelism();
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new McpmuxError('MCPMUX_USAGE', `mcpmux proxy: --workers must be a whole number of 1 or more, or auto (got ${JSON.stringify(value)})`);
  return count;
}

/** A number flag that must be above zero, or a usage error naming it. */
function positive(flags: Parameters<typeof flag.number>[0], name: string): number {
  const value = flag.number(flags, name);
  if (!(value > 0)) throw new McpmuxError('MCPMUX_USAGE', `mcpmux proxy: --${name} must be above 0`);
  return value;
}

/** A number flag that must not be negative (0 turns its limit off), or a usage error naming it. */
function listCacheTtl(flags: Parameters<typeof flag.number>[0]): number {
  const value = flag.number(flags, 'list-cache-ttl');
  if (!(value >= 0)) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux proxy: --list-cache-ttl must be 0 (off) or more seconds');
  return value;
}

function atLeastZero(flags: Parameters<typeof flag.number>[0], name: string): number {
  const value = flag.number(flags, name);
  if (!(value >= 0)) throw new McpmuxError('MCPMUX_USAGE', `mcpmux proxy: --${name} must be 0 (no limit) or more`);
  return value;
}
