// The proxy settings a GatewayClass's parametersRef ConfigMap gives, over the control plane's
// --proxy-* flags: pure parsing, one problem line per bad key (logged by the provisioner, the key
// ignored). What the provisioner renders from them is in provisioner.ts.
import { record, string } from '../translate/read.ts';

/** Timings of a probe; the probe's endpoint and port are the proxy's own. */
export interface ProbeTiming {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

/** One topology spread constraint; the provisioner adds the label selector of the Gateway's pods. */
export interface TopologySpread {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
}

export interface ProxySettings {
  image: string;
  /** Deployment replicas; ignored when `autoscaling` is set (the HPA owns the count). */
  replicas: number;
  /** host:port of the control plane's gRPC service, as proxies in the cluster reach it. */
  controlPlane: string;
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Worker processes per proxy pod (the proxy's --workers): a count, or `auto` (the pod's CPUs); none: 1. */
  workers?: number | 'auto';
  /** NATS URL(s) the replicas share sessions through (the proxy's --nats); none: each keeps its own. */
  nats?: string;
  /** Copies JetStream keeps of the proxies' buckets and stream (the proxy's --nats-replicas). */
  natsReplicas?: number;
  /** The container's resources (requests, limits), replacing the default ones. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  probes?: { readiness?: ProbeTiming; liveness?: ProbeTiming };
  topologySpread?: TopologySpread[];
  /** A HorizontalPodAutoscaler on CPU for each proxy Deployment. */
  autoscaling?: { minReplicas: number; maxReplicas: number; targetCPUUtilization: number };
  /** A PodDisruptionBudget for each proxy Deployment. */
  disruptionBudget?: { minAvailable: number | string };
  /**
   * mTLS to the control plane: a Secret in each Gateway's namespace with tls.crt, tls.key and ca.crt
   * (its certificate's URI SANs name the Gateway: mcpmux:gateway:NS/NAME or mcpmux:gateway:*).
   */
  tls?: { secretName: string; serverName?: string };
  /**
   * mTLS from the control plane's own CA (its default in a cluster): each proxy pod trades its
   * projected ServiceAccount token for a short-lived certificate, and trusts the CA bundle the
   * provisioner keeps in a ConfigMap next to it. `tls` (a Secret made by hand) wins over it.
   */
  controlPlaneCa?: { serverName?: string };
  /** OpenTelemetry traces to this OTLP/HTTP collector (the proxy's --otlp-endpoint); none: no tracing. */
  otlpEndpoint?: string;
}

export interface ParsedParameters {
  /** What the ConfigMap sets, each value checked. */
  overrides: Partial<ProxySettings>;
  /** One line per key whose value was ignored. */
  problems: string[];
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const PROBE_FIELDS = ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'] as const;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const QUANTITY = /^[+]?[0-9.]+(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E|e[0-9]+)?$/;

/**
 * A GatewayClass's parametersRef ConfigMap data, key by key:
 *   image, imagePullPolicy, replicas, serviceType   as the --proxy-* flags
 *   workers                                         a whole number >= 1 or auto: the proxies' --workers
 *   nats                                            URL(s) for the proxies' --nats
 *   natsReplicas                                    1, 3 or 5: the proxies' --nats-replicas
 *   resources                                       JSON {requests?, limits?} of quantities
 *   probes                                          JSON {readiness?, liveness?} of probe timings
 *   topologySpread                                  JSON [{maxSkew, topologyKey, whenUnsatisfiable}]
 *   hpa.maxReplicas, hpa.minReplicas, hpa.targetCPU an HPA (on when hpa.maxReplicas is set)
 *   pdb.minAvailable                                a PDB (an integer or a percentage)
 *   tlsSecret, tlsServerName                        mTLS to the control plane
 *   otlpEndpoint                                    http(s) URL of an OTLP collector: the proxies' --otlp-endpoint
 */
export function parseParameters(data: Readonly<Record<string, string>>): ParsedParameters {
  const overrides: Partial<ProxySettings> = {};
  const problems: string[] = [];
  const bad = (key: string, why: string): void => void problems.push(`${key}: ${why}`);
  const has = (key: string): boolean => data[key] !== undefined && data[key].trim() !== '';
  const value = (key: string): string => (data[key] ?? '').trim();

  if (has('image')) overrides.image = value('image');
  if (has('imagePullPolicy')) {
    const policy = PULL_POLICIES.find((p) => p === value('imagePullPolicy'));
    if (policy) overrides.imagePullPolicy = policy;
    else bad('imagePullPolicy', `must be one of ${PULL_POLICIES.join(', ')}`);
  }
  if (has('replicas')) {
    const replicas = wholeNumber(value('replicas'));
    if (replicas !== undefined) overrides.replicas = replicas;
    else bad('replicas', 'must be a whole number');
  }
  if (has('workers')) {
    const workers = value('workers') === 'auto' ? 'auto' : wholeNumber(value('workers'));
    if (workers === 'auto' || (workers !== undefined && workers >= 1)) overrides.workers = workers;
    else bad('workers', 'must be a whole number >= 1, or auto (one per CPU of the pod)');
  }
  if (has('serviceType')) {
    const type = SERVICE_TYPES.find((t) => t === value('serviceType'));
    if (type) overrides.serviceType = type;
    else bad('serviceType', `must be one of ${SERVICE_TYPES.join(', ')}`);
  }
  if (has('nats')) {
    const urls = value('nats').split(',').map((u) => u.trim());
    if (urls.every((u) => /^(nats|tls|ws|wss):\/\/[^\s,]+$/.test(u))) overrides.nats = urls.join(',');
    else bad('nats', 'must be nats:// (or tls://, ws://, wss://) URLs, comma-separated');
  }
  if (has('natsReplicas')) {
    const copies = Number(value('natsReplicas'));
    if (copies === 1 || copies === 3 || copies === 5) overrides.natsReplicas = copies;
    else bad('natsReplicas', 'must be 1, 3 or 5 (JetStream replicas)');
  }
  if (has('resources')) {
    const resources = parseResources(value('resources'));
    if (resources) overrides.resources = resources;
    else bad('resources', 'must be JSON {"requests": {...}, "limits": {...}} of quantities');
  }
  if (has('probes')) {
    const probes = parseProbes(value('probes'));
    if (probes) overrides.probes = probes;
    else bad('probes', `must be JSON {"readiness": {...}, "liveness": {...}} of ${PROBE_FIELDS.join(', ')}`);
  }
  if (has('topologySpread')) {
    const spread = parseTopologySpread(value('topologySpread'));
    if (spread) overrides.topologySpread = spread;
    else bad('topologySpread', 'must be a JSON list of {"maxSkew": >=1, "topologyKey": "...", "whenUnsatisfiable": "DoNotSchedule"|"ScheduleAnyway"}');
  }
  if (has('hpa.maxReplicas')) {
    const max = wholeNumber(value('hpa.maxReplicas'));
    const min = has('hpa.minReplicas') ? wholeNumber(value('hpa.minReplicas')) : 1;
    const cpu = has('hpa.targetCPU') ? wholeNumber(value('hpa.targetCPU')) : 80;
    if (max === undefined || max < 1) bad('hpa.maxReplicas', 'must be a whole number >= 1');
    else if (min === undefined || min < 1 || min > max) bad('hpa.minReplicas', 'must be a whole number between 1 and hpa.maxReplicas');
    else if (cpu === undefined || cpu < 1) bad('hpa.targetCPU', 'must be a whole number >= 1 (percent of the CPU request)');
    else overrides.autoscaling = { minReplicas: min, maxReplicas: max, targetCPUUtilization: cpu };
  } else if (has('hpa.minReplicas') || has('hpa.targetCPU')) {
    bad('hpa.maxReplicas', 'is needed for an HPA (hpa.minReplicas and hpa.targetCPU alone do nothing)');
  }
  if (has('pdb.minAvailable')) {
    const text = value('pdb.minAvailable');
    const count = wholeNumber(text);
    if (count !== undefined) overrides.disruptionBudget = { minAvailable: count };
    else if (/^(100|[1-9]?[0-9])%$/.test(text)) overrides.disruptionBudget = { minAvailable: text };
    else bad('pdb.minAvailable', 'must be a whole number or a percentage (50%)');
  }
  if (has('tlsSecret')) {
    if (DNS_SUBDOMAIN.test(value('tlsSecret'))) overrides.tls = { secretName: value('tlsSecret'), ...(has('tlsServerName') ? { serverName: value('tlsServerName') } : {}) };
    else bad('tlsSecret', 'must be a Secret name');
  } else if (has('tlsServerName')) {
    bad('tlsServerName', 'needs tlsSecret');
  }
  if (has('otlpEndpoint')) {
    if (/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(value('otlpEndpoint'))) overrides.otlpEndpoint = value('otlpEndpoint');
    else bad('otlpEndpoint', 'must be an http(s) URL of an OTLP/HTTP collector, e.g. http://otel-collector.observability:4318');
  }
  return { overrides, problems };
}

/** The flags' settings with a GatewayClass's parametersRef ConfigMap data over them (bad values ignored). */
export function settingsFrom(defaults: ProxySettings, parameters: Readonly<Record<string, string>> | undefined): ProxySettings {
  return parameters ? { ...defaults, ...parseParameters(parameters).overrides } : defaults;
}

function wholeNumber(text: string): number | undefined {
  return /^\d{1,6}$/.test(text) ? Number(text) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // the caller reports the key
  }
}

function parseResources(text: string): ProxySettings['resources'] | undefined {
  const fields = record(parseJson(text));
  if (!fields || Object.keys(fields).some((key) => key !== 'requests' && key !== 'limits')) return undefined;
  const out: NonNullable<ProxySettings['resources']> = {};
  for (const part of ['requests', 'limits'] as const) {
    if (fields[part] === undefined) continue;
    const quantities = record(fields[part]);
    if (!quantities) return undefined;
    const map: Record<string, string> = {};
    for (const [name, quantity] of Object.entries(quantities)) {
      const q = typeof quantity === 'number' ? String(quantity) : quantity;
      if (typeof q !== 'string' || !QUANTITY.test(q) || !/^[a-z0-9.\/-]+$/i.test(name)) return undefined;
      map[name] = q;
    }
    out[part] = map;
  }
  return out;
}

function parseProbes(text: string): ProxySettings['probes'] | undefined {
  const fields = record(parseJson(text));
  if (!fields || Object.keys(fields).some((key) => key !== 'readiness' && key !== 'liveness')) return undefined;
  const out: NonNullable<ProxySettings['probes']> = {};
  for (const which of ['readiness', 'liveness'] as const) {
    if (fields[which] === undefined) continue;
    const timing = record(fields[which]);
    if (!timing) return undefined;
    const probe: ProbeTiming = {};
    for (const [key, n] of Object.entries(timing)) {
      const field = PROBE_FIELDS.find((f) => f === key);
      const least = field === 'initialDelaySeconds' ? 0 : 1;
      if (!field || typeof n !== 'number' || !Number.isInteger(n) || n < least) return undefined;
      probe[field] = n;
    }
    out[which] = probe;
  }
  return out;
}

function parseTopologySpread(text: string): TopologySpread[] | undefined {
  const items = parseJson(text);
  if (!Array.isArray(items)) return undefined;
  const out: TopologySpread[] = [];
  for (const item of items) {
    const fields = record(item);
    const maxSkew = fields?.maxSkew;
    const topologyKey = string(fields?.topologyKey);
    const when = fields?.whenUnsatisfiable ?? 'ScheduleAnyway';
    if (typeof maxSkew !== 'number' || !Number.isInteger(maxSkew) || maxSkew < 1 || !topologyKey) return undefined;
    if (when !== 'DoNotSchedule' && when !== 'ScheduleAnyway') return undefined;
    out.push({ maxSkew, topologyKey, whenUnsatisfiable: when });
  }
  return out;
}
