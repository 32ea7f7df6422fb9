// mcpmux proxy --workers 2 --nats: the workers share sessions through NATS as the replicas of a
// fleet do (each is replica <id>-w<k>), so no session id carries a worker and nothing is passed
// between workers; a session's calls on any connection are served by whichever worker gets them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { callEcho, StreamableClient } from './bench/lib/clients.ts';
import { startEcho, startMcpmux, type EchoProcess, type McpmuxProcesses } from './bench/lib/stack.ts';
import { startNatsServer, type NatsServer } from './support/nats.ts';

let echo: EchoProcess;
let nats: NatsServer;
let mcpmux: McpmuxProcesses;

test.before(async () => {
  nats = await startNatsServer();
  echo = await startEcho({ stateful: true });
  mcpmux = await startMcpmux([{ name: 'echo', url: echo.url }], { workers: 2, proxyArgs: ['--nats', nats.url], proxyEnv: { MCPMUX_LOG_LEVEL: 'info' } });
});

test.after(async () => {
  await mcpmux?.stop();
  await echo?.process.stop();
  await nats?.destroy();
});

test('with NATS each worker is a fleet member: sessions spread over connections work, ids carry no worker', async () => {
  for (let s = 0; s < 4; s++) {
    const opener = new StreamableClient(mcpmux.mcpUrl, 1);
    const headers = await opener.initialize();
    await opener.close();
    assert.not.match(headers['mcp-session-id']!, /^w\d+_/);
    for (let id = 1; id <= 4; id++) {
      const client = new StreamableClient(mcpmux.mcpUrl, 1);
      await callEcho(client, headers, id, 'echo_echo');
      await client.close();
    }
  }
  const text = await (await fetch(`${mcpmux.proxyHttpUrl}/metrics`)).text();
  for (const worker of ['0', '1']) {
    assert.match(text, new RegExp(`mcpmux_proxy_requests_total\\{method="tools/call",outcome="ok",worker="${worker}"\\} [1-9]`), `worker ${worker} served calls`);
  }
  assert.not.match(text, /mcpmux_proxy_worker_forwarded_requests_total/, 'nothing is passed between workers');
  const output = mcpmux.proxy.output();
  assert.match(output, /"replica":"bench-proxy-w0"/);
  assert.match(output, /"replica":"bench-proxy-w1"/);
});

test.run();
