import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, startNode, waitForHttpOk } from './processes.ts';

test('waitForHttpOk with its server: a server that exits first ends the wait at once, saying what it printed', async () => {
  const port = await freePort();
  const server = startNode('short-lived', ['-e', "console.error('cannot bind: EADDRINUSE'); process.exit(3)"]);
  const started = Date.now();
  try {
    await waitForHttpOk(`http://127.0.0.1:${port}/readyz`, 20_000, server);
    assert.unreachable('the wait should fail');
  } catch (error) {
    const message = (error as Error).message;
    assert.match(message, /short-lived exited \(3\) before http:\/\/127\.0\.0\.1:\d+\/readyz was OK/);
    assert.match(message, /cannot bind: EADDRINUSE/);
  }
  assert.ok(Date.now() - started < 10_000, `it did not wait out the timeout (${Date.now() - started} ms)`);
});

test('waitForHttpOk with its server: a timeout carries what the server printed', async () => {
  const port = await freePort();
  const server = startNode('silent', ['-e', "console.log('still loading'); setTimeout(() => {}, 60_000)"]);
  try {
    await server.waitFor(/still loading/, 10_000);
    await waitForHttpOk(`http://127.0.0.1:${port}/readyz`, 300, server);
    assert.unreachable('the wait should fail');
  } catch (error) {
    assert.match((error as Error).message, /not OK within 300 ms \(.*\); silent printed:\nstill loading/s);
  } finally {
    await server.stop('SIGKILL');
  }
});

test.run();
