// A synthetic cluster at the scale of DESIGN.md's translation target (10k Services, 1k backends), for
// the translation benchmark (test/bench/scenarios/translation.ts) and the translator's scale tests.
// Deterministic: the same sizes always give the same objects, so figures and versions compare across
// runs. Shaped like a real cluster: Services spread over team namespaces, each with an MCP port and a
// non-MCP one, one EndpointSlice per Service, backends of both kinds selecting by label (some with
// matchExpressions, some across namespaces), one HTTPRoute per backend on one shared Gateway.
import type { KubeObject } from '../sources/source.ts';

export interface SyntheticSize {
  services: number;
  backends: number;
  /** Namespaces the Services and backends are spread over; must divide both counts. */
  namespaces: number;
  /** Endpoints (pod addresses) in each Service's EndpointSlice. */
  endpointsPerService: number;
}

export const TARGET_SIZE: SyntheticSize = Object.freeze({ services: 10_000, backends: 1_000, namespaces: 100, endpointsPerService: 2 });

export const GATEWAY_NAMESPACE = 'gateway-system';
export const GATEWAY_NAME = 'mcp';
/** The proxy group of the one Gateway. */
export const SYNTHETIC_GROUP = `${GATEWAY_NAMESPACE}/${GATEWAY_NAME}`;

/** Every object of the cluster, in no particular order (the reducer and translator must not care). */
export function syntheticCluster(size: SyntheticSize = TARGET_SIZE): KubeObject[] {
  const { services, backends, namespaces } = size;
  if (services % namespaces !== 0 || backends % namespaces !== 0) throw new Error('namespaces must divide services and backends');
  const objects: KubeObject[] = [gatewayClass(), gateway()];
  const servicesPerNs = services / namespaces;
  const backendsPerNs = backends / namespaces;
  for (let n = 0; n < namespaces; n++) {
    const ns = namespaceName(n);
    objects.push(namespace(ns, n));
    for (let s = 0; s < servicesPerNs; s++) {
      // Services are grouped by app label, one group per backend of the namespace.
      const app = appLabel(s % backendsPerNs);
      objects.push(service(ns, s, app), endpointSlice(ns, s, n, size.endpointsPerService));
    }
    for (let b = 0; b < backendsPerNs; b++) objects.push(backend(ns, n, b), route(ns, b));
  }
  return objects;
}

export function namespaceName(n: number): string {
  return `team-${String(n).padStart(3, '0')}`;
}

export function serviceName(s: number): string {
  return `tool-${String(s).padStart(4, '0')}`;
}

export function appLabel(b: number): string {
  return `toolset-${b}`;
}

function gatewayClass(): KubeObject {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'mcpmux' }, spec: { controllerName: 'mcpmux.dev/gateway-controller' } };
}

function gateway(): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE },
    spec: {
      gatewayClassName: 'mcpmux',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } },
        { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.example.com', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { mcp: 'enabled' } } } } },
      ],
    },
  };
}

function namespace(name: string, n: number): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { mcp: 'enabled', tier: n % 2 === 0 ? 'gold' : 'silver' } } };
}

/** Service `s` of namespace `ns`; `resourceVersion` must change whenever the object does (the reducer skips repeats). */
export function service(ns: string, s: number, app: string, resourceVersion = '1', annotations: Record<string, string> = {}): KubeObject {
  const sse = s % 10 === 9;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(s),
      namespace: ns,
      labels: { app, 'app.kubernetes.io/part-of': 'tools', stage: s % 3 === 0 ? 'canary' : 'stable' },
      annotations: { ...(s % 7 === 0 ? { 'mcpmux.dev/path': '/v1/mcp' } : {}), ...annotations },
      resourceVersion,
    },
    spec: {
      type: 'ClusterIP',
      selector: { app, instance: serviceName(s) },
      ports: [
        { name: 'mcp', port: 8080, targetPort: 'mcp', protocol: 'TCP', appProtocol: sse ? 'mcpmux.dev/mcp-sse' : 'mcpmux.dev/mcp' },
        { name: 'metrics', port: 9090, protocol: 'TCP' },
      ],
    },
  };
}

/** The EndpointSlice of Service `s` in namespace `ns` (number `n`); endpoint e is not ready when bit e of `notReady` is set. */
export function endpointSlice(ns: string, s: number, n: number, endpoints: number, notReady = 0): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${serviceName(s)}-x7k2p`, namespace: ns, labels: { 'kubernetes.io/service-name': serviceName(s) }, resourceVersion: String(notReady + 1) },
    addressType: 'IPv4',
    ports: [
      { name: 'mcp', port: 3000, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ],
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      addresses: [`10.${n % 256}.${Math.floor(s / 250) % 256}.${((s % 250) * endpoints + e) % 256}`],
      conditions: { ready: (notReady & (1 << e)) === 0 },
      nodeName: `node-${(s + e) % 50}`,
    })),
  };
}

function backend(ns: string, n: number, b: number): KubeObject {
  const name = `toolset-${b}`;
  if (n === 0 && b === 0) {
    // One platform-wide backend: its toolset in every gold-tier namespace.
    return {
      apiVersion: 'mcpmux.dev/v1alpha1',
      kind: 'MCPBackend',
      metadata: { name, namespace: ns },
      spec: { targets: [{ selector: { matchLabels: { app: appLabel(b) }, namespaceSelector: { matchLabels: { tier: 'gold' } } } }] },
    };
  }
  if (b % 2 === 1) {
    // agentgateway's kind, as the tutorial writes it.
    return {
      apiVersion: 'agentgateway.dev/v1alpha1',
      kind: 'AgentgatewayBackend',
      metadata: { name, namespace: ns },
      spec: { mcp: { targets: [{ name: 'servers', selector: { services: { matchLabels: { app: appLabel(b) } } } }] } },
    };
  }
  const selector =
    b % 4 === 0
      ? { matchLabels: { app: appLabel(b) }, matchExpressions: [{ key: 'stage', operator: 'In', values: ['stable', 'canary'] }] }
      : { matchLabels: { app: appLabel(b), 'app.kubernetes.io/part-of': 'tools' } };
  return {
    apiVersion: 'mcpmux.dev/v1alpha1',
    kind: 'MCPBackend',
    metadata: { name, namespace: ns },
    spec: { prefixMode: 'conditional', timeouts: { request: '30s' }, targets: [{ selector }] },
  };
}

function route(ns: string, b: number): KubeObject {
  const kind = b % 2 === 1 ? { group: 'agentgateway.dev', kind: 'AgentgatewayBackend' } : { group: 'mcpmux.dev', kind: 'MCPBackend' };
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: `toolset-${b}`, namespace: ns },
    spec: {
      parentRefs: [{ name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/${ns}/toolset-${b}` } }], backendRefs: [{ ...kind, name: `toolset-${b}` }] }],
    },
  };
}
