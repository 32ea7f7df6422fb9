// One catalogue of local error codes, each mapped once to what the wire shows. Callers branch on
// `code`, never on message text; logs carry the code.

export const ErrorCodes = {
  MCPMUX_CONFIG_INVALID: { httpStatus: 500, jsonRpc: -32603 },
  MCPMUX_SOURCE_PARSE: { httpStatus: 400, jsonRpc: -32603 },
  MCPMUX_USAGE: { httpStatus: 400, jsonRpc: -32602 },
  MCPMUX_NO_SNAPSHOT: { httpStatus: 503, jsonRpc: -32603 },
  MCPMUX_ROUTE_NOT_FOUND: { httpStatus: 404, jsonRpc: -32601 },
  MCPMUX_SESSION_NOT_FOUND: { httpStatus: 404, jsonRpc: -32001 },
  MCPMUX_SESSION_REQUIRED: { httpStatus: 400, jsonRpc: -32600 },
  MCPMUX_PARSE_ERROR: { httpStatus: 400, jsonRpc: -32700 },
  MCPMUX_INVALID_REQUEST: { httpStatus: 400, jsonRpc: -32600 },
  MCPMUX_METHOD_NOT_FOUND: { httpStatus: 200, jsonRpc: -32601 },
  MCPMUX_INVALID_PARAMS: { httpStatus: 200, jsonRpc: -32602 },
  MCPMUX_UNKNOWN_NAME: { httpStatus: 200, jsonRpc: -32602 },
  MCPMUX_TARGET_UNAVAILABLE: { httpStatus: 502, jsonRpc: -32603 },
  MCPMUX_UPSTREAM_TIMEOUT: { httpStatus: 504, jsonRpc: -32603 },
  MCPMUX_UPSTREAM_PROTOCOL: { httpStatus: 502, jsonRpc: -32603 },
  MCPMUX_NOT_ACCEPTABLE: { httpStatus: 406, jsonRpc: -32600 },
  MCPMUX_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, jsonRpc: -32600 },
  MCPMUX_METHOD_NOT_ALLOWED: { httpStatus: 405, jsonRpc: -32600 },
  MCPMUX_UNSUPPORTED_PROTOCOL_VERSION: { httpStatus: 400, jsonRpc: -32600 },
  MCPMUX_BODY_TOO_LARGE: { httpStatus: 413, jsonRpc: -32600 },
  // DNS rebinding protection: an Origin or Host not on the allow-list.
  MCPMUX_FORBIDDEN_ORIGIN: { httpStatus: 403, jsonRpc: -32600 },
  MCPMUX_FORBIDDEN_HOST: { httpStatus: 403, jsonRpc: -32600 },
  // A request on a TLS connection whose Host another listener than the SNI's takes (RFC 9110 421).
  MCPMUX_MISDIRECTED: { httpStatus: 421, jsonRpc: -32600 },
  // A second GET stream for a session that already has one.
  MCPMUX_STREAM_CONFLICT: { httpStatus: 409, jsonRpc: -32600 },
  // A request on a session whose initialize has not completed (legacy SSE sessions exist before it).
  MCPMUX_NOT_INITIALIZED: { httpStatus: 400, jsonRpc: -32600 },
  // A name two targets share under prefix mode never: refused, naming both.
  MCPMUX_AMBIGUOUS_NAME: { httpStatus: 200, jsonRpc: -32602 },
  // A request the client cancelled (notifications/cancelled) or abandoned (connection closed).
  MCPMUX_REQUEST_CANCELLED: { httpStatus: 200, jsonRpc: -32800 },
  // An authenticated principal that a rule does not let use this tool, prompt or resource.
  MCPMUX_FORBIDDEN: { httpStatus: 200, jsonRpc: -32003 },
  // A limit that protects the proxy and its other clients (JSON depth, sessions per principal).
  MCPMUX_LIMIT_EXCEEDED: { httpStatus: 429, jsonRpc: -32600 },
  // No valid credential for a guarded route (401 with WWW-Authenticate).
  MCPMUX_UNAUTHORIZED: { httpStatus: 401, jsonRpc: -32001 },
  // The replicas' shared session store (NATS) cannot be reached just now: retry shortly (503, Retry-After).
  MCPMUX_FLEET_UNAVAILABLE: { httpStatus: 503, jsonRpc: -32603 },
  // MCP 2026-07-28 (modern requests): the spec's own codes, each with the status the spec gives it.
  // A required header missing, not matching the body, or not decodable (Mcp-Method, Mcp-Name, MCP-Protocol-Version, Mcp-Param-*).
  MCPMUX_HEADER_MISMATCH: { httpStatus: 400, jsonRpc: -32020 },
  // The request needs a client capability it did not declare in its _meta (data.requiredCapabilities).
  MCPMUX_MISSING_CAPABILITY: { httpStatus: 400, jsonRpc: -32021 },
  // A modern protocol version we do not serve (data.supported, data.requested).
  MCPMUX_UNSUPPORTED_VERSION: { httpStatus: 400, jsonRpc: -32022 },
  // A modern request whose params._meta lacks a required key, or has one of the wrong type.
  MCPMUX_INVALID_ENVELOPE: { httpStatus: 400, jsonRpc: -32602 },
  // A method the 2026-07-28 revision removed (initialize, ping, ...) or never had, under a modern claim.
  MCPMUX_REMOVED_METHOD: { httpStatus: 404, jsonRpc: -32601 },
  // A requestState token that is not ours, was altered, expired, or belongs to another call or principal.
  MCPMUX_INVALID_REQUEST_STATE: { httpStatus: 200, jsonRpc: -32602 },
  // A bug of ours, not the client's nor an upstream's.
  MCPMUX_INTERNAL: { httpStatus: 500, jsonRpc: -32603 },
} as const satisfies Record<string, { httpStatus: number; jsonRpc: number }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class McpmuxError extends Error {
  readonly code: ErrorCode;
  /** Fields the wire error's `data` carries besides our code (e.g. -32022's supported/requested). */
  readonly data: Readonly<Record<string, unknown>> | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; data?: Record<string, unknown> }) {
    super(message, options);
    this.name = 'McpmuxError';
    this.code = code;
    this.data = options?.data;
  }
  get httpStatus(): number {
    return ErrorCodes[this.code].httpStatus;
  }
  get jsonRpcCode(): number {
    return ErrorCodes[this.code].jsonRpc;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
