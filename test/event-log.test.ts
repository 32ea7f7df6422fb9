// Event-sourced history across a restart (issue 6, acceptance 5): a control plane with a JSONL event
// log serves two versions, stops, starts again from the same log, and answers ListVersions and
// GetSnapshot for the old version exactly as it served it (byte-equal canonical encoding), with the
// event that made each version.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../shared/config/version.ts';
import { createLogger } from '../shared/log.ts';
import { startControlPlane, type RunningControlPlane } from '../control-plane/control-plane.ts';
import { JsonlEventLog } from '../control-plane/events/jsonl-log.ts';
import { FilesSource } from '../control-plane/sources/files.ts';
import { AdminClient } from '../shared/admin/client.ts';
import { endpointSlice, TUTORIAL_YAML } from './support/stack.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const GROUP = 'agentgateway-system/mcp-gateway';

async function start(dir: string, eventLogPath: string): Promise<RunningControlPlane> {
  return startControlPlane({
    source: new FilesSource({ dir, logger }),
    gatewayClasses: ['mcpmux', 'agentgateway'],
    address: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    eventLogRetention: 1000,
    eventLogPath,
    logger,
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a restarted control plane answers for the versions it served before, from its JSONL log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-eventlog-'));
  const log = join(dir, 'events.jsonl');
  const manifests = join(dir, 'manifests');
  try {
    mkdirSync(manifests);
    writeFileSync(join(manifests, 'tutorial.yaml'), TUTORIAL_YAML);
    writeFileSync(join(manifests, 'slices.yaml'), endpointSlice('mcp-server-everything', '127.0.0.1', 3001));

    let cp = await start(manifests, log);
    let admin = new AdminClient(`127.0.0.1:${cp.grpcPort}`);
    const first = cp.cache.get(GROUP)!;
    // A second version: the slice points elsewhere.
    writeFileSync(join(manifests, 'slices.yaml'), endpointSlice('mcp-server-everything', '127.0.0.1', 3002));
    await until(() => cp.cache.get(GROUP)?.version !== first.version, 'the second version');
    const second = cp.cache.get(GROUP)!;
    const servedOld = await admin.getSnapshot(GROUP, first.version);
    assert.is((await admin.proxies()).history, `file ${log}`, 'ListProxies says where the history lives');
    const before = await admin.listVersions(GROUP);
    // DiffVersions: the one target whose endpoint moved, and the event that moved it.
    const diff = await admin.diffVersions(first.version, second.version, GROUP);
    assert.equal(diff.changes.map((c) => `${c.change} ${c.kind} ${c.name}`), ['changed target agentgateway-system/mcp-federated/mcp-server-everything-3001']);
    assert.equal(diff.events.map((e) => `${e.type} ${e.kind} ${e.name}`), ['upsert EndpointSlice mcp-server-everything-local']);
    assert.is(Number(diff.toEventSeq), Number(diff.events[0]!.seq));
    admin.close();
    await cp.close();

    // The log on disk: events and builds, one JSON per line.
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(lines.some((l) => 'event' in l), 'events are in the file');
    assert.is(lines.filter((l) => 'build' in l).length, 2, 'one build line per new version');

    cp = await start(manifests, log);
    admin = new AdminClient(`127.0.0.1:${cp.grpcPort}`);
    try {
      assert.is(cp.cache.get(GROUP)!.version, second.version, 'the same objects give the same current version');
      const after = await admin.listVersions(GROUP);
      assert.equal(after.map((v) => [v.version, v.eventSeq]), before.map((v) => [v.version, v.eventSeq]), 'the same versions, made by the same events');
      const old = await admin.getSnapshot(GROUP, first.version);
      assert.is(canonicalJson(old), canonicalJson(servedOld), 'the old version is what was served then');
      // Nothing changed while it was down: the restart appended no event.
      assert.is(cp.events.lastSeq, Number(before[0]!.eventSeq));
    } finally {
      admin.close();
      await cp.close();
    }

    // A change made while it was down is one new event after the restart, and a new version.
    writeFileSync(join(manifests, 'slices.yaml'), endpointSlice('mcp-server-everything', '127.0.0.1', 3003));
    cp = await start(manifests, log);
    try {
      assert.is(cp.events.lastSeq, Number(before[0]!.eventSeq) + 1);
      assert.is.not(cp.cache.get(GROUP)!.version, second.version);
      assert.is(cp.cache.versions(GROUP).length, 3);
    } finally {
      await cp.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WatchEvents sends the retained events from a sequence number, then each new one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-eventlog-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'tutorial.yaml'), TUTORIAL_YAML);
  const cp = await start(manifests, join(dir, 'events.jsonl'));
  const admin = new AdminClient(`127.0.0.1:${cp.grpcPort}`);
  try {
    const seen: string[] = [];
    const stop = admin.watchEvents(1, (event) => seen.push(`${event.seq} ${event.type} ${event.kind} ${event.name}`));
    const retained = cp.events.lastSeq;
    await until(() => seen.length === retained, 'the retained events');
    writeFileSync(join(manifests, 'slices.yaml'), endpointSlice('mcp-server-everything', '127.0.0.1', 3001));
    await until(() => seen.length === retained + 1, 'the new event');
    assert.is(seen.at(-1), `${retained + 1} upsert EndpointSlice mcp-server-everything-local`);
    assert.equal(seen.map((line) => Number(line.split(' ')[0])), Array.from({ length: retained + 1 }, (_, i) => i + 1), 'in order, none twice');
    stop();
  } finally {
    admin.close();
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a last line cut short is dropped; a damaged line elsewhere is an error naming the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-eventlog-'));
  try {
    const path = join(dir, 'events.jsonl');
    const event = (seq: number) => JSON.stringify({ event: { seq, time: 1, source: 'files', kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: `s${seq}`, type: 'upsert', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${seq}`, namespace: 'ns' } } } });
    writeFileSync(path, `${event(1)}\n${event(2)}\n{"event":{"seq":3,"ti`);
    const log = JsonlEventLog.open({ path, retention: 10, logger });
    assert.is(log.lastSeq, 2);
    log.close();
    writeFileSync(path, `${event(1)}\nnot json\n${event(2)}\n`);
    assert.throws(() => JsonlEventLog.open({ path, retention: 10, logger }), /events\.jsonl:2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Secret values never reach the file; their keys do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-eventlog-'));
  try {
    const path = join(dir, 'events.jsonl');
    const log = JsonlEventLog.open({ path, retention: 10, logger });
    log.append('kubernetes', [{ type: 'upsert', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, data: { token: 'c2VjcmV0LXZhbHVl' } } }]);
    log.close();
    const text = readFileSync(path, 'utf8');
    assert.not.match(text, /c2VjcmV0LXZhbHVl/);
    assert.match(text, /"token":"<redacted>"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compaction keeps the state and the builds it can rebuild, and drops the rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-eventlog-'));
  try {
    const path = join(dir, 'events.jsonl');
    const log = JsonlEventLog.open({ path, retention: 3, logger });
    const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns' } });
    log.append('files', [{ type: 'upsert', object: svc('a') }, { type: 'upsert', object: svc('b') }]); // 1, 2
    log.recordBuild({ seq: 2, time: 1, versions: { g: 'v1' } });
    log.append('files', [{ type: 'delete', object: svc('b') }]); // 3
    log.append('files', [{ type: 'upsert', object: svc('c') }, { type: 'upsert', object: svc('d') }]); // 4, 5
    log.recordBuild({ seq: 5, time: 2, versions: { g: 'v2' } });
    log.append('files', [{ type: 'upsert', object: svc('e') }, { type: 'upsert', object: svc('f') }]); // 6, 7: 7 events > 2 × 3
    log.close();
    const reopened = JsonlEventLog.open({ path, retention: 3, logger });
    try {
      const names = reopened.replay().map((e) => `${e.seq}:${e.type}:${e.name}`);
      // Base: a (seq 1) alive before the window; b was deleted. Window: the newest 3 events.
      assert.equal(names, ['1:upsert:a', '4:upsert:c', '5:upsert:d', '6:upsert:e', '7:upsert:f']);
      assert.equal(reopened.builds().map((b) => b.seq), [5]);
      assert.is(reopened.lastSeq, 7);
    } finally {
      reopened.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
