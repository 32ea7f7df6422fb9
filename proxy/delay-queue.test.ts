import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DelayQueue, DelayQueues } from './delay-queue.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('callbacks run once, after the delay, in the order added; cancelled ones never', async () => {
  const queue = new DelayQueue(30);
  const ran: Array<[string, number]> = [];
  const started = performance.now();
  const add = (name: string) => queue.add(() => ran.push([name, performance.now() - started]));
  add('a');
  const b = add('b');
  await sleep(10);
  add('c');
  const d = add('d');
  b.cancel();
  d.cancel();
  d.cancel(); // idempotent
  await sleep(60);
  assert.equal(
    ran.map(([name]) => name),
    ['a', 'c'],
  );
  for (const [name, at] of ran) assert.ok(at >= 29, `${name} ran after ${at.toFixed(1)} ms, not before the delay`);
  // c was added 10 ms later: the timer re-armed for it rather than running it with a.
  assert.ok((ran[1]?.[1] ?? 0) - (ran[0]?.[1] ?? 0) >= 5);
});

test('cancelling the head and the tail leaves the rest due; a callback may add another', async () => {
  const queue = new DelayQueue(10);
  const ran: string[] = [];
  const head = queue.add(() => ran.push('head'));
  queue.add(() => {
    ran.push('middle');
    queue.add(() => ran.push('added while running'));
  });
  const tail = queue.add(() => ran.push('tail'));
  head.cancel();
  tail.cancel();
  await sleep(50);
  assert.equal(ran, ['middle', 'added while running']);
});

test('DelayQueues keeps one queue per delay; clear() cancels everything', async () => {
  const queues = new DelayQueues();
  const ran: string[] = [];
  queues.after(25, () => ran.push('slow'));
  queues.after(5, () => ran.push('fast'));
  await sleep(45);
  assert.equal(ran, ['fast', 'slow']);
  queues.after(5, () => ran.push('never'));
  queues.clear();
  await sleep(20);
  assert.equal(ran, ['fast', 'slow']);
});

test.run();
