// Issue 16: a proxy started with --nats that is told to stop (SIGTERM) while NATS is unreachable
// exits within --drain-timeout, whatever NATS does: nothing waits on a flush that cannot happen.
// A real nats-server, stopped before the signal; the proxy is the CLI's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer, type NatsServer } from './support/nats.ts';
import { CLI, freePort, startNode, type Managed } from './support/processes.ts';

const DRAIN_TIMEOUT_S = 3;
/** Process start-up, the last log lines, the exit itself. */
const MARGIN_MS = 2_000;

let nats: NatsServer | undefined;
const proxies: Managed[] = [];

test.after(async () => {
  for (const proxy of proxies) await proxy.stop('SIGKILL');
  await nats?.destroy();
});

async function startFleetProxy(natsUrl: string): Promise<Managed> {
  const [port, httpPort, controlPlane] = await Promise.all([freePort(), freePort(), freePort()]);
  const started = startNode('proxy', [
    CLI,
    'proxy',
    '--nats',
    natsUrl,
    '--replica-id',
    'shutdown-test',
    '--port',
    String(port),
    '--http-port',
    String(httpPort),
    // Nothing listens there: the proxy keeps trying, as it would while its control plane restarts.
    '--control-plane',
    `127.0.0.1:${controlPlane}`,
    '--drain-timeout',
    String(DRAIN_TIMEOUT_S),
  ]);
  proxies.push(started);
  await started.waitFor(/proxy listening/, 20_000);
  return started;
}

function exitWithin(managed: Managed, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number } | 'still running'> {
  const child = managed.child;
  const since = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode, afterMs: 0 });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still running'), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, afterMs: Date.now() - since });
    });
  });
}

test('SIGTERM while NATS is unreachable: the proxy exits within --drain-timeout', async () => {
  nats = await startNatsServer();
  const proxy = await startFleetProxy(nats.url);
  await nats.stop();
  await proxy.waitFor(/NATS unreachable/, 10_000);
  const outcome = exitWithin(proxy, DRAIN_TIMEOUT_S * 1000 + MARGIN_MS);
  proxy.child.kill('SIGTERM');
  const exited = await outcome;
  assert.ok(exited !== 'still running', `the proxy still runs ${DRAIN_TIMEOUT_S * 1000 + MARGIN_MS} ms after SIGTERM; output:\n${proxy.output()}`);
  assert.is(exited.signal, null, `killed by ${exited.signal}`);
  assert.is(exited.code, 0, proxy.output());
  assert.match(proxy.output(), /drained/);
  assert.not.match(proxy.output(), /overran/);
});

test('SIGTERM with NATS up: the proxy leaves the fleet and exits well within --drain-timeout', async () => {
  await nats!.restart();
  const proxy = await startFleetProxy(nats!.url);
  const outcome = exitWithin(proxy, DRAIN_TIMEOUT_S * 1000 + MARGIN_MS);
  proxy.child.kill('SIGTERM');
  const exited = await outcome;
  assert.ok(exited !== 'still running', proxy.output());
  assert.is(exited.code, 0, proxy.output());
  assert.not.match(proxy.output(), /overran/);
});

test.run();
