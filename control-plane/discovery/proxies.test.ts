// The proxy registry: streams hold records by a per-stream token (a stale stream changes nothing),
// disconnected records expire after the grace period, and the per-group counts behind converged()
// stay equal to what a pass over every record would say, through reconnects, group moves and expiry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DISCONNECTED_PROXY_TTL_MS, ProxyRegistry } from './proxies.ts';

/** converged() as a pass over every record says it (what the control plane did before counts). */
function byList(registry: ProxyRegistry, group: string, version: string): boolean {
  const fleet = registry.list().filter((p) => p.group === group && p.connected);
  return fleet.length > 0 && fleet.every((p) => p.ackedVersion === version);
}

test('a stale stream changes nothing: not the versions, not the connection', () => {
  const registry = new ProxyRegistry();
  const old = registry.connect('p1', 'ns/gw', {}, '');
  registry.update(old, { ackedVersion: 'v1' });
  const fresh = registry.connect('p1', 'ns/gw', { era: 'x' }, 'v1');
  registry.update(old, { ackedVersion: 'v0', sentVersion: 'v0' }); // a late ACK on the old stream
  assert.is(registry.disconnect(old), false, 'the old stream\'s end does not disconnect the proxy');
  const state = registry.get('p1')!;
  assert.is(state.connected, true);
  assert.is(state.ackedVersion, 'v1');
  assert.equal(state.metadata, { era: 'x' });
  assert.ok(registry.converged('ns/gw', 'v1'));
  assert.is(registry.disconnect(fresh), true);
  assert.is(registry.get('p1')!.connected, false);
  assert.is(registry.disconnect(fresh), false, 'once');
});

test('disconnected records are forgotten after the grace period (default 10 minutes); a reconnect keeps the record', () => {
  assert.is(DISCONNECTED_PROXY_TTL_MS, 600_000);
  let now = 0;
  const registry = new ProxyRegistry({ now: () => now });
  const a = registry.connect('a', 'ns/gw', {}, '');
  const b = registry.connect('b', 'ns/gw', {}, '');
  registry.update(a, { lastNackVersion: 'v2', lastNackError: 'bad' });
  registry.disconnect(a);
  now += 60_000;
  registry.disconnect(b);
  now += DISCONNECTED_PROXY_TTL_MS - 60_000;
  assert.equal(registry.list().map((p) => p.nodeId), ['b'], 'a expired, b not yet');
  const again = registry.connect('b', 'ns/gw', {}, '');
  now += DISCONNECTED_PROXY_TTL_MS;
  assert.equal(registry.list().map((p) => `${p.nodeId} ${p.connected}`), ['b true'], 'a connected record never expires');
  registry.disconnect(again);
  now += DISCONNECTED_PROXY_TTL_MS;
  assert.equal(registry.list(), []);
  // A node id that comes back after it was forgotten starts afresh.
  registry.connect('a', 'ns/gw', {}, 'v3');
  assert.is(registry.get('a')!.lastNackVersion, '');
});

test('converged() agrees with a pass over every record through connects, ACKs, group moves, reconnects and expiry', () => {
  let now = 0;
  const registry = new ProxyRegistry({ now: () => now, disconnectedTtlMs: 1000 });
  const groups = ['a/gw', 'b/gw', ''];
  const versions = ['', 'v1', 'v2'];
  const streams = new Map<string, ReturnType<ProxyRegistry['connect']>[]>();
  let seed = 42;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let step = 0; step < 5000; step++) {
    const node = `p${random(20)}`;
    const held = streams.get(node) ?? [];
    const stream = held[random(Math.max(1, held.length))];
    switch (random(6)) {
      case 0:
        held.push(registry.connect(node, groups[random(3)]!, {}, versions[random(3)]!));
        streams.set(node, held);
        break;
      case 1:
      case 2:
        if (stream) registry.update(stream, { ackedVersion: versions[random(3)]! });
        break;
      case 3:
        if (stream) registry.update(stream, { group: groups[random(3)]! });
        break;
      case 4:
        if (stream) registry.disconnect(stream);
        break;
      default:
        now += random(400);
    }
    for (const group of groups) for (const version of versions) {
      assert.is(registry.converged(group, version), byList(registry, group, version), `step ${step}: ${group} ${version}`);
    }
  }
});

test('the convergence check per ACK at 1000 and 5000 proxies: O(1) counts against a pass over the registry (figures)', () => {
  for (const n of [1000, 5000]) {
    const registry = new ProxyRegistry();
    const streams = Array.from({ length: n }, (_, i) => registry.connect(`p${i}`, 'ns/gw', {}, 'v1'));
    const time = (check: () => boolean): number => {
      const started = performance.now();
      for (const stream of streams) {
        registry.update(stream, { ackedVersion: 'v2' });
        check();
      }
      return performance.now() - started;
    };
    const counts = time(() => registry.converged('ns/gw', 'v2'));
    assert.ok(registry.converged('ns/gw', 'v2'));
    for (const stream of streams) registry.update(stream, { ackedVersion: 'v1' });
    const pass = n <= 1000 ? time(() => byList(registry, 'ns/gw', 'v2')) : NaN;
    console.log(`${n} proxies ACK a version: ${counts.toFixed(1)} ms with counts${Number.isNaN(pass) ? '' : `, ${pass.toFixed(0)} ms copying the registry per ACK`}`);
    assert.ok(counts < 250, `${n} ACKs with counts took ${counts.toFixed(0)} ms`);
  }
});

test.run();
