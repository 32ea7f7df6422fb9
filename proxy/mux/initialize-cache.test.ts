// The initialize answers a ListCache keeps: per scope (protocol version and client capabilities
// compared whole), dropped when the target changes or its endpoint leaves, or the target leaves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { InitializeRequestParams, InitializeResult } from '@modelcontextprotocol/sdk/types.js';
import { compileRoutingTable, type CompiledTarget, type RoutingTable } from '../routing/table.ts';
import { BACKEND, simpleSnapshot, target } from '../testing/snapshots.ts';
import { ListCache } from './list-cache.ts';

const URL_A = 'http://127.0.0.1:9/mcp';

function table(version: string, targets: Record<string, { url?: string; era?: 'PROTOCOL_ERA_AUTO' | 'PROTOCOL_ERA_LEGACY' }> = { t: {} }): RoutingTable {
  return compileRoutingTable(simpleSnapshot({ version, targets: Object.fromEntries(Object.entries(targets).map(([name, o]) => [name, target(BACKEND, name, o.url ?? URL_A, { protocolEra: o.era ?? 'PROTOCOL_ERA_AUTO' })])) }));
}

const targetOf = (t: RoutingTable, name = 't'): CompiledTarget => t.routes[0]!.backend.targetsByName.get(name)!;
const params = (capabilities: Record<string, unknown> = {}, protocolVersion = '2025-11-25'): InitializeRequestParams => ({ protocolVersion, capabilities, clientInfo: { name: 'c', version: '1' } });
const answer: InitializeResult = { protocolVersion: '2025-11-25', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 'up', version: '1' }, instructions: 'hi' };

test('served to the same scope only; client info does not matter, capabilities and version do', () => {
  const cache = new ListCache();
  const t = targetOf(table('v1'));
  cache.initializeAnswers.put(t, params({ sampling: {} }), URL_A, answer);
  assert.equal(cache.initializeAnswers.get(t, { ...params({ sampling: {} }), clientInfo: { name: 'other', version: '2' } })?.result, answer);
  assert.is(cache.initializeAnswers.get(t, params({})), undefined);
  assert.is(cache.initializeAnswers.get(t, params({ sampling: {} }, '2025-06-18')), undefined);
});

test('a config push drops answers of targets that changed, lost the endpoint, or left', () => {
  const cache = new ListCache();
  const v1 = table('v1', { t: {}, u: {}, w: {} });
  for (const name of ['t', 'u', 'w']) cache.initializeAnswers.put(targetOf(v1, name), params(), URL_A, answer);
  const v2 = table('v2', { t: {}, u: { era: 'PROTOCOL_ERA_LEGACY' }, w: { url: 'http://127.0.0.1:10/mcp' } });
  cache.retain(v2.routes);
  assert.ok(cache.initializeAnswers.get(targetOf(v2, 't'), params()), 'unchanged: kept');
  assert.is(cache.initializeAnswers.get(targetOf(v2, 'u'), params()), undefined, 'another era: dropped');
  assert.is(cache.initializeAnswers.get(targetOf(v2, 'w'), params()), undefined, 'its endpoint left: dropped');
  cache.retain(table('v3', { u: {} }).routes);
  assert.is(cache.initializeAnswers.size, 0, 'the target left: dropped');
});

test('a changed target is not answered from an old answer even before a push reaches retain()', () => {
  const cache = new ListCache();
  cache.initializeAnswers.put(targetOf(table('v1')), params(), URL_A, answer);
  assert.is(cache.initializeAnswers.get(targetOf(table('v2', { t: { era: 'PROTOCOL_ERA_LEGACY' } })), params()), undefined);
});

test.run();
