// `npm run bench:smoke` (run by CI): a short overhead measurement, one session, direct and through
// one proxy in interleaved rounds. It fails only when p50 through the proxy is more than 3× p50
// direct: a ratio taken in one run, never an absolute time, so a slow or busy machine does not fail
// it but a gateway that got much slower does.
import { streamableEndpoint } from './lib/clients.ts';
import { interleave } from './lib/driver.ts';
import { textTable } from './lib/report.ts';
import { startEcho, startMcpmux } from './lib/stack.ts';
import { sideRow, COLUMNS } from './scenarios/overhead.ts';

const MAX_RATIO = 3.0;

async function main(): Promise<number> {
  const echo = await startEcho();
  try {
    const mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }]);
    try {
      const endpoints = [
        streamableEndpoint({ name: 'direct', url: echo.url, tool: 'echo', connections: 1 }),
        streamableEndpoint({ name: 'mcpmux', url: mcpmux.mcpUrl, tool: 'echo_echo', connections: 1 }),
      ];
      const results = await interleave(endpoints, { sessions: 1, rounds: 10, callsPerRound: 300, warmupCalls: 500 });
      await Promise.all(endpoints.map((endpoint) => endpoint.close()));
      const direct = results.get('direct');
      const through = results.get('mcpmux');
      if (!direct || !through) throw new Error('a side did not run');
      console.log(textTable(COLUMNS, [sideRow(1, 'direct', direct, direct), sideRow(1, 'mcpmux', through, direct)]));
      const ratio = through.latencies.percentile(50) / direct.latencies.percentile(50);
      const failed = direct.failed + through.failed;
      console.log(`\np50 through / p50 direct = ${ratio.toFixed(2)} (fails above ${MAX_RATIO.toFixed(1)}); failed calls: ${failed}`);
      return ratio > MAX_RATIO || failed > 0 ? 1 : 0;
    } finally {
      await mcpmux.stop();
    }
  } finally {
    await echo.process.stop();
  }
}

process.exitCode = await main();
