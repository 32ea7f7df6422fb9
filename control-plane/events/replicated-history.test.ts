// The shared history against a real nats-server: compaction folds the whole window into the base,
// however large one batch made it, and a replica starting from that base holds every object.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'nats';
import { createLogger } from '../../shared/log.ts';
import { startNatsServer } from '../../test/support/nats.ts';
import type { SourceChange } from '../sources/source.ts';
import { HistoryStream } from './history-stream.ts';
import { ReplicatedHistory } from './replicated-history.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

const service = (i: number): SourceChange => ({
  type: 'upsert',
  object: { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'team', uid: `u${i}`, resourceVersion: String(i) }, spec: { ports: [{ port: 80 }] } },
});

test('a batch of five times the retention: the base holds every object before it, and a new replica starts with all of them', async () => {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const open = () => HistoryStream.open(nc, { stream: 'HISTORY_TEST', maxAgeMs: 0, maxBytes: 0, replicas: 1, logger });
  const histories: ReplicatedHistory[] = [];
  const make = async (): Promise<ReplicatedHistory> => {
    const history = new ReplicatedHistory({ stream: await open(), source: 'kubernetes', retention: 10, maxAgeMs: 0, logger, onEvents: () => {}, onBuild: () => {}, onTakeover: () => {} });
    histories.push(history);
    return history;
  };
  try {
    const leader = await make();
    await leader.start();
    leader.sourceBatch(Array.from({ length: 50 }, (_, i) => service(i + 1)));
    leader.sourceSynced();
    leader.setLeading(true);
    const deadline = Date.now() + 10_000;
    while (leader.baseSeq === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(leader.log.lastSeq, 50);
    assert.is(leader.baseSeq, 40, 'compacted to retention events back (the end of the one message)');
    assert.is(leader.log.list(0)[0]?.seq, 41, 'the window starts after the base');

    const fresh = await make();
    await fresh.start();
    assert.is(fresh.baseSeq, 40);
    assert.is(fresh.state.size, 50, 'the base (40 objects) and the window (10) make every object');
    assert.equal(fresh.log.list(0).map((e) => e.seq), leader.log.list(0).map((e) => e.seq));
  } finally {
    for (const history of histories) await history.stop();
    await nc.close();
    await nats.destroy();
  }
});

test('NATS is down for 8 s: the follower follows again from where it was, and the leader\'s next writes reach it', async () => {
  const nats = await startNatsServer();
  const connections = [await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 }), await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })];
  const histories: ReplicatedHistory[] = [];
  const make = async (i: number): Promise<ReplicatedHistory> => {
    const stream = await HistoryStream.open(connections[i]!, { stream: 'RESTART_TEST', maxAgeMs: 0, maxBytes: 0, replicas: 1, logger });
    const history = new ReplicatedHistory({ stream, source: 'kubernetes', retention: 100, maxAgeMs: 0, logger, onEvents: () => {}, onBuild: () => {}, onTakeover: () => {} });
    histories.push(history);
    return history;
  };
  const until = async (what: string, condition: () => boolean, ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    const leader = await make(0);
    const follower = await make(1);
    await Promise.all([leader.start(), follower.start()]);
    leader.sourceBatch(Array.from({ length: 5 }, (_, i) => service(i + 1)));
    leader.sourceSynced();
    leader.setLeading(true);
    await until('the follower holds the first five', () => follower.state.size === 5);

    // Down long enough for the consumers' heartbeats to miss (a NATS rollout, a node drain).
    await nats.stop();
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await nats.restart();
    leader.sourceBatch([service(6)]);
    await until('the follower holds the sixth, written after the restart', () => follower.state.size === 6);
    assert.equal(follower.log.list(0).map((e) => e.seq), [1, 2, 3, 4, 5, 6], 'no gap, no repeat');
    assert.equal(follower.anomalies, { duplicates: 0, gaps: 0 });
  } finally {
    for (const history of histories) await history.stop();
    for (const nc of connections) await nc.close();
    await nats.destroy();
  }
});

test.run();
