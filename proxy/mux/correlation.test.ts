import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import type { ClientChannel } from './channel.ts';
import { Correlation, ProgressRoutes, progressTokenOf, replicaOfServerRequest, withProgressToken } from './correlation.ts';

test('a route maps our token back to the client token and request, for its target only, until released', () => {
  const routes = new ProgressRoutes();
  const a = routes.register('ta', 'client-token', 7);
  const b = routes.register('tb', 42, 8);
  assert.is.not(a, b);
  assert.equal(routes.route('ta', { progressToken: a, progress: 1, total: 2 }), { params: { progressToken: 'client-token', progress: 1, total: 2 }, relatedTo: 7 });
  assert.equal(routes.route('tb', { progressToken: b, progress: 5 }), { params: { progressToken: 42, progress: 5 }, relatedTo: 8 });
  // another target cannot report progress on a's request
  assert.is(routes.route('tb', { progressToken: a, progress: 1 }), undefined);
  routes.release(a);
  assert.is(routes.route('ta', { progressToken: a, progress: 2 }), undefined);
  assert.is(routes.size, 1);
});

test('withProgressToken replaces, adds or strips the token and keeps the rest of _meta', () => {
  assert.equal(withProgressToken({ name: 'x', _meta: { progressToken: 'c', other: 1 } }, 5), { name: 'x', _meta: { progressToken: 5, other: 1 } });
  assert.equal(withProgressToken({ name: 'x', _meta: { progressToken: 'c', other: 1 } }, undefined), { name: 'x', _meta: { other: 1 } });
  const untouched = { name: 'x', _meta: { other: 1 } };
  assert.is(withProgressToken(untouched, undefined), untouched);
  assert.is(withProgressToken(undefined, undefined), undefined);
  assert.equal(progressTokenOf({ _meta: { progressToken: 0 } }), 0);
  assert.is(progressTokenOf({ _meta: { progressToken: { nested: true } } }), undefined);
});


const logger = createLogger('test', { level: 'silent' });

/** A client channel that records what it is asked to send (and can be closed). */
function recordingChannel(): ClientChannel & { sent: Array<{ message: JSONRPCMessage; relatedTo: RequestId | undefined }>; open: boolean } {
  const channel = {
    sent: [] as Array<{ message: JSONRPCMessage; relatedTo: RequestId | undefined }>,
    open: true,
    connected: true,
    send(message: JSONRPCMessage, relatedTo?: RequestId): boolean {
      if (!channel.open) return false;
      channel.sent.push({ message, relatedTo });
      return true;
    },
    close(): void {
      channel.open = false;
    },
  };
  return channel;
}

/** The part of an upstream connection Correlation uses: what it was answered and notified. */
function recordingUpstream(): { upstream: UpstreamConnection; answers: unknown[]; notified: Array<{ method: string; params: unknown }>; close(): void } {
  const record = { answers: [] as unknown[], notified: [] as Array<{ method: string; params: unknown }>, closed: false };
  const upstream = {
    get closed() {
      return record.closed;
    },
    respond: (message: unknown) => {
      record.answers.push(message);
      return Promise.resolve();
    },
    notify: (method: string, params: unknown) => {
      record.notified.push({ method, params });
      return Promise.resolve();
    },
  } as unknown as UpstreamConnection;
  return { upstream, answers: record.answers, notified: record.notified, close: () => (record.closed = true) };
}

function setup(options: { timeoutMs?: number; idSuffix?: string } = {}) {
  const channel = recordingChannel();
  const correlation = new Correlation({ channel, logger, timeoutMs: options.timeoutMs ?? 60_000, ...(options.idSuffix ? { idSuffix: options.idSuffix } : {}) });
  return { channel, correlation };
}

function sampling(id: RequestId, progressToken?: string | number) {
  return { jsonrpc: '2.0' as const, id, method: 'sampling/createMessage', params: { messages: [], ...(progressToken === undefined ? {} : { _meta: { progressToken, other: 1 } }) } };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a client request is found by its id until it ends; the client cancelling it aborts it', () => {
  const { correlation } = setup();
  const abort = new AbortController();
  correlation.begin(7, abort);
  assert.is(correlation.inFlight, 1);
  assert.is(correlation.cancelledByClient(8), false, 'unknown id: not here');
  assert.is(correlation.cancelledByClient(undefined), false);
  assert.is(correlation.cancelledByClient(7), true);
  assert.ok(abort.signal.aborted);
  assert.instance(abort.signal.reason, McpmuxError);
  assert.is((abort.signal.reason as McpmuxError).code, 'MCPMUX_REQUEST_CANCELLED');
  correlation.end(7, abort);
  assert.is(correlation.inFlight, 0);
  assert.is(correlation.cancelledByClient(7), false, 'ended: nothing to cancel');
});

test('a reused client id: the earlier request ending does not forget the later one', () => {
  const { correlation } = setup();
  const first = new AbortController();
  const second = new AbortController();
  correlation.begin('a', first);
  correlation.begin('a', second);
  correlation.end('a', first);
  assert.is(correlation.inFlight, 1);
  assert.ok(correlation.cancelledByClient('a'));
  assert.ok(second.signal.aborted);
  assert.not.ok(first.signal.aborted);
  correlation.end('a', second);
  assert.is(correlation.inFlight, 0);
});

test('a server→client request goes out under our id (progress token too) and the answer goes back under the upstream id', async () => {
  const { channel, correlation } = setup({ idSuffix: '@replica-a' });
  const up = recordingUpstream();
  correlation.ask('ta', up.upstream, sampling(41, 'up-token'), 7);
  assert.is(correlation.asking, 1);
  const out = channel.sent[0];
  assert.is(out?.relatedTo, 7, 'on the stream of the request it arose from');
  const message = out?.message as { id: string; params: { _meta: Record<string, unknown> } };
  assert.is(message.id, 'mcpmux-1@replica-a');
  assert.is(replicaOfServerRequest(message.id), 'replica-a');
  assert.equal(message.params._meta, { progressToken: 'mcpmux-1@replica-a', other: 1 });
  // the client's progress on it reaches the upstream under the upstream's own token
  assert.ok(correlation.progressFromClient({ progressToken: message.id, progress: 1 }));
  assert.equal(up.notified, [{ method: 'notifications/progress', params: { progressToken: 'up-token', progress: 1 } }]);
  assert.is(correlation.progressFromClient({ progressToken: 'mcpmux-99', progress: 1 }), false, 'unknown token');
  assert.is(correlation.answered({ jsonrpc: '2.0', id: 'mcpmux-99', result: {} }), false, 'unknown id');
  assert.is(correlation.answered({ jsonrpc: '2.0', id: 41, result: {} }), false, 'the upstream id means nothing to the client');
  assert.ok(correlation.answered({ jsonrpc: '2.0', id: message.id, result: { content: 'hi' } }));
  await tick();
  assert.equal(up.answers, [{ jsonrpc: '2.0', id: 41, result: { content: 'hi' } }]);
  assert.is(correlation.asking, 0);
  assert.is(correlation.answered({ jsonrpc: '2.0', id: message.id, result: {} }), false, 'answered twice: the second answers nothing');
  assert.is(up.answers.length, 1);
});

test('a server→client request without a progress token: client progress under its id is not ours', () => {
  const { correlation } = setup();
  const up = recordingUpstream();
  correlation.ask('ta', up.upstream, sampling(1), undefined);
  assert.is(correlation.progressFromClient({ progressToken: 'mcpmux-1', progress: 1 }), false);
  assert.equal(up.notified, []);
});

test('the client request ending withdraws the server→client requests it carried, and only those', () => {
  const { channel, correlation } = setup();
  const up = recordingUpstream();
  const abort = new AbortController();
  correlation.begin(7, abort);
  correlation.ask('ta', up.upstream, sampling(1), 7);
  correlation.ask('ta', up.upstream, sampling(2), 8);
  correlation.end(7, abort);
  assert.is(correlation.inFlight, 0);
  assert.is(correlation.asking, 1);
  assert.equal(channel.sent.at(-1), { message: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mcpmux-1', reason: 'the request it belonged to has ended' } }, relatedTo: 7 });
  assert.equal(up.answers, [], 'the upstream was not waiting any more');
});

test('the upstream cancelling its request withdraws it, matched by target and upstream id', () => {
  const { channel, correlation } = setup();
  const a = recordingUpstream();
  const b = recordingUpstream();
  correlation.ask('ta', a.upstream, sampling(1), undefined);
  correlation.ask('tb', b.upstream, sampling(1), undefined);
  correlation.cancelledByUpstream('ta', 2, 'x');
  correlation.cancelledByUpstream('tc', 1, 'x');
  assert.is(correlation.asking, 2, 'no match: nothing withdrawn');
  correlation.cancelledByUpstream('ta', 1, undefined);
  assert.is(correlation.asking, 1);
  assert.equal(channel.sent.at(-1)?.message, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mcpmux-1', reason: 'cancelled by the server' } });
  assert.ok(correlation.answered({ jsonrpc: '2.0', id: 'mcpmux-2', result: {} }), 'the other target\'s request is still there');
});

test('a target removed: its server→client requests are withdrawn', () => {
  const { channel, correlation } = setup();
  const a = recordingUpstream();
  const b = recordingUpstream();
  correlation.ask('ta', a.upstream, sampling(1), undefined);
  correlation.ask('tb', b.upstream, sampling(1), undefined);
  correlation.dropTarget('ta');
  assert.is(correlation.asking, 1);
  assert.equal(channel.sent.at(-1)?.message, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'mcpmux-1', reason: 'target ta was removed' } });
});

test('an unanswered server→client request times out: the upstream gets an error', async () => {
  const { correlation } = setup({ timeoutMs: 10 });
  const up = recordingUpstream();
  correlation.ask('ta', up.upstream, sampling(5), undefined);
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.is(correlation.asking, 0);
  assert.is(up.answers.length, 1);
  const answer = up.answers[0] as { id: RequestId; error: { message: string } };
  assert.is(answer.id, 5);
  assert.match(answer.error.message, /did not answer sampling\/createMessage within 10 ms/);
});

test('a closed channel: the upstream is answered with an error at once, nothing kept', async () => {
  const { channel, correlation } = setup();
  channel.close();
  const up = recordingUpstream();
  correlation.ask('ta', up.upstream, sampling(5), undefined);
  assert.is(correlation.asking, 0);
  await tick();
  assert.is((up.answers[0] as { id: RequestId }).id, 5);
});

test('an upstream closed meanwhile gets no answer; the entry goes all the same', async () => {
  const { correlation } = setup();
  const up = recordingUpstream();
  correlation.ask('ta', up.upstream, sampling(5), undefined);
  up.close();
  assert.ok(correlation.answered({ jsonrpc: '2.0', id: 'mcpmux-1', result: {} }));
  await tick();
  assert.equal(up.answers, []);
  assert.is(correlation.asking, 0);
});

test('closing aborts every client request and answers every waiting upstream: nothing is left behind', async () => {
  const { correlation } = setup();
  const up = recordingUpstream();
  const a = new AbortController();
  const b = new AbortController();
  correlation.begin(1, a);
  correlation.begin('two', b);
  correlation.ask('ta', up.upstream, sampling(10), 1);
  correlation.ask('ta', up.upstream, sampling(11), undefined);
  const token = correlation.progress.register('ta', 'client', 1);
  await correlation.close(new McpmuxError('MCPMUX_SESSION_NOT_FOUND', 'closed'));
  assert.ok(a.signal.aborted && b.signal.aborted);
  assert.is((a.signal.reason as McpmuxError).code, 'MCPMUX_SESSION_NOT_FOUND');
  assert.is(correlation.inFlight, 0);
  assert.is(correlation.asking, 0);
  assert.equal(up.answers.map((answer) => (answer as { id: RequestId }).id), [10, 11]);
  // the handlers, aborted, end their requests and release their tokens as they unwind
  correlation.progress.release(token);
  correlation.end(1, a);
  correlation.end('two', b);
  assert.is(correlation.progress.size, 0);
  assert.is(up.answers.length, 2, 'nothing answered twice');
});

test('the session\'s progress routes: our token back to the client token and request, released with the upstream request', () => {
  const { correlation } = setup();
  const abort = new AbortController();
  correlation.begin(7, abort);
  const token = correlation.progress.register('ta', 'client-token', 7);
  assert.equal(correlation.progress.route('ta', { progressToken: token, progress: 1 }), { params: { progressToken: 'client-token', progress: 1 }, relatedTo: 7 });
  assert.is(correlation.progress.route('ta', { progressToken: String(token), progress: 1 }), undefined, 'our tokens are numbers');
  correlation.progress.release(token);
  correlation.end(7, abort);
  assert.is(correlation.progress.size, 0);
  assert.is(correlation.inFlight, 0);
  assert.is(correlation.progress.route('ta', { progressToken: token, progress: 2 }), undefined, 'progress after the answer is dropped');
});

test.run();
