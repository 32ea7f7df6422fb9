// What a client POSTed, told apart cheaply: no schema validation on the hot path, only the shape
// checks JSON-RPC itself requires.
import type { JSONRPCNotification, JSONRPCRequest, JSONRPCResponse, RequestId } from '@modelcontextprotocol/sdk/types.js';

export type IncomingMessage =
  | { kind: 'request'; message: JSONRPCRequest }
  | { kind: 'notification'; message: JSONRPCNotification }
  | { kind: 'response'; message: JSONRPCResponse }
  | { kind: 'invalid'; reason: string; id: RequestId | null };

function isId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

export function classifyMessage(value: unknown): IncomingMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'invalid', reason: 'a JSON-RPC message must be an object', id: null };
  }
  const m = value as Record<string, unknown>;
  const id = isId(m.id) ? m.id : null;
  if (m.jsonrpc !== '2.0') return { kind: 'invalid', reason: 'jsonrpc must be "2.0"', id };
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method === '') return { kind: 'invalid', reason: 'method must be a non-empty string', id };
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params))) {
      return { kind: 'invalid', reason: 'params must be an object', id };
    }
    if (!('id' in m)) return { kind: 'notification', message: m as JSONRPCNotification };
    if (!isId(m.id)) return { kind: 'invalid', reason: 'id must be a string or an integer', id: null };
    return { kind: 'request', message: m as JSONRPCRequest };
  }
  if (isId(m.id) && ('result' in m) !== ('error' in m)) return { kind: 'response', message: m as JSONRPCResponse };
  return { kind: 'invalid', reason: 'not a request, notification or response', id };
}
