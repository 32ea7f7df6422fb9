// A backend's targets: Services its selectors match (one target per MCP port) plus its static
// targets, named by naming.ts, with endpoints from endpoints.ts. Also the backend's conditions.
import type { Backend, Target } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import type { DerivedData } from '../state/state.ts';
import { MCP_APP_PROTOCOLS } from './app-protocol.ts';
import type { BackendSpec, StaticTarget, StdioTarget } from './backends.ts';
import type { McpPort, McpService, ServiceLookup } from './cluster-index.ts';
import { Annotations } from './kinds.ts';
import { assignNames, qualifiedServiceTargetName, sanitizeName, type NameAssignment, type NameRequest } from './naming.ts';
import { compareStrings } from './order.ts';
import { selectorMatches } from './selectors.ts';
import { condition, type Condition } from './status.ts';
import { serviceEndpoints } from './endpoints.ts';
import { resolveProtocolEra, type ProtocolEraSetting, type TargetProblem } from './protocol-era.ts';

export interface ResolvedBackend {
  backend: Backend;
  /** Sorted by name. */
  targets: readonly Target[];
  conditions: Condition[];
}

export interface ResolveOptions {
  /** Whether stdio targets (commands the proxy runs) are served; see TranslateOptions.allowStdio. */
  allowStdio: boolean;
}

/** Why a stdio target is left out when the source is not the files source. */
export const STDIO_NOT_ALLOWED = 'stdio targets run commands on the proxy and are accepted from the files source only';

/**
 * A Service target as built, with what it was built from, for the next resolution of the same
 * backend object (so of the same spec). When the port is the same object (cluster-index.ts keeps it
 * while its Service object is unchanged), the name is the same and so are the EndpointSlices, the
 * target built then is taken as it is: neither it nor its canonical JSON (version.ts) is built
 * again when a backend of 500 targets is resolved again because one of them changed.
 */
export interface ServiceTargetBuild {
  /** The candidate's key: "Service/<namespace>/<name>:<port>". */
  key: string;
  port: McpPort;
  name: string;
  slices: readonly KubeObject[] | undefined;
  /** The protocolEra of the selector entry that selected it (which entry that is may change with namespace labels). */
  era: ProtocolEraSetting | undefined;
  target: Target;
  /** Set when a setting was ignored (an annotation, an era); the backend's status says so. */
  problems?: readonly TargetProblem[];
}

interface BuiltTarget {
  target: Target;
  problems?: readonly TargetProblem[];
}

type StaticCandidate = { key: string; type: 'static'; target: StaticTarget } | { key: string; type: 'stdio'; target: StdioTarget };

/**
 * What a backend selects: its Services' MCP ports (three parallel lists, in selection order, one
 * entry per key: the Service, the port, the protocolEra of the selector entry that selected it)
 * and its static targets, in spec order.
 */
interface Candidates {
  services: McpService[];
  ports: McpPort[];
  eras: Array<ProtocolEraSetting | undefined>;
  statics: StaticCandidate[];
}

const NO_CONFLICTS: Pick<NameAssignment, 'renamed' | 'dropped'> = Object.freeze({ renamed: [], dropped: [] });

/**
 * The backend's targets and conditions, and how its Service targets were built (see
 * ServiceTargetBuild). Written for a translation of 10k Services: per target, the objects of the
 * target and what the next resolution needs, little else. Nothing in the result is written to once
 * made: resolve-cache.ts seals it (frozen throughout in tests: shared/config/freeze.ts).
 */
export function resolveBackend(
  spec: BackendSpec,
  index: ServiceLookup,
  options: ResolveOptions,
  earlier: readonly ServiceTargetBuild[] = [],
): { resolved: ResolvedBackend; builds: ServiceTargetBuild[] } {
  // Left out before naming: a target that is not served must not make others qualify their names.
  const refused = options.allowStdio ? [] : spec.statics.filter((t): t is StdioTarget => 'stdio' in t).map((t) => sanitizeName(t.name));
  const { services, ports, eras, statics } = collect(spec, index, options);
  const count = ports.length;
  // Names: each candidate's own, unless two share one; then naming.ts settles it (the same result
  // it gives when nobody does, at the cost of a request per candidate).
  const names: Array<string | undefined> = new Array<string | undefined>(count + statics.length);
  for (let i = 0; i < count; i++) names[i] = ports[i]!.targetName;
  for (let i = 0; i < statics.length; i++) names[count + i] = sanitizeName(statics[i]!.target.name);
  let assignment = NO_CONFLICTS;
  if (new Set(names).size !== names.length) {
    const requests = [...ports.map((port, i) => nameRequest(services[i]!, port)), ...statics.map((c, i) => ({ key: c.key, name: names[count + i]! }))];
    const assigned = assignNames(requests);
    requests.forEach((request, i) => (names[i] = assigned.names.get(request.key)));
    assignment = assigned;
  }

  const reusable = earlier.length > 0 ? new Map(earlier.map((build) => [build.key, build])) : undefined;
  const builds: ServiceTargetBuild[] = [];
  const problems: TargetProblem[] = [];
  const targets: Target[] = [];
  for (let i = 0; i < count; i++) {
    const name = names[i];
    if (name === undefined) continue;
    const service = services[i]!;
    const port = ports[i]!;
    const era = eras[i];
    const slices = index.slicesOf(service.namespace, service.name);
    const before = reusable?.get(port.key);
    const build = before !== undefined && before.port === port && before.name === name && before.era === era && sameMembers(before.slices, slices)
      ? before
      : serviceTarget(spec, service, port, name, slices, era, index.derived);
    builds.push(build);
    targets.push(build.target);
    if (build.problems) problems.push(...build.problems);
  }
  for (let i = 0; i < statics.length; i++) {
    const name = names[count + i];
    if (name === undefined) continue;
    const built = buildTarget(spec, statics[i]!, name);
    targets.push(built.target);
    if (built.problems) problems.push(...built.problems);
  }
  const sorted = sortedByName(targets);
  const targetNames = new Array<string>(sorted.length);
  for (let i = 0; i < sorted.length; i++) targetNames[i] = sorted[i]!.name;
  const backend: Backend = {
    name: spec.ref,
    prefixMode: spec.prefixMode,
    failureMode: spec.failureMode,
    targets: targetNames,
    toolInclude: [...spec.toolInclude],
    toolExclude: [...spec.toolExclude],
    serverInfo: spec.serverInfo ? { ...spec.serverInfo } : null,
    instructions: spec.instructions,
  };
  return { resolved: { backend, targets: sorted, conditions: backendConditions(sorted, problems, assignment, refused) }, builds };
}

/** Targets sorted by name: the list itself when it already is (a stable sort otherwise, as sortBy's). */
function sortedByName(targets: Target[]): Target[] {
  for (let i = 1; i < targets.length; i++) {
    if (compareStrings(targets[i - 1]!.name, targets[i]!.name) > 0) return [...targets].sort((a, b) => compareStrings(a.name, b.name));
  }
  return targets;
}

function collect(spec: BackendSpec, index: ServiceLookup, options: ResolveOptions): Candidates {
  const home = spec.object.metadata.namespace ?? '';
  const services: McpService[] = [];
  const ports: McpPort[] = [];
  const eras: Array<ProtocolEraSetting | undefined> = [];
  for (const selector of spec.selectors) {
    const namespaces = selector.namespaces
      ? index.namespaces().filter((ns) => selectorMatches(selector.namespaces!, index.namespaceLabels(ns)))
      : [home];
    for (const namespace of namespaces) {
      for (const service of index.selectServices(namespace, selector.services)) {
        // An McpService's ports have distinct keys (cluster-index.ts).
        for (const port of service.ports) {
          services.push(service);
          ports.push(port);
          eras.push(selector.protocolEra);
        }
      }
    }
  }
  if (spec.selectors.length > 1) dedupe(services, ports, eras);
  const statics: StaticCandidate[] = [];
  for (const [i, target] of spec.statics.entries()) {
    // Spec order decides which of two statics with one name wins; zero-padded so keys sort by it.
    const key = `static/${String(i).padStart(4, '0')}/${target.name}`;
    if (!('stdio' in target)) statics.push({ key, type: 'static', target });
    else if (options.allowStdio) statics.push({ key, type: 'stdio', target });
  }
  return { services, ports, eras, statics };
}

/**
 * One entry per key, where the key was first selected (two selectors may select one Service); the
 * entry is the same Service and port, since one index answers both, and the first selector's era.
 */
function dedupe(services: McpService[], ports: McpPort[], eras: Array<ProtocolEraSetting | undefined>): void {
  const seen = new Set<string>();
  let kept = 0;
  for (let i = 0; i < ports.length; i++) {
    const key = ports[i]!.key;
    if (seen.has(key)) continue;
    seen.add(key);
    services[kept] = services[i]!;
    eras[kept] = eras[i];
    ports[kept++] = ports[i]!;
  }
  services.length = kept;
  ports.length = kept;
  eras.length = kept;
}

function nameRequest(service: McpService, port: McpPort): NameRequest {
  const ref = {
    namespace: service.namespace,
    service: service.name,
    portName: port.name,
    port: port.port,
    annotation: service.annotations[Annotations.targetName],
  };
  return { key: port.key, name: port.targetName, qualified: qualifiedServiceTargetName(ref) };
}

function serviceTarget(
  spec: BackendSpec,
  service: McpService,
  port: McpPort,
  name: string,
  slices: readonly KubeObject[] | undefined,
  era: ProtocolEraSetting | undefined,
  derived: DerivedData,
): ServiceTargetBuild {
  const resolved = serviceEndpoints(service, port, slices, derived);
  const { era: protocolEra, problems: eraProblems } = resolveProtocolEra({
    protocol: port.protocol,
    configured: era,
    annotation: service.annotations[Annotations.protocolEra],
    what: `target ${name} (${port.key})`,
    service: `Service ${service.namespace}/${service.name}`,
  });
  const target = targetOf(spec, name, { endpoints: resolved.endpoints, path: resolved.path, protocol: port.protocol, scheme: resolved.scheme, source: port.key, protocolEra });
  const build: ServiceTargetBuild = { key: port.key, port, name, slices, era, target };
  const problems = resolved.problem ? [{ reason: 'InvalidAnnotation', message: resolved.problem }, ...eraProblems] : eraProblems;
  if (problems.length > 0) build.problems = problems;
  return build;
}

function buildTarget(spec: BackendSpec, candidate: StaticCandidate, name: string): BuiltTarget {
  const { kind, metadata } = spec.object;
  switch (candidate.type) {
    case 'static': {
      const { target: s } = candidate;
      const source = `${kind}/${metadata.namespace ?? ''}/${metadata.name}:${s.port}`;
      const endpoints: Target['endpoints'] = [{ address: s.host, port: s.port, ready: true }];
      const { era, problems } = resolveProtocolEra({ protocol: s.protocol, configured: s.protocolEra, what: `target ${name} (${source})` });
      const target = targetOf(spec, name, { endpoints, path: s.path, protocol: s.protocol, scheme: s.scheme, source, protocolEra: era });
      return problems.length > 0 ? { target, problems } : { target };
    }
    case 'stdio': {
      const { stdio, protocolEra: configured } = candidate.target;
      const copy = { command: stdio.command, args: [...stdio.args], env: { ...stdio.env }, cwd: stdio.cwd };
      const source = `${kind}/${metadata.namespace ?? ''}/${metadata.name}`;
      const { era, problems } = resolveProtocolEra({ protocol: 'PROTOCOL_STDIO', configured, what: `target ${name} (${source})` });
      const endpoints: Target['endpoints'] = [];
      const target = targetOf(spec, name, { endpoints, path: '', protocol: 'PROTOCOL_STDIO', scheme: '', source, stdio: copy, protocolEra: era });
      return problems.length > 0 ? { target, problems } : { target };
    }
    default: {
      const never: never = candidate;
      throw new Error(`unknown candidate ${String(never)}`);
    }
  }
}

type TargetFields = Pick<Target, 'endpoints' | 'path' | 'protocol' | 'scheme' | 'source' | 'protocolEra'> & Partial<Pick<Target, 'stdio'>>;

/** A target, sealed with its backend's run (resolve-cache.ts): never written to once made. */
function targetOf(spec: BackendSpec, name: string, fields: TargetFields): Target {
  // Fields in proto order, so goldens and admin output read like config.proto. The fast paths for
  // targets (canonical-json.ts and the discovery encoder's proto-writer.ts, both writeTarget)
  // expect exactly these, in this order: the order of shared/config/target-fields.ts.
  return {
    backend: spec.ref,
    name,
    endpoints: fields.endpoints,
    path: fields.path,
    protocol: fields.protocol,
    scheme: fields.scheme,
    timeouts: spec.timeouts, // one object for all of a backend's targets (backends.ts)
    authSecret: spec.upstreamAuth ? upstreamSecretName(spec) : '',
    source: fields.source,
    stdio: fields.stdio ?? null,
    protocolEra: fields.protocolEra,
  };
}

/**
 * The name of the snapshot Secret holding a backend's upstream credential: one per backend, so the
 * Secret's other keys never reach a proxy (translate.ts builds it).
 */
export function upstreamSecretName(spec: Pick<BackendSpec, 'ref'>): string {
  return `upstream-auth/${spec.ref}`;
}

function sameMembers<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function backendConditions(targets: Target[], found: readonly TargetProblem[], assignment: Pick<NameAssignment, 'renamed' | 'dropped'>, refused: string[]): Condition[] {
  const conditions = [condition('Accepted', true, 'Accepted', 'the backend is valid')];
  // A Service's annotation problem comes once per MCP port of it: said once. The reason is the
  // first problem's (InvalidAnnotation or UnsupportedProtocolEra); the message lists them all.
  const problems = [...new Set(found.map((p) => p.message))];
  if (refused.length > 0) {
    const served = targets.length > 0 ? `targets served: ${targets.map((t) => t.name).join(', ')}` : 'no target left';
    const message = [`stdio target${refused.length === 1 ? '' : 's'} ${refused.join(', ')} left out: ${STDIO_NOT_ALLOWED}`, served, ...problems].join('; ');
    conditions.push(condition('ResolvedRefs', false, 'StdioNotAllowed', message));
  } else if (targets.length === 0) {
    const protocols = Object.keys(MCP_APP_PROTOCOLS).join(', ');
    conditions.push(condition('ResolvedRefs', false, 'NoTargets', `no target: no selected Service has a port with an MCP appProtocol (${protocols}) and there is no static target`));
  } else if (problems.length > 0) {
    conditions.push(condition('ResolvedRefs', false, found[0]!.reason, problems.join('; ')));
  } else {
    conditions.push(condition('ResolvedRefs', true, 'ResolvedRefs', `${targets.length} target${targets.length === 1 ? '' : 's'}: ${targets.map((t) => t.name).join(', ')}`));
  }
  if (assignment.renamed.length === 0 && assignment.dropped.length === 0) {
    conditions.push(condition('Conflicted', false, 'NoConflicts', 'target names are unique'));
  } else {
    const parts = [];
    if (assignment.renamed.length > 0) {
      parts.push(`targets sharing a name were renamed: ${assignment.renamed.map((r) => `${r.key} ${r.from} → ${r.to}`).join(', ')}`);
    }
    if (assignment.dropped.length > 0) {
      parts.push(`left out because their name is taken: ${assignment.dropped.map((d) => `${d.key} (${d.name})`).join(', ')}`);
    }
    conditions.push(condition('Conflicted', true, 'TargetNameConflict', parts.join('; ')));
  }
  return conditions;
}
