// The session store contract (issue 8), run against both implementations: in memory, and NATS
// JetStream KV on a real nats-server (v2.14.x from its Go module, cached).
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NatsSessionStore } from '../proxy/sessions/nats-store.ts';
import { MemorySessionStore, StoreConflict, type SessionChange, type SessionRecord, type SessionStore } from '../proxy/sessions/store.ts';
import { startNatsServer, type NatsServer } from './support/nats.ts';
import { until } from './support/processes.ts';

/** uvu has no rejects(): the promise must reject with an error of this class. */
async function rejectsWith(promise: () => Promise<unknown>, type: new (...args: never[]) => Error, message: string): Promise<void> {
  try {
    await promise();
  } catch (error) {
    assert.instance(error, type, message);
    return;
  }
  assert.unreachable(`${message}: it did not fail`);
}

const IDLE_TTL_MS = 1500;
const HEARTBEAT_TTL_MS = 1500;

let nats: NatsServer;
const stores: Array<[string, () => Promise<SessionStore>]> = [
  ['memory', async () => new MemorySessionStore({ idleTtlMs: IDLE_TTL_MS, heartbeatTtlMs: HEARTBEAT_TTL_MS })],
  ['nats', async () => NatsSessionStore.open({ servers: nats.url, idleTtlMs: IDLE_TTL_MS, heartbeatTtlMs: HEARTBEAT_TTL_MS, prefix: `t${randomBytes(4).toString('hex')}` })],
];

function record(id: string, owner = 'replica-a'): SessionRecord {
  return { id, owner, principal: 'jwt:https://idp#alice', routePrefix: '/mcp', transport: 'streamable-http', protocolVersion: '2025-06-18', upstreams: { echo: { sessionId: 'u-1', endpoint: 'http://127.0.0.1:3001/mcp', initializeResult: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'echo', version: '1' } } } } };
}

test.before(async () => {
  nats = await startNatsServer();
});

test.after(async () => {
  await nats?.destroy();
});

for (const [name, open] of stores) {
  test(`${name}: create, get, compare-and-set update, conflicts, delete`, async () => {
    const store = await open();
    try {
      const first = await store.create(record('s1'));
      await rejectsWith(() => store.create(record('s1')), StoreConflict, 'a second create loses');
      const read = await store.get('s1');
      assert.equal(read?.value, record('s1'));
      assert.is(read?.revision, first);
      const second = await store.update({ ...record('s1'), owner: 'replica-b' }, first);
      assert.ok(second > first);
      await rejectsWith(() => store.update({ ...record('s1'), owner: 'replica-c' }, first), StoreConflict, 'a stale revision loses');
      assert.is((await store.get('s1'))?.value.owner, 'replica-b');
      await store.delete('s1');
      assert.is(await store.get('s1'), undefined);
      await rejectsWith(() => store.update(record('s1'), second), StoreConflict, 'an update of a deleted record loses');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a record expires after the idle TTL unless touched`, async () => {
    const store = await open();
    try {
      await store.create(record('idle'));
      await store.create(record('busy'));
      const started = Date.now();
      while (Date.now() - started < IDLE_TTL_MS + 1500) {
        await store.touch('busy');
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      assert.is(await store.get('idle'), undefined, 'the untouched record is gone');
      assert.ok(await store.get('busy'), 'the touched one lives on');
    } finally {
      await store.close();
    }
  });

  test(`${name}: watchers see later writes and deletes; heartbeats list live replicas`, async () => {
    const store = await open();
    try {
      const seen: SessionChange[] = [];
      const stop = await store.watch((change) => seen.push(change));
      await store.create(record('w1'));
      await store.update({ ...record('w1'), owner: 'replica-b' }, (await store.get('w1'))!.revision);
      await store.delete('w1');
      await until(() => seen.length >= 3, 'three changes', 15_000); // NATS delivers them in order; a loaded CI machine takes its time
      stop();
      assert.equal(seen.map((c) => `${c.id}:${c.record?.owner ?? 'deleted'}`), ['w1:replica-a', 'w1:replica-b', 'w1:deleted']);

      await store.heartbeat({ id: 'replica-a', address: 'mcpmux.replica.a', startedAt: 1 });
      await store.heartbeat({ id: 'replica-b', address: 'mcpmux.replica.b', startedAt: 2 });
      assert.equal((await store.replicas()).map((r) => r.id), ['replica-a', 'replica-b']);
      const started = Date.now();
      while (Date.now() - started < HEARTBEAT_TTL_MS + 1500) {
        await store.heartbeat({ id: 'replica-b', address: 'mcpmux.replica.b', startedAt: 2 });
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      assert.equal((await store.replicas()).map((r) => r.id), ['replica-b'], 'a replica that stopped beating is gone');
    } finally {
      await store.close();
    }
  });
}

test('nats: two stores on one server share records, and a conflict between them has one winner', async () => {
  const [a, b] = await Promise.all([NatsSessionStore.open({ servers: nats.url, idleTtlMs: 60_000, heartbeatTtlMs: 60_000, prefix: 'shared' }), NatsSessionStore.open({ servers: nats.url, idleTtlMs: 60_000, heartbeatTtlMs: 60_000, prefix: 'shared' })]);
  try {
    const revision = await a.create(record('x'));
    assert.is((await b.get('x'))?.value.owner, 'replica-a');
    const outcomes = await Promise.allSettled([a.update({ ...record('x'), owner: 'a-wins' }, revision), b.update({ ...record('x'), owner: 'b-wins' }, revision)]);
    assert.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    assert.is(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof StoreConflict).length, 1);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test.run();
