// Held calls without sockets: a stand-in upstream connection records what it is answered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import type { OutgoingResponse, UpstreamConnection, UpstreamResponse } from '../upstream/connection.ts';
import { HeldCalls, type Hold } from './held-calls.ts';
import type { RequestStateBinding } from './request-state.ts';

const logger = createLogger('test', { level: 'silent' });
const binding: RequestStateBinding = { target: 't', method: 'tools/call', name: 'ask', principal: undefined };

function fakeUpstream(): { upstream: UpstreamConnection; answers: OutgoingResponse[] } {
  const answers: OutgoingResponse[] = [];
  const upstream = { closed: false, respond: async (answer: OutgoingResponse) => void answers.push(answer) } as unknown as UpstreamConnection;
  return { upstream, answers };
}

/** A 2025 upstream call that asks `questions` one round after another, then answers. */
function asking(questions: JSONRPCRequest[][]): { call: () => Promise<UpstreamResponse>; listen: (l: (t: string, u: UpstreamConnection, r: JSONRPCRequest) => void) => void; answered: (id: string | number) => void } {
  let listener: ((t: string, u: UpstreamConnection, r: JSONRPCRequest) => void) | undefined;
  let round = 0;
  let pending = new Set<string | number>();
  let finish!: (r: UpstreamResponse) => void;
  const ask = (): void => {
    const batch = questions[round++];
    if (!batch) return finish({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'done' }] } });
    pending = new Set(batch.map((q) => q.id));
    for (const q of batch) listener?.('t', {} as UpstreamConnection, q);
  };
  return {
    listen: (l) => (listener = l),
    call: () =>
      new Promise<UpstreamResponse>((resolve) => {
        finish = resolve;
        setTimeout(ask, 1);
      }),
    answered: (id) => {
      pending.delete(id);
      if (pending.size === 0) setTimeout(ask, 1);
    },
  };
}

const seal = (hold: Hold): string => `${hold.replica}/${hold.id}`;
const elicit = (id: number): JSONRPCRequest => ({ jsonrpc: '2.0', id, method: 'elicitation/create', params: { message: 'name?' } });

test('a call that asks is held: input_required, then each retry answers and waits, round after round, until the answer', async () => {
  const held = new HeldCalls({ replicaId: 'r1', logger });
  const { upstream, answers } = fakeUpstream();
  const flow = asking([[elicit(10)], [elicit(11)]]);
  const respond = upstream.respond.bind(upstream);
  (upstream as { respond: typeof respond }).respond = async (answer) => {
    await respond(answer);
    flow.answered(answer.id);
  };
  const first = await held.start('t', upstream, flow.listen, flow.call, { seal, capabilities: { elicitation: {} }, binding: () => binding, holder: 'client a' });
  const r1 = first as unknown as { result: { resultType: string; inputRequests: Record<string, { method: string }>; requestState: string } };
  assert.is(r1.result.resultType, 'input_required');
  const [key1] = Object.keys(r1.result.inputRequests);
  assert.is(r1.result.inputRequests[key1!]!.method, 'elicitation/create');
  const hold = { replica: 'r1', id: r1.result.requestState.split('/')[1]! };
  const second = (await held.resume(hold, binding, { [key1!]: { action: 'accept', content: { name: 'a' } } }, { seal, capabilities: { elicitation: {} } })) as unknown as typeof r1;
  assert.is(second.result.resultType, 'input_required');
  const [key2] = Object.keys(second.result.inputRequests);
  assert.is.not(key2, key1);
  const done = await held.resume(hold, binding, { [key2!]: { action: 'accept', content: { name: 'b' } } }, { seal, capabilities: { elicitation: {} } });
  assert.equal((done as { result: unknown }).result, { content: [{ type: 'text', text: 'done' }] });
  assert.equal(answers.map((a) => a.id), [10, 11]);
  assert.is(held.size, 0);
});

test('a question the request did not declare: -32021 naming the capability, and the upstream is answered with an error', async () => {
  const held = new HeldCalls({ replicaId: 'r1', logger });
  const { upstream, answers } = fakeUpstream();
  const flow = asking([[elicit(20)]]);
  try {
    await held.start('t', upstream, flow.listen, flow.call, { seal, capabilities: { sampling: {} }, binding: () => binding, holder: 'client a' });
    assert.unreachable('started');
  } catch (error) {
    assert.instance(error, McpmuxError);
    assert.is((error as McpmuxError).jsonRpcCode, -32021);
    assert.equal((error as McpmuxError).data, { requiredCapabilities: { elicitation: {} } });
  }
  assert.is(answers[0]!.id, 20);
  assert.ok('error' in answers[0]!);
});

test('limits per holder, an unknown or expired hold, and another replica without NATS: refusals that say why', async () => {
  const limits: string[] = [];
  const held = new HeldCalls({ replicaId: 'r1', logger, maxPerPrincipal: 1, holdMs: 50, onLimit: (l) => limits.push(l) });
  const { upstream } = fakeUpstream();
  const flow = asking([[elicit(2)]]);
  const first = await held.start('t', upstream, flow.listen, flow.call, { seal, capabilities: { elicitation: {} }, binding: () => binding, holder: 'client b' });
  assert.is((first as unknown as { result: { resultType: string } }).result.resultType, 'input_required');
  const again = asking([[elicit(3)]]);
  try {
    await held.start('t', upstream, again.listen, again.call, { seal, capabilities: { elicitation: {} }, binding: () => binding, holder: 'client b' });
    assert.unreachable('over the limit');
  } catch (error) {
    assert.match((error as Error).message, /client b already has 1 calls/);
  }
  assert.equal(limits, ['held-calls']);
  const elsewhere = await held.resume({ replica: 'r2', id: '1' }, binding, {}, { seal, capabilities: {} });
  assert.ok((elsewhere as unknown as { result: { isError: boolean } }).result.isError);
  assert.match(JSON.stringify(elsewhere), /replica r2/);
  await new Promise((resolve) => setTimeout(resolve, 80));
  const expired = await held.resume({ replica: 'r1', id: '1' }, binding, {}, { seal, capabilities: {} });
  assert.match(JSON.stringify(expired), /is gone/);
});

test.run();
