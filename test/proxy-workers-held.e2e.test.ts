// mcpmux proxy --workers 2 without NATS, a 2026-07-28 client and a 2025 upstream that asks it for
// input (MRTR): the call is held in the worker that began it, and the client's retry, sent on a new
// connection (so the other worker, round-robin), is passed to that worker and completes there.
import { Agent, request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startFleet, type FleetHarness } from './support/fleet.ts';
import { MODERN, messagesOf, modernMeta } from '../proxy/testing/modern.ts';

let pod: FleetHarness;

test.before(async () => {
  // One replica of two workers; the control plane (loopback) gives both the same requestState key.
  pod = await startFleet({ replicas: 1, nats: false, proxyArgs: ['--workers', '2'] });
});

test.after(async () => {
  await pod?.stop();
});

/** One POST on a connection of its own (a new agent): round-robin puts consecutive ones on alternating workers. */
async function post(params: Record<string, unknown>): Promise<Record<string, any>> {
  const agent = new Agent({ connections: 1 });
  try {
    const response = await request(pod.replicas[0]!.url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': String(params.name) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }),
    });
    return messagesOf(String(response.headers['content-type']), await response.body.text()).at(-1)!;
  } finally {
    await agent.close();
  }
}

async function forwarded(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${pod.replicas[0]!.httpPort}/metrics`)).text();
  return [...text.matchAll(/^mcpmux_proxy_worker_forwarded_requests_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

test("MRTR: a 2025 upstream's call held by one worker is completed by a retry that lands on the other", async () => {
  const before = await forwarded();
  for (let i = 0; i < 4; i++) {
    const params = { _meta: modernMeta({ elicitation: {} }), name: 'mcp-server-everything-3001_trigger-elicitation-request', arguments: {} };
    const first = await post(params);
    assert.is(first.result.resultType, 'input_required', JSON.stringify(first));
    const [key] = Object.keys(first.result.inputRequests);
    const done = await post({ ...params, inputResponses: { [key!]: { action: 'accept', content: { color: 'red', number: 7, pets: ['dog'] } } }, requestState: first.result.requestState });
    assert.is(done.result.resultType, 'complete', JSON.stringify(done));
    assert.not.ok(done.result.isError, JSON.stringify(done));
    assert.match(JSON.stringify(done.result.content), /accept/);
  }
  assert.ok((await forwarded()) > before, 'some retries reached the other worker and were passed to the holder');
});

test.run();
