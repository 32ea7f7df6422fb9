import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { responseMode } from './response-mode.ts';

const call: JSONRPCRequest = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't' } };
const list: JSONRPCRequest = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
const listWithProgress: JSONRPCRequest = { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { progressToken: 'p' } } };

test('the table in the header, row by row', () => {
  // Without SSE in Accept: JSON, whatever else.
  for (const version of ['2025-06-18', '2025-11-25', undefined]) for (const request of [call, list]) assert.is(responseMode(false, version, request), 'json');
  // 2025-11-25 and later: primed SSE at once.
  assert.is(responseMode(true, '2025-11-25', list), 'primed');
  assert.is(responseMode(true, '2026-01-01', call), 'primed');
  // Older: held when the request may stream (its method, or a progress token), JSON otherwise.
  assert.is(responseMode(true, '2025-06-18', call), 'held');
  assert.is(responseMode(true, '2025-03-26', listWithProgress), 'held');
  assert.is(responseMode(true, '2025-06-18', list), 'json');
  assert.is(responseMode(true, undefined, list), 'json');
});

test.run();
