// Pushes under load: while sessions call a tool without pause, the backend's targets change again
// and again (a second target swaps name and server every time), and each change is pushed to the
// proxy and ACKed before the next. Requests in flight finish on the table they started with; none
// may fail.
import { AdminClient } from '../../../shared/admin/client.ts';
import { streamableEndpoint } from '../lib/clients.ts';
import { closeSessions, emptyResult, openSessions, runLoad } from '../lib/driver.ts';
import { Latencies } from '../lib/histogram.ts';
import { check, ms, type Scenario } from '../lib/result.ts';
import { startEchoServers, startMcpmux, type BackendTarget } from '../lib/stack.ts';

const SESSIONS = 8;

async function ackedVersion(admin: AdminClient): Promise<{ acked: string; nack: string }> {
  const proxy = (await admin.listProxies()).find((p) => p.nodeId === 'bench-proxy');
  return { acked: proxy?.ackedVersion ?? '', nack: proxy?.lastNackError ?? '' };
}

export const pushes: Scenario = async ({ quick }) => {
  const total = quick ? 200 : 1000;
  const echo = await startEchoServers(3, { name: 'echo-pushes' });
  const [main, spareA, spareB] = echo.urls as [string, string, string];
  const targets = (i: number): BackendTarget[] => [
    { name: 'echo', url: main },
    i % 2 === 0 ? { name: `spare-${i}`, url: spareA } : { name: `spare-${i}`, url: spareB },
  ];
  const mcpmux = await startMcpmux([{ name: 'echo', url: main }]);
  const admin = new AdminClient(mcpmux.grpcAddress);
  const endpoint = streamableEndpoint({ name: 'mcpmux', url: mcpmux.mcpUrl, tool: 'echo_echo', connections: SESSIONS });
  const pushLatency = new Latencies();
  let applied = 0;
  let nacks = 0;
  const load = emptyResult();
  try {
    const sessions = await openSessions(endpoint, SESSIONS);
    let stop = false;
    const running = runLoad(sessions, { stop: () => stop, into: load });
    try {
      let previous = (await ackedVersion(admin)).acked;
      for (let i = 0; i < total; i++) {
        const t0 = process.hrtime.bigint();
        mcpmux.writeTargets(targets(i));
        const deadline = Date.now() + 10_000;
        for (;;) {
          const { acked, nack } = await ackedVersion(admin);
          if (acked !== previous) {
            previous = acked;
            applied++;
            break;
          }
          if (nack) nacks++;
          if (Date.now() > deadline) {
            throw new Error(`push ${i + 1}: the proxy did not ACK a new version within 10 s: ${JSON.stringify(await admin.listProxies())}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        pushLatency.recordNs(process.hrtime.bigint() - t0);
      }
    } finally {
      stop = true;
      await running;
      await closeSessions(sessions);
    }
  } finally {
    admin.close();
    await endpoint.close();
    await mcpmux.stop();
    await echo.process.stop();
  }
  const push = pushLatency.summary();
  const calls = load.latencies.summary();
  return {
    id: 'pushes',
    title: `Pushes under load: ${total} snapshot pushes while ${SESSIONS} sessions call a tool without pause`,
    columns: ['pushes ACKed', 'NACKs', 'calls', 'failed calls', 'call p50', 'call p99', 'write → ACK p50', 'write → ACK p99'],
    rows: [
      {
        'pushes ACKed': applied,
        NACKs: nacks,
        calls: load.ok + load.failed,
        'failed calls': load.failed,
        'call p50': ms(calls.p50),
        'call p99': ms(calls.p99),
        'write → ACK p50': ms(push.p50),
        'write → ACK p99': ms(push.p99),
      },
    ],
    checks: [
      check(`failed requests across ${total} pushes`, '0', String(load.failed), load.failed === 0),
      check('pushes applied', String(total), String(applied), applied === total),
    ],
    notes: [...load.errors].map(([message, count]) => `${count}× ${message}`),
  };
};

if (import.meta.main) console.log(JSON.stringify(await pushes({ quick: process.argv.includes('--quick') }), null, 2));
