// Memory per idle session: 10,000 streamable HTTP sessions initialized on one proxy, then left
// idle. The proxy runs in a child process started with --expose-gc (fixtures/measured-proxy.ts), so
// heap figures are taken after a full collection, not with whatever garbage happened to be around.
// Upstreams: a stateless echo server (no upstream session id) and a stateful one (an Mcp-Session-Id
// per upstream session, no GET stream).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { streamableEndpoint } from '../lib/clients.ts';
import { openSessions } from '../lib/driver.ts';
import { check, type Cell, type Check, type Scenario } from '../lib/result.ts';
import { startControlPlane, startEcho, type EchoProcess } from '../lib/stack.ts';

const MEASURED_PROXY = fileURLToPath(new URL('../fixtures/measured-proxy.ts', import.meta.url));
const TARGET_BYTES = 20 * 1024;

interface Usage {
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

interface Measured {
  child: ChildProcess;
  port: number;
  memory(): Promise<{ usage: Usage; sessions: number }>;
  stop(): Promise<void>;
}

function nextMessage<T>(child: ChildProcess, kind: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`measured proxy sent no ${kind} message within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: { kind?: string }): void => {
      if (message.kind !== kind) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`measured proxy exited (${code}) before sending ${kind}`)));
  });
}

async function startMeasuredProxy(controlPlane: string): Promise<Measured> {
  const child = fork(MEASURED_PROXY, [controlPlane], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, MCPMUX_LOG_LEVEL: 'warn' } });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const ready = await nextMessage<{ port: number; httpPort: number }>(child, 'ready');
  return {
    child,
    port: ready.port,
    async memory() {
      const reply = nextMessage<{ usage: Usage; sessions: number }>(child, 'memory');
      child.send('memory');
      return reply;
    },
    async stop() {
      process.off('exit', killOnExit);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Opens `count` sessions (initialize + initialized) and leaves them idle on the proxy. */
async function openIdleSessions(url: string, count: number): Promise<void> {
  const endpoint = streamableEndpoint({ name: 'mcpmux', url, tool: 'echo_echo', connections: 16 });
  try {
    await openSessions(endpoint, count);
  } finally {
    await endpoint.close();
  }
}

async function waitUntilServing(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await openIdleSessions(url, 1);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const MB = 1024 * 1024;

export const memory: Scenario = async ({ quick }) => {
  const sessions = quick ? 2_000 : 10_000;
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  for (const stateful of [false, true]) {
    const echo: EchoProcess = await startEcho({ stateful });
    const controlPlane = await startControlPlane([{ name: 'echo', url: echo.url }]);
    const proxy = await startMeasuredProxy(controlPlane.grpcAddress);
    try {
      const url = `http://127.0.0.1:${proxy.port}/mcp`;
      await waitUntilServing(url);
      await openIdleSessions(url, 200); // warm: code paths compiled, pools and caches allocated
      const before = await proxy.memory();
      await openIdleSessions(url, sessions);
      const after = await proxy.memory();
      const added = after.sessions - before.sessions;
      const heapPer = (after.usage.heapUsed - before.usage.heapUsed) / added;
      const rssPer = (after.usage.rss - before.usage.rss) / added;
      const label = stateful ? 'stateful upstream (session id)' : 'stateless upstream';
      rows.push({
        upstream: label,
        sessions: after.sessions,
        'heap before': `${(before.usage.heapUsed / MB).toFixed(1)} MB`,
        'heap after': `${(after.usage.heapUsed / MB).toFixed(1)} MB`,
        'RSS before': `${(before.usage.rss / MB).toFixed(1)} MB`,
        'RSS after': `${(after.usage.rss / MB).toFixed(1)} MB`,
        'heap / session': `${(heapPer / 1024).toFixed(1)} KB`,
        'RSS / session': `${(rssPer / 1024).toFixed(1)} KB`,
      });
      checks.push(check(`heap per idle session, ${label}`, '≤ 20 KB', `${(heapPer / 1024).toFixed(1)} KB`, heapPer <= TARGET_BYTES));
      checks.push(check(`sessions held, ${label}`, `≥ ${sessions}`, String(added), added >= sessions));
    } finally {
      await proxy.stop();
      await controlPlane.stop();
      await echo.process.stop();
    }
  }
  return {
    id: 'memory',
    title: `Memory per idle session: ${sessions.toLocaleString('en')} streamable HTTP sessions on one proxy`,
    columns: ['upstream', 'sessions', 'heap before', 'heap after', 'RSS before', 'RSS after', 'heap / session', 'RSS / session'],
    rows,
    checks,
    notes: [
      'Heap is measured after a full garbage collection (the proxy runs with --expose-gc); RSS also holds memory V8 keeps for reuse.',
      'Each session has one upstream session with its target; an upstream that offers a GET stream would add one open socket per session and target (not measured here).',
    ],
  };
};

if (import.meta.main) console.log(JSON.stringify(await memory({ quick: process.argv.includes('--quick') }), null, 2));
