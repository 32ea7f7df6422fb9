// ListCache on its own: keys compared whole, invalidation across scopes (and of fetches under way),
// TTL by an injected clock, config pushes, the per-target bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileRoutingTable, type CompiledTarget, type RoutingTable } from '../routing/table.ts';
import { BACKEND, simpleSnapshot, target } from '../testing/snapshots.ts';
import { ListCache, stableJson, type IdentityScope } from './list-cache.ts';

function table(version: string, url = 'http://127.0.0.1:9/mcp', era: 'PROTOCOL_ERA_AUTO' | 'PROTOCOL_ERA_LEGACY' = 'PROTOCOL_ERA_AUTO'): RoutingTable {
  return compileRoutingTable(simpleSnapshot({ version, targets: { t: target(BACKEND, 't', url, { protocolEra: era }) } }));
}

function targetOf(t: RoutingTable): CompiledTarget {
  return t.routes[0]!.backend.targets[0]!;
}

const scope = (capabilities: unknown = {}): IdentityScope => ({ endpoint: 'http://127.0.0.1:9/mcp', protocolVersion: '2025-11-25', clientCapabilities: stableJson(capabilities), principal: '' });

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('stableJson: key order does not matter, values do', () => {
  assert.is(stableJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), stableJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
  assert.is.not(stableJson({ sampling: {} }), stableJson({}));
});

test('an entry is served to the same scope only, until its TTL', () => {
  const c = clock();
  const cache = new ListCache({ now: c.now });
  const t = targetOf(table('v1'));
  cache.put(t, 'tools', scope({ sampling: {} }), ['x'], { kind: 'until', expiresAt: c.now() + 100, scope: 'public', hinted: false }, cache.generation(t));
  assert.equal(cache.get(t, 'tools', scope({ sampling: {} }))?.items, ['x']);
  assert.is(cache.get(t, 'tools', scope({})), undefined, 'other capabilities: other entry');
  assert.is(cache.get(t, 'prompts', scope({ sampling: {} })), undefined, 'other kind');
  c.advance(100);
  assert.is(cache.get(t, 'tools', scope({ sampling: {} })), undefined, 'expired');
  assert.is(cache.size, 0);
});

test('invalidate drops the kind in every scope, and refuses a fetch that began before it', () => {
  const c = clock();
  const cache = new ListCache({ now: c.now });
  const t = targetOf(table('v1'));
  const until = { kind: 'until' as const, expiresAt: c.now() + 1_000, scope: 'public' as const, hinted: false };
  cache.put(t, 'tools', scope({}), ['a'], until, cache.generation(t));
  cache.put(t, 'tools', scope({ roots: {} }), ['b'], until, cache.generation(t));
  cache.put(t, 'resources', scope({}), ['r'], until, cache.generation(t));
  const before = cache.generation(t);
  cache.invalidate(t.backend, t.name, ['tools']);
  assert.is(cache.get(t, 'tools', scope({})), undefined);
  assert.is(cache.get(t, 'tools', scope({ roots: {} })), undefined);
  assert.ok(cache.get(t, 'resources', scope({})), 'other kinds stay');
  cache.put(t, 'tools', scope({}), ['stale'], until, before);
  assert.is(cache.get(t, 'tools', scope({})), undefined, 'fetched before the list changed: not stored');
});

test('retain: a changed target definition or a gone endpoint drops entries; an unchanged target keeps them', () => {
  const cache = new ListCache();
  const v1 = table('v1');
  const t = targetOf(v1);
  const until = { kind: 'until' as const, expiresAt: Date.now() + 60_000, scope: 'public' as const, hinted: false };
  cache.put(t, 'tools', scope(), ['a'], until, cache.generation(t));
  cache.retain(table('v2').routes);
  assert.is(cache.size, 1);
  cache.retain(table('v3', 'http://127.0.0.1:9/mcp', 'PROTOCOL_ERA_LEGACY').routes);
  assert.is(cache.size, 0, 'definition changed');
  cache.put(t, 'tools', scope(), ['a'], until, cache.generation(t));
  cache.retain(table('v4', 'http://127.0.0.1:10/mcp').routes);
  assert.is(cache.size, 0, 'endpoint gone');
});

test('a target holds a bounded number of entries, the oldest going first', () => {
  const cache = new ListCache();
  const t = targetOf(table('v1'));
  const until = { kind: 'until' as const, expiresAt: Date.now() + 60_000, scope: 'public' as const, hinted: false };
  for (let i = 0; i < 100; i++) cache.put(t, 'tools', scope({ experimental: { n: i } }), [i], until, cache.generation(t));
  assert.is(cache.size, 64);
  assert.is(cache.get(t, 'tools', scope({ experimental: { n: 0 } })), undefined);
  assert.equal(cache.get(t, 'tools', scope({ experimental: { n: 99 } }))?.items, [99]);
});

test.run();
