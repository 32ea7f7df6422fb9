// The provisioner: each Gateway of ours gets a proxy Deployment and a Service of the same name in its
// namespace (the tutorial waits on deploy/mcp-gateway and port-forwards to it). Both are owned by
// the Gateway (ownerReferences), so deleting the Gateway lets Kubernetes' garbage collector remove
// them; ones whose Gateway stopped being ours are deleted here.
//
// Rendering is pure (renderProxy); applying uses server-side apply with our field manager, so other
// controllers' fields (an HPA's replicas, a mesh's annotations) are left alone, and applying the same
// rendering twice changes nothing.
//
// The proxy listens in the pod on the listener's port (80 in the tutorial), as a non-root user. Two
// things let it bind a port below 1024: the NET_BIND_SERVICE capability (the image gives the node
// binary that file capability) and the net.ipv4.ip_unprivileged_port_start sysctl, namespaced and
// "safe" since Kubernetes 1.22, which works even where capabilities are stripped.
import { createHash } from 'node:crypto';
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { ownedGateways, type OwnedGateway } from '../translate/gateways.ts';
import { at, record, string } from '../translate/read.ts';
import { Kinds } from '../translate/kinds.ts';
import { isNotFound, type KubeClient } from './client.ts';
import { collectionPath, objectPath, Resources } from './resources.ts';
import { SerialPasses } from './serial-passes.ts';

export interface ProxySettings {
  image: string;
  replicas: number;
  /** host:port of the control plane's gRPC service, as proxies in the cluster reach it. */
  controlPlane: string;
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

export const MANAGED_BY = 'mcpmux';
export const FIELD_MANAGER = 'mcpmux-control-plane';
const HEALTH_PORT = 15000;

export interface RenderedProxy {
  deployment: Record<string, unknown>;
  service: Record<string, unknown>;
}

/** A GatewayClass's parametersRef ConfigMap data (image, replicas, serviceType) over the flags' settings. */
export function settingsFrom(defaults: ProxySettings, parameters: Record<string, string> | undefined): ProxySettings {
  if (!parameters) return defaults;
  const replicas = parameters.replicas !== undefined ? Number(parameters.replicas) : defaults.replicas;
  const serviceType = parameters.serviceType;
  return {
    ...defaults,
    image: parameters.image?.trim() || defaults.image,
    replicas: Number.isInteger(replicas) && replicas >= 0 ? replicas : defaults.replicas,
    serviceType: serviceType === 'ClusterIP' || serviceType === 'NodePort' || serviceType === 'LoadBalancer' ? serviceType : defaults.serviceType,
  };
}

export function renderProxy(gateway: OwnedGateway, settings: ProxySettings): RenderedProxy {
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
  // The proxy serves one port: the first listener's (the tutorial has one, http on 80).
  const listener = gateway.listeners[0]!.listener;
  const lowestPort = Math.min(...gateway.listeners.map((l) => l.listener.port));
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels, ownerReferences },
    spec: {
      replicas: settings.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels }, annotations: { 'mcpmux.dev/gateway-generation': String(object.metadata.generation ?? '') } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
            ...(lowestPort < 1024 ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(lowestPort) }] } : {}),
          },
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
                '--port', String(listener.port),
                '--http-port', String(HEALTH_PORT),
                '--allowed-hosts', '*',
              ],
              env: [
                { name: 'MCPMUX_PROXY_REPLICA_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              ports: [
                { name: portName(listener.name), containerPort: listener.port, protocol: 'TCP' },
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: HEALTH_PORT }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/healthz', port: HEALTH_PORT }, periodSeconds: 10, failureThreshold: 3 },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
              },
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels, ownerReferences },
    spec: {
      type: settings.serviceType,
      selector,
      ports: gateway.listeners.map((l) => ({ name: portName(l.listener.name), port: l.listener.port, targetPort: listener.port, protocol: 'TCP' })),
    },
  };
  return { deployment, service };
}

/** A container port name: at most 15 characters of [a-z0-9-]. */
function portName(name: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return (clean || 'mcp').slice(0, 15).replace(/-+$/, '') || 'mcp';
}

export interface ProvisionerOptions {
  client: KubeClient;
  logger: Logger;
  settings: ProxySettings;
  gatewayClasses: readonly string[];
  controllerName: string;
  /** Namespaces watched (empty: all): where managed Deployments are looked for. */
  namespaces: readonly string[];
}

/** Applies the proxies of our Gateways, one pass at a time (the leader only). */
export class Provisioner {
  readonly #options: ProvisionerOptions;
  #enabled = false;
  #state: ClusterState | null = null;
  readonly #passes: SerialPasses;
  /** Hash of what was last applied per object: a pass that renders the same applies nothing. */
  readonly #applied = new Map<string, string>();
  applies = 0;

  constructor(options: ProvisionerOptions) {
    this.#options = options;
    this.#passes = new SerialPasses(() => this.#pass(), (error) => options.logger.warn({ err: errorMessage(error) }, 'provisioning pass failed'));
  }

  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    if (!enabled) this.#applied.clear(); // a new leader term applies everything once
    this.#schedule();
  }

  update(state: ClusterState): void {
    this.#state = state;
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
    const wanted = new Set<string>();
    for (const gateway of gateways) {
      if (gateway.listeners.length === 0 || !gateway.object.metadata.uid) continue;
      wanted.add(`${gateway.namespace}/${gateway.name}`);
      const parameters = await this.#parameters(state, String(at(gateway.object, 'spec', 'gatewayClassName') ?? ''));
      const { deployment, service } = renderProxy(gateway, settingsFrom(settings, parameters));
      for (const [type, body] of [[Resources.Deployment, deployment], [Resources.Service, service]] as const) {
        const key = `${type.kind}/${gateway.namespace}/${gateway.name}`;
        const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
        if (this.#applied.get(key) === hash) continue;
        try {
          await client.request('PATCH', objectPath(type, gateway.namespace, gateway.name), {
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

  /** Deployments and Services we made for Gateways that are gone or no longer ours. */
  async #deleteOrphans(wanted: ReadonlySet<string>): Promise<void> {
    const { client, logger, namespaces } = this.#options;
    const scopes = namespaces.length > 0 ? namespaces : [undefined];
    for (const type of [Resources.Deployment, Resources.Service]) {
      for (const namespace of scopes) {
        const list = await client.request<{ items?: KubeObject[] }>('GET', collectionPath(type, namespace), {
          query: { labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY},mcpmux.dev/gateway` },
        });
        for (const object of list.items ?? []) {
          const gateway = object.metadata.labels?.['mcpmux.dev/gateway'];
          const key = `${object.metadata.namespace}/${gateway}`;
          if (!gateway || wanted.has(key)) continue;
          try {
            await client.request('DELETE', objectPath(type, object.metadata.namespace, object.metadata.name));
            this.#applied.delete(`${type.kind}/${key}`);
            logger.info({ object: `${type.kind}/${object.metadata.namespace}/${object.metadata.name}` }, 'proxy object deleted: its Gateway is gone or not ours');
          } catch (error) {
            if (!isNotFound(error)) logger.warn({ err: errorMessage(error) }, 'could not delete a proxy object');
          }
        }
      }
    }
  }

  /** The data of the ConfigMap a GatewayClass's parametersRef names, if any. */
  async #parameters(state: ClusterState, className: string): Promise<Record<string, string> | undefined> {
    const gatewayClass = state.get(Kinds.GatewayClass, '', className);
    const ref = record(at(gatewayClass, 'spec', 'parametersRef'));
    if (!ref || string(ref.kind) !== 'ConfigMap' || (string(ref.group) ?? '') !== '') return undefined;
    const namespace = string(ref.namespace);
    const name = string(ref.name);
    if (!namespace || !name) return undefined;
    try {
      const configMap = await this.#options.client.request<{ data?: Record<string, string> }>('GET', objectPath(Resources.ConfigMap, namespace, name));
      return configMap.data ?? {};
    } catch (error) {
      this.#options.logger.warn({ err: errorMessage(error), gatewayClass: className }, 'cannot read the GatewayClass parameters; using the flags');
      return undefined;
    }
  }
}

