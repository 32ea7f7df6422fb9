// 2026-07-28 clients on a fleet: three replicas sharing NATS behind the round-robin balancer, the
// requestState key shared through --request-state-key-file. Modern requests are stateless: 1000
// tools/calls spread over every replica put no more traffic on NATS than an idle window of the same
// length (nats-server /varz). An MRTR round whose retry lands on another replica completes, both
// for a 2026-07-28 upstream (stateless) and for a 2025 upstream's held call (found over NATS); a
// tampered and a redirected requestState are refused on every replica.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startFleet, type FleetHarness } from './support/fleet.ts';
import { MODERN, messagesOf, modernMeta } from '../proxy/testing/modern.ts';

let fleet: FleetHarness;
const keyFile = join(process.env.TMPDIR ?? '/tmp', `mcpmux-fleet-keys-${process.pid}`);
const agent = new Agent({ connections: 8 });

const meta = modernMeta;

async function post(url: string, method: string, params: Record<string, unknown>, id = 1): Promise<Record<string, any>> {
  const name = (params.name ?? params.uri) as string | undefined;
  const response = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name === undefined ? {} : { 'mcp-name': name }),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  return messagesOf(String(response.headers['content-type']), await response.body.text()).at(-1)!;
}

async function natsMessages(): Promise<number> {
  const varz = (await (await fetch(`${fleet.nats!.monitorUrl}/varz`)).json()) as { in_msgs: number; out_msgs: number };
  return varz.in_msgs + varz.out_msgs;
}

async function modernCallsOn(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(/mcpmux_proxy_client_requests_by_era_total\{era="modern"\} (\d+)/.exec(text)?.[1] ?? 0);
}

test.before(async () => {
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  fleet = await startFleet({ replicas: 3, modern: true, natsMonitor: true, proxyArgs: ['--request-state-key-file', keyFile] });
});

test.after(async () => {
  await agent.close();
  await fleet?.stop();
  rmSync(keyFile, { force: true });
});

test('1000 modern tools/calls over three replicas: no more NATS traffic than an idle window of the same length', async () => {
  const call = (i: number) => post(fleet.mcpUrl, 'tools/call', { _meta: meta(), name: 'mcp-modern-demo-3701_greet', arguments: { name: `n${i}` } }, i);
  // Warm up: every replica probes the upstream's era once.
  for (let i = 0; i < 30; i++) assert.is((await call(i)).result.content[0].text, `Hello, n${i}!`);
  const before = await Promise.all(fleet.replicas.map((r) => modernCallsOn(r.httpPort)));
  const startMessages = await natsMessages();
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < 1000; i = next++) {
        const answer = await call(i);
        assert.is(answer.result?.content?.[0]?.text, `Hello, n${i}!`, JSON.stringify(answer));
      }
    }),
  );
  const busyMs = Date.now() - started;
  const busy = (await natsMessages()) - startMessages;
  // Idle windows of the same length, two of them: heartbeats (1 s) fall into a window unevenly.
  const idleWindow = async (): Promise<number> => {
    const from = await natsMessages();
    await new Promise((resolve) => setTimeout(resolve, busyMs));
    return (await natsMessages()) - from;
  };
  const idle = Math.max(await idleWindow(), await idleWindow());
  const after = await Promise.all(fleet.replicas.map((r) => modernCallsOn(r.httpPort)));
  const perReplica = after.map((n, i) => n - before[i]!);
  console.log(`1000 calls in ${busyMs} ms; per replica ${perReplica.join('/')}; NATS messages during the calls ${busy}, during the busier of two idle windows of the same length ${idle}`);
  assert.ok(perReplica.every((n) => n >= 250), `every replica served its share: ${perReplica.join('/')}`);
  // Heartbeats tick on their own 1 s clock: a window may hold one round (a second of background) more than another.
  const oneRound = Math.ceil(idle / Math.max(1, busyMs / 1000));
  assert.ok(busy <= idle + oneRound, `NATS carried ${busy} messages during the calls, ${idle} in the busier of two idle windows (one heartbeat round ≈ ${oneRound})`);
});

test('MRTR: a modern upstream\'s input_required answered on one replica, its retry completes on another', async () => {
  const [a, b] = fleet.replicas;
  const params = { _meta: meta({ elicitation: {} }), name: 'mcp-modern-demo-3701_confirm-action', arguments: { action: 'release' } };
  const first = await post(a!.url, 'tools/call', params);
  assert.is(first.result.resultType, 'input_required');
  const done = await post(b!.url, 'tools/call', { ...params, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } }, requestState: first.result.requestState });
  assert.is(done.result.content[0].text, 'confirmed: release');
});

test('MRTR: a 2025 upstream\'s call held on one replica is completed by a retry on another (over NATS)', async () => {
  const [a, , c] = fleet.replicas;
  const params = { _meta: meta({ elicitation: {} }), name: 'mcp-server-everything-3001_trigger-elicitation-request', arguments: {} };
  const first = await post(a!.url, 'tools/call', params);
  assert.is(first.result.resultType, 'input_required', JSON.stringify(first));
  const [key] = Object.keys(first.result.inputRequests);
  assert.is(first.result.inputRequests[key!].method, 'elicitation/create');
  const done = await post(c!.url, 'tools/call', { ...params, inputResponses: { [key!]: { action: 'accept', content: { color: 'red', number: 7, pets: ['dog'] } } }, requestState: first.result.requestState });
  assert.is(done.result.resultType, 'complete', JSON.stringify(done));
  assert.not.ok(done.result.isError, JSON.stringify(done));
  assert.match(JSON.stringify(done.result.content), /accept/);
});

test('a tampered and a redirected requestState are refused on every replica', async () => {
  const params = { _meta: meta({ elicitation: {} }), name: 'mcp-modern-demo-3701_confirm-action', arguments: { action: 'x' } };
  const first = await post(fleet.replicas[0]!.url, 'tools/call', params);
  const token = first.result.requestState as string;
  const inputResponses = { confirm: { action: 'accept', content: { confirm: true } } };
  for (const replica of fleet.replicas) {
    const tampered = await post(replica.url, 'tools/call', { ...params, inputResponses, requestState: `${token}-TAMPERED` });
    assert.is(tampered.error?.code, -32602, `${replica.id}: ${JSON.stringify(tampered)}`);
    const redirected = await post(replica.url, 'tools/call', { ...params, name: 'mcp-modern-demo-3701_greet', arguments: { name: 'x' }, inputResponses, requestState: token });
    assert.is(redirected.error?.code, -32602, `${replica.id}: ${JSON.stringify(redirected)}`);
    assert.match(redirected.error.message, /another/);
  }
});

test.run();
