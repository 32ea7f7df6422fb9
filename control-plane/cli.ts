import { flag, type Command } from '../shared/cli/command.ts';
import { McpmuxError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { otlpTracesUrl, startTracing } from '../shared/telemetry/tracing.ts';
import { waitForShutdown } from '../shared/cli/signals.ts';
import { hostname } from 'node:os';
import { MCPMUX_VERSION } from '../shared/version.ts';
import { loadTls } from '../shared/net/tls.ts';
import { isLoopbackAddress } from '../shared/net/address.ts';
import { DEFAULT_CA_SECRET } from './pki/names.ts';
import { startControlPlane, type ClusterOptions, type PkiOptions } from './control-plane.ts';
import { KubeClient, loadKubeConfig } from './kube/client.ts';
import { DEFAULT_REQUEST_STATE_SECRET } from './kube/request-state-secret.ts';
import { FilesSource } from './sources/files.ts';
import { KubernetesSource } from './sources/kubernetes.ts';
import type { Source } from './sources/source.ts';
import { DEFAULT_FILES_GATEWAY_CLASSES, DEFAULT_KUBERNETES_GATEWAY_CLASSES } from './translate/translate.ts';
import { validateDir } from './validate.ts';

export const controlPlaneCommand: Command = {
  name: 'control-plane',
  summary: 'Watch Kubernetes objects (a folder of YAML, or a cluster) and stream versioned snapshots to proxies over gRPC.',
  usage: 'mcpmux control-plane [--source files|kubernetes] [--dir DIR] [--kubeconfig FILE] [--namespace NS] [--address 127.0.0.1] [--grpc-port 18000] [--http-port 15001]',
  description:
    'The gRPC port serves discovery (proxies), admin and server reflection (grpcurl). The HTTP port serves /healthz, /readyz and /metrics.\n' +
    'The files source reads Service, EndpointSlice, Gateway, HTTPRoute, AgentgatewayBackend and MCPBackend objects from a folder and\n' +
    'watches it; a Service gets a local address from an EndpointSlice in the folder or its mcpmux.dev/url annotation.\n' +
    'The kubernetes source lists and watches the same kinds in a cluster (kubeconfig from --kubeconfig, KUBECONFIG, ~/.kube/config,\n' +
    'or the in-cluster service account). It serves the GatewayClass mcpmux by default; --gateway-class agentgateway hands the\n' +
    "tutorial's Gateway to mcpmux in a cluster without agentgateway.",
  examples: [
    'mcpmux control-plane --dir deploy/examples/tutorial',
    'mcpmux control-plane --source kubernetes --gateway-class mcpmux,agentgateway',
    'mcpmux control-plane --source kubernetes --kubeconfig ~/.kube/config --namespace agentgateway-system',
    'mcpmux control-plane --source kubernetes --event-log nats --nats nats://nats:4222   # one history for every replica',
    'grpcurl -plaintext 127.0.0.1:18000 mcpmux.v1.AdminService/GetSnapshot',
    'mcpmux control-plane --otlp-endpoint http://jaeger-collector.observability:4318   # traces of builds and pushes',
  ],
  flags: [
    { name: 'source', type: 'string', default: 'files', choices: ['files', 'kubernetes'], description: 'where objects come from: a folder of YAML, or a cluster' },
    { name: 'dir', type: 'string', default: 'deploy/examples/tutorial', description: 'folder of Kubernetes YAML for the files source' },
    { name: 'kubeconfig', type: 'string', description: 'kubeconfig file for the kubernetes source (default: KUBECONFIG, ~/.kube/config, then in-cluster)' },
    { name: 'context', type: 'string', description: 'kubeconfig context (default: its current context)' },
    { name: 'namespace', type: 'string', description: 'comma-separated namespaces to watch (default: all)' },
    { name: 'address', type: 'string', default: '127.0.0.1', description: 'address to bind the gRPC and HTTP ports' },
    { name: 'grpc-port', type: 'number', default: 18000, description: 'discovery + admin + reflection' },
    { name: 'http-port', type: 'number', default: 15001, description: '/healthz, /readyz, /metrics' },
    {
      name: 'gateway-class',
      type: 'string',
      description: `comma-separated GatewayClass names to serve (default: ${DEFAULT_FILES_GATEWAY_CLASSES.join(',')} for files, ${DEFAULT_KUBERNETES_GATEWAY_CLASSES.join(',')} for kubernetes)`,
    },
    {
      name: 'leader-election-namespace',
      type: 'string',
      description: "namespace of the leader Lease, which must exist (default: $POD_NAMESPACE, else the kubeconfig context's namespace, else default)",
    },
    { name: 'leader-election-name', type: 'string', default: 'mcpmux-control-plane', description: 'name of the leader Lease' },
    { name: 'lease-duration', type: 'number', default: 15, description: 'seconds a leader holds the Lease without renewing; it renews every 2 s' },
    { name: 'identity', type: 'string', description: 'this replica in the Lease and in Events (default: $POD_NAME, else host-pid)' },
    { name: 'write-status', type: 'boolean', default: true, description: 'the leader writes Accepted/ResolvedRefs/Programmed conditions; the replica holding a proxy\'s stream writes its NACK Events' },
    { name: 'provision', type: 'boolean', default: true, description: 'leader creates a proxy Deployment and Service for each Gateway of ours' },
    { name: 'proxy-image', type: 'string', default: `mcpmux:${MCPMUX_VERSION}`, description: 'image of provisioned proxies (a GatewayClass parametersRef ConfigMap key image overrides)' },
    { name: 'proxy-replicas', type: 'number', default: 1, description: 'replicas of provisioned proxies (ConfigMap key replicas overrides)' },
    { name: 'proxy-service-type', type: 'string', default: 'ClusterIP', choices: ['ClusterIP', 'NodePort', 'LoadBalancer'], description: 'type of provisioned proxy Services' },
    { name: 'proxy-control-plane', type: 'string', description: 'host:port provisioned proxies dial (default: mcpmux-control-plane.<lease namespace>.svc:<grpc-port>)' },
    { name: 'disconnected-proxy-ttl', type: 'number', default: 600, description: 'seconds a disconnected proxy stays in ListProxies (mcpmux proxies) before it is forgotten' },
    { name: 'event-log-retention', type: 'number', default: 10000, description: 'events kept for ListEvents and history (in memory, in the --event-log file; with nats, the window kept after compaction: between this and twice this)' },
    {
      name: 'discovery-tls',
      type: 'string',
      default: 'auto',
      choices: ['auto', 'ca', 'files', 'off'],
      description:
        'mTLS of the gRPC port. ca: the control plane\'s own CA (a Secret the leader makes; proxies trade their pod\'s ServiceAccount token for a certificate); ' +
        'files: --tls-cert/--tls-key/--tls-ca; off: plaintext. auto: files when --tls-cert is given, else ca with the kubernetes source on a non-loopback --address, else off',
    },
    { name: 'ca-secret', type: 'string', default: DEFAULT_CA_SECRET, description: 'with --discovery-tls ca: the Secret in the control plane\'s namespace holding its CA (the leader creates it; rotate with mcpmux ca rotate)' },
    { name: 'tls-names', type: 'string', description: 'with --discovery-tls ca: comma-separated DNS names and IPs of the gRPC certificate (default: the host of --proxy-control-plane and its short forms, localhost, 127.0.0.1, ::1)' },
    { name: 'proxy-certificate-ttl', type: 'number', default: 3600, description: 'with --discovery-tls ca: seconds a proxy certificate is valid; proxies renew at two thirds' },
    { name: 'insecure-discovery', type: 'boolean', default: false, description: 'plaintext on a non-loopback address: still send upstream credentials in snapshots (without it, targets that carry one are left out, and their backends say so)' },
    { name: 'tls-cert', type: 'string', description: 'mTLS: PEM certificate of the gRPC port (with --tls-key and --tls-ca; plaintext without)' },
    { name: 'tls-key', type: 'string', description: 'mTLS: PEM private key of --tls-cert' },
    { name: 'tls-ca', type: 'string', description: 'mTLS: PEM CA bundle proxy certificates must chain to; a proxy serves only gateways its URI SANs name (mcpmux:gateway:NS/NAME or mcpmux:gateway:*)' },
    {
      name: 'event-log',
      type: 'string',
      default: 'memory',
      description:
        'where the history (ListEvents, ListVersions, GetSnapshot of old versions) lives: memory (this replica, lost on restart); ' +
        'nats (a JetStream stream on --nats shared by every replica: the leader appends, all serve the same versions; needs --source kubernetes); ' +
        'or a JSONL FILE (survives restarts of one replica)',
    },
    { name: 'nats', type: 'string', description: 'with --event-log nats: nats://host:4222[,...] with JetStream (credentials may sit in the URL: nats://user:pass@host)' },
    { name: 'nats-creds', type: 'string', description: 'NATS credentials file (JWT + NKey) for --nats' },
    { name: 'nats-ca', type: 'string', description: "PEM CA of the NATS server's certificate: TLS to NATS (also on with tls:// URLs)" },
    { name: 'nats-replicas', type: 'number', default: 1, description: 'copies JetStream keeps of the history stream and its base: 3 on a clustered NATS' },
    { name: 'event-log-stream', type: 'string', default: 'MCPMUX_EVENTS', description: 'with --event-log nats: the JetStream stream (its base is in the object store <stream>_base)' },
    { name: 'event-log-max-age', type: 'number', default: 7 * 24 * 3600, description: 'with --event-log nats: seconds JetStream keeps a record; compaction keeps the window younger than half of it (0: no limit)' },
    { name: 'event-log-max-bytes', type: 'number', default: 256 * 1024 * 1024, description: 'with --event-log nats: size limit of the history stream in bytes (compaction keeps it far below for sane retention)' },
    {
      name: 'request-state-key-file',
      type: 'string',
      description:
        "master keys of the requestState tokens 2026-07-28 clients echo on retries: one base64/hex key of >= 32 bytes per line, current then previous; " +
        're-read when it changes (default: the Secret --request-state-secret with the kubernetes source, else a random key in memory)',
    },
    { name: 'request-state-secret', type: 'string', default: DEFAULT_REQUEST_STATE_SECRET, description: 'kubernetes source: the Secret in the control plane\'s namespace (the leader Lease\'s) holding the requestState master keys; the leader creates it' },
    {
      name: 'otlp-endpoint',
      type: 'string',
      default: '',
      description:
        'OpenTelemetry traces over OTLP/HTTP to this collector (http://otel-collector:4318; /v1/traces is appended): a span per snapshot build and per push to a proxy. ' +
        'Empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else no tracing',
    },
  ],
  async run(flags) {
    const logger = createLogger('control-plane');
    const otlp = otlpTracesUrl(flag.string(flags, 'otlp-endpoint'));
    const stopTracing = otlp ? await startTracing({ serviceName: 'mcpmux-control-plane', endpoint: otlp, logger }) : undefined;
    const sourceName = flag.string(flags, 'source');
    const defaults = sourceName === 'kubernetes' ? DEFAULT_KUBERNETES_GATEWAY_CLASSES : DEFAULT_FILES_GATEWAY_CLASSES;
    const gatewayClasses = list(flags['gateway-class']) ?? [...defaults];
    if (gatewayClasses.length === 0) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --gateway-class names no class');
    let source: Source;
    let cluster: ClusterOptions | undefined;
    let pki: PkiOptions | undefined;
    const address = flag.string(flags, 'address');
    const tlsFiles = loadTls({ ca: optional(flags['tls-ca']), cert: optional(flags['tls-cert']), key: optional(flags['tls-key']) }, { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' });
    const requested = flag.string(flags, 'discovery-tls');
    const mode = requested !== 'auto' ? requested : tlsFiles ? 'files' : sourceName === 'kubernetes' && !isLoopbackAddress(address) ? 'ca' : 'off';
    if (mode === 'files' && !tlsFiles) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --discovery-tls files needs --tls-cert, --tls-key and --tls-ca');
    if (mode !== 'files' && tlsFiles) throw new McpmuxError('MCPMUX_USAGE', `mcpmux control-plane: --tls-cert/--tls-key/--tls-ca are for --discovery-tls files, not ${mode}`);
    if (mode === 'ca' && sourceName !== 'kubernetes') throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --discovery-tls ca keeps its CA in a Secret: it needs --source kubernetes');
    if (sourceName === 'kubernetes') {
      const kubeconfig = flags.kubeconfig === undefined ? undefined : flag.string(flags, 'kubeconfig');
      const context = flags.context === undefined ? undefined : flag.string(flags, 'context');
      const config = loadKubeConfig({ kubeconfig, context });
      const client = new KubeClient(config);
      const namespaces = list(flags.namespace) ?? [];
      source = new KubernetesSource({ client, logger, namespaces });
      // In a pod: its namespace (the chart passes it; $POD_NAMESPACE, or the in-cluster context's,
      // which is the service account's). Outside one: the kubeconfig context's, as kubectl's default.
      const leaseNamespace = optional(flags['leader-election-namespace']) ?? optional(process.env.POD_NAMESPACE) ?? optional(config.getContextObject(config.getCurrentContext())?.namespace) ?? 'default';
      const leaseSeconds = flag.number(flags, 'lease-duration');
      const proxyControlPlane = optional(flags['proxy-control-plane']) ?? `mcpmux-control-plane.${leaseNamespace}.svc:${flag.number(flags, 'grpc-port')}`;
      const ttl = flag.number(flags, 'proxy-certificate-ttl');
      if (!(ttl >= 10)) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --proxy-certificate-ttl must be at least 10 seconds');
      if (mode === 'ca') pki = { secretName: flag.string(flags, 'ca-secret'), names: list(flags['tls-names']) ?? serviceNames(proxyControlPlane), proxyCertificateTtlMs: ttl * 1000 };
      if (!(leaseSeconds >= 2)) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --lease-duration must be at least 2 seconds');
      cluster = {
        client,
        namespaces,
        requestStateSecret: flag.string(flags, 'request-state-secret'),
        identity: optional(flags.identity) ?? optional(process.env.POD_NAME) ?? `${hostname()}-${process.pid}`,
        leaseNamespace,
        leaseName: flag.string(flags, 'leader-election-name'),
        leaseDurationMs: leaseSeconds * 1000,
        renewDeadlineMs: Math.round(leaseSeconds * 1000 * (2 / 3)),
        retryPeriodMs: Math.min(2000, Math.round((leaseSeconds * 1000) / 5)),
        writeStatus: flags['write-status'] === true,
        provision: flags.provision === true
          ? {
              image: flag.string(flags, 'proxy-image'),
              replicas: flag.number(flags, 'proxy-replicas'),
              serviceType: flag.string(flags, 'proxy-service-type') as 'ClusterIP' | 'NodePort' | 'LoadBalancer',
              controlPlane: proxyControlPlane,
              ...(mode === 'ca' ? { controlPlaneCa: {} } : {}),
            }
          : undefined,
      };
    } else {
      source = new FilesSource({ dir: flag.string(flags, 'dir'), logger });
    }
    const eventLog = flag.string(flags, 'event-log');
    const natsUrl = optional(flags.nats);
    if (eventLog === 'nats' && !natsUrl) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --event-log nats needs --nats nats://host:4222');
    if (eventLog === 'nats' && sourceName !== 'kubernetes') throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --event-log nats needs --source kubernetes (only the elected leader writes the shared history)');
    if (eventLog !== 'nats' && natsUrl) throw new McpmuxError('MCPMUX_USAGE', `mcpmux control-plane: --nats is for --event-log nats (the event log is ${eventLog})`);
    for (const name of ['event-log-max-age', 'event-log-max-bytes', 'nats-replicas'] as const) {
      const value = flag.number(flags, name);
      if (!Number.isSafeInteger(value) || value < (name === 'nats-replicas' ? 1 : 0)) throw new McpmuxError('MCPMUX_USAGE', `mcpmux control-plane: --${name} must be a whole number${name === 'nats-replicas' ? ' of at least 1' : ' (0: no limit)'}`);
    }
    const running = await startControlPlane({
      source,
      gatewayClasses,
      address,
      grpcPort: flag.number(flags, 'grpc-port'),
      httpPort: flag.number(flags, 'http-port'),
      eventLogRetention: flag.number(flags, 'event-log-retention'),
      ...(eventLog !== 'memory' && eventLog !== 'nats' ? { eventLogPath: eventLog } : {}),
      ...(eventLog === 'nats' && natsUrl
        ? {
            sharedHistory: {
              nats: { servers: natsUrl, credsFile: optional(flags['nats-creds']), caFile: optional(flags['nats-ca']) },
              stream: flag.string(flags, 'event-log-stream'),
              maxAgeMs: flag.number(flags, 'event-log-max-age') * 1000,
              maxBytes: flag.number(flags, 'event-log-max-bytes'),
              replicas: flag.number(flags, 'nats-replicas'),
            },
          }
        : {}),
      requestStateKeyFile: optional(flags['request-state-key-file']),
      tls: tlsFiles,
      insecureDiscovery: flag.boolean(flags, 'insecure-discovery'),
      disconnectedProxyTtlMs: flag.number(flags, 'disconnected-proxy-ttl') * 1000,
      logger,
      cluster,
      ...(pki ? { pki } : {}),
    });
    await waitForShutdown(logger);
    await running.close();
    await stopTracing?.();
    return 0;
  },
};

/** A string flag that was given, non-empty. */
function optional(value: string | number | boolean | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : String(value);
}

/**
 * The names proxies may dial the control plane by, from the host they are told to dial
 * (NAME.NAMESPACE.svc[:port]): its short forms too, and loopback names for a port-forward.
 */
export function serviceNames(controlPlane: string): string[] {
  const host = controlPlane.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const names = new Set<string>([host]);
  const service = /^([^.]+)\.([^.]+)\.svc(\.cluster\.local)?$/.exec(host);
  if (service) for (const name of [service[1]!, `${service[1]}.${service[2]}`, `${service[1]}.${service[2]}.svc`, `${service[1]}.${service[2]}.svc.cluster.local`]) names.add(name);
  for (const name of ['localhost', '127.0.0.1', '::1']) names.add(name);
  return [...names];
}

/** A comma-separated flag as a list, or undefined when the flag was not given. */
function list(value: string | number | boolean | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return String(value).split(',').map((item) => item.trim()).filter(Boolean);
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a folder of Kubernetes YAML and print the listeners, routes, targets and tool prefixes it would expose.',
  usage: 'mcpmux validate DIR',
  description: 'Exits 1 with file:line errors when a file does not parse or an object is rejected, 0 otherwise.',
  examples: ['mcpmux validate deploy/examples/tutorial'],
  flags: [{ name: 'gateway-class', type: 'string', default: DEFAULT_FILES_GATEWAY_CLASSES.join(','), description: 'comma-separated GatewayClass names to serve' }],
  async run(flags, positionals) {
    const [dir, ...extra] = positionals;
    if (!dir || extra.length > 0) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux validate: name exactly one folder (see mcpmux validate --help)');
    const gatewayClasses = flag.string(flags, 'gateway-class').split(',').map((c) => c.trim()).filter(Boolean);
    const { ok, report } = await validateDir(dir, { gatewayClasses });
    process.stdout.write(report.endsWith('\n') ? report : `${report}\n`);
    return ok ? 0 : 1;
  },
};
