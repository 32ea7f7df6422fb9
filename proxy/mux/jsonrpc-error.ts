// Errors as JSON-RPC sees them: McpmuxErrors keep their stable code in `error.data.code`, so
// clients and logs can branch on it; anything else is an internal error.
import type { JSONRPCErrorResponse, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';

export function toJsonRpcError(error: unknown): JSONRPCErrorResponse['error'] {
  if (error instanceof McpmuxError) return { code: error.jsonRpcCode, message: error.message, data: { ...error.data, code: error.code } };
  return { code: -32603, message: `Internal error: ${errorMessage(error)}` };
}

export function errorResponse(id: RequestId | null, error: unknown): JSONRPCErrorResponse {
  // The SDK's type makes id optional rather than nullable; JSON-RPC wants null when unknown.
  return { jsonrpc: '2.0', id: id as RequestId, error: toJsonRpcError(error) };
}
