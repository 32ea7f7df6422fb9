// `npm run bench:smoke` (run by CI): what one proxy costs against a bare Node forwarder (one more
// HTTP hop and nothing else), in interleaved rounds of one run. It fails when mcpmux's CPU per call
// exceeds MAX_RATIO times the forwarder's: CPU time each process spent in its own side's rounds
// (from /proc), over a fixed number of calls, at 8 sessions. CPU, not latency: p50 ratios at one
// session are too noisy on these machines to catch 0.1 ms, while a process's CPU time per call
// barely moves with a neighbour's load. A neighbour's burst can still push one measurement over:
// a second one is taken before failing, and both must exceed the ratio.
//
// Options: --sessions N (8), --calls N per side (20000), --warmup N calls per side (10000), --max-ratio R (1.3).
import { parseArgs } from 'node:util';
import { streamableEndpoint } from './lib/clients.ts';
import { cpuPerCallUs, interleave } from './lib/driver.ts';
import { textTable } from './lib/report.ts';
import { startEcho, startForwarder, startMcpmux } from './lib/stack.ts';
import { sideRow, COLUMNS } from './scenarios/overhead.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '8' },
    calls: { type: 'string', default: '20000' },
    'max-ratio': { type: 'string', default: '1.3' },
    warmup: { type: 'string', default: '10000' },
  },
});
const SESSIONS = Number(values.sessions);
const CALLS = Number(values.calls);
const MAX_RATIO = Number(values['max-ratio']);
// Calls per side before measuring: mcpmux has far more code than the forwarder to bring to V8's
// optimizing tier, and a ratio taken before it is there measures the compiler, not the call.
const WARMUP = Number(values.warmup);
const ROUNDS = 10;
const ATTEMPTS = 2;

interface Measured {
  ratio: number;
  failed: number;
}

async function measure(echoUrl: string, forwarder: { url: string; pid: number }, mcpmux: { url: string; pid: number }): Promise<Measured> {
  const endpoints = [
    streamableEndpoint({ name: 'direct', url: echoUrl, tool: 'echo', connections: SESSIONS }),
    streamableEndpoint({ name: 'bare forwarder', url: forwarder.url, tool: 'echo', connections: SESSIONS }),
    streamableEndpoint({ name: 'mcpmux', url: mcpmux.url, tool: 'echo_echo', connections: SESSIONS }),
  ];
  try {
    const results = await interleave(endpoints, {
      sessions: SESSIONS,
      rounds: ROUNDS,
      callsPerRound: Math.ceil(CALLS / ROUNDS),
      warmupCalls: WARMUP,
      cpuPids: { 'bare forwarder': forwarder.pid, mcpmux: mcpmux.pid },
    });
    const direct = results.get('direct');
    const bare = results.get('bare forwarder');
    const through = results.get('mcpmux');
    if (!direct || !bare || !through) throw new Error('a side did not run');
    console.log(textTable(COLUMNS, [sideRow(SESSIONS, 'direct', direct, direct), sideRow(SESSIONS, 'bare forwarder', bare, direct), sideRow(SESSIONS, 'mcpmux', through, direct)]));
    const ratio = cpuPerCallUs(through) / cpuPerCallUs(bare);
    console.log(
      `\nCPU per call: mcpmux ${cpuPerCallUs(through).toFixed(1)} µs, bare forwarder ${cpuPerCallUs(bare).toFixed(1)} µs: ratio ${ratio.toFixed(2)} (fails above ${MAX_RATIO.toFixed(2)}); ` +
        `p50 mcpmux / forwarder ${(through.latencies.percentile(50) / bare.latencies.percentile(50)).toFixed(2)} (shown, not checked)`,
    );
    return { ratio, failed: direct.failed + bare.failed + through.failed };
  } finally {
    await Promise.all(endpoints.map((endpoint) => endpoint.close()));
  }
}

async function main(): Promise<number> {
  const echo = await startEcho();
  const forwarder = await startForwarder(echo.url);
  try {
    const mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }]);
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const { ratio, failed } = await measure(echo.url, { url: forwarder.url, pid: forwarder.process.child.pid ?? 0 }, { url: mcpmux.mcpUrl, pid: mcpmux.proxy.child.pid ?? 0 });
        if (failed > 0) {
          console.log(`failed calls: ${failed}`);
          return 1;
        }
        if (ratio <= MAX_RATIO) return 0;
        if (attempt < ATTEMPTS) console.log('above the ratio: measuring once more before failing\n');
      }
      console.log(`bench:smoke: mcpmux's CPU per call stayed above ${MAX_RATIO}× the bare forwarder's twice in a row`);
      return 1;
    } finally {
      await mcpmux.stop();
    }
  } finally {
    await forwarder.process.stop();
    await echo.process.stop();
  }
}

process.exitCode = await main();
