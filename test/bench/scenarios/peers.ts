// Peers side by side: the same echo upstream called directly, through mcpmux and through each peer
// gateway (mcp-hub from npm; magg, a FastMCP proxy, IBM ContextForge and LiteLLM's MCP gateway from
// PyPI where Python is present), with the same driver in interleaved rounds of one run, and each
// side's resident memory after each level; then tools/list over 10 targets through mcpmux and the
// peers that federate them over streamable HTTP (Lasso's mcp-gateway is tried and, as things stand,
// skipped: see peers.ts). Peers are installed into the cache by peers.ts, never
// as project dependencies; one that cannot be installed or started is reported as skipped.
import { StreamableClient, streamableEndpoint, type BenchEndpoint } from '../lib/clients.ts';
import { interleave, medianRate } from '../lib/driver.ts';
import { treeRssBytes } from '../lib/proc-stats.ts';
import { check, ms, type Cell, type Check, type Scenario } from '../lib/result.ts';
import { startEcho, startEchoServers, startMcpmux } from '../lib/stack.ts';
import { startPeers } from '../peers.ts';
import { timeToolsList } from './fanout.ts';
import { COLUMNS, sideRow } from './overhead.ts';

/** One session (latency), then 16 (throughput: every side saturated by the same driver). */
const LEVELS = [1, 16];

const RSS = 'RSS';
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export const peers: Scenario = async ({ quick }) => {
  const echo = await startEcho();
  const mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }]);
  const connections = Math.max(...LEVELS);
  const started = await startPeers(echo.url, { connections });
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  // A skip reason may carry the peer's output; its first line says why.
  const notes = started.skipped.map((s) => `${s.name} skipped: ${s.reason.split('\n')[0] ?? ''}`);
  const endpoints: BenchEndpoint[] = [
    streamableEndpoint({ name: 'direct', url: echo.url, tool: 'echo', connections }),
    streamableEndpoint({ name: 'mcpmux', url: mcpmux.mcpUrl, tool: 'echo_echo', connections }),
    ...started.peers.map((peer) => peer.endpoint),
  ];
  // Whose memory each side's row shows: direct, the echo upstream's own; mcpmux, its proxy (the
  // control plane is in a note); a peer, its process and any children it started.
  const pids = new Map<string, number>([
    ['direct', echo.process.child.pid ?? 0],
    ['mcpmux', mcpmux.proxy.child.pid ?? 0],
    ...started.peers.map((peer): [string, number] => [peer.endpoint.name, peer.pid]),
  ]);
  try {
    for (const sessions of LEVELS) {
      // Slow peers (a Python proxy opening a backend session per call) get fewer calls: each round
      // of a side ends after its calls or after maxRoundMs, whichever comes first.
      const results = await interleave(endpoints, {
        sessions,
        rounds: quick ? 5 : 10,
        callsPerRound: (quick ? 300 : 1000) * sessions,
        warmupCalls: 300,
        maxRoundMs: quick ? 1000 : 2000,
      });
      const direct = results.get('direct');
      const ours = results.get('mcpmux');
      if (!direct || !ours) throw new Error('peers: a side did not run');
      for (const endpoint of endpoints) {
        const result = results.get(endpoint.name);
        const pid = pids.get(endpoint.name) ?? 0;
        if (result) rows.push({ ...sideRow(sessions, endpoint.name, result, direct), [RSS]: pid > 0 ? mib(treeRssBytes(pid)) : '' });
      }
      const directP50 = direct.latencies.percentile(50);
      const oursAdded = ours.latencies.percentile(50) - directP50;
      for (const peer of started.peers) {
        const result = results.get(peer.endpoint.name);
        if (!result) continue;
        if (sessions === 1) {
          const added = result.latencies.percentile(50) - directP50;
          checks.push(check(`mcpmux adds less than ${peer.name} (p50, 1 session)`, `< ${ms(added)}`, ms(oursAdded), oursAdded < added));
        } else {
          const theirs = medianRate(result);
          checks.push(check(`mcpmux throughput ≥ ${peer.name} (${sessions} sessions)`, `≥ ${Math.round(theirs)}/s`, `${Math.round(medianRate(ours))}/s`, medianRate(ours) >= theirs));
        }
        if (result.failed > 0) notes.push(`${peer.name}, ${sessions} sessions: ${result.failed} failed calls (${[...result.errors.keys()].join('; ')})`);
      }
    }
    for (const peer of started.peers) notes.push(`${peer.name} ${peer.version}`);
    const controlPlane = mcpmux.controlPlane.child.pid;
    if (controlPlane) notes.push(`RSS: resident memory after each level, of the process and its children; mcpmux's control plane (not in its row) ${mib(treeRssBytes(controlPlane))}`);
  } finally {
    await Promise.all(endpoints.map((endpoint) => endpoint.close()));
    await Promise.all(started.peers.map((peer) => peer.stop()));
    await mcpmux.stop();
    await echo.process.stop();
  }
  rows.push(...(await listFanOut(quick, notes)));
  return {
    id: 'peers',
    title: 'Peers side by side over the same echo upstream: added latency (1 session), throughput (16 sessions) and memory, interleaved rounds; tools/list over 10 targets (list/10)',
    columns: [...COLUMNS, RSS],
    rows,
    checks,
    notes,
  };
};

/**
 * Peers that federate and serve streamable HTTP, for the tools/list fan-out. mcp-hub federates too
 * but serves legacy SSE only; the FastMCP proxy is set up in front of one server.
 */
const FANOUT_PEERS = ['magg', 'contextforge', 'litellm'];
const FANOUT_TARGETS = 10;

/**
 * tools/list over 10 echo targets (one tool each), on one session, through mcpmux and each
 * federating peer started afresh in front of the 10; one target listed directly is the baseline.
 * Rows have `list/10` as their sessions.
 */
async function listFanOut(quick: boolean, notes: string[]): Promise<Record<string, Cell>[]> {
  const servers = await startEchoServers(FANOUT_TARGETS);
  const mcpmux = await startMcpmux(servers.urls.map((url, i) => ({ name: i === 0 ? 'echo' : `echo${i}`, url })));
  const started = await startPeers(servers.urls, { connections: 1, only: FANOUT_PEERS });
  const rows: Record<string, Cell>[] = [];
  const listed: string[] = [];
  for (const s of started.skipped) notes.push(`tools/list fan-out: ${s.name} skipped: ${s.reason.split('\n')[0] ?? ''}`);
  const sides = [
    { name: 'direct', url: servers.urls[0] as string, headers: {}, pid: servers.process.child.pid ?? 0 },
    { name: 'mcpmux', url: mcpmux.mcpUrl, headers: {}, pid: mcpmux.proxy.child.pid ?? 0 },
    ...started.peers.flatMap((peer) => (peer.streamable ? [{ name: peer.name, url: peer.streamable.url, headers: peer.streamable.headers ?? {}, pid: peer.pid }] : [])),
  ];
  try {
    let direct: number | undefined;
    for (const side of sides) {
      const client = new StreamableClient(side.url, 1, side.headers);
      try {
        await timeToolsList(client, 3); // warm-up
        const timed = await timeToolsList(client, quick ? 30 : 100);
        const summary = timed.latencies.summary();
        direct ??= summary.p50;
        listed.push(`${side.name} ${timed.tools}`);
        rows.push({
          sessions: `list/${FANOUT_TARGETS}`,
          side: side.name === 'direct' ? 'direct (1 target)' : side.name,
          calls: summary.count,
          failed: 0,
          p50: ms(summary.p50),
          p90: ms(summary.p90),
          p99: ms(summary.p99),
          'added p50': side.name === 'direct' ? '' : ms(summary.p50 - direct),
          RSS: side.pid > 0 ? mib(treeRssBytes(side.pid)) : '',
        });
      } catch (error) {
        notes.push(`tools/list fan-out: ${side.name} failed: ${(error as Error).message.split('\n')[0] ?? ''}`);
      } finally {
        await client.close();
      }
    }
  } finally {
    await Promise.all(started.peers.map((peer) => peer.stop()));
    await mcpmux.stop();
    await servers.process.stop();
  }
  notes.push(
    `list/${FANOUT_TARGETS}: tools/list on one session over ${FANOUT_TARGETS} echo targets (1 tool each), through mcpmux and the federating peers that serve streamable HTTP (mcp-hub's /mcp is legacy SSE; the FastMCP proxy fronts one server); "added p50" is over one target listed directly; tools listed: ${listed.join(', ')}`,
  );
  return rows;
}

if (import.meta.main) console.log(JSON.stringify(await peers({ quick: process.argv.includes('--quick') }), null, 2));
