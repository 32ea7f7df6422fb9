// Writing answers: JSON bodies with their length, and errors as JSON-RPC error bodies under the
// HTTP status the error catalogue gives their code.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage, type ErrorCode } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { errorResponse } from '../mux/jsonrpc-error.ts';
import { encodeMessage } from '../../shared/pre-encoded-json.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = encodeMessage(body); // JSON.stringify, a pre-encoded list result spliced in
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An HTTP-level refusal (bad headers, unknown session, ...): status from the code, JSON-RPC body. */
export function sendError(res: ServerResponse, error: McpmuxError, id: RequestId | null = null, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A retryable refusal says when to retry.
  const retry: Record<string, string> = error.code === 'MCPMUX_FLEET_UNAVAILABLE' || error.code === 'MCPMUX_NO_SNAPSHOT' ? { 'retry-after': '1' } : {};
  sendJson(res, error.httpStatus, errorResponse(id, error), { ...retry, ...headers });
}

export function sendAccepted(res: ServerResponse): void {
  res.writeHead(202, { 'content-length': '0' });
  res.end();
}

export function refuse(code: ErrorCode, message: string): McpmuxError {
  return new McpmuxError(code, message);
}

/**
 * Something failed that no refusal was written for: a bug of ours, or a fault of the machine (a
 * file, a store). Its text may name paths, addresses or internals, so the client gets a generic 500
 * with a correlation id, and the log line carries the same id with the details. An McpmuxError
 * written for the client (anything but MCPMUX_INTERNAL) is sent as it is.
 */
export function sendInternalError(res: ServerResponse, logger: Logger, error: unknown, what: string, id: RequestId | null = null): void {
  if (error instanceof McpmuxError && error.code !== 'MCPMUX_INTERNAL') {
    sendError(res, error, id);
    return;
  }
  const errorId = randomBytes(8).toString('hex');
  logger.error({ errorId, err: errorMessage(error), stack: error instanceof Error ? error.stack : undefined }, what);
  sendError(res, new McpmuxError('MCPMUX_INTERNAL', `Internal error (id ${errorId}): the gateway's log has the details`, { data: { errorId } }), id);
}
