// The benchmark's own parts: histograms, the driver loop, answer parsing, reports and the echo
// fixture, so a figure in BENCHMARKS.md is not the product of a bug in how it was measured.
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEchoUpstream } from '../fixtures/echo-upstream.ts';
import { summarize } from '../profile-summary.ts';
import { BenchCallError, StreamableClient, findAnswer, streamableEndpoint, type BenchSession } from './clients.ts';
import { interleave, medianRate, runLoad } from './driver.ts';
import { Latencies } from './histogram.ts';
import { markdownReport, replaceGenerated, runInfo, textTable } from './report.ts';

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.match(String(error), pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

test('Latencies: percentiles in ms from ns, to 3 significant digits', () => {
  const latencies = new Latencies();
  for (let i = 1; i <= 100; i++) latencies.recordMs(i / 10); // 0.1 … 10 ms
  const s = latencies.summary();
  assert.is(s.count, 100);
  assert.ok(Math.abs(s.p50 - 5.0) < 0.01, `p50 ${s.p50}`);
  assert.ok(Math.abs(s.p99 - 9.9) < 0.02, `p99 ${s.p99}`);
  assert.ok(Math.abs(s.max - 10) < 0.02, `max ${s.max}`);
});

test('runLoad: stops at the call count across sessions, counts failures with their messages', async () => {
  let calls = 0;
  const session = (failEvery: number): BenchSession => ({
    async call() {
      calls++;
      if (calls % failEvery === 0) throw new BenchCallError('boom');
    },
    close: async () => undefined,
  });
  const result = await runLoad([session(10), session(10), session(10)], { calls: 100 });
  assert.is(calls, 100);
  assert.is(result.ok + result.failed, 100);
  assert.is(result.failed, 10);
  assert.is(result.errors.get('boom'), 10);
  assert.is(result.latencies.count, 90);
  assert.is(result.roundRates.length, 1);
  assert.ok(medianRate(result) > 0);
});

test('runLoad: a stop condition ends an unbounded run', async () => {
  let calls = 0;
  const session: BenchSession = { call: async () => void calls++, close: async () => undefined };
  const result = await runLoad([session], { stop: () => calls >= 25 });
  assert.is(result.ok, 25);
});

test('findAnswer: JSON bodies and SSE streams; the id must match', () => {
  assert.equal(findAnswer('application/json', '{"jsonrpc":"2.0","id":3,"result":{}}', 3).result, {});
  const sse = 'id: a\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\ndata: {"jsonrpc":"2.0","id":4,"result":{"x":1}}\n\n';
  assert.equal(findAnswer('text/event-stream', sse, 4).result, { x: 1 });
  assert.throws(() => findAnswer('application/json', '{"jsonrpc":"2.0","id":5,"result":{}}', 3), /expected 3/);
  assert.throws(() => findAnswer('text/html', '<html>', 1), /unexpected content-type/);
});

test('echo fixture + client: initialize, tools/list pages, tools/call through the bench client', async () => {
  const server = createEchoUpstream({ tools: 25, pageSize: 10, stateful: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const client = new StreamableClient(url, 1);
  try {
    const headers = await client.initialize();
    assert.ok(headers['mcp-session-id'], 'the stateful fixture issues a session id');
    const first = await client.request(headers, 1, 'tools/list', {});
    assert.is((first.tools as unknown[]).length, 10);
    assert.is(first.nextCursor, '10');
    const last = await client.request(headers, 2, 'tools/list', { cursor: '20' });
    assert.is((last.tools as unknown[]).length, 5);
    assert.is(last.nextCursor, undefined);
    await rejects(client.request({ 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': 'nope' }, 3, 'tools/list', {}), /HTTP 404/);

    const endpoint = streamableEndpoint({ name: 'echo', url, tool: 'echo', connections: 2 });
    const results = await interleave([endpoint], { sessions: 2, rounds: 2, callsPerRound: 20, warmupCalls: 4 });
    assert.is(results.get('echo')?.ok, 40);
    assert.is(results.get('echo')?.failed, 0);
    const wrongTool = streamableEndpoint({ name: 'wrong', url, tool: 'nope', connections: 1 });
    await rejects(interleave([wrongTool], { sessions: 1, rounds: 1, callsPerRound: 1, warmupCalls: 1 }), /warm-up calls failed/);
    await Promise.all([endpoint.close(), wrongTool.close()]);
  } finally {
    await client.close();
    server.close();
  }
});

test('reports: aligned text tables; BENCHMARKS.md is rewritten only between its markers', () => {
  const table = textTable(['a', 'bb'], [{ a: 'long value', bb: 1 }]);
  assert.is(table.split('\n')[2], 'long value  1');
  const result = { id: 'x', title: 'X', columns: ['k'], rows: [{ k: 'v|w' }], checks: [{ name: 'c', target: '≤ 1', actual: '2', pass: false }], notes: ['n'] };
  const md = markdownReport(runInfo('npm run bench', false), [result]);
  assert.match(md, /\| x \| c \| ≤ 1 \| 2 \| \*\*missed\*\* \|/);
  assert.match(md, /v\\\|w/);
  const doc = 'intro\n<!-- bench:begin -->\nold\n<!-- bench:end -->\noutro\n';
  assert.is(replaceGenerated(doc, 'new'), 'intro\n<!-- bench:begin -->\nnew\n<!-- bench:end -->\noutro\n');
  assert.throws(() => replaceGenerated('no markers', 'new'), /no <!-- bench:begin -->/);
});

test('profile summary: self and inclusive time per function, folded stacks for flame graphs', () => {
  const frame = (id: number, functionName: string, children: number[] = []) => ({ id, callFrame: { functionName, url: 'file:///work/main/proxy/x.ts', lineNumber: id }, children });
  const profile = { nodes: [frame(1, '(root)', [2]), frame(2, 'outer', [3]), frame(3, 'inner')], samples: [3, 3, 2], timeDeltas: [100, 100, 200] };
  const { text, folded } = summarize(profile, 10);
  assert.match(text, /50\.0%\s+inner proxy\/x\.ts:4/);
  assert.match(text, /100\.0%\s+outer proxy\/x\.ts:3/);
  assert.match(folded, /\(root\) proxy\/x\.ts:2;outer proxy\/x\.ts:3;inner proxy\/x\.ts:4 200/);
});

test.run();
