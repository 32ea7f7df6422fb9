// A backend's targets: Services its selectors match (one target per MCP port) plus its static
// targets, named by naming.ts, with endpoints from endpoints.ts. Also the backend's conditions.
import type { Backend, Target } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import { MCP_APP_PROTOCOLS } from './app-protocol.ts';
import type { BackendSpec, StaticTarget, StdioTarget } from './backends.ts';
import type { McpPort, McpService, ServiceLookup } from './cluster-index.ts';
import { Annotations } from './kinds.ts';
import { assignNames, qualifiedServiceTargetName, sanitizeName, serviceTargetName, type NameRequest } from './naming.ts';
import { sortBy } from './order.ts';
import { selectorMatches } from './selectors.ts';
import { condition, type Condition } from './status.ts';
import { serviceEndpoints } from './endpoints.ts';

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
  built: BuiltTarget;
}

interface BuiltTarget {
  target: Target;
  /** Set when an annotation was ignored; the backend's status says so. */
  problem?: string;
}

type ServiceCandidate = { key: string; type: 'service'; service: McpService; port: McpPort };
type Candidate =
  | ServiceCandidate
  | { key: string; type: 'static'; target: StaticTarget }
  | { key: string; type: 'stdio'; target: StdioTarget };

/** The backend's targets and conditions, and how its Service targets were built (see ServiceTargetBuild). */
export function resolveBackend(
  spec: BackendSpec,
  index: ServiceLookup,
  options: ResolveOptions,
  earlier: readonly ServiceTargetBuild[] = [],
): { resolved: ResolvedBackend; builds: ServiceTargetBuild[] } {
  // Left out before naming: a target that is not served must not make others qualify their names.
  const refused = options.allowStdio ? [] : spec.statics.filter((t): t is StdioTarget => 'stdio' in t).map((t) => sanitizeName(t.name));
  const candidates = collect(spec, index, options);
  const assignment = assignNames(candidates.map(nameRequest));
  const reusable = new Map(earlier.map((build) => [build.key, build]));
  const builds: ServiceTargetBuild[] = [];
  const problems: string[] = [];
  const targets: Target[] = [];
  for (const candidate of candidates) {
    const name = assignment.names.get(candidate.key);
    if (name === undefined) continue;
    let target: BuiltTarget;
    if (candidate.type === 'service') {
      const { service, port, key } = candidate;
      const slices = index.slicesOf(service.namespace, service.name);
      const before = reusable.get(key);
      const same = before !== undefined && before.port === port && before.name === name && sameMembers(before.slices, slices);
      target = same ? before.built : serviceTarget(spec, candidate, name, slices);
      builds.push({ key, port, name, slices, built: target });
    } else {
      target = buildTarget(spec, candidate, name);
    }
    targets.push(target.target);
    if (target.problem) problems.push(target.problem);
  }
  const sorted = sortBy(targets, (t) => [t.name]);
  const backend: Backend = {
    name: spec.ref,
    prefixMode: spec.prefixMode,
    failureMode: spec.failureMode,
    targets: sorted.map((t) => t.name),
    toolInclude: [...spec.toolInclude],
    toolExclude: [...spec.toolExclude],
    serverInfo: spec.serverInfo ? { ...spec.serverInfo } : null,
    instructions: spec.instructions,
  };
  return { resolved: { backend, targets: sorted, conditions: backendConditions(sorted, problems, assignment, refused) }, builds };
}

function collect(spec: BackendSpec, index: ServiceLookup, options: ResolveOptions): Candidate[] {
  const home = spec.object.metadata.namespace ?? '';
  const byKey = new Map<string, Candidate>();
  for (const selector of spec.selectors) {
    const namespaces = selector.namespaces
      ? index.namespaces().filter((ns) => selectorMatches(selector.namespaces!, index.namespaceLabels(ns)))
      : [home];
    for (const namespace of namespaces) {
      for (const service of index.selectServices(namespace, selector.services)) {
        for (const port of service.ports) {
          const key = `Service/${service.namespace}/${service.name}:${port.port}`;
          byKey.set(key, { key, type: 'service', service, port });
        }
      }
    }
  }
  for (const [i, target] of spec.statics.entries()) {
    // Spec order decides which of two statics with one name wins; zero-padded so keys sort by it.
    const key = `static/${String(i).padStart(4, '0')}/${target.name}`;
    if (!('stdio' in target)) byKey.set(key, { key, type: 'static', target });
    else if (options.allowStdio) byKey.set(key, { key, type: 'stdio', target });
  }
  return [...byKey.values()];
}

function nameRequest(candidate: Candidate): NameRequest {
  if (candidate.type !== 'service') return { key: candidate.key, name: sanitizeName(candidate.target.name) };
  const { service, port } = candidate;
  const ref = {
    namespace: service.namespace,
    service: service.name,
    portName: port.name,
    port: port.port,
    annotation: service.annotations[Annotations.targetName],
  };
  return { key: candidate.key, name: serviceTargetName(ref), qualified: qualifiedServiceTargetName(ref) };
}

function serviceTarget(spec: BackendSpec, candidate: ServiceCandidate, name: string, slices: readonly KubeObject[] | undefined): BuiltTarget {
  const { service, port, key } = candidate;
  const resolved = serviceEndpoints(service, port, slices);
  const target = targetOf(spec, name, { endpoints: resolved.endpoints, path: resolved.path, protocol: port.protocol, scheme: resolved.scheme, source: key });
  return resolved.problem ? { target, problem: resolved.problem } : { target };
}

function buildTarget(spec: BackendSpec, candidate: Exclude<Candidate, ServiceCandidate>, name: string): BuiltTarget {
  const { kind, metadata } = spec.object;
  switch (candidate.type) {
    case 'static': {
      const { target: s } = candidate;
      const source = `${kind}/${metadata.namespace ?? ''}/${metadata.name}:${s.port}`;
      return { target: targetOf(spec, name, { endpoints: [{ address: s.host, port: s.port, ready: true }], path: s.path, protocol: s.protocol, scheme: s.scheme, source }) };
    }
    case 'stdio': {
      const { stdio } = candidate.target;
      const copy = { command: stdio.command, args: [...stdio.args], env: { ...stdio.env }, cwd: stdio.cwd };
      const source = `${kind}/${metadata.namespace ?? ''}/${metadata.name}`;
      return { target: targetOf(spec, name, { endpoints: [], path: '', protocol: 'PROTOCOL_STDIO', scheme: '', source, stdio: copy }) };
    }
    default: {
      const never: never = candidate;
      throw new Error(`unknown candidate ${String(never)}`);
    }
  }
}

type TargetFields = Pick<Target, 'endpoints' | 'path' | 'protocol' | 'scheme' | 'source'> & Partial<Pick<Target, 'stdio'>>;

function targetOf(spec: BackendSpec, name: string, fields: TargetFields): Target {
  // Fields in proto order, so goldens and admin output read like config.proto. The snapshot
  // encoder's fast path for targets (version.ts, targetJson) expects exactly these, in this order.
  return {
    backend: spec.ref,
    name,
    endpoints: fields.endpoints,
    path: fields.path,
    protocol: fields.protocol,
    scheme: fields.scheme,
    timeouts: spec.timeouts, // one object for all of a backend's targets: they are sealed (resolve-cache.ts)
    authSecret: '',
    source: fields.source,
    stdio: fields.stdio ?? null,
  };
}

function sameMembers<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function backendConditions(targets: Target[], problems: string[], assignment: ReturnType<typeof assignNames>, refused: string[]): Condition[] {
  const conditions = [condition('Accepted', true, 'Accepted', 'the backend is valid')];
  if (refused.length > 0) {
    const served = targets.length > 0 ? `targets served: ${targets.map((t) => t.name).join(', ')}` : 'no target left';
    const message = [`stdio target${refused.length === 1 ? '' : 's'} ${refused.join(', ')} left out: ${STDIO_NOT_ALLOWED}`, served, ...problems].join('; ');
    conditions.push(condition('ResolvedRefs', false, 'StdioNotAllowed', message));
  } else if (targets.length === 0) {
    const protocols = Object.keys(MCP_APP_PROTOCOLS).join(', ');
    conditions.push(condition('ResolvedRefs', false, 'NoTargets', `no target: no selected Service has a port with an MCP appProtocol (${protocols}) and there is no static target`));
  } else if (problems.length > 0) {
    conditions.push(condition('ResolvedRefs', false, 'InvalidAnnotation', problems.join('; ')));
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
