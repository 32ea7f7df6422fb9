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
import type { Derivation, DerivedData } from '../state/state.ts';
import type { McpPort, McpService } from './cluster-index.ts';
import { Annotations, Kinds } from './kinds.ts';
import { compareStrings, sortBy } from './order.ts';
import { at, integer, record, string } from './read.ts';

export const DEFAULT_PATH = '/mcp';

export interface ResolvedEndpoints {
  endpoints: Endpoint[];
  path: string;
  scheme: string;
  /** Set when an annotation was ignored; the backend's status carries it. */
  problem?: string;
}

/**
 * `derived`: the state's derived data (state.ts), where a Service's one EndpointSlice keeps its
 * endpoints at each port (SLICE_ENDPOINTS); without it they are read from the slices every time.
 */
export function serviceEndpoints(service: McpService, port: McpPort, slices: readonly KubeObject[] | undefined, derived?: DerivedData): ResolvedEndpoints {
  const pathAnnotation = service.annotations[Annotations.path]?.trim();
  const path = pathAnnotation ? (pathAnnotation.startsWith('/') ? pathAnnotation : `/${pathAnnotation}`) : DEFAULT_PATH;
  const url = service.annotations[Annotations.url]?.trim();
  let problem: string | undefined;
  if (url) {
    const parsed = endpointFromUrl(url, path);
    if (typeof parsed !== 'string') return parsed;
    problem = `Service ${service.namespace}/${service.name}: annotation ${Annotations.url} ignored: ${parsed}`;
  }
  const endpoints = !slices
    ? [fallbackEndpoint(service, port)]
    : slices.length === 1 && derived
      ? derived.of(SLICE_ENDPOINTS, slices[0]!).at(port.name)
      : sliceEndpoints(slices, port);
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

/**
 * What Service ports get from one EndpointSlice: sliceEndpoints([slice], port) by the port's name
 * (the only thing of a port it reads), each a frozen list made once and shared by the targets of
 * every backend selecting the Service, for as long as the slice object lives.
 */
export class SliceEndpoints {
  readonly #slice: KubeObject;
  // A Service has one MCP port, as a rule: its list inline, any others in a map.
  #name: string | undefined;
  #endpoints: Endpoint[] | undefined;
  #others: Map<string, Endpoint[]> | undefined;

  constructor(slice: KubeObject) {
    this.#slice = slice;
  }

  at(servicePortName: string): Endpoint[] {
    if (this.#name === servicePortName) return this.#endpoints!;
    let endpoints = this.#others?.get(servicePortName);
    if (endpoints) return endpoints;
    endpoints = sliceEndpoints([this.#slice], { name: servicePortName });
    if (this.#name === undefined) {
      this.#name = servicePortName;
      this.#endpoints = endpoints;
    } else {
      (this.#others ??= new Map()).set(servicePortName, endpoints);
    }
    return endpoints;
  }
}

/**
 * An EndpointSlice's endpoints per Service port name, derived once per slice object: for the MCP
 * ports of its Service as the slice or the Service arrives (translate/derived.ts), for any other
 * name when first asked.
 */
export const SLICE_ENDPOINTS: Derivation<SliceEndpoints> = Object.freeze({ kinds: [Kinds.EndpointSlice], derive: (slice: KubeObject) => new SliceEndpoints(slice) });

// Written for a translation of 10k Services, each with a slice or two of a few endpoints: indexes
// rather than iterators and helper arrays, no Map, no sorting, no copies unless there are many
// endpoints, duplicates or unsorted slices. Endpoints and their list go into a sealed snapshot as
// they are (targets.ts), shared by every run until the slice changes: never written to once made.
function sliceEndpoints(slices: readonly KubeObject[], servicePort: Pick<McpPort, 'name'>): Endpoint[] {
  const ordered = sortedByName(slices) ? slices : sortBy(slices, (s) => [s.metadata.name]);
  const found: Endpoint[] = [];
  /** "address|port" → index in found, once there are enough endpoints for a scan to cost more. */
  let index: Map<string, number> | undefined;
  for (let s = 0; s < ordered.length; s++) {
    const slice = ordered[s]!;
    const port = slicePort(slice, servicePort);
    if (port === undefined) continue;
    const endpoints = slice.endpoints;
    if (!Array.isArray(endpoints)) continue;
    for (let e = 0; e < endpoints.length; e++) {
      const fields = record(endpoints[e]);
      if (!fields) continue;
      const ready = record(fields.conditions)?.ready !== false;
      const addresses = fields.addresses;
      if (!Array.isArray(addresses)) continue;
      for (let a = 0; a < addresses.length; a++) {
        const address: unknown = addresses[a];
        if (typeof address !== 'string' || !address) continue;
        if (!index && found.length >= SCAN_LIMIT) index = new Map(found.map((f, i) => [key(f.address, f.port), i]));
        const at = index ? (index.get(key(address, port)) ?? -1) : scan(found, address, port);
        if (at < 0) {
          index?.set(key(address, port), found.length);
          found.push({ address, port, ready });
        } else if (ready && !found[at]!.ready) {
          // The same address in two slices (during a rollover) is ready if either says so.
          found[at] = { address, port, ready };
        }
      }
    }
  }
  // A copy either way: an array grown by push keeps room for 16 more, and 10k targets keep theirs.
  return isSorted(found) ? found.slice() : sortBy(found, (e) => [e.address, e.port]);
}

const SCAN_LIMIT = 16;

function scan(found: readonly Endpoint[], address: string, port: number): number {
  for (let i = 0; i < found.length; i++) if (found[i]!.address === address && found[i]!.port === port) return i;
  return -1;
}

function key(address: string, port: number): string {
  return `${address}|${port}`;
}

function sortedByName(slices: readonly KubeObject[]): boolean {
  for (let i = 1; i < slices.length; i++) if (compareStrings(slices[i - 1]!.metadata.name, slices[i]!.metadata.name) > 0) return false;
  return true;
}

/** Whether the endpoints are in the order sortBy(…, e => [e.address, e.port]) gives. */
function isSorted(endpoints: readonly Endpoint[]): boolean {
  for (let i = 1; i < endpoints.length; i++) {
    const a = endpoints[i - 1]!;
    const b = endpoints[i]!;
    if ((a.address !== b.address ? compareStrings(a.address, b.address) : a.port - b.port) > 0) return false;
  }
  return true;
}

/**
 * The slice port that carries the Service port (see the top of this file). Hand-written slices
 * often leave names out: a single port stands in when either side is unnamed.
 */
function slicePort(slice: KubeObject, servicePort: Pick<McpPort, 'name'>): number | undefined {
  const ports = slice.ports;
  if (!Array.isArray(ports)) return undefined;
  let count = 0;
  let first: Readonly<Record<string, unknown>> | undefined;
  let matching: Readonly<Record<string, unknown>> | undefined;
  for (let i = 0; i < ports.length; i++) {
    const port = record(ports[i]);
    if (!port) continue;
    count++;
    first ??= port;
    if (matching === undefined && (string(port.name) ?? '') === servicePort.name) matching = port;
  }
  const only = count === 1 && (!servicePort.name || !string(first!.name)) ? first : undefined;
  return integer((matching ?? only)?.port);
}

function fallbackEndpoint(service: McpService, port: McpPort): Endpoint {
  const externalName = at(service.object, 'spec', 'type') === 'ExternalName' ? string(at(service.object, 'spec', 'externalName')) : undefined;
  return { address: externalName || `${service.name}.${service.namespace}.svc`, port: port.port, ready: true };
}
