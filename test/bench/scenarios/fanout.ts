// Fan-out: what a session costs when a backend federates many targets. 10 targets × 100 tools:
// `initialize` (an upstream session with each target) and `tools/list` (1000 prefixed tools merged),
// then the same list from targets that page it 10 tools at a time (mcpmux walks every cursor).
// Baselines are the same calls on one upstream directly, in the same run.
import { StreamableClient } from '../lib/clients.ts';
import { Latencies } from '../lib/histogram.ts';
import { check, ms, type Cell, type Scenario } from '../lib/result.ts';
import { startEchoServers, startMcpmux } from '../lib/stack.ts';

const TARGETS = 10;
const TOOLS = 100;
const PAGE_SIZE = 10;

export interface Timed {
  latencies: Latencies;
  tools: number;
}

/** `count` initialize calls, each a new session (ended outside the timing). */
async function timeInitialize(client: StreamableClient, count: number): Promise<Timed> {
  const latencies = new Latencies();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const headers = await client.initialize();
    latencies.recordNs(process.hrtime.bigint() - t0);
    await client.end(headers);
  }
  return { latencies, tools: 0 };
}

/** `count` tools/list calls on one session, following nextCursor to the end each time. */
export async function timeToolsList(client: StreamableClient, count: number): Promise<Timed> {
  const headers = await client.initialize();
  const latencies = new Latencies();
  let tools = 0;
  let id = 1;
  try {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      tools = 0;
      let cursor: string | undefined;
      do {
        const result = await client.request(headers, id++, 'tools/list', cursor === undefined ? {} : { cursor });
        tools += (result.tools as unknown[] | undefined)?.length ?? 0;
        cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      } while (cursor !== undefined);
      latencies.recordNs(process.hrtime.bigint() - t0);
    }
  } finally {
    await client.end(headers);
  }
  return { latencies, tools };
}

function row(call: string, side: string, timed: Timed): Record<string, Cell> {
  const s = timed.latencies.summary();
  return { call, side, calls: s.count, tools: timed.tools || '', p50: ms(s.p50), p99: ms(s.p99) };
}

export const fanout: Scenario = async ({ quick }) => {
  const initCount = quick ? 50 : 200;
  const listCount = quick ? 50 : 200;
  const flat = await startEchoServers(TARGETS, { tools: TOOLS, name: 'echo-flat' });
  const paged = await startEchoServers(TARGETS, { tools: TOOLS, pageSize: PAGE_SIZE, name: 'echo-paged' });
  const mcpmux = await startMcpmux(flat.urls.map((url, i) => ({ name: `t${i}`, url })));
  const rows: Record<string, Cell>[] = [];
  const checks = [];
  const direct = new StreamableClient(flat.urls[0] as string, 1);
  const directPaged = new StreamableClient(paged.urls[0] as string, 1);
  const through = new StreamableClient(mcpmux.mcpUrl, 1);
  try {
    // Warm both paths (JIT, keep-alive sockets) before timing.
    await timeInitialize(direct, 20);
    await timeInitialize(through, 20);
    rows.push(row('initialize', 'direct, 1 upstream', await timeInitialize(direct, initCount)));
    rows.push(row('initialize', `mcpmux, ${TARGETS} targets`, await timeInitialize(through, initCount)));
    rows.push(row('tools/list', 'direct, 1 upstream', await timeToolsList(direct, listCount)));
    const list = await timeToolsList(through, listCount);
    rows.push(row('tools/list', `mcpmux, ${TARGETS} targets`, list));
    checks.push(check('tools listed through mcpmux', String(TARGETS * TOOLS), String(list.tools), list.tools === TARGETS * TOOLS));

    mcpmux.writeTargets(paged.urls.map((url, i) => ({ name: `t${i}`, url })));
    // The new config reaches the proxy asynchronously: wait until a new session sees paged targets.
    await waitForTools(through, TARGETS * TOOLS);
    rows.push(row(`tools/list, pages of ${PAGE_SIZE}`, 'direct, 1 upstream', await timeToolsList(directPaged, listCount)));
    const pagedList = await timeToolsList(through, listCount);
    rows.push(row(`tools/list, pages of ${PAGE_SIZE}`, `mcpmux, ${TARGETS} targets`, pagedList));
    checks.push(check('tools listed across paginated targets', String(TARGETS * TOOLS), String(pagedList.tools), pagedList.tools === TARGETS * TOOLS));
  } finally {
    await Promise.all([direct.close(), directPaged.close(), through.close()]);
    await mcpmux.stop();
    await Promise.all([flat.process.stop(), paged.process.stop()]);
  }
  return {
    id: 'fanout',
    title: `Fan-out: ${TARGETS} targets × ${TOOLS} tools (initialize opens ${TARGETS} upstream sessions; tools/list merges ${TARGETS * TOOLS} tools)`,
    columns: ['call', 'side', 'calls', 'tools', 'p50', 'p99'],
    rows,
    checks,
    notes: [
      `The ${TARGETS} upstreams are echo servers on their own ports in one process; "direct" is the same call on one of them.`,
      'A tools/list through mcpmux with paginated targets is timed until the client has every page.',
    ],
  };
};

async function waitForTools(client: StreamableClient, expected: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { tools } = await timeToolsList(client, 1);
    if (tools === expected) return;
    if (Date.now() > deadline) throw new Error(`fanout: expected ${expected} tools after the config change, saw ${tools}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (import.meta.main) console.log(JSON.stringify(await fanout({ quick: process.argv.includes('--quick') }), null, 2));
