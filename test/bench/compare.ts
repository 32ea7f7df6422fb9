// Compares this checkout's proxy with another checkout's (a branch, a commit in a git worktree)
// and the bare forwarder, in interleaved rounds of one run against one echo upstream: CPU per call
// of each proxy over its own rounds (from /proc) and p50. What a change to the hot path gains,
// measured against its base on the same machine at the same moment.
//
//   git worktree add --detach /tmp/base main && ln -s "$PWD/node_modules" /tmp/base/node_modules
//   node test/bench/compare.ts --base /tmp/base [--sessions 1,8,64] [--calls 30000]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { streamableEndpoint } from './lib/clients.ts';
import { cpuPerCallUs, interleave, type LoadResult } from './lib/driver.ts';
import { startEcho, startForwarder, startMcpmux } from './lib/stack.ts';

const { values } = parseArgs({ options: { base: { type: 'string' }, sessions: { type: 'string', default: '1,8,64' }, calls: { type: 'string', default: '30000' } } });
if (!values.base) {
  console.error('Usage: node test/bench/compare.ts --base DIR [--sessions 1,8,64] [--calls N]   (DIR: another checkout, with node_modules)');
  process.exit(2);
}
const baseStack = (await import(resolve(values.base, 'test/bench/lib/stack.ts'))) as { startMcpmux: typeof startMcpmux };
const calls = Number(values.calls);
const echo = await startEcho();
const forwarder = await startForwarder(echo.url);
const current = await startMcpmux([{ name: 'echo', url: echo.url }]);
const base = await baseStack.startMcpmux([{ name: 'echo', url: echo.url }]);
try {
  console.log('sessions  CPU µs/call: forwarder  base  this   ×forwarder: base  this   p50 ms: forwarder  base  this');
  for (const sessions of values.sessions.split(',').map(Number)) {
    const endpoints = [
      streamableEndpoint({ name: 'forwarder', url: forwarder.url, tool: 'echo', connections: sessions }),
      streamableEndpoint({ name: 'base', url: base.mcpUrl, tool: 'echo_echo', connections: sessions }),
      streamableEndpoint({ name: 'this', url: current.mcpUrl, tool: 'echo_echo', connections: sessions }),
    ];
    const cpuPids = { forwarder: forwarder.process.child.pid ?? 0, base: base.proxy.child.pid ?? 0, this: current.proxy.child.pid ?? 0 };
    const results = await interleave(endpoints, { sessions, rounds: 10, callsPerRound: Math.ceil(calls / 10), warmupCalls: 3000, cpuPids });
    await Promise.all(endpoints.map((endpoint) => endpoint.close()));
    const [f, b, t] = ['forwarder', 'base', 'this'].map((name) => results.get(name) as LoadResult) as [LoadResult, LoadResult, LoadResult];
    const cpu = (r: LoadResult): string => cpuPerCallUs(r).toFixed(1).padStart(5);
    const ratio = (r: LoadResult): string => (cpuPerCallUs(r) / cpuPerCallUs(f)).toFixed(3).padStart(5);
    const p50 = (r: LoadResult): string => r.latencies.percentile(50).toFixed(3).padStart(6);
    console.log(`${String(sessions).padEnd(9)} ${cpu(f).padStart(22)} ${cpu(b)} ${cpu(t)}   ${ratio(b).padStart(16)} ${ratio(t)}   ${p50(f).padStart(17)} ${p50(b)} ${p50(t)}`);
  }
} finally {
  await current.stop();
  await base.stop();
  await forwarder.process.stop();
  await echo.process.stop();
}
