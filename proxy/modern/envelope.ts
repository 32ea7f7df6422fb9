// A modern (2026-07-28) request's per-request envelope (params._meta) and its standard headers
// (MCP-Protocol-Version, Mcp-Method, Mcp-Name), checked in the order the spec and its conformance
// suite observe, so a request that fails several checks gets the error a conforming server gives.
import { McpmuxError } from '../../shared/errors.ts';
import { decodeHeaderValue, encodeHeaderValue, sameHeaderText, trimOws } from './header-value.ts';
import { LOG_LEVELS, META_KEYS, MODERN_METHODS, MODERN_PROTOCOL_VERSION, REMOVED_METHODS, TRACE_META_KEYS, isPlainObject, nameField } from './wire.ts';

export type HeaderLookup = (lowercaseName: string) => string | undefined;

export interface ModernEnvelope {
  protocolVersion: string;
  /** The client's per-request ClientCapabilities object, as sent. */
  clientCapabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string; [k: string]: unknown } | undefined;
  logLevel: string | undefined;
  progressToken: string | number | undefined;
  /** The whole _meta as sent (traceparent etc. travel on). */
  meta: Record<string, unknown>;
}

export interface CheckedModernRequest {
  envelope: ModernEnvelope;
  /** The body's name/uri/taskId (what Mcp-Name was checked against); undefined for methods without one. */
  name: string | undefined;
}

function invalidEnvelope(key: string, problem: string): McpmuxError {
  return new McpmuxError('MCPMUX_INVALID_ENVELOPE', `Invalid _meta envelope for MCP ${MODERN_PROTOCOL_VERSION}: ${key} ${problem}`, { data: { key, problem } });
}

function headerMismatch(header: string, message: string): McpmuxError {
  return new McpmuxError('MCPMUX_HEADER_MISMATCH', `Header mismatch: ${message}`, { data: { header } });
}

/** Step 1: the envelope's shape. Unknown keys are the client's business and travel on untouched. */
function readEnvelope(params: unknown): ModernEnvelope {
  if (!isPlainObject(params)) throw invalidEnvelope('params', 'must be an object carrying _meta');
  const meta = params['_meta'];
  if (!isPlainObject(meta)) throw invalidEnvelope('params._meta', `is required (an object with ${META_KEYS.protocolVersion} and ${META_KEYS.clientCapabilities})`);
  const version = meta[META_KEYS.protocolVersion];
  if (version === undefined) throw invalidEnvelope(META_KEYS.protocolVersion, 'is missing (required on every request)');
  if (typeof version !== 'string' || version.length === 0) throw invalidEnvelope(META_KEYS.protocolVersion, 'must be a non-empty string');
  const capabilities = meta[META_KEYS.clientCapabilities];
  if (capabilities === undefined) throw invalidEnvelope(META_KEYS.clientCapabilities, 'is missing (required on every request; {} declares none)');
  if (!isPlainObject(capabilities)) throw invalidEnvelope(META_KEYS.clientCapabilities, 'must be an object (ClientCapabilities)');
  const clientInfo = meta[META_KEYS.clientInfo];
  if (clientInfo !== undefined && !(isPlainObject(clientInfo) && typeof clientInfo['name'] === 'string' && typeof clientInfo['version'] === 'string')) {
    throw invalidEnvelope(META_KEYS.clientInfo, 'must be an object with string name and version');
  }
  const logLevel = meta[META_KEYS.logLevel];
  if (logLevel !== undefined && !(typeof logLevel === 'string' && LOG_LEVELS.includes(logLevel))) throw invalidEnvelope(META_KEYS.logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  const progressToken = meta['progressToken'];
  if (progressToken !== undefined && typeof progressToken !== 'string' && !Number.isInteger(progressToken)) throw invalidEnvelope('progressToken', 'must be a string or an integer');
  return {
    protocolVersion: version,
    clientCapabilities: capabilities,
    clientInfo: clientInfo as ModernEnvelope['clientInfo'],
    logLevel: logLevel as string | undefined,
    progressToken: progressToken as string | number | undefined,
    meta,
  };
}

/** A standard header's value with OWS trimmed; undefined when absent. */
function plainHeader(header: HeaderLookup, name: string): string | undefined {
  const value = header(name);
  return value === undefined ? undefined : trimOws(value);
}

/**
 * Checks a modern request's envelope and standard headers. Throws McpmuxError, first failure wins:
 *  1. MCPMUX_INVALID_ENVELOPE: params/_meta not objects, protocolVersion not a non-empty string,
 *     clientCapabilities not a plain object; clientInfo, logLevel, progressToken of the wrong shape.
 *  2. MCPMUX_HEADER_MISMATCH: MCP-Protocol-Version missing or not the _meta version; Mcp-Method
 *     present but not the body method (case-sensitive).
 *  3. MCPMUX_UNSUPPORTED_VERSION (data {supported, requested}) for a version not in `supported`.
 *  4. MCPMUX_HEADER_MISMATCH: Mcp-Method missing.
 *  5. MCPMUX_REMOVED_METHOD: a method not in MODERN_METHODS.
 *  6. MCPMUX_INVALID_PARAMS when the method's name field is not a string; MCPMUX_HEADER_MISMATCH when
 *     Mcp-Name is missing, not decodable, or (decoded, trimmed) not the body's field.
 * `supported` are the versions the gateway serves in the modern era (e.g. MODERN_PROTOCOL_VERSIONS).
 */
export function checkModernRequest(request: { method: string; params?: Record<string, unknown> | undefined }, header: HeaderLookup, supported: readonly string[]): CheckedModernRequest {
  const { method } = request;
  const envelope = readEnvelope(request.params);
  const versionHeader = plainHeader(header, 'mcp-protocol-version');
  if (versionHeader === undefined) throw headerMismatch('MCP-Protocol-Version', `the MCP-Protocol-Version header is required and must equal _meta ${META_KEYS.protocolVersion} (${envelope.protocolVersion})`);
  if (versionHeader !== envelope.protocolVersion) throw headerMismatch('MCP-Protocol-Version', `the MCP-Protocol-Version header (${versionHeader}) differs from _meta ${META_KEYS.protocolVersion} (${envelope.protocolVersion}); send the same version in both`);
  const methodHeader = plainHeader(header, 'mcp-method');
  if (methodHeader !== undefined && methodHeader !== method) throw headerMismatch('Mcp-Method', `the Mcp-Method header (${methodHeader}) differs from the body method (${method}); it must match exactly, case included`);
  if (!supported.includes(envelope.protocolVersion)) {
    throw new McpmuxError('MCPMUX_UNSUPPORTED_VERSION', `Unsupported protocol version ${envelope.protocolVersion}; this gateway serves ${supported.join(', ')}`, {
      data: { supported: [...supported], requested: envelope.protocolVersion },
    });
  }
  if (methodHeader === undefined) throw headerMismatch('Mcp-Method', `the Mcp-Method header is required and must equal the body method (${method})`);
  if (!MODERN_METHODS.has(method)) {
    const instead = REMOVED_METHODS.get(method);
    throw new McpmuxError('MCPMUX_REMOVED_METHOD', instead === undefined ? `Method not found: ${method}` : `Method not found: ${method} was removed in MCP 2026-07-28; ${instead}`);
  }
  const field = nameField(method);
  if (field === undefined) return { envelope, name: undefined };
  const name = (request.params as Record<string, unknown>)[field];
  if (typeof name !== 'string') throw new McpmuxError('MCPMUX_INVALID_PARAMS', `Invalid params: ${method} needs params.${field} as a string`);
  const nameHeader = header('mcp-name');
  if (nameHeader === undefined) throw headerMismatch('Mcp-Name', `the Mcp-Name header is required on ${method} and must equal params.${field}`);
  const decoded = decodeHeaderValue(nameHeader, 'Mcp-Name');
  if (!sameHeaderText(decoded, name)) throw headerMismatch('Mcp-Name', `the Mcp-Name header (${JSON.stringify(decoded)}) differs from params.${field} (${JSON.stringify(name)})`);
  return { envelope, name };
}

/**
 * The _meta a gateway sends upstream for a modern request on behalf of a client: version,
 * capabilities, clientInfo, logLevel and progressToken from the options, over `extra` (trace keys
 * and the like). Reserved request keys in `extra` are dropped: the options alone decide them.
 */
export function buildUpstreamMeta(options: {
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo?: { name: string; version: string } | undefined;
  logLevel?: string | undefined;
  progressToken?: string | number | undefined;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.extra ?? {})) if (!RESERVED_REQUEST_KEYS.has(key) && value !== undefined) meta[key] = value;
  meta[META_KEYS.protocolVersion] = options.protocolVersion;
  meta[META_KEYS.clientCapabilities] = options.clientCapabilities;
  if (options.clientInfo !== undefined) meta[META_KEYS.clientInfo] = options.clientInfo;
  if (options.logLevel !== undefined) meta[META_KEYS.logLevel] = options.logLevel;
  if (options.progressToken !== undefined) meta['progressToken'] = options.progressToken;
  return meta;
}

const RESERVED_REQUEST_KEYS: ReadonlySet<string> = new Set([META_KEYS.protocolVersion, META_KEYS.clientCapabilities, META_KEYS.clientInfo, META_KEYS.logLevel, 'progressToken']);

/** The trace keys (traceparent, tracestate, baggage) of a client's _meta, to pass on as `extra`. */
export function traceMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of TRACE_META_KEYS) if (Object.hasOwn(meta, key) && meta[key] !== undefined) picked[key] = meta[key];
  return picked;
}

/** The standard headers of an upstream modern POST: mcp-protocol-version, mcp-method, and mcp-name (encoded) when the method has a name field. */
export function modernRequestHeaders(method: string, protocolVersion: string, name: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': protocolVersion, 'mcp-method': method };
  if (name !== undefined && nameField(method) !== undefined) headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}
