// WatchEvents and backpressure: a watcher that reads slowly is paused (nothing is written past what
// gRPC's flow control takes; events wait in the log's order), catches up in order when it reads
// again, and one that falls too far behind is ended with RESOURCE_EXHAUSTED naming the from_seq to
// resume from, instead of the control plane buffering every event for it without bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../shared/log.ts';
import { serviceClient } from '../../shared/proto/load.ts';
import type { AdminEvent } from '../../shared/proto/messages.ts';
import { DiscoveryServer } from '../discovery/server.ts';
import { ProxyRegistry } from '../discovery/proxies.ts';
import { MemoryEventLog } from '../events/log.ts';
import { startGrpcServer, stopGrpcServer } from '../grpc/server.ts';
import { SnapshotCache } from '../snapshots/cache.ts';
import type { SourceChange } from '../sources/source.ts';
import { AdminServer } from './server.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

async function serve(maxBehind: number) {
  const cache = new SnapshotCache();
  const proxies = new ProxyRegistry();
  const events = new MemoryEventLog({ retention: 100_000 });
  const admin = new AdminServer({ cache, events, proxies, watchMaxBehind: maxBehind });
  const discovery = new DiscoveryServer({ cache, proxies, logger });
  const { server, port } = await startGrpcServer({ address: '127.0.0.1', port: 0, discovery: discovery.service(), admin: admin.handlers() });
  const Client = serviceClient('AdminService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { WatchEvents(request: { fromSeq: string }): grpc.ClientReadableStream<AdminEvent> };
  return { events, server, client };
}

/** `n` Service upserts of about 1 KB each (a watcher's flow-control window fills after a few dozen). */
function changes(from: number, n: number): SourceChange[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'upsert' as const,
    object: { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${from + i}`, namespace: 'ns', annotations: { padding: 'x'.repeat(1000) } } },
  }));
}

function watch(client: Awaited<ReturnType<typeof serve>>['client'], fromSeq: number) {
  const call = client.WatchEvents({ fromSeq: String(fromSeq) });
  const seqs: number[] = [];
  call.on('data', (event: AdminEvent) => seqs.push(Number(event.seq)));
  call.on('error', () => undefined);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { call, seqs, status };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('a watcher that pauses catches up in order, without a gap or a repeat, once it reads again', async () => {
  const { events, server, client } = await serve(2000);
  const watcher = watch(client, 0);
  try {
    await sleep(100); // subscribed
    watcher.call.pause();
    // More than gRPC's flow control holds, less than the limit: the server pauses, then resumes.
    for (let i = 0; i < 15; i++) events.append('test', changes(i * 100, 100));
    await sleep(200);
    const before = watcher.seqs.length;
    assert.ok(before < 1500, `a paused reader did not get everything (${before})`);
    watcher.call.resume();
    await until(() => watcher.seqs.length === 1500, `all 1500 events (have ${watcher.seqs.length})`);
    events.append('test', changes(5000, 10));
    await until(() => watcher.seqs.length === 1510, 'the next live ones');
    assert.equal(watcher.seqs, Array.from({ length: 1510 }, (_, i) => i + 1), 'in order, each once');
  } finally {
    watcher.call.cancel();
    client.close();
    await stopGrpcServer(server);
  }
});

test('a watcher that falls too far behind is ended with RESOURCE_EXHAUSTED, told where to resume; it resumes from there', async () => {
  const { events, server, client } = await serve(200);
  const watcher = watch(client, 0);
  try {
    await sleep(100);
    watcher.call.pause();
    for (let i = 0; i < 20; i++) events.append('test', changes(i * 100, 100));
    await sleep(200);
    watcher.call.resume();
    const status = await Promise.race([watcher.status, sleep(5000).then(() => undefined)]);
    assert.ok(status, `the stream was not ended (${watcher.seqs.length} of 2000 events delivered)`);
    assert.is(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.details, /fell .* behind/);
    const resume = Number(/from_seq (\d+)/.exec(status.details)?.[1]);
    assert.ok(resume > 1 && resume < 2000, status.details);
    // Every event written before the status reaches the client ('status' may come before its last 'data').
    await until(() => watcher.seqs.length >= resume - 1, `the ${resume - 1} events written (have ${watcher.seqs.length})`);
    await sleep(50);
    assert.equal(watcher.seqs, Array.from({ length: resume - 1 }, (_, i) => i + 1), 'what it got is in order, without a gap, up to where it resumes');
    const delivered = watcher.seqs.length;
    // A new watch from there gets the rest, none twice.
    const again = watch(client, resume);
    try {
      await until(() => again.seqs.length === 2000 - delivered, `the rest (have ${again.seqs.length})`);
      assert.equal([...watcher.seqs, ...again.seqs], Array.from({ length: 2000 }, (_, i) => i + 1));
    } finally {
      again.call.cancel();
    }
  } finally {
    watcher.call.cancel();
    client.close();
    await stopGrpcServer(server);
  }
});

test('a backlog larger than the limit is sent at the reader\'s pace, not refused', async () => {
  const { events, server, client } = await serve(100);
  for (let i = 0; i < 10; i++) events.append('test', changes(i * 100, 100));
  const watcher = watch(client, 1);
  try {
    await until(() => watcher.seqs.length === 1000, `the backlog (have ${watcher.seqs.length})`);
    assert.equal(watcher.seqs, Array.from({ length: 1000 }, (_, i) => i + 1));
  } finally {
    watcher.call.cancel();
    client.close();
    await stopGrpcServer(server);
  }
});

test.run();
