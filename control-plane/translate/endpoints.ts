// Where the proxy dials a Service's MCP port. In order of precedence:
//  1. the Service's mcpmux.dev/url annotation (address, port, path and scheme from the URL) — how a
//     local folder points a Service at a process on this machine;
//  2. its EndpointSlices (kubernetes.io/service-name label): the slice port that carries the Service
//     port's name (Kubernetes copies it; unnamed ports are ""), else a slice's only port when either
//     name is empty; the slice port is what the proxy dials (the pod port); each address
//     with its ready condition (ready unless it says false). A Service whose slices list no
//     endpoints has none: its pods are gone, and the proxy should know;
//  3. no slice at all: the Service's cluster DNS name (or its externalName) on the Service port,
//     which is what works from a pod.
import type { Endpoint } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { McpPort, McpService } from './cluster-index.ts';
import { Annotations } from './kinds.ts';
import { compareStrings, sortBy } from './order.ts';
import { at, integer, list, record, records, string } from './read.ts';

export const DEFAULT_PATH = '/mcp';

export interface ResolvedEndpoints {
  endpoints: Endpoint[];
  path: string;
  scheme: string;
  /** Set when an annotation was ignored; the backend's status carries it. */
  problem?: string;
}

export function serviceEndpoints(service: McpService, port: McpPort, slices: readonly KubeObject[] | undefined): ResolvedEndpoints {
  const pathAnnotation = service.annotations[Annotations.path]?.trim();
  const path = pathAnnotation ? (pathAnnotation.startsWith('/') ? pathAnnotation : `/${pathAnnotation}`) : DEFAULT_PATH;
  const url = service.annotations[Annotations.url]?.trim();
  let problem: string | undefined;
  if (url) {
    const parsed = endpointFromUrl(url, path);
    if (typeof parsed !== 'string') return parsed;
    problem = `Service ${service.namespace}/${service.name}: annotation ${Annotations.url} ignored: ${parsed}`;
  }
  const endpoints = slices ? sliceEndpoints(slices, port) : [fallbackEndpoint(service, port)];
  return problem ? { endpoints, path, scheme: 'http', problem } : { endpoints, path, scheme: 'http' };
}

function endpointFromUrl(text: string, defaultPath: string): ResolvedEndpoints | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') return `scheme ${scheme} is not http or https`;
  if (!url.hostname) return `"${text}" has no host`;
  const address = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
  const path = url.pathname === '/' ? defaultPath : `${url.pathname}${url.search}`;
  return { endpoints: [{ address, port, ready: true }], path, scheme };
}

// Written for a translation of 10k Services, each with a slice or two of a few endpoints: no Map,
// no sorting, no copies unless there are many endpoints, duplicates or an unsorted slice.
function sliceEndpoints(slices: readonly KubeObject[], servicePort: McpPort): Endpoint[] {
  const found = new EndpointSet();
  for (const slice of sortBy(slices, (s) => [s.metadata.name])) {
    const port = slicePort(slice, servicePort);
    if (port === undefined) continue;
    for (const endpoint of list(slice.endpoints)) {
      const fields = record(endpoint);
      if (!fields) continue;
      const ready = record(fields.conditions)?.ready !== false;
      for (const address of list(fields.addresses)) {
        if (typeof address === 'string' && address) found.add({ address, port, ready });
      }
    }
  }
  return found.sorted();
}

/** The slice port that carries the Service port (see the top of this file). */
function slicePort(slice: KubeObject, servicePort: McpPort): number | undefined {
  const ports = records(slice.ports);
  // Hand-written slices often leave names out: a single port stands in when either side is unnamed.
  const only = ports.length === 1 && (!servicePort.name || !string(ports[0]!.name)) ? ports[0] : undefined;
  const matching = ports.find((p) => (string(p.name) ?? '') === servicePort.name) ?? only;
  return integer(matching?.port);
}

/** Endpoints, one per (address, port). */
class EndpointSet {
  readonly #endpoints: Endpoint[] = [];
  /** "address|port" → index, once there are enough endpoints for a scan to cost more. */
  #index: Map<string, number> | undefined;

  add(endpoint: Endpoint): void {
    const at = this.#find(endpoint);
    if (at < 0) {
      this.#index?.set(key(endpoint), this.#endpoints.length);
      this.#endpoints.push(endpoint);
    } else if (endpoint.ready && !this.#endpoints[at]!.ready) {
      // The same address in two slices (during a rollover) is ready if either says so.
      this.#endpoints[at] = endpoint;
    }
  }

  /** Sorted by address, then port. */
  sorted(): Endpoint[] {
    const endpoints = this.#endpoints;
    for (let i = 1; i < endpoints.length; i++) {
      if (compareEndpoints(endpoints[i - 1]!, endpoints[i]!) > 0) return sortBy(endpoints, (e) => [e.address, e.port]);
    }
    return endpoints;
  }

  #find(endpoint: Endpoint): number {
    if (!this.#index && this.#endpoints.length >= SCAN_LIMIT) this.#index = new Map(this.#endpoints.map((e, i) => [key(e), i]));
    if (this.#index) return this.#index.get(key(endpoint)) ?? -1;
    return this.#endpoints.findIndex((e) => e.address === endpoint.address && e.port === endpoint.port);
  }
}

const SCAN_LIMIT = 16;

function key(endpoint: Endpoint): string {
  return `${endpoint.address}|${endpoint.port}`;
}

/** The order sortBy(…, e => [e.address, e.port]) gives. */
function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.address !== b.address ? compareStrings(a.address, b.address) : a.port - b.port;
}

function fallbackEndpoint(service: McpService, port: McpPort): Endpoint {
  const externalName = at(service.object, 'spec', 'type') === 'ExternalName' ? string(at(service.object, 'spec', 'externalName')) : undefined;
  return { address: externalName || `${service.name}.${service.namespace}.svc`, port: port.port, ready: true };
}
