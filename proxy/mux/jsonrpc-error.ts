// Errors as JSON-RPC sees them: McpmuxErrors keep their stable code in `error.data.code`, so
// clients and logs can branch on it; anything else is an internal error, whose text stays in the
// log: the client gets an id that the log line carries (a bug's message may hold paths or addresses).
import { randomBytes } from 'node:crypto';
import type { JSONRPCErrorResponse, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';

/** An id for an internal error: in the client's answer and in the log line with the details. */
export function newErrorId(): string {
  return randomBytes(8).toString('hex');
}

export function toJsonRpcError(error: unknown, errorId?: string): JSONRPCErrorResponse['error'] {
  if (error instanceof McpmuxError) return { code: error.jsonRpcCode, message: error.message, data: { ...error.data, code: error.code } };
  if (errorId === undefined) return { code: -32603, message: "Internal error: the gateway's log has the details" };
  return { code: -32603, message: `Internal error (id ${errorId}): the gateway's log has the details`, data: { errorId } };
}

export function errorResponse(id: RequestId | null, error: unknown, errorId?: string): JSONRPCErrorResponse {
  // The SDK's type makes id optional rather than nullable; JSON-RPC wants null when unknown.
  return { jsonrpc: '2.0', id: id as RequestId, error: toJsonRpcError(error, errorId) };
}
