// The provisioner: each Gateway of ours gets a proxy Deployment and a Service of the same name in its
// namespace (the tutorial waits on deploy/mcp-gateway and port-forwards to it), and, when its
// GatewayClass's parameters ask for them, a HorizontalPodAutoscaler and a PodDisruptionBudget of that
// name too. All are owned by the Gateway (ownerReferences), so deleting the Gateway lets Kubernetes'
// garbage collector remove them; ones whose Gateway stopped being ours (or whose parameters no longer
// ask for them) are deleted here.
//
// Parameters: a GatewayClass's parametersRef may name a ConfigMap (the helm chart makes one); its
// keys override the control plane's --proxy-* flags (parseParameters lists them). A value that does
// not parse is ignored, with a warning, and the flag's setting is used.
//
// Rendering is pure (renderProxy); applying uses server-side apply with our field manager, so other
// controllers' fields (an HPA's replicas, a mesh's annotations) are left alone, and applying the same
// rendering twice changes nothing.
//
// The proxy listens in the pod on each listener port of the Gateway (80 in the tutorial; 80 and 443
// for an HTTP and an HTTPS listener), each as itself (`--listener-ports 80=80,443=443`), and the
// Service exposes each of them targeting that container port: listeners sharing a port (HTTPS
// listeners told apart by SNI) share it. The proxy's Host allow-list comes from the listeners'
// hostnames when every listener has some; a listener without hostnames takes any Host, as before
// (`*`). The proxy runs as a non-root user; two things let it bind a port below 1024: the NET_BIND_SERVICE capability (the image gives the node
// binary that file capability) and the net.ipv4.ip_unprivileged_port_start sysctl, namespaced and
// "safe" since Kubernetes 1.22, which works even where capabilities are stripped.
//
// Proxy pods never talk to the apiserver: they get no API token. With the control plane's CA (its
// default in a cluster) a Gateway's proxies run under a ServiceAccount of their own, with no role
// bindings, whose projected token (audience mcpmux-control-plane) only the control plane accepts, in
// exchange for a certificate naming that Gateway; and a ConfigMap next to them holds the CA bundle
// (public certificates only) they check the control plane with. A CA rotation changes the ConfigMap,
// never the pod template, so it rolls no pod.
import { createHash } from 'node:crypto';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { ownedGateways, type OwnedGateway } from '../translate/gateways.ts';
import { at, record, string } from '../translate/read.ts';
import { Kinds } from '../translate/kinds.ts';
import { isNotFound, KubeApiError, type KubeClient } from './client.ts';
import { collectionPath, objectPath, Resources, type ResourceType } from './resources.ts';
import { SerialPasses } from './serial-passes.ts';
import { parseParameters, settingsFrom, type ProxySettings } from './proxy-settings.ts';
import { proxyServiceAccountName, TOKEN_AUDIENCE } from '../pki/identity.ts';

export const MANAGED_BY = 'mcpmux';
export const FIELD_MANAGER = 'mcpmux-control-plane';
const HEALTH_PORT = 15000;
const TLS_DIR = '/etc/mcpmux/tls';
const CA_DIR = '/etc/mcpmux/ca';
const TOKEN_DIR = '/var/run/secrets/mcpmux';
/** The projected token's lifetime; the kubelet refreshes it at 80 %. */
const TOKEN_SECONDS = 3600;
/**
 * Seconds a deleted proxy pod keeps serving before its SIGTERM (a preStop sleep, done by the kubelet:
 * the image needs no shell). The proxy stops listening at SIGTERM, but kube-proxies and balancers drop
 * the pod from the Service only once they see it terminating; without the pause, new connections sent
 * to it in between were refused (7 of 245 calls failed in a rollout of 3 replicas on a real node).
 */
export const PRE_STOP_SECONDS = 5;
/** The pause, the proxy's default --drain-timeout (20 s) and its last second, with room to spare. */
export const TERMINATION_GRACE_SECONDS = 35;
const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } };

/** The two kinds only the provisioner writes (resources.ts holds what the source watches). */
export const ProxyResources = {
  HorizontalPodAutoscaler: { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true, optional: false },
  PodDisruptionBudget: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true, optional: false },
} as const satisfies Record<string, ResourceType>;

/** The kinds the provisioner lists (by label) to find what it made for Gateways that are gone or no longer ours. */
const PROVISIONED: readonly ResourceType[] = [Resources.Deployment, Resources.Service, ProxyResources.HorizontalPodAutoscaler, ProxyResources.PodDisruptionBudget];
/**
 * Made next to the Deployment with the control plane's CA, named after the Gateway, and deleted by
 * name with an orphaned Deployment: listing them would need list on every ConfigMap in the cluster.
 * (ownerReferences remove them with their Gateway in any case.)
 */
const COMPANIONS: readonly ResourceType[] = [Resources.ServiceAccount, Resources.ConfigMap];

export interface RenderedProxy {
  /** With the control plane's CA: the ServiceAccount whose token proves the pods are this Gateway's proxies. */
  serviceAccount?: Record<string, unknown>;
  /** With the control plane's CA: the CA bundle proxies check the control plane with (once it is known). */
  caBundle?: Record<string, unknown>;
  deployment: Record<string, unknown>;
  service: Record<string, unknown>;
  /** Present when the settings ask for autoscaling. */
  autoscaler?: Record<string, unknown>;
  /** Present when the settings ask for a disruption budget. */
  disruptionBudget?: Record<string, unknown>;
}

/** `caBundle`: the control plane CA's bundle, when settings.controlPlaneCa is on and it is known. */
export function renderProxy(gateway: OwnedGateway, settings: ProxySettings, caBundle?: string): RenderedProxy {
  const { namespace, name } = gateway;
  const object = gateway.object;
  const labels = {
    'app.kubernetes.io/name': 'mcpmux-proxy',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'mcpmux.dev/gateway': name,
  };
  const selector = { 'app.kubernetes.io/name': 'mcpmux-proxy', 'app.kubernetes.io/instance': name };
  const ownerReferences = [
    { apiVersion: object.apiVersion, kind: object.kind, name, uid: String(object.metadata.uid ?? ''), controller: true, blockOwnerDeletion: true },
  ];
  const metadata = { name, namespace, labels, ownerReferences };
  const ports = listenerPorts(gateway);
  const lowestPort = Math.min(...ports.map((p) => p.port));
  const tls = settings.tls;
  // A Secret made by hand wins over the control plane's CA.
  const fromCa = tls ? undefined : settings.controlPlaneCa;
  const serviceAccountName = proxyServiceAccountName(name);
  const caVolumes = fromCa
    ? [
        { name: 'mcpmux-ca', configMap: { name: serviceAccountName } },
        { name: 'mcpmux-token', projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: TOKEN_SECONDS, path: 'token' } }] } },
      ]
    : [];
  const caMounts = fromCa
    ? [
        { name: 'mcpmux-ca', mountPath: CA_DIR, readOnly: true },
        { name: 'mcpmux-token', mountPath: TOKEN_DIR, readOnly: true },
      ]
    : [];
  const volumes = [...(tls ? [{ name: 'tls', secret: { secretName: tls.secretName } }] : []), ...caVolumes];
  const volumeMounts = [...(tls ? [{ name: 'tls', mountPath: TLS_DIR, readOnly: true }] : []), ...caMounts];
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      // With an HPA the count is the HPA's: applying one here would reset it on every change.
      ...(settings.autoscaling ? {} : { replicas: settings.replicas }),
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels }, annotations: { 'mcpmux.dev/gateway-generation': String(object.metadata.generation ?? '') } },
        spec: {
          ...(fromCa ? { serviceAccountName } : {}),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
            ...(lowestPort < 1024 ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(lowestPort) }] } : {}),
          },
          ...(settings.topologySpread?.length
            ? { topologySpreadConstraints: settings.topologySpread.map((spread) => ({ ...spread, labelSelector: { matchLabels: selector } })) }
            : {}),
          containers: [
            {
              name: 'proxy',
              image: settings.image,
              ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
              args: [
                'proxy',
                '--control-plane', settings.controlPlane,
                '--gateway', `${namespace}/${name}`,
                '--address', '0.0.0.0',
                '--listener-ports', ports.map((p) => `${p.port}=${p.port}`).join(','),
                '--http-port', String(HEALTH_PORT),
                '--allowed-hosts', allowedHosts(gateway),
                ...(settings.workers !== undefined && settings.workers !== 1 ? ['--workers', String(settings.workers)] : []),
                ...(settings.nats ? ['--nats', settings.nats] : []),
                ...(settings.nats && settings.natsReplicas && settings.natsReplicas > 1 ? ['--nats-replicas', String(settings.natsReplicas)] : []),
                ...(settings.otlpEndpoint ? ['--otlp-endpoint', settings.otlpEndpoint] : []),
                ...(tls ? ['--tls-cert', `${TLS_DIR}/tls.crt`, '--tls-key', `${TLS_DIR}/tls.key`, '--tls-ca', `${TLS_DIR}/ca.crt`] : []),
                ...(tls?.serverName ? ['--tls-server-name', tls.serverName] : []),
                ...(fromCa ? ['--control-plane-ca', `${CA_DIR}/ca.crt`, '--token-file', `${TOKEN_DIR}/token`] : []),
                ...(fromCa?.serverName ? ['--tls-server-name', fromCa.serverName] : []),
              ],
              env: [
                { name: 'MCPMUX_PROXY_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [
                ...ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: HEALTH_PORT }, periodSeconds: 5, failureThreshold: 3, ...settings.probes?.readiness },
              livenessProbe: { httpGet: { path: '/healthz', port: HEALTH_PORT }, periodSeconds: 10, failureThreshold: 3, ...settings.probes?.liveness },
              resources: settings.resources ?? DEFAULT_RESOURCES,
              lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
              },
              ...(volumeMounts.length > 0 ? { volumeMounts } : {}),
            },
          ],
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: settings.serviceType,
      selector,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' })),
    },
  };
  const rendered: RenderedProxy = { deployment, service };
  if (fromCa) {
    const caMetadata = { ...metadata, name: serviceAccountName };
    rendered.serviceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: caMetadata, automountServiceAccountToken: false };
    if (caBundle) rendered.caBundle = { apiVersion: 'v1', kind: 'ConfigMap', metadata: caMetadata, data: { 'ca.crt': caBundle } };
  }
  if (settings.autoscaling) {
    const { minReplicas, maxReplicas, targetCPUUtilization } = settings.autoscaling;
    rendered.autoscaler = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas,
        maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilization } } }],
      },
    };
  }
  if (settings.disruptionBudget) {
    rendered.disruptionBudget = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata,
      spec: { minAvailable: settings.disruptionBudget.minAvailable, selector: { matchLabels: selector } },
    };
  }
  return rendered;
}

/** The rendered objects with their resource types, in the order they are applied. */
function objectsOf(rendered: RenderedProxy): Array<[ResourceType, Record<string, unknown>]> {
  const objects: Array<[ResourceType, Record<string, unknown>]> = [];
  if (rendered.serviceAccount) objects.push([Resources.ServiceAccount, rendered.serviceAccount]);
  if (rendered.caBundle) objects.push([Resources.ConfigMap, rendered.caBundle]);
  objects.push([Resources.Deployment, rendered.deployment], [Resources.Service, rendered.service]);
  if (rendered.autoscaler) objects.push([ProxyResources.HorizontalPodAutoscaler, rendered.autoscaler]);
  if (rendered.disruptionBudget) objects.push([ProxyResources.PodDisruptionBudget, rendered.disruptionBudget]);
  return objects;
}

/** A container port name: at most 15 characters of [a-z0-9-]. */
function portName(name: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return (clean || 'mcp').slice(0, 15).replace(/-+$/, '') || 'mcp';
}

/**
 * The Gateway's listener ports, lowest first, each named after its first listener (in spec order),
 * unique (`port-<n>` when two names come out the same, or the health port's).
 */
export function listenerPorts(gateway: OwnedGateway): Array<{ port: number; name: string }> {
  const first = new Map<number, string>();
  for (const { listener } of gateway.listeners) if (!first.has(listener.port)) first.set(listener.port, listener.name);
  const taken = new Set(['health']);
  return [...first].sort(([a], [b]) => a - b).map(([port, listener]) => {
    let name = portName(listener);
    if (taken.has(name) || !/[a-z]/.test(name)) name = `port-${port}`;
    taken.add(name);
    return { port, name };
  });
}

/**
 * The proxy's --allowed-hosts: the listeners' hostnames when each has some (a Host none of them
 * takes is refused), else `*`: a listener without hostnames takes any Host (a cluster's names are
 * configured on the listener, not guessed).
 */
export function allowedHosts(gateway: OwnedGateway): string {
  const listeners = gateway.listeners.map((l) => l.listener);
  if (listeners.length === 0 || listeners.some((l) => l.hostnames.length === 0)) return '*';
  return [...new Set(listeners.flatMap((l) => l.hostnames))].sort().join(',');
}

export interface ProvisionerOptions {
  client: KubeClient;
  logger: Logger;
  settings: ProxySettings;
  gatewayClasses: readonly string[];
  controllerName: string;
  /** Namespaces watched (empty: all): where managed Deployments are looked for. */
  namespaces: readonly string[];
  /**
   * While leading, a pass also runs this often (default 60 s): parameters ConfigMaps are read, not
   * watched, so an edited one takes effect within this time (the helm chart also changes the
   * GatewayClass with it, which is watched, so an upgrade takes effect at once).
   */
  resyncMs?: number;
}

/** Applies the proxies of our Gateways, one pass at a time (the leader only). */
export class Provisioner {
  readonly #options: ProvisionerOptions;
  #enabled = false;
  #state: ClusterState | null = null;
  readonly #passes: SerialPasses;
  /** Hash of what was last applied per object: a pass that renders the same applies nothing. */
  readonly #applied = new Map<string, string>();
  /** Parameter problems already logged (each once, not on every pass). */
  readonly #reported = new Set<string>();
  #resync: NodeJS.Timeout | null = null;
  #caBundle: string | undefined;
  applies = 0;

  constructor(options: ProvisionerOptions) {
    this.#options = options;
    this.#passes = new SerialPasses(() => this.#pass(), (error) => options.logger.warn({ err: errorMessage(error) }, 'provisioning pass failed'));
  }

  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    if (!enabled) this.#applied.clear(); // a new leader term applies everything once
    if (enabled && !this.#resync) {
      this.#resync = setInterval(() => this.#schedule(), this.#options.resyncMs ?? 60_000);
      this.#resync.unref();
    } else if (!enabled && this.#resync) {
      clearInterval(this.#resync);
      this.#resync = null;
    }
    this.#schedule();
  }

  update(state: ClusterState): void {
    this.#state = state;
    this.#schedule();
  }

  /** The control plane CA's bundle changed (first read, or a rotation step): the ConfigMaps follow. */
  setCaBundle(bundle: string): void {
    if (bundle === this.#caBundle) return;
    this.#caBundle = bundle;
    this.#schedule();
  }

  idle(): Promise<void> {
    return this.#passes.idle();
  }

  #schedule(): void {
    if (this.#enabled && this.#state) this.#passes.request();
  }

  async #pass(): Promise<void> {
    const state = this.#state!;
    const { gatewayClasses, controllerName, settings, client, logger } = this.#options;
    const { gateways } = ownedGateways(state, gatewayClasses, controllerName);
    /** "Kind/namespace/gateway" of every object wanted now. */
    const wanted = new Set<string>();
    for (const gateway of gateways) {
      if (gateway.listeners.length === 0 || !gateway.object.metadata.uid) continue;
      const className = String(at(gateway.object, 'spec', 'gatewayClassName') ?? '');
      const parameters = await this.#parameters(state, className);
      const rendered = renderProxy(gateway, settingsFrom(settings, parameters), this.#caBundle);
      for (const [type, body] of objectsOf(rendered)) {
        const key = `${type.kind}/${gateway.namespace}/${gateway.name}`;
        wanted.add(key);
        const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
        if (this.#applied.get(key) === hash) continue;
        try {
          const objectName = String((body.metadata as { name?: string } | undefined)?.name ?? gateway.name);
          await client.request('PATCH', objectPath(type, gateway.namespace, objectName), {
            patch: 'apply',
            body,
            query: { fieldManager: FIELD_MANAGER, force: true },
          });
          this.#applied.set(key, hash);
          this.applies++;
          logger.info({ object: key }, 'proxy object applied');
        } catch (error) {
          logger.warn({ err: errorMessage(error), object: key }, 'could not apply the proxy object');
        }
      }
    }
    await this.#deleteOrphans(wanted);
  }

  /** Objects we made for Gateways that are gone or no longer ours, or that their parameters no longer ask for. */
  async #deleteOrphans(wanted: ReadonlySet<string>): Promise<void> {
    const { client, logger, namespaces } = this.#options;
    const scopes = namespaces.length > 0 ? namespaces : [undefined];
    for (const type of PROVISIONED) {
      for (const namespace of scopes) {
        let items: KubeObject[];
        try {
          const list = await client.request<{ items?: KubeObject[] }>('GET', collectionPath(type, namespace), {
            query: { labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY},mcpmux.dev/gateway` },
          });
          items = list.items ?? [];
        } catch (error) {
          // An API the cluster does not serve has nothing of ours; any other failure waits for the next pass.
          if (!isNotFound(error)) logger.warn({ err: errorMessage(error), kind: type.kind }, 'could not list proxy objects');
          continue;
        }
        for (const object of items) {
          const gateway = object.metadata.labels?.['mcpmux.dev/gateway'];
          const key = `${type.kind}/${object.metadata.namespace}/${gateway}`;
          if (!gateway || wanted.has(key)) continue;
          try {
            await client.request('DELETE', objectPath(type, object.metadata.namespace, object.metadata.name));
            this.#applied.delete(key);
            if (type === Resources.Deployment) await this.#deleteCompanions(object.metadata.namespace ?? '', gateway);
            logger.info({ object: `${type.kind}/${object.metadata.namespace}/${object.metadata.name}` }, 'proxy object deleted: its Gateway is gone, not ours, or no longer asks for it');
          } catch (error) {
            if (!isNotFound(error)) logger.warn({ err: errorMessage(error) }, 'could not delete a proxy object');
          }
        }
      }
    }
  }

  /** The ServiceAccount and CA-bundle ConfigMap of an orphaned Deployment's Gateway, by name (absent ones are fine). */
  async #deleteCompanions(namespace: string, gateway: string): Promise<void> {
    for (const type of COMPANIONS) {
      try {
        await this.#options.client.request('DELETE', objectPath(type, namespace, proxyServiceAccountName(gateway)));
        this.#applied.delete(`${type.kind}/${namespace}/${gateway}`);
      } catch (error) {
        if (!isNotFound(error) && !isForbidden(error)) this.#options.logger.warn({ err: errorMessage(error), kind: type.kind }, 'could not delete a proxy object');
      }
    }
  }

  /** The data of the ConfigMap a GatewayClass's parametersRef names, if any (see parametersClass). */
  async #parameters(state: ClusterState, className: string): Promise<Record<string, string> | undefined> {
    const gatewayClass = parametersClass(state, className, this.#options.gatewayClasses, this.#options.controllerName);
    const ref = record(at(gatewayClass, 'spec', 'parametersRef'));
    if (!ref || string(ref.kind) !== 'ConfigMap' || (string(ref.group) ?? '') !== '') return undefined;
    const namespace = string(ref.namespace);
    const name = string(ref.name);
    if (!namespace || !name) return undefined;
    let data: Record<string, string>;
    try {
      const configMap = await this.#options.client.request<{ data?: Record<string, string> }>('GET', objectPath(Resources.ConfigMap, namespace, name));
      data = configMap.data ?? {};
    } catch (error) {
      this.#options.logger.warn({ err: errorMessage(error), gatewayClass: className }, 'cannot read the GatewayClass parameters; using the flags');
      return undefined;
    }
    for (const problem of parseParameters(data).problems) {
      const key = `${namespace}/${name}: ${problem}`;
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      this.#options.logger.warn({ configMap: `${namespace}/${name}`, gatewayClass: className, problem }, 'GatewayClass parameter ignored; using the flag\'s setting');
    }
    return data;
  }
}

/**
 * The GatewayClass whose parametersRef a Gateway of `className` takes: its own class; or, when no
 * GatewayClass of that name exists (a name served only through --gateway-class, like the agentgateway
 * tutorial's `agentgateway` with the chart's controlPlane.extraGatewayClasses), the first served class
 * that does exist and is ours — the chart's own, whose ConfigMap holds the values the user set. Without
 * this the tutorial's proxies took the flags alone: `helm upgrade --set nats.enabled=true` gave them no
 * NATS, and proxy.replicas above 1 then split one client's session over replicas that do not share it.
 */
export function parametersClass(state: ClusterState, className: string, gatewayClasses: readonly string[], controllerName: string): KubeObject | undefined {
  const own = state.get(Kinds.GatewayClass, '', className);
  if (own) return own;
  for (const name of gatewayClasses) {
    const candidate = state.get(Kinds.GatewayClass, '', name);
    if (candidate && string(at(candidate, 'spec', 'controllerName')) === controllerName) return candidate;
  }
  return undefined;
}

/** Without the control plane's CA the chart grants no delete on ServiceAccounts or ConfigMaps: nothing of ours to delete then. */
function isForbidden(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 403;
}
