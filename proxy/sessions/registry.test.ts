// Idle eviction closes downstream sessions and, with them, their upstream sessions (DELETE).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../shared/log.ts';
import { MemoryEventStore } from '../downstream/event-store.ts';
import { StreamableChannel } from '../downstream/streamable-channel.ts';
import { MuxSession } from '../mux/session.ts';
import { compileRoutingTable } from '../routing/table.ts';
import { Cleanup } from '../../shared/testing/processes.ts';
import { simpleSnapshot } from '../testing/snapshots.ts';
import { startServerEverything, type EverythingServer } from '../../shared/testing/upstreams.ts';
import { UpstreamPool } from '../upstream/pool.ts';
import { SessionRegistry } from './registry.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
const pool = new UpstreamPool();
const store = new MemoryEventStore({ maxEventsPerSession: 16, maxBytesPerSession: 1 << 16 });
let everything: EverythingServer;

test.before(async () => {
  everything = await startServerEverything();
  cleanup.add(() => everything.stop());
  cleanup.add(() => pool.close());
});
test.after(() => cleanup.run());

function newSession(id: string): MuxSession {
  return new MuxSession({
    id,
    routePrefix: '/mcp',
    channel: new StreamableChannel({ sessionId: id, store, keepAliveMs: 15_000, maxBufferedBytes: 1 << 20 }),
    pool,
    logger,
    serverInfo: { name: 'mcpmux', version: 'test' },
    requestTimeoutMs: 5_000,
    initializeTimeoutMs: 5_000,
    targetRetryMs: 1_000,
  });
}

function terminations(): number {
  return everything.output().match(/Received session termination request/g)?.length ?? 0;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
}

test('sessions idle past the TTL are evicted and their upstream sessions ended; active ones stay', async () => {
  const backend = compileRoutingTable(simpleSnapshot({ version: 'v', targets: { everything: everything.url } })).routes[0]!.backend;
  const registry = new SessionRegistry({ logger, idleTtlMs: 1_000 });
  cleanup.add(() => registry.closeAll());
  const idle = newSession('idle');
  const active = newSession('active');
  for (const s of [idle, active]) {
    const init = await s.initialize({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, backend);
    assert.ok('result' in init);
    registry.add(s);
  }
  const now = Date.now();
  idle.lastActiveAt = now - 5_000;
  const before = terminations();
  assert.is(registry.evictIdle(now), 1);
  assert.is(registry.get('idle'), undefined);
  assert.is(registry.get('active'), active);
  await until(() => terminations() === before + 1, 'the idle session DELETEd its upstream session');
});

test('delete() and closeAll() end upstream sessions too', async () => {
  const backend = compileRoutingTable(simpleSnapshot({ version: 'v', targets: { everything: everything.url } })).routes[0]!.backend;
  const registry = new SessionRegistry({ logger, idleTtlMs: 60_000 });
  const sessions = ['a', 'b', 'c'].map(newSession);
  for (const s of sessions) {
    await s.initialize({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, backend);
    registry.add(s);
  }
  const before = terminations();
  assert.is(registry.delete('a'), true);
  assert.is(registry.delete('a'), false);
  await registry.closeAll();
  assert.is(registry.size, 0);
  await until(() => terminations() === before + 3, 'three upstream sessions DELETEd');
});

test.run();
