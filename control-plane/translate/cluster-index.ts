// Lookups the translator needs many times per run, built once per run from the state: MCP Services
// by namespace and by label, EndpointSlices by Service, namespace labels. Keeps selector evaluation
// near-linear in what matches rather than backends × Services.
import type { Protocol } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState } from '../state/state.ts';
import { mcpProtocol } from './app-protocol.ts';
import { Kinds, Labels } from './kinds.ts';
import { at, integer, records, string, stringMap } from './read.ts';
import { selectorMatches, type LabelSelector } from './selectors.ts';

export interface McpPort {
  /** "" when unnamed. */
  name: string;
  port: number;
  /** A number or a container port name; undefined means "same as port". */
  targetPort: number | string | undefined;
  protocol: Protocol;
}

export interface McpService {
  namespace: string;
  name: string;
  object: KubeObject;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** Ports with an MCP appProtocol, in spec order. */
  ports: readonly McpPort[];
}

export class ClusterIndex {
  readonly #services = new Map<string, McpService[]>();
  readonly #byLabel = new Map<string, Map<string, McpService[]>>();
  readonly #slices = new Map<string, KubeObject[]>();
  readonly #namespaceLabels = new Map<string, Readonly<Record<string, string>>>();

  constructor(state: ClusterState) {
    for (const object of state.list(Kinds.Namespace)) {
      this.#namespaceLabels.set(object.metadata.name, stringMap(object.metadata.labels));
    }
    for (const object of state.list(Kinds.Service)) {
      const service = readMcpService(object);
      if (!service) continue;
      push(this.#services, service.namespace, service);
      let labels = this.#byLabel.get(service.namespace);
      if (!labels) this.#byLabel.set(service.namespace, (labels = new Map()));
      for (const [k, v] of Object.entries(service.labels)) push(labels, `${k}=${v}`, service);
    }
    for (const slice of state.list(Kinds.EndpointSlice)) {
      const service = slice.metadata.labels?.[Labels.serviceName];
      if (service) push(this.#slices, `${slice.metadata.namespace ?? ''}/${service}`, slice);
    }
  }

  /** Every namespace known from Namespace objects or MCP Services, sorted. */
  namespaces(): string[] {
    return [...new Set([...this.#namespaceLabels.keys(), ...this.#services.keys()])].sort();
  }

  /** A namespace's labels, always including kubernetes.io/metadata.name as the apiserver sets it. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> {
    return { ...this.#namespaceLabels.get(namespace), [Labels.namespaceName]: namespace };
  }

  /** MCP Services in `namespace` that the selector matches, sorted by name. */
  selectServices(namespace: string, selector: LabelSelector): McpService[] {
    // Start from the smallest matchLabels bucket; every candidate is still checked in full.
    let candidates = this.#services.get(namespace) ?? [];
    const labels = this.#byLabel.get(namespace);
    for (const [k, v] of Object.entries(selector.matchLabels)) {
      const bucket = labels?.get(`${k}=${v}`) ?? [];
      if (bucket.length < candidates.length) candidates = bucket;
    }
    return candidates.filter((s) => selectorMatches(selector, s.labels));
  }

  /** EndpointSlices of a Service, sorted by name; undefined when it has none at all. */
  slicesOf(namespace: string, service: string): readonly KubeObject[] | undefined {
    return this.#slices.get(`${namespace}/${service}`);
  }
}

function readMcpService(object: KubeObject): McpService | undefined {
  const ports: McpPort[] = [];
  for (const port of records(at(object, 'spec', 'ports'))) {
    const protocol = mcpProtocol(string(port.appProtocol));
    const number = integer(port.port);
    if (!protocol || number === undefined) continue;
    const targetPort = integer(port.targetPort) ?? string(port.targetPort);
    ports.push({ name: string(port.name) ?? '', port: number, targetPort, protocol });
  }
  if (ports.length === 0) return undefined;
  return {
    namespace: object.metadata.namespace ?? '',
    name: object.metadata.name,
    object,
    labels: stringMap(object.metadata.labels),
    annotations: stringMap(object.metadata.annotations),
    ports,
  };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const bucket = map.get(key);
  if (bucket) bucket.push(value);
  else map.set(key, [value]);
}
