// The replicas' shared SSE event log (proxy/fleet/event-log.ts) on a real nats-server with
// JetStream: sequence numbers, replay after an id, following what another replica appends, the
// per-stream bound, dropping a session, and a NATS restart under a follower.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JetStreamEventLog, type EventLogOptions, type LoggedEvent } from '../proxy/fleet/event-log.ts';
import { McpmuxError, type ErrorCode } from '../shared/errors.ts';
import { startNatsServer, type NatsServer } from './support/nats.ts';
import { until } from './support/processes.ts';

let nats: NatsServer;
const connections: NatsConnection[] = [];

test.before(async () => {
  nats = await startNatsServer();
});

test.after(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => {})));
  await nats?.destroy();
});

/** A connection as a replica makes one (reconnecting for ever), closed after the file. */
async function replica(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  connections.push(nc);
  return nc;
}

function options(overrides: Partial<EventLogOptions> = {}): EventLogOptions {
  return { prefix: `t${randomBytes(4).toString('hex')}`, maxEventsPerStream: 100, maxAgeMs: 60_000, ...overrides };
}

/** uvu has no rejects(): the promise must reject with an McpmuxError of this code. */
async function rejectsWith(promise: () => Promise<unknown>, code: ErrorCode, message: string): Promise<McpmuxError> {
  try {
    await promise();
  } catch (error) {
    assert.instance(error, McpmuxError, message);
    assert.is((error as McpmuxError).code, code, message);
    return error as McpmuxError;
  }
  assert.unreachable(`${message}: it did not fail`);
  throw new Error('unreachable');
}

const seqs = (events: LoggedEvent[]): number[] => events.map((e) => e.seq);

/** Awaits a follower's caughtUp, failing the test (rather than hanging it) if it never comes. */
async function caughtUp(follower: { caughtUp: Promise<void> }, what = 'caughtUp'): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not resolve`)), 5000)));
  try {
    await Promise.race([follower.caughtUp, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('append returns increasing seqs; replay returns the later ones in order; sessions and streams are apart', async () => {
  const log = await JetStreamEventLog.open(await replica(), options());
  try {
    const a1 = await log.append('sessA', 'g', '{"n":1}');
    const b1 = await log.append('sessB', 'g', '{"other":true}');
    const a2 = await log.append('sessA', 'g', '{"n":2}');
    const a3 = await log.append('sessA', 'g', '{"n":3}');
    const aPost = await log.append('sessA', 'sessA-post', '{"post":1}');
    assert.ok(a1 < b1 && b1 < a2 && a2 < a3 && a3 < aPost, `one increasing sequence: ${[a1, b1, a2, a3, aPost]}`);

    assert.equal(await log.replay('sessA', 'g', 0), [
      { seq: a1, data: '{"n":1}' },
      { seq: a2, data: '{"n":2}' },
      { seq: a3, data: '{"n":3}' },
    ]);
    assert.equal(await log.replay('sessA', 'g', a1), [
      { seq: a2, data: '{"n":2}' },
      { seq: a3, data: '{"n":3}' },
    ]);
    assert.equal(await log.replay('sessA', 'g', a3), [], 'nothing after the last one');
    assert.equal(await log.replay('sessB', 'g', 0), [{ seq: b1, data: '{"other":true}' }]);
    assert.equal(await log.replay('sessA', 'sessA-post', 0), [{ seq: aPost, data: '{"post":1}' }]);
    assert.equal(await log.replay('sessC', 'g', 0), [], 'an unknown session has no events');

    for (const bad of ['', 'a.b', 'a*', '>', 'a b', 'tab\t']) {
      await rejectsWith(() => log.append(bad, 'g', '{}'), 'MCPMUX_INVALID_REQUEST', `session id ${JSON.stringify(bad)}`);
      await rejectsWith(() => log.append('sessA', bad, '{}'), 'MCPMUX_INVALID_REQUEST', `stream key ${JSON.stringify(bad)}`);
    }
    assert.throws(() => log.follow('sessA', 'g', -1, () => {}), (error: unknown) => error instanceof McpmuxError && error.code === 'MCPMUX_INVALID_REQUEST');
    // Over the server's max_payload (1 MiB by default): a limit, not an outage.
    await rejectsWith(() => log.append('sessA', 'g', JSON.stringify('x'.repeat(2 * 1024 * 1024))), 'MCPMUX_LIMIT_EXCEEDED', 'a 2 MiB event');
  } finally {
    await log.close();
  }
});

test('follow from 0 gets the backlog, then what another replica appends, until stop()', async () => {
  const opts = options();
  const ncA = await replica();
  const a = await JetStreamEventLog.open(ncA, opts);
  const b = await JetStreamEventLog.open(await replica(), opts);
  try {
    const stored = [await a.append('s1', 'g', '"one"'), await a.append('s1', 'g', '"two"'), await a.append('s1', 'g', '"three"')];
    await a.append('s2', 'g', '"not mine"');

    const seen: LoggedEvent[] = [];
    let inCallback = false;
    const follower = a.follow('s1', 'g', 0, (event) => {
      assert.not.ok(inCallback, 'never called concurrently');
      inCallback = true;
      seen.push(event);
      inCallback = false;
    });
    await caughtUp(follower);
    assert.equal(seqs(seen), stored, 'the backlog, in order, when caughtUp resolves');

    const live: number[] = [];
    for (let i = 0; i < 20; i++) live.push(await b.append('s1', 'g', JSON.stringify({ live: i })));
    await b.append('s1', 'other', '"another stream"');
    await until(() => seen.length >= stored.length + live.length, 'the live events', 5000);
    assert.equal(seqs(seen), [...stored, ...live], 'backlog then live, in order, no duplicates');
    assert.equal(seen.at(-1), { seq: live.at(-1)!, data: '{"live":19}' });

    follower.stop();
    assert.is(await follower.closed, undefined, 'ended by stop()');
    // Another follower proves the next event was delivered; the stopped one must not get it.
    const witness: LoggedEvent[] = [];
    const other = a.follow('s1', 'g', live.at(-1)!, (event) => witness.push(event));
    await caughtUp(other);
    const after = await b.append('s1', 'g', '"after stop"');
    await until(() => witness.length === 1, 'the witness sees the event');
    assert.is(witness[0]!.seq, after);
    await sleep(200);
    assert.is(seen.length, stored.length + live.length, 'no callback after stop()');
    other.stop();

    // Each follower's consumer is deleted when it stops, not left to expire.
    const jsm = await ncA.jetstreamManager();
    await until(async () => (await jsm.streams.info(`${opts.prefix}-events`)).state.consumer_count === 0, 'no consumers left');

    // caughtUp also resolves when there was no backlog at all.
    const empty = a.follow('nobody', 'g', 0, () => assert.unreachable('no events'));
    await caughtUp(empty, 'caughtUp without a backlog');
    empty.stop();
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('follow after a middle seq (Last-Event-ID) gets only the later events', async () => {
  const log = await JetStreamEventLog.open(await replica(), options());
  try {
    const stored: number[] = [];
    for (let i = 0; i < 6; i++) stored.push(await log.append('s1', 'g', JSON.stringify(i)));
    const seen: LoggedEvent[] = [];
    const follower = log.follow('s1', 'g', stored[2]!, (event) => seen.push(event));
    await caughtUp(follower);
    assert.equal(seqs(seen), stored.slice(3));
    assert.equal(seen.map((e) => e.data), ['3', '4', '5']);
    const next = await log.append('s1', 'g', '6');
    await until(() => seen.length === 4, 'the next event');
    assert.is(seen[3]!.seq, next);
    follower.stop();
  } finally {
    await log.close();
  }
});

test('a stream keeps only its last maxEventsPerStream events', async () => {
  const log = await JetStreamEventLog.open(await replica(), options({ maxEventsPerStream: 5 }));
  try {
    const stored: number[] = [];
    for (let i = 0; i < 8; i++) stored.push(await log.append('s1', 'g', JSON.stringify(i)));
    const other = await log.append('s1', 'other', '"x"');
    assert.equal(seqs(await log.replay('s1', 'g', 0)), stored.slice(3), 'the oldest three are gone');
    assert.equal((await log.replay('s1', 'g', 0)).map((e) => e.data), ['3', '4', '5', '6', '7']);
    assert.equal(seqs(await log.replay('s1', 'other', 0)), [other], 'the bound is per stream');
    const seen: LoggedEvent[] = [];
    const follower = log.follow('s1', 'g', stored[0]!, (event) => seen.push(event));
    await caughtUp(follower);
    assert.equal(seqs(seen), stored.slice(3), 'a resume from a dropped id starts at the oldest kept');
    follower.stop();
  } finally {
    await log.close();
  }
});

test('dropSession removes that session’s events (all streams) and no other’s', async () => {
  const log = await JetStreamEventLog.open(await replica(), options());
  try {
    await log.append('gone', 'g', '1');
    await log.append('gone', 'gone-post', '2');
    const kept = await log.append('kept', 'g', '3');
    await log.dropSession('gone');
    assert.equal(await log.replay('gone', 'g', 0), []);
    assert.equal(await log.replay('gone', 'gone-post', 0), []);
    assert.equal(await log.replay('kept', 'g', 0), [{ seq: kept, data: '3' }]);
    const next = await log.append('gone', 'g', '4');
    assert.ok(next > kept, 'sequences go on after a purge');
    await rejectsWith(() => log.dropSession('a.b'), 'MCPMUX_INVALID_REQUEST', 'a bad session id');
  } finally {
    await log.close();
  }
});

test('a follower whose consumer is deleted on the server goes on with a new one', async () => {
  const opts = options();
  const nc = await replica();
  const log = await JetStreamEventLog.open(nc, opts);
  const jsm = await nc.jetstreamManager();
  const stream = `${opts.prefix}-events`;
  const consumers = async (): Promise<string[]> => {
    const names: string[] = [];
    for await (const info of jsm.consumers.list(stream)) names.push(info.name);
    return names;
  };
  try {
    const first = await log.append('s1', 'g', '1');
    const seen: LoggedEvent[] = [];
    const follower = log.follow('s1', 'g', 0, (event) => seen.push(event));
    await caughtUp(follower);
    const [old] = await consumers();
    assert.ok(old, 'the follower has a consumer');
    await jsm.consumers.delete(stream, old);
    await until(async () => (await consumers()).some((name) => name !== old), 'a new consumer', 5000);
    const next = await log.append('s1', 'g', '2');
    await until(() => seen.length === 2, 'the event after the new consumer');
    assert.equal(seqs(seen), [first, next]);
    follower.stop();
  } finally {
    await log.close();
  }
});

test('a listener that throws ends its follower with that error', async () => {
  const log = await JetStreamEventLog.open(await replica(), options());
  try {
    await log.append('s1', 'g', '1');
    const follower = log.follow('s1', 'g', 0, () => {
      throw new Error('listener broke');
    });
    const ended = await follower.closed;
    assert.is(ended?.message, 'listener broke');
  } finally {
    await log.close();
  }
});

test('append rejects within its timeout when NATS does not answer (server frozen)', async () => {
  const log = await JetStreamEventLog.open(await replica(), options());
  const pid = nats.process.child.pid!;
  try {
    process.kill(pid, 'SIGSTOP');
    // A signal lands asynchronously: wait until the kernel says the server is stopped.
    await until(() => /^\d+ \(.*\) T/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), 'nats-server stopped', 2_000);
    const started = Date.now();
    await rejectsWith(() => log.append('s1', 'g', '"frozen"', 500), 'MCPMUX_FLEET_UNAVAILABLE', 'no answer');
    const took = Date.now() - started;
    // Not the 5 s JetStream default, nor at once: it waited for the answer as long as it was told.
    assert.ok(took >= 400 && took < 2500, `rejected after ${took} ms`);
  } finally {
    process.kill(pid, 'SIGCONT');
    await log.close();
  }
});

test('a follower survives a NATS restart; appends during the outage fail fast', async () => {
  const opts = options();
  const a = await JetStreamEventLog.open(await replica(), opts);
  const b = await JetStreamEventLog.open(await replica(), opts);
  try {
    const before = [await a.append('s1', 'g', '"before-1"'), await a.append('s1', 'g', '"before-2"')];
    const seen: LoggedEvent[] = [];
    const follower = a.follow('s1', 'g', 0, (event) => seen.push(event));
    await caughtUp(follower);

    await nats.stop();
    await sleep(100); // for both connections to see the socket close
    const started = Date.now();
    const failure = await rejectsWith(() => a.append('s1', 'g', '"during"', 1000), 'MCPMUX_FLEET_UNAVAILABLE', 'append during the outage');
    assert.ok(Date.now() - started < 2000, `within its timeout (${Date.now() - started} ms)`);
    assert.is(failure.httpStatus, 503);
    await rejectsWith(() => b.replay('s1', 'g', 0), 'MCPMUX_FLEET_UNAVAILABLE', 'replay during the outage');
    const tooEarly = b.follow('s1', 'g', 0, () => {});
    await rejectsWith(() => tooEarly.caughtUp, 'MCPMUX_FLEET_UNAVAILABLE', 'a follow that cannot start');

    await nats.restart();
    // Replica b appends as soon as it is back; the follower on replica a must get every one.
    const after: number[] = [];
    const deadline = Date.now() + 15_000;
    while (after.length < 3 && Date.now() < deadline) {
      try {
        after.push(await b.append('s1', 'g', JSON.stringify({ after: after.length })));
      } catch {
        await sleep(100);
      }
    }
    assert.is(after.length, 3, 'appends work again');
    await until(() => seen.length >= before.length + after.length, 'the events appended after the restart', 15_000);
    assert.equal(seqs(seen), [...before, ...after], 'in order, no duplicates, nothing lost');
    assert.equal(seen.at(-1)?.data, '{"after":2}');
    follower.stop();
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test.run();
