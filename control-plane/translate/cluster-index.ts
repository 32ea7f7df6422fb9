// Lookups the translator needs many times per run: MCP Services by namespace and by label,
// EndpointSlices by Service, namespace labels. Keeps selector evaluation proportional to what
// matches rather than backends × Services.
//
// Built per run, but from parts derived once per state bucket (state.ts): the index of one
// namespace's Services is reused, unchanged, by every later run until a Service in that namespace
// changes. So a run after one event re-reads one namespace, not 10k Services. The bucket a read is
// answered from is its token (see `token()`): the same bucket means the same answers, which is how
// a backend resolved in an earlier run is known to be still valid (resolve-cache.ts). McpServices
// are kept per Service object, so answers also compare by identity when a bucket did change.
import type { Protocol } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState, Derivation, DerivedData, KindBuckets, NamespaceBucket } from '../state/state.ts';
import { mcpProtocol } from './app-protocol.ts';
import { Annotations, Kinds, Labels } from './kinds.ts';
import { serviceTargetName } from './naming.ts';
import { compareStrings } from './order.ts';
import { integer, record, string, stringMap } from './read.ts';
import { selectorMatches, type LabelSelector } from './selectors.ts';

export interface McpPort {
  /** "" when unnamed. */
  name: string;
  port: number;
  /** A number or a container port name; undefined means "same as port". */
  targetPort: number | string | undefined;
  protocol: Protocol;
  /**
   * What a backend selecting the Service makes of the port, derived once per Service object (an
   * McpService is kept while its object is, below) rather than once per run: its candidate key,
   * "Service/<namespace>/<name>:<port>", and its target name before conflicts (naming.ts).
   */
  key: string;
  targetName: string;
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

/** What resolving a backend reads from the cluster (targets.ts). */
export interface ServiceLookup {
  /** Every namespace known from Namespace objects or MCP Services, sorted. */
  namespaces(): readonly string[];
  /** A namespace's labels, always including kubernetes.io/metadata.name as the apiserver sets it. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>>;
  /** MCP Services in `namespace` that the selector matches, sorted by name. */
  selectServices(namespace: string, selector: LabelSelector): McpService[];
  /** EndpointSlices of a Service, sorted by name; undefined when it has none at all. */
  slicesOf(namespace: string, service: string): readonly KubeObject[] | undefined;
  /** What is derived from the state's objects (state.ts): read through it, never recorded. */
  readonly derived: DerivedData;
}

/** One read a ServiceLookup answers, with its arguments. */
export type Read =
  | { of: 'namespaces' }
  | { of: 'namespace'; namespace: string }
  | { of: 'services'; namespace: string; selector: LabelSelector }
  /** slicesOf() for each of these Services of one namespace: one read for all, answered as a list. */
  | { of: 'slices'; namespace: string; services: readonly string[] };

/** A read as it was answered by one index, to tell whether another index answers it the same. */
export interface Recorded {
  read: Read;
  /** index.token(read) then. */
  token: unknown;
  /** index.answer(read) then. */
  answer: unknown;
}

/** The MCP Services of one namespace. */
interface NamespaceServices {
  /** Sorted by name. */
  all: readonly McpService[];
  /**
   * Label key → label value → the Services with that label, sorted by name. Built for a key when a
   * selector first names it (selectors name a few keys; Services carry many).
   */
  byLabel: Map<string, ReadonlyMap<string, readonly McpService[]>>;
}

/** The token of a namespace with nothing of the kind in it. */
const NONE: unique symbol = Symbol('none');

// Derived once per immutable input (state bucket or object), in the state's DerivedData (state.ts),
// and shared by every run that sees it.
/**
 * A Service as a backend selecting it sees it, derived once per Service object (state.ts: as it
 * arrives). When a Service changes, its namespace's index is built again, and every other Service
 * of it keeps its McpService, the same object: answers and targets built from it compare by identity.
 */
export const MCP_SERVICE: Derivation<McpService | undefined> = Object.freeze({ kinds: [Kinds.Service], derive: readMcpService });
/** A namespace's bucket of Services as the index of its MCP Services. */
const NAMESPACE_SERVICES: Derivation<NamespaceServices, NamespaceBucket> = Object.freeze({ kinds: [Kinds.Service], derive: indexServices });
/** A namespace's bucket of EndpointSlices by the Service they belong to. */
const SERVICE_SLICES: Derivation<ReadonlyMap<string, readonly KubeObject[]>, NamespaceBucket> = Object.freeze({ kinds: [Kinds.EndpointSlice], derive: slicesByService });
/** The Namespace kind's buckets as Namespace objects by name. */
const NAMESPACES_BY_NAME: Derivation<ReadonlyMap<string, KubeObject>, KindBuckets> = Object.freeze({ kinds: [Kinds.Namespace], derive: namespacesByName });
/** A Namespace object's labels as selectors see them. */
const NAMESPACE_LABELS: Derivation<Readonly<Record<string, string>>> = Object.freeze({ kinds: [Kinds.Namespace], derive: readNamespaceLabels });

export class ClusterIndex implements ServiceLookup {
  readonly #state: ClusterState;
  readonly derived: DerivedData;
  readonly #services: KindBuckets;
  readonly #slices: KindBuckets;
  #namespaces: readonly string[] | undefined;
  #namespacesToken: string | undefined;

  constructor(state: ClusterState) {
    this.#state = state;
    this.derived = state.derived;
    this.#services = state.buckets(Kinds.Service);
    this.#slices = state.buckets(Kinds.EndpointSlice);
  }

  namespaces(): readonly string[] {
    if (!this.#namespaces) {
      const names = new Set(this.#namespaceObjects().keys());
      for (const [namespace, bucket] of this.#services) {
        if (!names.has(namespace) && this.derived.of(NAMESPACE_SERVICES, bucket).all.length > 0) names.add(namespace);
      }
      this.#namespaces = [...names].sort(compareStrings);
    }
    return this.#namespaces;
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> {
    const object = this.#namespaceObject(namespace);
    return object ? this.derived.of(NAMESPACE_LABELS, object) : { [Labels.namespaceName]: namespace };
  }

  selectServices(namespace: string, selector: LabelSelector): McpService[] {
    const services = this.#servicesIn(namespace);
    if (!services) return [];
    // Start from the smallest matchLabels bucket; every candidate is still checked in full.
    let candidates = services.all;
    for (const key in selector.matchLabels) {
      const bucket = labelIndex(services, key).get(selector.matchLabels[key]!) ?? [];
      if (bucket.length < candidates.length) candidates = bucket;
    }
    return candidates.filter((s) => selectorMatches(selector, s.labels));
  }

  slicesOf(namespace: string, service: string): readonly KubeObject[] | undefined {
    const bucket = this.#slices.get(namespace);
    return bucket ? this.derived.of(SERVICE_SLICES, bucket).get(service) : undefined;
  }

  /** A read with how this index answers it (`answer`, when the caller has it already): see `answers()`. */
  record(read: Read, answer: unknown = this.answer(read)): Recorded {
    return { read, token: this.token(read), answer: answer ?? NONE };
  }

  /** What slicesOf() answers when a Service has no slices, as recorded in a 'slices' read's answer. */
  static readonly NO_SLICES: unknown = NONE;

  /** A read this index answers as recorded, recorded with this index's token: the same object when that did not change. */
  refresh(recorded: Recorded): Recorded {
    const token = this.token(recorded.read);
    return token === recorded.token ? recorded : { ...recorded, token };
  }

  /**
   * Whether this index answers a read as the one that recorded it did. Two steps: the token of the
   * part the read is answered from (the same part, kept from state bucket to state bucket, answers
   * the same), else the answer itself, compared member by member, for when that part changed
   * elsewhere (another Service of the namespace).
   */
  answers(recorded: Recorded): boolean {
    if (this.token(recorded.read) === recorded.token) return true;
    const answer = this.answer(recorded.read);
    // A slices read answers a list per Service: each compared as one answer (a namespace's slice
    // lists are built again when any slice in it changes, so compared by their members).
    if (recorded.read.of !== 'slices') return sameAnswer(answer, recorded.answer);
    const before = recorded.answer as readonly unknown[];
    const now = answer as readonly unknown[];
    return now.length === before.length && now.every((list, i) => sameAnswer(list, before[i]));
  }

  /**
   * What a read is answered from: the same (===) in two indexes means the same answers. The state
   * bucket itself where there is one, since everything answered is derived from it alone.
   */
  token(read: Read): unknown {
    switch (read.of) {
      case 'namespaces':
        return this.#namespacesText();
      case 'namespace':
        return this.#namespaceObject(read.namespace) ?? NONE;
      case 'services':
        return this.#services.get(read.namespace) ?? NONE;
      case 'slices':
        return this.#slices.get(read.namespace) ?? NONE;
      default: {
        const never: never = read;
        throw new Error(`unknown read ${String(never)}`);
      }
    }
  }

  /** What the ServiceLookup method for a read returns, in a form sameAnswer() compares. */
  answer(read: Read): unknown {
    switch (read.of) {
      case 'namespaces':
        return this.#namespacesText();
      case 'namespace':
        return this.#namespaceObject(read.namespace) ?? NONE;
      case 'services':
        return this.selectServices(read.namespace, read.selector);
      case 'slices':
        return read.services.map((service) => this.slicesOf(read.namespace, service) ?? NONE);
      default: {
        const never: never = read;
        throw new Error(`unknown read ${String(never)}`);
      }
    }
  }

  /** namespaces() spelt out, so two indexes' lists compare with ===. */
  #namespacesText(): string {
    this.#namespacesToken ??= this.namespaces().join('\n');
    return this.#namespacesToken;
  }

  /** Builds the index of a namespace's MCP Services now (translate/derived.ts: as its Services arrive), as a read of them would. */
  indexServices(namespace: string): void {
    this.#servicesIn(namespace);
  }

  #servicesIn(namespace: string): NamespaceServices | undefined {
    const bucket = this.#services.get(namespace);
    return bucket ? this.derived.of(NAMESPACE_SERVICES, bucket) : undefined;
  }

  #namespaceObject(namespace: string): KubeObject | undefined {
    return this.#namespaceObjects().get(namespace);
  }

  #namespaceObjects(): ReadonlyMap<string, KubeObject> {
    return this.derived.of(NAMESPACES_BY_NAME, this.#state.buckets(Kinds.Namespace));
  }
}

/** Equal answers: the same value, or lists of the same members (objects compared by identity). */
function sameAnswer(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function indexServices(bucket: NamespaceBucket, derived: DerivedData): NamespaceServices {
  const all: McpService[] = [];
  for (const name of sortedNames(bucket)) {
    const service = derived.of(MCP_SERVICE, bucket.get(name)!);
    if (service) all.push(service);
  }
  return { all, byLabel: new Map() };
}

/** A bucket's names in code-unit order: as they are when they already are (a cluster lists them sorted), else sorted. */
function sortedNames(bucket: NamespaceBucket): string[] {
  const names = [...bucket.keys()];
  for (let i = 1; i < names.length; i++) if (compareStrings(names[i - 1]!, names[i]!) > 0) return names.sort(compareStrings);
  return names;
}

/** The namespace's Services by their value of one label (see NamespaceServices.byLabel). */
function labelIndex(services: NamespaceServices, key: string): ReadonlyMap<string, readonly McpService[]> {
  let index = services.byLabel.get(key);
  if (!index) {
    const byValue = new Map<string, McpService[]>();
    for (const service of services.all) if (Object.hasOwn(service.labels, key)) push(byValue, service.labels[key]!, service);
    services.byLabel.set(key, (index = byValue));
  }
  return index;
}

/** A namespace's EndpointSlices by the Service they belong to, each list sorted by slice name. */
function slicesByService(bucket: NamespaceBucket): ReadonlyMap<string, readonly KubeObject[]> {
  const byService = new Map<string, KubeObject[]>();
  for (const name of sortedNames(bucket)) {
    const slice = bucket.get(name)!;
    const service = slice.metadata.labels?.[Labels.serviceName];
    if (service) push(byService, service, slice);
  }
  return byService;
}

/**
 * Namespace objects by name. Namespaces are cluster-scoped, but a manifest may still give one a
 * namespace; it is found by its name all the same (the last one in list order wins).
 */
function namespacesByName(buckets: KindBuckets): ReadonlyMap<string, KubeObject> {
  // In list order (namespace, then name: state.ts), so the last one of a name wins.
  const byName = new Map<string, KubeObject>();
  for (const namespace of [...buckets.keys()].sort(compareStrings)) {
    const bucket = buckets.get(namespace)!;
    for (const name of [...bucket.keys()].sort(compareStrings)) {
      const object = bucket.get(name)!;
      byName.set(object.metadata.name, object);
    }
  }
  return byName;
}

function readNamespaceLabels(namespace: KubeObject): Readonly<Record<string, string>> {
  return Object.freeze({ ...stringMap(namespace.metadata.labels), [Labels.namespaceName]: namespace.metadata.name });
}

function readMcpService(object: KubeObject): McpService | undefined {
  const namespace = object.metadata.namespace ?? '';
  const { name } = object.metadata;
  const annotations = stringMap(object.metadata.annotations);
  const ports: McpPort[] = [];
  const specPorts = record(object.spec)?.ports;
  if (!Array.isArray(specPorts)) return undefined;
  for (let i = 0; i < specPorts.length; i++) {
    const port = record(specPorts[i]);
    if (!port) continue;
    const protocol = mcpProtocol(string(port.appProtocol));
    const number = integer(port.port);
    if (!protocol || number === undefined) continue;
    const targetPort = integer(port.targetPort) ?? string(port.targetPort);
    const portName = string(port.name) ?? '';
    const key = `Service/${namespace}/${name}:${number}`;
    const targetName = serviceTargetName({ namespace, service: name, portName, port: number, annotation: annotations[Annotations.targetName] });
    const read: McpPort = { name: portName, port: number, targetPort, protocol, key, targetName };
    // Two ports of one number (only a hand-written manifest has them) are one candidate: the last
    // one, where the first was, as a backend collecting candidates by key would have it.
    let same = 0;
    while (same < ports.length && ports[same]!.port !== number) same++;
    ports[same] = read;
  }
  if (ports.length === 0) return undefined;
  // ports.slice(): exactly as long as it is (an array grown one by one keeps room for 16 more).
  return { namespace, name, object, labels: stringMap(object.metadata.labels), annotations, ports: ports.slice() };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const bucket = map.get(key);
  if (bucket) bucket.push(value);
  else map.set(key, [value]);
}
