// AgentgatewayBackend (agentgateway.dev, the tutorial's kind) and MCPBackend (mcpmux.dev, ours) read
// into one internal shape. Everything after this module is kind-agnostic. Naming and filter options
// (prefix mode, tool globs, serverInfo, instructions) come from backend-options.ts.
import type { AccessRule, FailureMode, Protocol, StdioCommand, Timeouts } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import { DEFAULT_BACKEND_OPTIONS, readBackendOptions, type BackendOptions } from './backend-options.ts';
import { at, integer, record, records, string, type Fields } from './read.ts';
import { readSelector, type LabelSelector } from './selectors.ts';
import { DEFAULT_PATH } from './endpoints.ts';
import { protocolEraSetting, type ProtocolEraSetting } from './protocol-era.ts';

export interface SelectorTarget {
  services: LabelSelector;
  /** Absent: the backend's own namespace only. */
  namespaces?: LabelSelector;
  /** MCPBackend spec.targets[].protocolEra, for every Service port selected; absent: auto (protocol-era.ts). */
  protocolEra?: ProtocolEraSetting;
}

export interface StaticTarget {
  name: string;
  host: string;
  port: number;
  path: string;
  scheme: string;
  protocol: Protocol;
  /** MCPBackend spec.targets[].protocolEra; absent: auto. */
  protocolEra?: ProtocolEraSetting;
}

/** A static target of an MCPBackend that names a command instead of a host (local development). */
export interface StdioTarget {
  name: string;
  protocol: 'PROTOCOL_STDIO';
  stdio: StdioCommand;
  /** MCPBackend spec.targets[].protocolEra; only legacy is served (protocol-era.ts). */
  protocolEra?: ProtocolEraSetting;
}

/** A credential for every target of a backend (MCPBackend spec.upstreamAuth): a Secret's key, sent in a header. */
export interface UpstreamAuth {
  /** The Secret's name, in the backend's namespace. */
  secret: string;
  key: string;
  /** The header, lower-cased as HTTP/2 and undici spell it; default authorization. */
  header: string;
}

/** Who may call the backend's routes (MCPBackend spec.authentication). */
export interface AuthenticationSpec {
  jwt: Array<{ issuer: string; audiences: string[]; jwksUri: string; jwksSecret?: { name: string; key: string } }>;
  /** A Secret in the backend's namespace: each data key is a principal, its value that principal's API key. */
  apiKeysSecret?: string;
}

/** One authorization rule, as the snapshot carries it (types.ts AccessRule). */
export type AuthorizationRuleSpec = AccessRule;

export interface BackendSpec extends BackendOptions {
  object: KubeObject;
  /** "<namespace>/<name>": the Backend's name in a snapshot. */
  ref: string;
  failureMode: FailureMode;
  timeouts: Timeouts;
  selectors: SelectorTarget[];
  /** In spec order (it decides which of two statics with one name wins). */
  statics: Array<StaticTarget | StdioTarget>;
  upstreamAuth?: UpstreamAuth;
  authentication?: AuthenticationSpec;
  authorization?: AuthorizationRuleSpec[];
}

/** Frozen: a backend's timeouts are one object shared by its targets, which go into snapshots as they are (targets.ts). */
const DEFAULT_TIMEOUTS: Timeouts = Object.freeze({ requestMs: 0, initializeMs: 0 });

/** The backend, or why it cannot be used (the status's Accepted=False message). */
export function readBackend(object: KubeObject): BackendSpec | string {
  const spec: BackendSpec = {
    object,
    ref: `${object.metadata.namespace ?? ''}/${object.metadata.name}`,
    ...DEFAULT_BACKEND_OPTIONS,
    failureMode: 'FAILURE_MODE_OPEN',
    timeouts: DEFAULT_TIMEOUTS,
    selectors: [],
    statics: [],
  };
  const mcpBackend = object.kind === 'MCPBackend';
  const targets = mcpBackend ? at(object, 'spec', 'targets') : at(object, 'spec', 'mcp', 'targets');
  if (!mcpBackend && record(at(object, 'spec', 'mcp')) === undefined) return 'not an MCP backend: spec.mcp is missing';
  if (!Array.isArray(targets)) return `${mcpBackend ? 'spec.targets' : 'spec.mcp.targets'} must be a list`;

  for (const [i, entry] of records(targets).entries()) {
    const where = `${mcpBackend ? 'spec.targets' : 'spec.mcp.targets'}[${i}]`;
    const selector = record(entry.selector);
    const fixed = record(entry.static);
    if (!selector === !fixed) return `${where} needs exactly one of selector and static`;
    const read = selector ? readSelectorTarget(selector, mcpBackend) : readStaticTarget(fixed!, string(entry.name), mcpBackend);
    if (typeof read === 'string') return `${where}: ${read}`;
    // MCPBackend only: the compat kind has no such field (its Services carry the annotation).
    if (mcpBackend && entry.protocolEra !== undefined && entry.protocolEra !== null) {
      const era = protocolEraSetting(entry.protocolEra);
      if (!era) return `${where}.protocolEra must be auto, legacy or modern, not ${JSON.stringify(entry.protocolEra)}`;
      read.protocolEra = era;
    }
    if ('services' in read) spec.selectors.push(read);
    else spec.statics.push(read);
  }
  const options = readBackendOptions(object);
  if (typeof options === 'string') return options;
  if (!mcpBackend) return { ...spec, ...options };

  const modes = readModes(object);
  if (typeof modes === 'string') return modes;
  const upstreamAuth = readUpstreamAuth(at(object, 'spec', 'upstreamAuth'));
  if (typeof upstreamAuth === 'string') return upstreamAuth;
  const authentication = readAuthentication(at(object, 'spec', 'authentication'));
  if (typeof authentication === 'string') return authentication;
  const authorization = readAuthorization(at(object, 'spec', 'authorization'));
  if (typeof authorization === 'string') return authorization;
  const read: BackendSpec = { ...spec, ...options, ...modes };
  if (upstreamAuth) read.upstreamAuth = upstreamAuth;
  if (authentication) read.authentication = authentication;
  if (authorization) read.authorization = authorization;
  return read;
}

/** A list of non-empty strings (absent: empty), or why it is not one. */
function stringList(value: unknown, where: string): string[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) return `${where} must be a list of non-empty strings`;
  return [...value] as string[];
}

function readAuthorization(value: unknown): AuthorizationRuleSpec[] | undefined | string {
  if (value === undefined || value === null) return undefined;
  const rules = at(value, 'rules');
  if (!Array.isArray(rules)) return 'spec.authorization.rules must be a list';
  const read: AuthorizationRuleSpec[] = [];
  const names = new Set<string>();
  for (const [i, rule] of records(rules).entries()) {
    const where = `spec.authorization.rules[${i}]`;
    const name = string(rule.name);
    if (!name) return `${where} needs a name`;
    if (names.has(name)) return `${where}: two rules are named ${name}`;
    names.add(name);
    const effect = (string(rule.effect) ?? 'Allow').toLowerCase();
    if (effect !== 'allow' && effect !== 'deny') return `${where}.effect must be Allow or Deny`;
    const principals = record(rule.principals);
    const lists = {
      subjects: stringList(principals?.subjects, `${where}.principals.subjects`),
      groups: stringList(principals?.groups, `${where}.principals.groups`),
      scopes: stringList(principals?.scopes, `${where}.principals.scopes`),
      tools: stringList(rule.tools, `${where}.tools`),
      targets: stringList(rule.targets, `${where}.targets`),
    };
    const invalid = Object.values(lists).find((list): list is string => typeof list === 'string');
    if (invalid) return invalid;
    read.push({ name, effect, ...(lists as Record<keyof typeof lists, string[]>) });
  }
  return read;
}

function readAuthentication(value: unknown): AuthenticationSpec | undefined | string {
  if (value === undefined || value === null) return undefined;
  const auth = record(value);
  if (!auth) return 'spec.authentication must be an object';
  const jwt: AuthenticationSpec['jwt'] = [];
  const providers = auth.jwt ?? [];
  if (!Array.isArray(providers)) return 'spec.authentication.jwt must be a list';
  for (const [i, entry] of records(providers).entries()) {
    const where = `spec.authentication.jwt[${i}]`;
    const issuer = string(entry.issuer);
    if (!issuer) return `${where} needs an issuer`;
    const audiences = stringList(entry.audiences, `${where}.audiences`);
    if (typeof audiences === 'string') return audiences;
    const jwksUri = string(entry.jwksUri) ?? '';
    const name = string(at(entry, 'jwks', 'secretRef', 'name'));
    const key = string(at(entry, 'jwks', 'secretRef', 'key'));
    if (!jwksUri === !name) return `${where} needs exactly one of jwksUri and jwks.secretRef`;
    if (jwksUri && !/^https?:\/\/\S+$/.test(jwksUri)) return `${where}.jwksUri must be an http(s) URL`;
    if (name && !key) return `${where}.jwks.secretRef needs a name and a key`;
    // Required (as the CRD's CEL rule says): without an audience check, a token the issuer minted
    // for any other service (same iss, a valid signature) would be accepted here. docs/security.md.
    if (audiences.length === 0) return `${where}.audiences: a JWT provider needs audiences: the aud values a token must carry one of (docs/security.md)`;
    jwt.push(name ? { issuer, audiences, jwksUri: '', jwksSecret: { name, key: key! } } : { issuer, audiences, jwksUri });
  }
  const apiKeysSecret = string(at(auth, 'apiKeys', 'secretRef', 'name'));
  if (auth.apiKeys !== undefined && !apiKeysSecret) return 'spec.authentication.apiKeys.secretRef needs a name';
  if (jwt.length === 0 && !apiKeysSecret) return 'spec.authentication needs jwt providers or apiKeys';
  return apiKeysSecret ? { jwt, apiKeysSecret } : { jwt };
}

const HEADER_NAME = /^[-!#$%&'*+.^_`|~0-9A-Za-z]+$/;
/** Headers a credential may not replace: they carry the MCP exchange itself. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'transfer-encoding', 'connection']);

function readUpstreamAuth(value: unknown): UpstreamAuth | undefined | string {
  if (value === undefined || value === null) return undefined;
  const auth = record(value);
  if (!auth) return 'spec.upstreamAuth must be an object';
  const secret = string(at(auth, 'secretRef', 'name'));
  const key = string(at(auth, 'secretRef', 'key'));
  if (!secret || !key) return 'spec.upstreamAuth.secretRef needs a name and a key';
  const header = (string(auth.header) ?? 'Authorization').toLowerCase();
  if (!HEADER_NAME.test(header)) return `spec.upstreamAuth.header "${header}" is not an HTTP header name`;
  if (RESERVED_HEADERS.has(header)) return `spec.upstreamAuth.header may not be ${header}: the proxy sets it`;
  return { secret, key, header };
}

/** agentgateway nests the Service selector under `services`; MCPBackend's selector is one itself. */
function readSelectorTarget(selector: Readonly<Record<string, unknown>>, mcpBackend: boolean): SelectorTarget | string {
  const services = readSelector(mcpBackend ? selector : selector.services);
  if (typeof services === 'string') return `selector${mcpBackend ? '' : '.services'}: ${services}`;
  const nsField = mcpBackend ? 'namespaceSelector' : 'namespaces';
  if (selector[nsField] === undefined) return { services };
  const namespaces = readSelector(selector[nsField]);
  if (typeof namespaces === 'string') return `selector.${nsField}: ${namespaces}`;
  return { services, namespaces };
}

/** The fields of a static target that name a command; the others name a host. */
const STDIO_FIELDS = ['command', 'args', 'env', 'cwd'] as const;
const HTTP_FIELDS = ['host', 'port', 'scheme', 'path'] as const;

function readStaticTarget(fixed: Fields, entryName: string | undefined, mcpBackend: boolean): StaticTarget | StdioTarget | string {
  const name = string(fixed.name) ?? entryName;
  if (!name) return 'a static target needs a name';
  const protocol = readProtocol(string(fixed.protocol), mcpBackend);
  if (!protocol) {
    const stdio = !mcpBackend && readProtocol(string(fixed.protocol), true) === 'PROTOCOL_STDIO' ? ' (stdio targets need an MCPBackend)' : '';
    return `static.protocol must be ${mcpBackend ? 'StreamableHTTP, SSE or stdio' : 'StreamableHTTP or SSE'}, not ${String(fixed.protocol)}${stdio}`;
  }
  if (protocol === 'PROTOCOL_STDIO') return readStdioTarget(fixed, name);
  if (mcpBackend) {
    const misplaced = STDIO_FIELDS.find((field) => fixed[field] !== undefined);
    if (misplaced) return `static.${misplaced} is for stdio targets: add protocol: stdio (and leave out host and port)`;
  }
  const host = string(fixed.host);
  const port = integer(fixed.port);
  if (!host) return 'static.host is required';
  if (port === undefined || port < 1 || port > 65535) return 'static.port must be a port number';
  const scheme = string(fixed.scheme) ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') return 'static.scheme must be http or https';
  const rawPath = string(fixed.path);
  const path = rawPath ? (rawPath.startsWith('/') ? rawPath : `/${rawPath}`) : DEFAULT_PATH;
  return { name, host, port, path, scheme, protocol };
}

/**
 * `command`, `args`, `env` and `cwd` of a stdio target. Values must be strings, as in a container's
 * `args` and `env`: YAML reads `--port 3001` as a string and a number, and guessing how a number
 * should be spelt (3001, 3001.0, 0x0bb9) is not ours to do.
 */
function readStdioTarget(fixed: Fields, name: string): StdioTarget | string {
  const misplaced = HTTP_FIELDS.find((field) => fixed[field] !== undefined);
  if (misplaced) return `static.${misplaced} has no meaning for a stdio target (it runs static.command)`;
  const command = string(fixed.command);
  if (!command?.trim()) return 'static.command is required for a stdio target (the executable to run)';
  const args: string[] = [];
  if (fixed.args !== undefined) {
    if (!Array.isArray(fixed.args)) return 'static.args must be a list of strings';
    for (const [i, arg] of fixed.args.entries()) {
      if (typeof arg !== 'string') return `static.args[${i}] must be a string: quote it`;
      args.push(arg);
    }
  }
  const env: Record<string, string> = {};
  if (fixed.env !== undefined) {
    const fields = record(fixed.env);
    if (!fields) return 'static.env must be a map of names to strings';
    // Sorted, so the order a person wrote them in never changes the snapshot version.
    for (const key of Object.keys(fields).sort()) {
      if (!/^[^=\0]+$/.test(key)) return `static.env: ${JSON.stringify(key)} is not a variable name`;
      const value = fields[key];
      if (typeof value !== 'string') return `static.env.${key} must be a string: quote it`;
      env[key] = value;
    }
  }
  const cwd = fixed.cwd === undefined ? '' : string(fixed.cwd);
  if (cwd === undefined) return 'static.cwd must be a string';
  return { name, protocol: 'PROTOCOL_STDIO', stdio: { command, args, env, cwd } };
}

function readProtocol(value: string | undefined, mcpBackend: boolean): Protocol | undefined {
  switch (value?.toLowerCase().replace(/[-_]/g, '')) {
    case undefined:
    case 'streamablehttp':
      return 'PROTOCOL_STREAMABLE_HTTP';
    case 'sse':
      return 'PROTOCOL_SSE';
    case 'stdio':
      // Ours only: agentgateway's kind has no command fields.
      return mcpBackend ? 'PROTOCOL_STDIO' : undefined;
    default:
      return undefined;
  }
}

function readModes(object: KubeObject): Pick<BackendSpec, 'failureMode' | 'timeouts'> | string {
  const failure = string(at(object, 'spec', 'failureMode'))?.toLowerCase() ?? 'open';
  if (failure !== 'open' && failure !== 'closed') return 'spec.failureMode must be open or closed';
  const requestMs = readDuration(at(object, 'spec', 'timeouts', 'request'));
  const initializeMs = readDuration(at(object, 'spec', 'timeouts', 'initialize'));
  if (requestMs === undefined) return 'spec.timeouts.request must be a duration such as 30s or 500ms';
  if (initializeMs === undefined) return 'spec.timeouts.initialize must be a duration such as 10s';
  return {
    failureMode: failure === 'open' ? 'FAILURE_MODE_OPEN' : 'FAILURE_MODE_CLOSED',
    timeouts: { requestMs, initializeMs },
  };
}

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** A Gateway API duration ("1m30s", "500ms") in ms; absent is 0 (the proxy's default). */
export function readDuration(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'string' || !/^(\d{1,5}(h|m|s|ms)){1,4}$/.test(value)) return undefined;
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)(ms|h|m|s)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms <= 0xffffffff ? ms : undefined;
}
