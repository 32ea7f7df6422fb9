// Compiles a config snapshot into the routing table the data plane reads on every request: listeners
// (port, protocol, hostnames, TLS contexts), path prefix → backend → targets with their endpoint URLs
// already built. Pure; everything that could
// make a snapshot unservable is found here, once, so applying a table can never fail half-way and
// the message of the error becomes the NACK's error_detail.
import type { Implementation } from '@modelcontextprotocol/sdk/types.js';
import { protocolEraName, type Backend, type Listener, type Policy, type Protocol, type Route, type Secret, type Snapshot, type StdioCommand, type Target } from '../../shared/config/types.ts';
import { AccessPolicy } from '../auth/access.ts';
import { Authenticator } from '../auth/authenticator.ts';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import { compileToolFilter, type ToolFilter } from '../federation/tool-filter.ts';
import { endpointUrl, stdioEndpoint, type EndpointUrl } from './target-url.ts';
import { listenerCertificates, type ListenerCertificates } from './tls-contexts.ts';

export type { EndpointUrl };

/**
 * How tool and prompt names (and resource URIs) carry their target: always; only while the backend
 * has more than one target (`conditional`); never (a name two targets share is refused).
 */
export type PrefixMode = 'always' | 'conditional' | 'never';
/** What one failing target does to a fan-out: left out (`open`) or fails the request (`closed`). */
export type FailureMode = 'open' | 'closed';
/**
 * The MCP era the proxy speaks to a target: `auto` (probe server/discover), `legacy` (2025-11-25,
 * sessions) or `modern` (2026-07-28, stateless). Stdio and legacy SSE targets are always `legacy`.
 */
export type ProtocolEraMode = 'auto' | 'legacy' | 'modern';

export interface CompiledTarget {
  /** The backend's name; with `name`, identifies the target. */
  readonly backend: string;
  /** DNS-label-like, no `_`: the prefix of its tool and prompt names. */
  readonly name: string;
  /**
   * Ready endpoints only; a session is pinned to one of them. A stdio target has one
   * pseudo-endpoint naming its command (see stdioEndpoint).
   */
  readonly endpoints: readonly EndpointUrl[];
  readonly protocol: Protocol;
  /** The configured era (Target.protocol_era; UNSPECIFIED is auto); always `legacy` for stdio and SSE targets. */
  readonly protocolEra: ProtocolEraMode;
  /** The command a stdio target runs (one child process per upstream session); undefined for the others. */
  readonly stdio: Readonly<StdioCommand> | undefined;
  /** Why no upstream session can be opened right now (no ready endpoint, protocol not served). */
  readonly unavailable: string | undefined;
  /** Undefined means the proxy's default. */
  readonly requestTimeoutMs: number | undefined;
  readonly initializeTimeoutMs: number | undefined;
}

export interface CompiledBackend {
  readonly name: string;
  readonly prefixMode: PrefixMode;
  readonly failureMode: FailureMode;
  /** In the snapshot's order (sorted by name by the translator). */
  readonly targets: readonly CompiledTarget[];
  readonly targetsByName: ReadonlyMap<string, CompiledTarget>;
  /** Include/exclude globs over the tool names clients see; undefined filters nothing. */
  readonly toolFilter: ToolFilter | undefined;
  /**
   * What decides the lists clients see (prefix mode, tool filter, targets and whether each is
   * available): a session whose backend's fingerprint changed is told its lists changed.
   */
  readonly fingerprint: string;
  /** What clients see as serverInfo; undefined means the proxy's own. */
  readonly serverInfo: Implementation | undefined;
  /** Instructions for clients; '' means the targets' own, merged. */
  readonly instructions: string;
  /** Who may call its routes; undefined: anyone (the default). */
  readonly authenticator: Authenticator | undefined;
  /** What each principal may use; undefined: everything. */
  readonly access: AccessPolicy | undefined;
}

export interface CompiledRoute {
  readonly name: string;
  readonly listeners: readonly string[];
  /** Normalized: starts with `/`, no trailing `/` (except the root prefix `/`). */
  readonly pathPrefix: string;
  readonly backend: CompiledBackend;
  /** Lowercase; empty: any host its listeners take. */
  readonly hostnames: readonly string[];
}

/** What a request may match, in order: the first route whose prefix matches the path serves it. */
export interface RouteView {
  readonly routes: readonly CompiledRoute[];
  /** The route `/sse` also serves: the only one, when there is exactly one. */
  readonly sseAlias: CompiledRoute | undefined;
}

export type ListenerProtocol = 'HTTP' | 'HTTPS';

export interface CompiledListener {
  readonly name: string;
  /** The Gateway's port; where the proxy binds it is its own business (ProxyServerOptions.listenerPorts). */
  readonly port: number;
  readonly protocol: ListenerProtocol;
  /** Lowercase; empty: any host. */
  readonly hostnames: readonly string[];
  /** HTTPS: its certificates; undefined when none is in the snapshot (its TLS handshakes are refused). */
  readonly tls: ListenerCertificates | undefined;
}

export interface RoutingTable extends RouteView {
  /** The snapshot's version: opaque, compared for equality only. */
  readonly version: string;
  readonly group: string;
  /** Every route served (on some listener), longest prefix first; in snapshot order among equals. */
  readonly routes: readonly CompiledRoute[];
  /** In snapshot order (sorted by name). What a listener serves is derived from `routes` (hosts.ts). */
  readonly listeners: readonly CompiledListener[];
}

/** Target names split tool names on their first `_`, so they must never contain one. */
const TARGET_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PATH_PREFIX = /^\/[^\s?#]*$/;

function invalid(message: string): McpmuxError {
  return new McpmuxError('MCPMUX_CONFIG_INVALID', message);
}

function uniqueByName<T extends { name: string }>(kind: string, items: readonly T[]): Map<string, T> {
  const byName = new Map<string, T>();
  for (const item of items) {
    if (item.name === '') throw invalid(`a ${kind} has an empty name`);
    if (byName.has(item.name)) throw invalid(`${kind} "${item.name}" appears twice`);
    byName.set(item.name, item);
  }
  return byName;
}

/** `/mcp/` and `/mcp` are the same route; `/` stays `/`. */
export function normalizePathPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function positiveOrUndefined(ms: number | undefined): number | undefined {
  return ms !== undefined && ms > 0 ? ms : undefined;
}

export interface CompileOptions {
  /**
   * Whether this proxy runs stdio targets' commands. Off unless the operator opts in (`mcpmux proxy
   * --allow-stdio`; `mcpmux dev` does): a second guard beside the control plane's files-source rule,
   * so no snapshot alone can make a proxy run a command. A refused stdio target is unavailable.
   */
  allowStdio?: boolean;
}

function compileTarget(target: Target, options: CompileOptions, secrets: ReadonlyMap<string, Secret>): CompiledTarget {
  const what = `target "${target.name}" of backend "${target.backend}"`;
  if (!TARGET_NAME.test(target.name)) {
    throw invalid(`${what}: name must be lowercase letters, digits and "-" (no "_": tool names split on it)`);
  }
  if (target.protocol === 'PROTOCOL_STDIO' || target.stdio) return compileStdioTarget(target, what, options.allowStdio === true);
  const credential = upstreamCredential(target, secrets, what);
  const ready: EndpointUrl[] = [];
  for (const endpoint of target.endpoints) {
    const built = endpointUrl(target.scheme, endpoint.address, endpoint.port, target.path);
    if ('error' in built) throw invalid(`${what}: endpoint ${endpoint.address}:${endpoint.port}: ${built.error}`);
    if (endpoint.ready) ready.push(credential && typeof credential !== 'string' ? { ...built.ok, headers: credential } : built.ok);
  }
  return {
    backend: target.backend,
    name: target.name,
    endpoints: ready,
    protocol: target.protocol,
    protocolEra: protocolEraOf(target),
    stdio: undefined,
    // A target whose credential is missing is not called without it (fail closed).
    unavailable: typeof credential === 'string' ? credential : ready.length === 0 ? 'it has no ready endpoints' : undefined,
    requestTimeoutMs: positiveOrUndefined(target.timeouts?.requestMs),
    initializeTimeoutMs: positiveOrUndefined(target.timeouts?.initializeMs),
  };
}

/**
 * A target's configured era. Stdio and legacy SSE speak 2025-11-25 only, whatever the snapshot says
 * (the control plane never sends them anything else); UNSPECIFIED (an older control plane) and any
 * value this proxy does not know are auto, which probes and so works with either era.
 */
function protocolEraOf(target: Target): ProtocolEraMode {
  if (target.protocol === 'PROTOCOL_SSE' || target.protocol === 'PROTOCOL_STDIO') return 'legacy';
  return protocolEraName(target.protocolEra);
}

/**
 * The header a target's requests carry from its authSecret: undefined when it has none, the reason
 * it is unavailable when the Secret is not in the snapshot (the control plane could not read it).
 */
function upstreamCredential(target: Target, secrets: ReadonlyMap<string, Secret>, what: string): Readonly<Record<string, string>> | string | undefined {
  if (!target.authSecret) return undefined;
  const secret = secrets.get(target.authSecret);
  if (!secret) return `its upstream credential (${target.authSecret}) is not available: see the backend's status`;
  const header = secret.data.header?.toLowerCase();
  const value = secret.data.value;
  if (!header || !/^[-!#$%&'*+.^_`|~0-9a-z]+$/.test(header) || value === undefined || /[\r\n\0]/.test(value)) {
    throw invalid(`${what}: upstream credential ${target.authSecret} is not a valid header`);
  }
  return Object.freeze({ [header]: value });
}

/**
 * A stdio target: a command, no endpoints. The control plane only sends these from the files
 * source; anything malformed is a NACK, since the proxy would run it.
 */
function compileStdioTarget(target: Target, what: string, allowed: boolean): CompiledTarget {
  const stdio = target.stdio;
  if (target.protocol !== 'PROTOCOL_STDIO') throw invalid(`${what}: a stdio command on a ${target.protocol} target`);
  if (!stdio || stdio.command.trim() === '') throw invalid(`${what}: protocol PROTOCOL_STDIO needs stdio.command`);
  if (target.endpoints.length > 0) throw invalid(`${what}: a stdio target has no endpoints (it runs ${JSON.stringify(stdio.command)})`);
  for (const key of Object.keys(stdio.env ?? {})) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw invalid(`${what}: stdio.env: ${JSON.stringify(key)} is not a variable name`);
  }
  const command: StdioCommand = { command: stdio.command, args: [...(stdio.args ?? [])], env: { ...stdio.env }, cwd: stdio.cwd ?? '' };
  return {
    backend: target.backend,
    name: target.name,
    endpoints: [stdioEndpoint(command)],
    protocol: target.protocol,
    protocolEra: 'legacy',
    stdio: Object.freeze(command),
    unavailable: allowed ? undefined : 'stdio targets are disabled on this proxy (start it with --allow-stdio; mcpmux dev does)',
    requestTimeoutMs: positiveOrUndefined(target.timeouts?.requestMs),
    initializeTimeoutMs: positiveOrUndefined(target.timeouts?.initializeMs),
  };
}

function compileBackend(backend: Backend, targets: ReadonlyMap<string, CompiledTarget>, policy: Policy | undefined): CompiledBackend {
  const list: CompiledTarget[] = [];
  const byName = new Map<string, CompiledTarget>();
  for (const name of backend.targets) {
    const target = targets.get(`${backend.name}\u0000${name}`);
    if (!target) throw invalid(`backend "${backend.name}" names target "${name}", which does not exist`);
    if (byName.has(name)) throw invalid(`backend "${backend.name}" names target "${name}" twice`);
    list.push(target);
    byName.set(name, target);
  }
  let toolFilter: ToolFilter | undefined;
  try {
    toolFilter = compileToolFilter(backend.toolInclude ?? [], backend.toolExclude ?? []);
  } catch (error) {
    throw invalid(`backend "${backend.name}": tool filter: ${(error as Error).message}`);
  }
  const serverInfo = backend.serverInfo?.name ? { name: backend.serverInfo.name, version: backend.serverInfo.version || '0.0.0' } : undefined;
  return {
    name: backend.name,
    // UNSPECIFIED means the tutorial's behaviour: always prefix, fail open.
    prefixMode: backend.prefixMode === 'PREFIX_MODE_CONDITIONAL' ? 'conditional' : backend.prefixMode === 'PREFIX_MODE_NEVER' ? 'never' : 'always',
    failureMode: backend.failureMode === 'FAILURE_MODE_CLOSED' ? 'closed' : 'open',
    targets: list,
    targetsByName: byName,
    toolFilter,
    fingerprint: JSON.stringify([backend.prefixMode, backend.toolInclude ?? [], backend.toolExclude ?? [], list.map((t) => [t.name, t.unavailable === undefined])]),
    serverInfo,
    instructions: backend.instructions ?? '',
    authenticator: compileAuthentication(backend, policy),
    access: policy?.authorization ? new AccessPolicy(policy.authorization) : undefined,
  };
}

function compileAuthentication(backend: Backend, policy: Policy | undefined): Authenticator | undefined {
  if (!policy?.authentication) return undefined;
  try {
    return new Authenticator(policy.authentication);
  } catch (error) {
    throw invalid(`policy "${policy.name}" of backend "${backend.name}": ${errorMessage(error)}`);
  }
}

function compileRoute(
  route: Route,
  listeners: ReadonlyMap<string, unknown>,
  backends: ReadonlyMap<string, CompiledBackend>,
): CompiledRoute {
  for (const listener of route.listeners) {
    if (!listeners.has(listener)) throw invalid(`route "${route.name}" attaches to listener "${listener}", which does not exist`);
  }
  const backend = backends.get(route.backend);
  if (!backend) throw invalid(`route "${route.name}" routes to backend "${route.backend}", which does not exist`);
  if (!PATH_PREFIX.test(route.pathPrefix)) {
    throw invalid(`route "${route.name}": path prefix "${route.pathPrefix}" must start with "/" and have no spaces, "?" or "#"`);
  }
  const hostnames = Object.freeze((route.hostnames ?? []).map((h) => h.toLowerCase()));
  return { name: route.name, listeners: route.listeners, pathPrefix: normalizePathPrefix(route.pathPrefix), backend, hostnames };
}

/**
 * A listener as the proxy serves it. HTTP or HTTPS only (the control plane sends nothing else);
 * an HTTPS listener's certificates are those of its certificateSecrets in the snapshot.
 */
function compileListener(listener: Listener, secrets: ReadonlyMap<string, Secret>): CompiledListener {
  if (!Number.isInteger(listener.port) || listener.port < 1 || listener.port > 65535) {
    throw invalid(`listener "${listener.name}": port ${listener.port} is not in 1-65535`);
  }
  if (listener.protocol !== 'HTTP' && listener.protocol !== 'HTTPS') {
    throw invalid(`listener "${listener.name}": protocol ${JSON.stringify(listener.protocol)} is not served (HTTP, HTTPS)`);
  }
  const tls = listener.protocol === 'HTTPS' ? listenerCertificates(listener.name, listener.certificateSecrets ?? [], secrets) : undefined;
  return { name: listener.name, port: listener.port, protocol: listener.protocol, hostnames: Object.freeze((listener.hostnames ?? []).map((h) => h.toLowerCase())), tls };
}

/** Listeners sharing a port must speak one protocol and take distinct hostnames (or one of them none): a request reaches one listener. */
function checkDistinct(listeners: readonly CompiledListener[]): void {
  const byPort = new Map<number, CompiledListener[]>();
  for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
  for (const [port, onPort] of byPort) {
    const protocols = new Set(onPort.map((l) => l.protocol));
    if (protocols.size > 1) throw invalid(`listeners ${onPort.map((l) => `"${l.name}"`).join(', ')} share port ${port} with different protocols`);
    const taken = new Map<string, string>();
    for (const l of onPort) {
      for (const hostname of l.hostnames.length === 0 ? [''] : l.hostnames) {
        const other = taken.get(hostname);
        if (other !== undefined) throw invalid(`listeners "${other}" and "${l.name}" both take ${hostname ? `hostname ${hostname}` : 'any hostname'} on port ${port}`);
        taken.set(hostname, l.name);
      }
    }
  }
}

/**
 * The routing table of a snapshot, or McpmuxError MCPMUX_CONFIG_INVALID naming the offending object
 * and why. A target without ready endpoints is fine (it is unavailable until it has one); a route
 * with no listener is kept out (it attaches nowhere).
 */
export function compileRoutingTable(snapshot: Snapshot, options: CompileOptions = {}): RoutingTable {
  uniqueByName('listener', snapshot.listeners);
  const secrets = new Map((snapshot.secrets ?? []).map((secret) => [secret.name, secret]));
  const listeners = snapshot.listeners.map((listener) => compileListener(listener, secrets));
  checkDistinct(listeners);
  const listenersByName = new Map(listeners.map((l) => [l.name, l]));
  const backendsIn = uniqueByName('backend', snapshot.backends);

  const targets = new Map<string, CompiledTarget>();
  for (const target of snapshot.targets) {
    if (!backendsIn.has(target.backend)) {
      throw invalid(`target "${target.name}" belongs to backend "${target.backend}", which does not exist`);
    }
    const key = `${target.backend}\u0000${target.name}`;
    if (targets.has(key)) throw invalid(`target "${target.name}" appears twice in backend "${target.backend}"`);
    targets.set(key, compileTarget(target, options, secrets));
  }

  const backends = new Map<string, CompiledBackend>();
  // Each backend's policy: the first that names it (the translator makes one per backend).
  const policies = new Map<string, Policy>();
  for (const policy of snapshot.policies ?? []) for (const name of policy.backends ?? []) if (!policies.has(name)) policies.set(name, policy);
  for (const backend of backendsIn.values()) backends.set(backend.name, compileBackend(backend, targets, policies.get(backend.name)));

  uniqueByName('route', snapshot.routes);
  // Each listener serves its own routes (hosts.ts): one prefix may lead to different backends on
  // different listeners, or for different hostnames. Two routes serving one prefix for the same
  // hostnames on one listener must agree on the backend: the control plane never sends two.
  const served = new Map<string, CompiledRoute>();
  const routes: CompiledRoute[] = [];
  for (const route of snapshot.routes) {
    const compiled = compileRoute(route, listenersByName, backends);
    if (compiled.listeners.length === 0) continue;
    for (const listener of compiled.listeners) {
      const key = `${listener}\u0000${compiled.pathPrefix}\u0000${[...compiled.hostnames].sort().join(',')}`;
      const other = served.get(key);
      if (other && other.backend !== compiled.backend) {
        throw invalid(
          `routes "${other.name}" and "${compiled.name}" both serve path prefix "${compiled.pathPrefix}" on listener "${listener}" ` +
            `with different backends ("${other.backend.name}", "${compiled.backend.name}")`,
        );
      }
      if (!other) served.set(key, compiled);
    }
    routes.push(compiled);
  }
  // Longest prefix first; the sort is stable, so among equal prefixes the snapshot's order (the
  // control plane's precedence order) decides.
  routes.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
  // `/sse` is unambiguous only with one route (hosts.ts makes the same rule per listener).
  return { version: snapshot.version, group: snapshot.group, routes, sseAlias: routes.length === 1 ? routes[0] : undefined, listeners };
}
