// `npm run bench:fleet` (issue 8): a fleet of 3 proxy replicas sharing sessions over a real
// nats-server, behind our round-robin balancer, on loopback. Prints, per scenario, requests,
// failures and latency percentiles:
//   overhead   one session's echo calls, interleaved rounds of the same run: direct to the
//              upstream; one replica without NATS; a fleet replica on a session it opened; a fleet
//              replica on a session another replica opened; calls rotating over the 3 replicas on
//              one shared session, and (the baseline for it) on a session per replica; 3 replicas
//              behind the balancer; the balancer in front of the replica without NATS.
//   first      the first request of a session on a replica that has not seen it (the one NATS
//              round trip a session may cost per replica).
//   pushes     config pushes (alternating target sets) under 2 sessions × 50 req/s.
//   outage     NATS stopped under the same load, then started again.
//   rolling    every replica drained (SIGTERM) and restarted in turn under the same load.
// Loopback only; bounded; stops by itself. Exits 1 when a target of the issue was missed.
import { parseArgs } from 'node:util';
import { startBalancer } from '../support/balancer.ts';
import { startFleet } from '../support/fleet.ts';
import { describeLoad, type RateLoadReport } from '../support/fleet-load.ts';
import { ECHO_TOOL, natsOutageUnderLoad, pushesUnderLoad, rollingRestartUnderLoad } from '../support/fleet-scenarios.ts';
import { CLI, freePort, startNode, waitForHttpOk } from '../support/processes.ts';
import { callEcho, StreamableClient, streamableEndpoint, type BenchEndpoint } from './lib/clients.ts';
import { interleave } from './lib/driver.ts';
import { Latencies } from './lib/histogram.ts';
import { textTable } from './lib/report.ts';
import { COLUMNS, sideRow } from './scenarios/overhead.ts';

const HELP = `Usage: npm run bench:fleet -- [--quick] [--only overhead,first,pushes,outage,rolling]

Runs a 3-replica mcpmux fleet (NATS-shared sessions) on loopback and prints each scenario's
requests, failures and latency percentiles. --quick uses smaller counts (200 pushes, 4 s outage).`;

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string', default: '' }, help: { type: 'boolean', default: false } } });
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const quick = values.quick === true;
const only = new Set((values.only ?? '').split(',').filter(Boolean));
const runs = (name: string): boolean => only.size === 0 || only.has(name);
const misses: string[] = [];

/** Sessions opened on `openUrl`, each call sent to `callUrl`: a session served by a replica that did not open it. */
function crossReplicaEndpoint(name: string, openUrl: string, callUrl: string): BenchEndpoint {
  const opener = new StreamableClient(openUrl, 1);
  const caller = new StreamableClient(callUrl, 1);
  return {
    name,
    async open() {
      const headers = await opener.initialize();
      let nextId = 1;
      return {
        call: () => callEcho(caller, headers, nextId++, ECHO_TOOL),
        close: () => opener.end(headers),
      };
    },
    close: async () => {
      await opener.close();
      await caller.close();
    },
  };
}

/**
 * Calls rotating over `urls` (call n to replica n mod N), without a balancer: `shared` sends them all
 * on one session (opened on the first replica); otherwise each replica gets a session of its own, so
 * the difference between the two is what sharing a session costs, and the rest is rotating processes.
 */
function rotatingEndpoint(name: string, urls: readonly string[], shared: boolean): BenchEndpoint {
  const clients = urls.map((url) => new StreamableClient(url, 1));
  return {
    name,
    async open() {
      const first = clients[0];
      if (!first) throw new Error('no replica');
      const headers = shared ? [await first.initialize()] : await Promise.all(clients.map((c) => c.initialize()));
      let nextId = 1;
      return {
        call() {
          const id = nextId++;
          const i = id % clients.length;
          return callEcho(clients[i] as StreamableClient, headers[shared ? 0 : i] as Record<string, string>, id, ECHO_TOOL);
        },
        close: async () => {
          await Promise.all(headers.map((h, i) => (clients[shared ? 0 : i] as StreamableClient).end(h)));
        },
      };
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

function loadRow(scenario: string, report: RateLoadReport): Record<string, string | number> {
  return {
    scenario,
    requests: report.sent,
    failed: report.failed,
    'lost sessions': report.lost,
    'stream breaks': `${report.streamBreaks} (${report.streamResumes} resumed)`,
    p50: report.latencies.percentile(50).toFixed(2),
    p99: report.latencies.percentile(99).toFixed(2),
  };
}

const fleet = await startFleet({ replicas: 3 });
const soloPorts = { mcp: await freePort(), http: await freePort() };
const solo = startNode('solo', [CLI, 'proxy', '--control-plane', fleet.grpcAddress, '--port', String(soloPorts.mcp), '--http-port', String(soloPorts.http), '--replica-id', 'solo'], { MCPMUX_LOG_LEVEL: 'warn' });
const soloUrl = `http://127.0.0.1:${soloPorts.mcp}/mcp`;
const soloBalancer = await (async () => {
  await waitForHttpOk(`http://127.0.0.1:${soloPorts.http}/readyz`, 20_000);
  return startBalancer({ backends: [{ url: `http://127.0.0.1:${soloPorts.mcp}`, readyUrl: `http://127.0.0.1:${soloPorts.http}/readyz` }] });
})();
const loadRows: Record<string, string | number>[] = [];
try {
  const [r0, r1] = fleet.replicas;
  if (!r0 || !r1) throw new Error('the fleet has fewer than 2 replicas');
  if (runs('overhead')) {
    const endpoints: BenchEndpoint[] = [
      streamableEndpoint({ name: 'direct', url: fleet.everythingUrl, tool: 'echo', connections: 1 }),
      streamableEndpoint({ name: '1 replica, no NATS', url: soloUrl, tool: ECHO_TOOL, connections: 1 }),
      streamableEndpoint({ name: 'fleet replica, its own session', url: r0.url, tool: ECHO_TOOL, connections: 1 }),
      crossReplicaEndpoint('fleet replica, session opened on another', r1.url, r0.url),
      rotatingEndpoint('3 replicas in turn, one shared session', fleet.replicas.map((r) => r.url), true),
      rotatingEndpoint('3 replicas in turn, a session each', fleet.replicas.map((r) => r.url), false),
      streamableEndpoint({ name: '3 replicas behind the balancer', url: fleet.mcpUrl, tool: ECHO_TOOL, connections: 1 }),
      streamableEndpoint({ name: 'balancer + 1 replica, no NATS', url: `${soloBalancer.url}/mcp`, tool: ECHO_TOOL, connections: 1 }),
    ];
    const results = await interleave(endpoints, { sessions: 1, rounds: quick ? 6 : 12, callsPerRound: quick ? 300 : 600, warmupCalls: 2000 });
    await Promise.all(endpoints.map((e) => e.close()));
    const direct = results.get('direct');
    console.log('\noverhead (1 session, echo; ms; "added" is over direct)\n');
    console.log(textTable(COLUMNS, [...results].map(([name, result]) => sideRow(1, name, result, direct))));
    const soloP50 = results.get('1 replica, no NATS')?.latencies.percentile(50) ?? 0;
    for (const name of ['fleet replica, its own session', 'fleet replica, session opened on another']) {
      const delta = (results.get(name)?.latencies.percentile(50) ?? 0) - soloP50;
      const pass = delta <= 0.1;
      console.log(`${pass ? 'ok  ' : 'MISS'} ${name}: p50 ${delta >= 0 ? '+' : ''}${delta.toFixed(3)} ms over 1 replica without NATS (target ≤ +0.100 ms)`);
      if (!pass) misses.push(`${name}: +${delta.toFixed(3)} ms p50`);
    }
    const failed = [...results.values()].reduce((n, r) => n + r.failed, 0);
    if (failed > 0) misses.push(`${failed} failed calls in the overhead runs`);
  }
  if (runs('first')) {
    // Sessions opened on replica 1, each first used on replica 0: that first call loads the record from NATS.
    const opener = new StreamableClient(r1.url, 4);
    const caller = new StreamableClient(r0.url, 4);
    const first = new Latencies();
    const later = new Latencies();
    const count = quick ? 100 : 300;
    for (let i = 0; i < count; i++) {
      const headers = await opener.initialize();
      for (const into of [first, later]) {
        const t0 = process.hrtime.bigint();
        await caller.request(headers, 1, 'tools/call', { name: ECHO_TOOL, arguments: { message: 'x' } });
        into.recordNs(process.hrtime.bigint() - t0);
      }
      await opener.end(headers);
    }
    await opener.close();
    await caller.close();
    console.log(`\nfirst request of a session on a replica that has not seen it (${count} sessions): p50 ${first.percentile(50).toFixed(2)} ms, p99 ${first.percentile(99).toFixed(2)} ms; its second request: p50 ${later.percentile(50).toFixed(2)} ms, p99 ${later.percentile(99).toFixed(2)} ms`);
  }
  if (runs('pushes')) {
    const count = quick ? 200 : 1000;
    const outcome = await pushesUnderLoad(fleet, count);
    console.log(`\npushes: ${count} pushes ACKed by all 3 replicas in ${outcome.elapsedMs} ms; ${describeLoad(outcome.load)}`);
    loadRows.push(loadRow(`${count} pushes`, outcome.load));
    if (outcome.load.failed > 0 || outcome.load.streamBreaks > 0) misses.push('pushes: failed requests or broken streams');
  }
  if (runs('outage')) {
    const outcome = await natsOutageUnderLoad(fleet, quick ? 4_000 : 10_000);
    const statuses = new Set(outcome.unknownSessionAnswers.map((a) => a.status));
    console.log(`\noutage: NATS down ${outcome.downMs} ms; ${describeLoad(outcome.load)}; sessions unknown to a replica while down got: ${[...statuses].join(', ')}; a new session after: ${describeLoad(outcome.recovered)}`);
    loadRows.push(loadRow(`NATS down ${outcome.downMs} ms`, outcome.load), loadRow('new session after NATS is back', outcome.recovered));
    if (outcome.load.failed > 0 || outcome.recovered.failed > 0 || [...statuses].some((s) => s !== 503)) misses.push('outage: failures beyond the retryable error');
    if (outcome.load.streamBreaks > 0) misses.push('outage: streams broke');
  }
  if (runs('rolling')) {
    const outcome = await rollingRestartUnderLoad(fleet);
    console.log(`\nrolling restart: ${outcome.replicas.map((r) => `${r.id} drained in ${r.drainMs} ms, ready after ${r.readyMs} ms`).join('; ')}; ${describeLoad(outcome.load)}`);
    loadRows.push(loadRow('rolling restart', outcome.load));
    if (outcome.load.failed > 0 || outcome.load.lost > 0) misses.push('rolling restart: failed requests or lost sessions');
  }
  if (loadRows.length > 0) {
    console.log('\nunder load (2 sessions × 50 req/s through the balancer, GET streams open; ms)\n');
    console.log(textTable(['scenario', 'requests', 'failed', 'lost sessions', 'stream breaks', 'p50', 'p99'], loadRows));
  }
} finally {
  await soloBalancer.close();
  await solo.stop();
  await fleet.stop();
}
console.log(misses.length === 0 ? '\nall targets met' : `\nmissed: ${misses.join('; ')}`);
process.exit(misses.length === 0 ? 0 : 1);
