import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject, SourceChange } from '../sources/source.ts';
import type { ConfigEvent } from './event.ts';
import { MemoryEventLog } from './log.ts';

const change = (name: string, type: SourceChange['type'] = 'upsert', namespace: string | null = 'ns'): SourceChange => {
  const object: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: namespace === null ? { name } : { name, namespace } };
  return { type, object };
};

test('append numbers events from 1, stamps the injected time, copies identity fields', () => {
  let clock = 1000;
  const log = new MemoryEventLog({ now: () => clock });
  assert.is(log.lastSeq, 0);
  const first = log.append('files', [change('a'), change('b', 'delete')]);
  clock = 2000;
  const second = log.append('kubernetes', [change('c', 'upsert', null)]);
  assert.equal(first.map((e) => [e.seq, e.time, e.source, e.type, e.name]), [[1, 1000, 'files', 'upsert', 'a'], [2, 1000, 'files', 'delete', 'b']]);
  assert.equal([second[0]!.seq, second[0]!.time, second[0]!.namespace, second[0]!.kind, second[0]!.apiVersion], [3, 2000, '', 'Service', 'v1']);
  assert.is(log.lastSeq, 3);
});

test('an empty batch appends nothing and notifies no one', () => {
  const log = new MemoryEventLog();
  let calls = 0;
  log.subscribe(() => calls++);
  assert.equal(log.append('files', []), []);
  assert.is(calls, 0);
  assert.is(log.lastSeq, 0);
});

test('list(fromSeq, limit) pages through retained events', () => {
  const log = new MemoryEventLog();
  log.append('files', ['a', 'b', 'c', 'd', 'e'].map((n) => change(n)));
  assert.equal(log.list(0).map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.equal(log.list(3).map((e) => e.seq), [3, 4, 5]);
  assert.equal(log.list(2, 2).map((e) => e.seq), [2, 3]);
  assert.equal(log.list(6), []);
});

test('retention keeps only the newest events; seqs keep counting', () => {
  const log = new MemoryEventLog({ retention: 3 });
  for (let i = 0; i < 2000; i++) log.append('files', [change(`s${i}`)]);
  assert.equal(log.list(0).map((e) => e.seq), [1998, 1999, 2000]);
  assert.equal(log.list(1).map((e) => e.seq), [1998, 1999, 2000]);
  assert.equal(log.list(1999).map((e) => e.seq), [1999, 2000]);
  assert.is(log.lastSeq, 2000);
});

test('subscribers get each batch once, in order; unsubscribe stops them; a throwing one does not stop others', () => {
  const log = new MemoryEventLog();
  const seen: number[][] = [];
  log.subscribe(() => {
    throw new Error('boom');
  });
  const off = log.subscribe((events: ConfigEvent[]) => seen.push(events.map((e) => e.seq)));
  log.append('files', [change('a'), change('b')]);
  log.append('files', [change('c')]);
  off();
  log.append('files', [change('d')]);
  assert.equal(seen, [[1, 2], [3]]);
});

test.run();
