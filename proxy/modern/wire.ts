// Constants of the MCP 2026-07-28 ("modern") wire: versions, reserved _meta keys, the methods a
// modern client may call on a gateway, and which body field each method's Mcp-Name mirrors.

export const MODERN_PROTOCOL_VERSION = '2026-07-28';
/** The modern-era revisions the gateway serves (the legacy ones are negotiated by initialize). */
export const MODERN_PROTOCOL_VERSIONS: readonly string[] = Object.freeze([MODERN_PROTOCOL_VERSION]);

export const META_KEYS = Object.freeze({
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const);

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** W3C trace context and baggage (SEP-414): carried in _meta, passed on to upstreams as sent. */
export const TRACE_META_KEYS: readonly string[] = Object.freeze(['traceparent', 'tracestate', 'baggage']);

/** The levels of notifications/message (RFC 5424), least severe first. */
export const LOG_LEVELS: readonly string[] = Object.freeze(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether params._meta carries the protocolVersion KEY (the "claim", whatever its value). */
export function hasModernClaim(params: unknown): boolean {
  if (!isPlainObject(params)) return false;
  const meta = params['_meta'];
  return isPlainObject(meta) && Object.hasOwn(meta, META_KEYS.protocolVersion);
}

/** Methods a modern client may call on a gateway. */
export const MODERN_METHODS: ReadonlySet<string> = new Set([
  'server/discover',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  'subscriptions/listen',
  'tasks/get',
  'tasks/update',
  'tasks/cancel',
]);

/** Methods 2026-07-28 removed, with what replaces them (for a refusal that says what to do instead). */
export const REMOVED_METHODS: ReadonlyMap<string, string> = new Map([
  ['initialize', 'send server/discover, and the version, capabilities and clientInfo in every request\'s params._meta'],
  ['ping', 'there is no replacement; any request shows the server is alive'],
  ['logging/setLevel', `set ${META_KEYS.logLevel} in each request's params._meta`],
  ['resources/subscribe', 'use subscriptions/listen with notifications.resourceSubscriptions'],
  ['resources/unsubscribe', 'close the subscriptions/listen stream'],
  ['tasks/result', 'tasks/get returns the result inline'],
  ['tasks/list', 'there is no replacement in the tasks extension'],
]);

const NAME_FIELDS: ReadonlyMap<string, 'name' | 'uri' | 'taskId'> = new Map([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
]);

/** The body field Mcp-Name must equal, per method; undefined for methods without one. */
export function nameField(method: string): 'name' | 'uri' | 'taskId' | undefined {
  // A Map, not an object literal: a peer-chosen method like "constructor" must not hit the prototype.
  return NAME_FIELDS.get(method);
}
