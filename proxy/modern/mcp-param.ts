// `x-mcp-header` (SEP-2243): a tool's inputSchema property annotated `"x-mcp-header": "Region"` is
// mirrored by clients into an `Mcp-Param-Region` header on tools/call. The gateway validates the
// annotations (an invalid one makes the tool invalid, and clients must drop it), checks inbound
// headers against the arguments as a server, and regenerates them for upstreams as a client.
import { McpmuxError } from '../../shared/errors.ts';
import type { HeaderLookup } from './envelope.ts';
import { decodeHeaderValue, encodeHeaderValue, sameHeaderText } from './header-value.ts';
import { isPlainObject } from './wire.ts';

export interface McpParamDeclaration {
  /** The declared name, as the schema spells it (the header is `Mcp-Param-<header>`). */
  header: string;
  /** property path under inputSchema.properties */
  path: readonly string[];
  /** 'number' is in the type for callers' switches, but never produced: the spec does not allow it. */
  type: 'string' | 'integer' | 'boolean' | 'number';
}

const ANNOTATION = 'x-mcp-header';
/** RFC 9110 token (1*tchar): no spaces, controls, delimiters or non-ASCII. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ALLOWED_TYPES: ReadonlySet<string> = new Set(['string', 'integer', 'boolean']);
/** Keywords holding subschemas that are not plain `properties` chains: an annotation under them is invalid. */
const SUBSCHEMA_KEYWORDS = [
  'items', 'prefixItems', 'additionalItems', 'contains', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'propertyNames',
  'patternProperties', 'dependentSchemas', 'dependencies', 'oneOf', 'anyOf', 'allOf', 'not', 'if', 'then', 'else', '$defs', 'definitions', 'contentSchema',
] as const;
/** Of those, the ones whose value maps names to subschemas. */
const NAMED_SUBSCHEMAS: ReadonlySet<string> = new Set(['patternProperties', 'dependentSchemas', 'dependencies', '$defs', 'definitions']);

function where(path: readonly string[]): string {
  return path.length === 0 ? 'the inputSchema root' : `property ${path.join('.')}`;
}

/**
 * The declarations of a tool's inputSchema, or {error} when one is invalid: not on a string, integer
 * or boolean property reachable through plain `properties` chains, not an HTTP token, or a duplicate
 * (case-insensitively). A tool with an invalid declaration is not listed to modern clients.
 */
export function mcpParamDeclarations(inputSchema: unknown): { ok: readonly McpParamDeclaration[] } | { error: string } {
  const declarations: McpParamDeclaration[] = [];
  const seen = new Map<string, string>();
  // Iterative and cycle-safe: schemas come from upstreams, and may be deep or (in process) cyclic.
  const stack: Array<{ node: unknown; path: readonly string[]; reachable: boolean }> = [{ node: inputSchema, path: [], reachable: true }];
  const visited = new WeakSet<object>();
  while (stack.length > 0) {
    const { node, path, reachable } = stack.pop()!;
    if (!isPlainObject(node) || visited.has(node)) continue;
    visited.add(node);
    if (Object.hasOwn(node, ANNOTATION)) {
      const raw = node[ANNOTATION];
      if (!reachable || path.length === 0) return { error: `${where(path)}: ${ANNOTATION} is only allowed on properties reached through plain "properties" chains (not items, additionalProperties, oneOf/anyOf/allOf/not, if/then/else or $defs)` };
      if (typeof raw !== 'string' || raw.length === 0) return { error: `${where(path)}: ${ANNOTATION} must be a non-empty string` };
      if (!TOKEN.test(raw)) return { error: `${where(path)}: ${ANNOTATION} ${JSON.stringify(raw)} is not a valid HTTP header name token` };
      const type = node['type'];
      if (typeof type !== 'string' || !ALLOWED_TYPES.has(type)) return { error: `${where(path)}: ${ANNOTATION} is only allowed on string, integer or boolean properties (type is ${JSON.stringify(type) ?? 'missing'})` };
      const lower = raw.toLowerCase();
      const prior = seen.get(lower);
      if (prior !== undefined) return { error: `${where(path)}: ${ANNOTATION} ${JSON.stringify(raw)} repeats ${JSON.stringify(prior)} (names are case-insensitive)` };
      seen.set(lower, raw);
      declarations.push({ header: raw, path, type: type as McpParamDeclaration['type'] });
    }
    // Pushed in reverse so properties are visited in declaration order (the first of a duplicate pair wins).
    const children: Array<{ node: unknown; path: readonly string[]; reachable: boolean }> = [];
    const properties = node['properties'];
    if (isPlainObject(properties)) for (const [key, child] of Object.entries(properties)) children.push({ node: child, path: [...path, key], reachable });
    for (const keyword of SUBSCHEMA_KEYWORDS) {
      const value = node[keyword];
      if (value === undefined || !Object.hasOwn(node, keyword)) continue;
      const branches = Array.isArray(value) ? value : NAMED_SUBSCHEMAS.has(keyword) && isPlainObject(value) ? Object.values(value) : [value];
      for (const branch of branches) children.push({ node: branch, path: [...path, `<${keyword}>`], reachable: false });
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return { ok: declarations };
}

/** The argument at `path`, own properties only (a "__proto__" or "constructor" key must not reach the prototype). */
function valueAt(args: unknown, path: readonly string[]): unknown {
  let node = args;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** The string a header carries for a value: strings as they are, numbers in decimal, booleans lowercase; undefined for no header. */
function stringForm(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // Non-finite numbers and unsafe integers have no faithful decimal form: no header, as clients do.
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

function headerName(declaration: McpParamDeclaration): string {
  return `Mcp-Param-${declaration.header}`;
}

/**
 * Checks the Mcp-Param-* headers of a tools/call against its arguments: every declared value present
 * in the arguments must have its header, decoded equal to the value's string form (integers compare
 * numerically, so 42.0 names 42); a header with no value in the body, or a bad Base64 form, is also a
 * mismatch. Throws McpmuxError MCPMUX_HEADER_MISMATCH naming the header.
 */
export function checkMcpParamHeaders(declarations: readonly McpParamDeclaration[], args: unknown, header: HeaderLookup): void {
  for (const declaration of declarations) {
    const name = headerName(declaration);
    const sent = header(name.toLowerCase());
    const value = valueAt(args, declaration.path);
    const form = stringForm(value);
    const field = `arguments.${declaration.path.join('.')}`;
    if (form === undefined) {
      // A conforming client sends no header without a value, so this one did not come from this body.
      if (sent !== undefined) throw mismatch(name, `the ${name} header is sent but ${field} has no string, integer or boolean value`);
      continue;
    }
    if (sent === undefined) throw mismatch(name, `the ${name} header is required because ${field} is set (send its value, Base64-wrapped when not plain ASCII)`);
    const decoded = decodeHeaderValue(sent, name);
    const numeric = (declaration.type === 'integer' || declaration.type === 'number') && typeof value === 'number' && DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== value : !sameHeaderText(decoded, form)) throw mismatch(name, `the ${name} header (${JSON.stringify(decoded)}) differs from ${field} (${JSON.stringify(value)})`);
  }
}

function mismatch(header: string, message: string): McpmuxError {
  return new McpmuxError('MCPMUX_HEADER_MISMATCH', `Header mismatch: ${message}`, { data: { header } });
}

/** The Mcp-Param-* headers an upstream expects for these arguments (lowercase names, values via encodeHeaderValue). */
export function mcpParamHeaders(declarations: readonly McpParamDeclaration[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const declaration of declarations) {
    const form = stringForm(valueAt(args, declaration.path));
    if (form !== undefined) headers[headerName(declaration).toLowerCase()] = encodeHeaderValue(form);
  }
  return headers;
}
