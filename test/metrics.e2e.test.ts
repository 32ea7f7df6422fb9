// Issue 9, acceptance 4: /metrics on the proxy and the control plane move when requests and pushes
// happen. Real processes (the tutorial stack), real scrapes, deltas asserted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { federatedService, startStack, type Stack } from './support/stack.ts';
import { until } from './support/processes.ts';

const ECHO = 'mcp-server-everything-3001_echo';
let stack: Stack;

test.before(async () => {
  stack = await startStack();
});

test.after(async () => {
  await stack?.stop();
});

/** The value of one sample (name plus exact labels as written), 0 when absent. */
async function sample(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

test('proxy: requests by method and outcome, upstream calls and latency by target, sessions by transport', async () => {
  const port = stack.ports.proxyHttp;
  const before = {
    calls: await sample(port, 'mcpmux_proxy_requests_total', { method: 'tools/call', outcome: 'ok' }),
    errors: await sample(port, 'mcpmux_proxy_requests_total', { method: 'tools/call', outcome: 'error' }),
    lists: await sample(port, 'mcpmux_proxy_requests_total', { method: 'tools/list', outcome: 'ok' }),
    upstream: await sample(port, 'mcpmux_proxy_upstream_requests_total', { target: 'mcp-server-everything-3001', method: 'tools/call', outcome: 'ok' }),
    latency: await sample(port, 'mcpmux_proxy_upstream_request_duration_seconds_count', { target: 'mcp-server-everything-3001', method: 'tools/call' }),
    sessions: await sample(port, 'mcpmux_proxy_sessions', { transport: 'streamable-http' }),
  };
  const client: Client = await stack.connect('metrics');
  try {
    await client.listTools();
    for (let i = 0; i < 5; i++) await client.callTool({ name: ECHO, arguments: { message: `m${i}` } });
    await client.callTool({ name: 'mcp-server-everything-3001_no-such-tool', arguments: {} }).catch(() => undefined);
    assert.is(await sample(port, 'mcpmux_proxy_sessions', { transport: 'streamable-http' }), before.sessions + 1, 'the session is counted while open');
  } finally {
    // The SDK's close() keeps the session; DELETE ends it.
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
  }
  assert.is(await sample(port, 'mcpmux_proxy_requests_total', { method: 'tools/call', outcome: 'ok' }), before.calls + 5);
  assert.ok((await sample(port, 'mcpmux_proxy_requests_total', { method: 'tools/call', outcome: 'error' })) >= before.errors + 1, 'the unknown tool counts as an error');
  assert.ok((await sample(port, 'mcpmux_proxy_requests_total', { method: 'tools/list', outcome: 'ok' })) >= before.lists + 1);
  assert.ok((await sample(port, 'mcpmux_proxy_upstream_requests_total', { target: 'mcp-server-everything-3001', method: 'tools/call', outcome: 'ok' })) >= before.upstream + 5);
  assert.ok((await sample(port, 'mcpmux_proxy_upstream_request_duration_seconds_count', { target: 'mcp-server-everything-3001', method: 'tools/call' })) >= before.latency + 5, 'each upstream call is timed');
  await until(async () => (await sample(port, 'mcpmux_proxy_sessions', { transport: 'streamable-http' })) === before.sessions, 'the closed session is no longer counted', 5_000);
});

test('control plane: a config change counts a build, a push and an ACK per proxy, and its convergence time', async () => {
  const port = stack.ports.controlPlaneHttp;
  const before = {
    builds: await sample(port, 'mcpmux_snapshot_builds_total'),
    pushes: await sample(port, 'mcpmux_discovery_pushes_total', { group: 'agentgateway-system/mcp-gateway' }),
    acks: await sample(port, 'mcpmux_discovery_acks_total', { group: 'agentgateway-system/mcp-gateway' }),
    converged: await sample(port, 'mcpmux_convergence_seconds_count', { group: 'agentgateway-system/mcp-gateway' }),
    version: await sample(stack.ports.proxyHttp, 'mcpmux_proxy_snapshot_info'),
  };
  stack.writeFile(
    'metrics-extra.yaml',
    federatedService('metrics-extra', 3009),
  );
  try {
    await until(async () => (await sample(port, 'mcpmux_discovery_acks_total', { group: 'agentgateway-system/mcp-gateway' })) > before.acks, 'the proxy ACKed the new version', 10_000);
    assert.ok((await sample(port, 'mcpmux_snapshot_builds_total')) > before.builds, 'a build');
    assert.ok((await sample(port, 'mcpmux_discovery_pushes_total', { group: 'agentgateway-system/mcp-gateway' })) > before.pushes, 'a push');
    await until(async () => (await sample(port, 'mcpmux_convergence_seconds_count', { group: 'agentgateway-system/mcp-gateway' })) > before.converged, 'its convergence observed', 5_000);
    assert.is(before.version, 1, 'the proxy reports the version it serves');
  } finally {
    stack.removeFile('metrics-extra.yaml');
  }
});

test.run();
