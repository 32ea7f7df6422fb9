// Admin answers that scale (issue 18 §3), through a real gRPC server and AdminClient: List* pages
// that neither repeat nor skip an item when items are added between page calls, bad tokens refused
// with what to do, WatchEvents resumed after a reconnect without a gap or a repeat (or refused,
// naming the oldest retained seq), GetSnapshot of a version no longer kept naming the oldest kept.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../../shared/testing/processes.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../../shared/admin/client.ts';
import { createLogger } from '../../shared/log.ts';
import { listenerSnapshot } from '../../shared/testing/snapshots.ts';
import { DiscoveryServer } from '../discovery/server.ts';
import { ProxyRegistry } from '../discovery/proxies.ts';
import type { ConfigEvent } from '../events/event.ts';
import { MemoryEventLog } from '../events/log.ts';
import { startGrpcServer, stopGrpcServer } from '../grpc/server.ts';
import { SnapshotCache } from '../snapshots/cache.ts';
import type { SourceChange } from '../sources/source.ts';
import { AdminServer, MEMORY_HISTORY } from './server.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });

async function serve(options: { retention?: number; historyLimit?: number; history?: () => string; restored?: ConfigEvent[] } = {}) {
  const cache = new SnapshotCache({ historyLimit: options.historyLimit ?? 100 });
  const proxies = new ProxyRegistry();
  const events = new MemoryEventLog({ retention: options.retention ?? 10_000, ...(options.restored ? { restored: { events: options.restored, builds: [] } } : {}) });
  const admin = new AdminServer({ cache, events, proxies, ...(options.history ? { history: options.history } : {}) });
  const discovery = new DiscoveryServer({ cache, proxies, logger });
  const { server, port } = await startGrpcServer({ address: '127.0.0.1', port: 0, discovery: discovery.service(), admin: admin.handlers() });
  const client = new AdminClient(`127.0.0.1:${port}`);
  return {
    cache,
    proxies,
    events,
    admin,
    client,
    async stop() {
      client.close();
      await stopGrpcServer(server);
    },
  };
}

function services(from: number, n: number): SourceChange[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'upsert' as const, object: { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${from + i}`, namespace: 'ns' } } }));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return promise.then(
    () => {
      throw new Error('the call succeeded');
    },
    (error: grpc.ServiceError) => error,
  );
}


test('ListProxies pages by node id: proxies that connect between pages never make a page repeat or skip one', async () => {
  const s = await serve();
  try {
    const ids = ['p-02', 'p-04', 'p-06', 'p-08', 'p-10', 'p-12', 'p-14'];
    for (const id of ids) s.proxies.connect(id, 'ns/gw', {}, '');
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await s.client.listProxiesPage({ pageSize: 3, pageToken: token });
      assert.is(page.history, MEMORY_HISTORY);
      seen.push(...page.proxies.map((p) => p.nodeId));
      token = page.nextPageToken;
      // New proxies before where the pages are (already passed) and after it.
      s.proxies.connect(`p-01${pages}`, 'ns/gw', {}, '');
      s.proxies.connect(`p-9${pages}`, 'ns/gw', {}, '');
      pages++;
    } while (token && pages < 20);
    assert.is(new Set(seen).size, seen.length, `no proxy twice: ${seen.join(' ')}`);
    for (const id of ids) assert.ok(seen.includes(id), `${id} is on a page: ${seen.join(' ')}`);
    assert.equal(seen, [...seen].sort(), 'by node id');
    // Everything there now, following the tokens.
    const all = await s.client.listProxies(2);
    assert.equal(all.map((p) => p.nodeId), s.proxies.list().map((p) => p.nodeId));
    const one = await s.client.listProxiesPage({ pageSize: 100 });
    assert.is(one.nextPageToken, '', 'empty on the last page');
  } finally {
    await s.stop();
  }
});

test('ListVersions pages newest first per group: versions built between pages come first in their group, so later pages shift nothing', async () => {
  const s = await serve();
  try {
    let port = 1000;
    let seq = 0;
    const build = (...groups: string[]) => s.cache.setAll([...new Set([...s.cache.groups(), ...groups])].map((g) => listenerSnapshot(g, port++)), ++seq);
    for (let i = 0; i < 4; i++) build('a/gw', 'b/gw');
    const before = (await s.client.listVersions()).map((v) => `${v.group} ${v.version}`);
    assert.is(before.length, 8);
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await s.client.listVersionsPage({ pageSize: 3, pageToken: token });
      seen.push(...page.versions.map((v) => `${v.group} ${v.version}`));
      token = page.nextPageToken;
      build(); // a new version of each group, at the front of its group
      pages++;
    } while (token && pages < 20);
    // Versions of a group the pages had not reached yet come first in it: there, not elsewhere.
    assert.is(new Set(seen).size, seen.length, `no version twice: ${seen.join(', ')}`);
    assert.equal(seen.filter((v) => before.includes(v)), before, 'every version there when paging began, in order');
    assert.ok(seen.slice(4).every((v) => v.startsWith('b/gw')) && seen.length > before.length, `new ones only in the group not reached yet: ${seen.join(', ')}`);
    // One group, its own token; a token of every group's listing is refused for one group.
    const first = await s.client.listVersionsPage({ group: 'b/gw', pageSize: 2 });
    assert.ok(first.versions.every((v) => v.group === 'b/gw'));
    const wrong = await failure(s.client.listVersionsPage({ group: 'a/gw', pageToken: first.nextPageToken }));
    assert.is(wrong.code, grpc.status.INVALID_ARGUMENT);
    assert.match(wrong.details, /given by ListVersions of group b\/gw, not of group a\/gw/);
  } finally {
    await s.stop();
  }
});

test('ListEvents pages by seq (limit still works as page_size); events appended between pages come once, on a later page', async () => {
  const s = await serve();
  try {
    s.events.append('test', services(0, 10));
    const seqs: number[] = [];
    let page = await s.client.listEventsPage({ fromSeq: 1, pageSize: 3 });
    let pages = 1;
    for (;;) {
      seqs.push(...page.events.map((e) => Number(e.seq)));
      if (!page.nextPageToken || pages > 20) break;
      if (pages <= 3) s.events.append('test', services(100 + pages, 1));
      // from_seq sent again with the token, as a client adding the token to its request does: the token wins.
      page = await s.client.listEventsPage({ fromSeq: 1, pageSize: 3, pageToken: page.nextPageToken });
      pages++;
    }
    assert.equal(seqs, range(1, 13), 'every event once, in order');
    assert.is(page.nextPageToken, '', 'empty on the last page');
    // limit, the former page_size (AdminClient sends only page_size; grpcurl.test sends limit over the wire).
    const limited = s.admin.listEvents({ fromSeq: '5', limit: 4, pageSize: 0, pageToken: '' });
    assert.equal(limited.events.map((e) => Number(e.seq)), [5, 6, 7, 8]);
    assert.ok(limited.nextPageToken, 'and pages like it');
    const all = await s.client.listEventsPage({});
    assert.is(all.events.length, 13, 'page_size 0: the default (1000) holds them all');
    assert.is(all.nextPageToken, '');
  } finally {
    await s.stop();
  }
});

test('a bad page_token is INVALID_ARGUMENT saying what to send; one overtaken by retention is OUT_OF_RANGE', async () => {
  const s = await serve({ retention: 5 });
  try {
    s.events.append('test', services(0, 4));
    const bad = await failure(s.client.listEventsPage({ pageToken: 'definitely not a token' }));
    assert.is(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /not base64url.*send the next_page_token of the previous ListEvents answer unchanged/);
    s.proxies.connect('p-1', 'ns/gw', {}, '');
    s.proxies.connect('p-2', 'ns/gw', {}, '');
    const proxyToken = (await s.client.listProxiesPage({ pageSize: 1 })).nextPageToken;
    const other = await failure(s.client.listEventsPage({ pageToken: proxyToken }));
    assert.is(other.code, grpc.status.INVALID_ARGUMENT);
    assert.match(other.details, /belongs to ListProxies, not ListEvents/);
    const mangled = await failure(s.client.listProxiesPage({ pageToken: `${proxyToken.slice(0, -3)}x` }));
    assert.is(mangled.code, grpc.status.INVALID_ARGUMENT);

    const token = (await s.client.listEventsPage({ pageSize: 2 })).nextPageToken;
    assert.ok(token);
    s.events.append('test', services(10, 20)); // retention keeps the newest 5: 20..24
    const overtaken = await failure(s.client.listEventsPage({ pageSize: 2, pageToken: token }));
    assert.is(overtaken.code, grpc.status.OUT_OF_RANGE);
    assert.match(overtaken.details, /page_token: the next event 3 is no longer retained: the oldest retained event is seq 20 .*list again with from_seq 20/);
  } finally {
    await s.stop();
  }
});

test('WatchEvents resumed with from_seq = last seen + 1 gets exactly the next events, those appended while away included', async () => {
  const s = await serve();
  try {
    s.events.append('test', services(0, 5));
    const first: number[] = [];
    const stop = s.client.watchEvents(1, (e) => first.push(Number(e.seq)));
    await until(() => first.length === 5, 'the retained events');
    s.events.append('test', services(5, 3));
    await until(() => first.length === 8, 'the live ones');
    stop(); // the connection is lost
    await sleep(50);
    s.events.append('test', services(8, 4)); // while no one watches
    const second: number[] = [];
    const errors: grpc.ServiceError[] = [];
    const again = s.client.watchEvents(first.at(-1)! + 1, (e) => second.push(Number(e.seq)), (error) => errors.push(error));
    try {
      await until(() => second.length === 4, 'the events appended while away');
      s.events.append('test', services(12, 2));
      await until(() => second.length === 6, 'the next live ones');
      await sleep(50);
      assert.equal([...first, ...second], range(1, 14), 'no gap, no repeat');
      assert.equal(errors, []);
    } finally {
      again();
    }
  } finally {
    await s.stop();
  }
});

test('WatchEvents from a seq no longer retained is OUT_OF_RANGE naming the oldest retained seq, not a watch that starts later', async () => {
  const s = await serve({ retention: 10 });
  try {
    s.events.append('test', services(0, 30)); // keeps 21..30
    const watch = (fromSeq: number) =>
      new Promise<{ seqs: number[]; error?: grpc.ServiceError }>((resolve) => {
        const seqs: number[] = [];
        const stop = s.client.watchEvents(fromSeq, (e) => seqs.push(Number(e.seq)), (error) => resolve({ seqs, error }));
        setTimeout(() => {
          stop();
          resolve({ seqs });
        }, 500);
      });
    const old = await watch(15);
    assert.equal(old.seqs, [], 'nothing sent');
    assert.is(old.error?.code, grpc.status.OUT_OF_RANGE);
    assert.match(old.error!.details, /from_seq 15 is no longer retained: the oldest retained event is seq 21 \(history: memory \(this replica only\)\); read the current state \(GetSnapshot\) and watch again with from_seq 21/);
    const oldest = await watch(21);
    assert.equal(oldest.seqs, range(21, 30), 'the oldest retained seq itself is fine');
    // A seq this history never reached: another replica's or one from before a restart.
    const future = await watch(40);
    assert.is(future.error?.code, grpc.status.OUT_OF_RANGE);
    assert.match(future.error!.details, /from_seq 40 is past the newest event \(seq 30\)/);
    const next = await watch(31);
    assert.is(next.error, undefined, 'the next seq to come waits for it');
  } finally {
    await s.stop();
  }
});

test('WatchEvents on a compacted log (each object\'s last event before the window, then every event) resumes only where no event is missing', async () => {
  const event = (seq: number): ConfigEvent => ({ seq, time: 1, source: 'files', kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: `s${seq}`, type: 'upsert', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${seq}`, namespace: 'ns' } } });
  // Events 3, 4 and 6 were compacted away; every event is there from 7 on.
  const s = await serve({ restored: [2, 5, 7, 8, 9].map(event) });
  try {
    const watch = (fromSeq: number) =>
      new Promise<{ seqs: number[]; error?: grpc.ServiceError }>((resolve) => {
        const seqs: number[] = [];
        const stop = s.client.watchEvents(fromSeq, (e) => seqs.push(Number(e.seq)), (error) => resolve({ seqs, error }));
        setTimeout(() => {
          stop();
          resolve({ seqs });
        }, 300);
      });
    for (const from of [1, 2, 5, 6]) {
      const refused = await watch(from);
      assert.is(refused.error?.code, grpc.status.OUT_OF_RANGE, `from_seq ${from}`);
      assert.match(refused.error!.details, new RegExp(`from_seq ${from} is no longer retained: the oldest retained event is seq 2, and every event is retained only from seq 7 on .*watch again with from_seq 7`));
    }
    assert.equal((await watch(7)).seqs, [7, 8, 9]);
    // Paging from the start walks the compacted events as ListEvents always did.
    const first = await s.client.listEventsPage({ pageSize: 2 });
    const second = await s.client.listEventsPage({ pageSize: 2, pageToken: first.nextPageToken });
    assert.equal([...first.events, ...second.events].map((e) => Number(e.seq)), [2, 5, 7, 8]);
  } finally {
    await s.stop();
  }
});

test('GetSnapshot of a version no longer kept is NOT_FOUND naming the oldest kept one; DiffVersions says which fields changed', async () => {
  const s = await serve({ historyLimit: 2, history: () => 'file /var/lib/mcpmux/events.jsonl' });
  try {
    const versions = [80, 81, 82].map((port, i) => {
      const snapshot = listenerSnapshot('ns/gw', port);
      s.cache.setAll([snapshot], 10 + i);
      return snapshot.version;
    });
    const gone = await failure(s.client.getSnapshot('ns/gw', versions[0]));
    assert.is(gone.code, grpc.status.NOT_FOUND);
    assert.match(gone.details, new RegExp(`no version ${versions[0]} of group ns/gw: it is not among the 2 versions kept \\(history: file /var/lib/mcpmux/events.jsonl;`));
    assert.match(gone.details, new RegExp(`oldest available: version ${versions[1]} built at event seq 11`));
    const diffGone = await failure(s.client.diffVersions(versions[0]!));
    assert.match(diffGone.details, /oldest available/);
    assert.is((await s.client.proxies()).history, 'file /var/lib/mcpmux/events.jsonl');

    const diff = await s.client.diffVersions(versions[1]!, versions[2]!);
    assert.equal(diff.changes.map((c) => [c.kind, c.name, c.change, c.fields]), [['listener', 'http', 'changed', [{ path: 'port', before: '81', after: '82' }]]]);
  } finally {
    await s.stop();
  }
});

test.run();
