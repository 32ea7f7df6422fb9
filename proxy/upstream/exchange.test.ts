// SEP-1699 polling, upstream side: an upstream with a session that ends a request's SSE stream
// before the response (after an event with an id, usually with a `retry:` hint) is resumed with GET +
// Last-Event-ID after that hint, and the response read from the resumed stream. Pinned against a
// hand-rolled upstream (node:http, SSE written by hand) so every byte on the wire is ours to choose.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { endpointUrl, type EndpointUrl } from '../routing/target-url.ts';
import { relatedId } from './connection.ts';
import { UpstreamListener } from './listen.ts';
import { UpstreamPool } from './pool.ts';
import { UpstreamSession, type UpstreamMessage } from './session.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const pool = new UpstreamPool();
const INIT = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'test', version: '1' } };
const SESSION = 'sess-1';
const CREDENTIAL = 'Bearer upstream-secret';

interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  body: { id?: RequestId; method?: string; params?: Record<string, unknown> } | undefined;
  at: number;
}

/** What the upstream does with a tools/call POST (`id` is ours), and with a GET carrying Last-Event-ID. */
interface Script {
  call: (res: ServerResponse, id: RequestId) => void;
  resume?: (res: ServerResponse, lastEventId: string, id: RequestId) => void;
  /** The standalone GET stream (no Last-Event-ID); 405 if not given. */
  listen?: (res: ServerResponse, req: IncomingMessage) => void;
}

let server: Server;
let url: string;
let stateless = false;
let script: Script;
let seen: Seen[] = [];
/** The id of the last tools/call, for the resumption's answer. */
let pendingId: RequestId = 0;

function sse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

function event(res: ServerResponse, fields: { id?: string; retry?: number; data?: unknown }): void {
  let text = '';
  if (fields.id !== undefined) text += `id: ${fields.id}\n`;
  if (fields.retry !== undefined) text += `retry: ${fields.retry}\n`;
  text += `data: ${fields.data === undefined ? '' : JSON.stringify(fields.data)}\n\n`;
  res.write(text);
}

const log = (message: string): unknown => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: message } });
const answer = (id: RequestId, text = 'done'): unknown => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });

test.before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Seen['body']) : undefined;
      seen.push({ method: req.method ?? '', headers: req.headers, body, at: Date.now() });
      if (req.method === 'DELETE') return void res.writeHead(200).end();
      if (req.method === 'GET') {
        const last = req.headers['last-event-id'];
        if (typeof last === 'string' && script.resume) return script.resume(res, last, pendingId);
        if (typeof last !== 'string' && script.listen) return script.listen(res, req);
        return void res.writeHead(405).end();
      }
      if (body?.method === 'initialize') {
        res.writeHead(200, { 'content-type': 'application/json', ...(stateless ? {} : { 'mcp-session-id': SESSION }) });
        return void res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'poller', version: '1' } } }));
      }
      if (body?.id === undefined) return void res.writeHead(202).end();
      pendingId = body.id;
      script.call(res, body.id);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});

test.after(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test.before.each(() => {
  seen = [];
  stateless = false;
});

function endpoint(): EndpointUrl {
  const u = new URL(url);
  const built = endpointUrl('http', u.hostname, Number(u.port), u.pathname);
  if (!('ok' in built)) throw new Error(built.error);
  return { ...built.ok, headers: { authorization: CREDENTIAL } };
}

interface Harness {
  session: UpstreamSession;
  messages: Array<{ message: UpstreamMessage; relatedTo: RequestId | undefined }>;
  paused: Array<{ relatedTo: RequestId | undefined; retryMs: number; at: number }>;
}

async function connect(): Promise<Harness> {
  const messages: Harness['messages'] = [];
  const paused: Harness['paused'] = [];
  const session = new UpstreamSession({
    dispatcher: pool.dispatcher,
    target: 'poller',
    endpoint: endpoint(),
    logger,
    onMessage: (message, relatedTo) => messages.push({ message, relatedTo: relatedId(relatedTo) }),
    onStreamPaused: (relatedTo, retryMs) => paused.push({ relatedTo: relatedId(relatedTo), retryMs, at: Date.now() }),
  });
  await session.initialize(INIT, { timeoutMs: 5_000 });
  return { session, messages, paused };
}

const call = (h: Harness, options: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
  h.session.request({ method: 'tools/call', params: { name: 'slow', arguments: {} } }, { timeoutMs: options.timeoutMs ?? 10_000, relatedTo: 7, signal: options.signal });

const resumes = (): Seen[] => seen.filter((s) => s.method === 'GET' && s.headers['last-event-id'] !== undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a POST stream ended after its priming event is resumed after the retry hint with GET + Last-Event-ID; the answer comes from there', async () => {
  let closedAt = 0;
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'e1', retry: 120 });
      event(res, { id: 'e2', data: log('before the close') });
      res.end();
      closedAt = Date.now();
    },
    resume: (res, last, id) => {
      sse(res);
      event(res, { id: `${last}+1`, data: log('after the resume') });
      event(res, { id: `${last}+2`, data: answer(id, 'resumed') });
      res.end();
    },
  };
  const h = await connect();
  const response = await call(h);
  assert.equal(response, answer(pendingId, 'resumed'));
  const [get, ...more] = resumes();
  assert.is(more.length, 0, 'one resumption');
  assert.is(get!.headers['last-event-id'], 'e2', 'from the last event id seen');
  assert.is(get!.headers['mcp-session-id'], SESSION);
  assert.is(get!.headers['mcp-protocol-version'], '2025-11-25');
  assert.match(String(get!.headers.accept), /text\/event-stream/);
  assert.is(get!.headers.authorization, CREDENTIAL, 'the endpoint credential goes with it');
  assert.is(get!.headers['content-type'], undefined);
  assert.ok(get!.at - closedAt >= 100, `waited the retry hint (${get!.at - closedAt} ms)`);
  assert.equal(
    h.messages.map((m) => [(m.message.params as { data: string }).data, m.relatedTo]),
    [['before the close', 7], ['after the resume', 7]],
    'notifications on both streams go to the request they belong to',
  );
  assert.equal(h.paused.map((p) => [p.relatedTo, p.retryMs]), [[7, 120]]);
  assert.is(seen.filter((s) => s.body?.method === 'tools/call').length, 1, 'the request is sent once');
  await h.session.close();
});

test('polling goes on while each resumed stream brings something new; each pause is reported', async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'p1', retry: 10 });
      res.end();
    },
    resume: (res, last, id) => {
      sse(res);
      if (last === 'p1') event(res, { id: 'p2', data: log('progress') });
      else if (last === 'p2') event(res, { id: 'p3' }); // a new priming event alone is progress too
      else event(res, { id: 'p4', data: answer(id) });
      res.end();
    },
  };
  const h = await connect();
  const response = await call(h);
  assert.ok('result' in response);
  assert.equal(resumes().map((s) => s.headers['last-event-id']), ['p1', 'p2', 'p3']);
  assert.equal(h.paused.map((p) => p.retryMs), [10, 10, 10]);
  await h.session.close();
});

test('without a retry hint the resumption waits the default 1 s', async () => {
  let closedAt = 0;
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'd1' });
      res.end();
      closedAt = Date.now();
    },
    resume: (res, _last, id) => {
      sse(res);
      event(res, { id: 'd2', data: answer(id) });
      res.end();
    },
  };
  const h = await connect();
  await call(h);
  const waited = resumes()[0]!.at - closedAt;
  assert.ok(waited >= 950 && waited < 2_500, `waited ${waited} ms`);
  assert.equal(h.paused.map((p) => p.retryMs), [1_000]);
  await h.session.close();
});

test('a retry hint is honoured up to 5 s, no longer', async () => {
  let closedAt = 0;
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'c1', retry: 600_000 });
      res.end();
      closedAt = Date.now();
    },
    resume: (res, _last, id) => {
      sse(res);
      event(res, { id: 'c2', data: answer(id) });
      res.end();
    },
  };
  const h = await connect();
  await call(h, { timeoutMs: 8_000 });
  const waited = resumes()[0]!.at - closedAt;
  assert.ok(waited >= 4_950 && waited < 6_500, `waited ${waited} ms`);
  assert.equal(h.paused.map((p) => p.retryMs), [5_000]);
  await h.session.close();
});

test('resumed streams that bring nothing new: given up after 5 tries, with an error that says so', async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'i1', retry: 5 });
      res.end();
    },
    resume: (res) => {
      sse(res);
      res.end();
    },
  };
  const h = await connect();
  try {
    await call(h);
    assert.unreachable('should have failed');
  } catch (error) {
    assert.instance(error, McpmuxError);
    assert.is((error as McpmuxError).code, 'MCPMUX_UPSTREAM_PROTOCOL');
    assert.match((error as Error).message, /target poller ended its SSE stream 5 times without a response to id \d+ or any new event/);
  }
  assert.is(resumes().length, 5);
  await h.session.close();
});

test("the request's timeout still runs while it waits to resume: no GET after it, the upstream is told it was cancelled", async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 't1', retry: 400 });
      res.end();
    },
    resume: (res) => res.writeHead(500).end(),
  };
  const h = await connect();
  const started = Date.now();
  try {
    await call(h, { timeoutMs: 150 });
    assert.unreachable('should have timed out');
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_UPSTREAM_TIMEOUT');
    assert.ok(Date.now() - started < 380, 'at its own deadline, not the resumption');
  }
  await sleep(500);
  assert.is(resumes().length, 0, 'the pending resumption was dropped');
  const cancelled = seen.find((s) => s.body?.method === 'notifications/cancelled');
  assert.ok(cancelled, 'notifications/cancelled sent');
  await h.session.close();
});

test("the client's cancel ends a request that is being resumed", async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'x1', retry: 10 });
      res.end();
    },
    resume: (res) => {
      sse(res);
      event(res, { id: 'x2' }); // open, and nothing more: the request is still running upstream
    },
  };
  const h = await connect();
  const abort = new AbortController();
  const outcome = call(h, { signal: abort.signal }).then(
    () => 'answered',
    (error: unknown) => error,
  );
  for (let i = 0; i < 200 && resumes().length === 0; i++) await sleep(10);
  assert.is(resumes().length, 1, 'resumed, and the resumed stream is open');
  abort.abort(new McpmuxError('MCPMUX_REQUEST_CANCELLED', 'the client cancelled'));
  const error = await outcome;
  assert.instance(error, McpmuxError);
  assert.is((error as McpmuxError).code, 'MCPMUX_REQUEST_CANCELLED');
  await h.session.close();
});

test('a resumption answered 404 (the upstream lost the session): the request fails as unavailable and is never sent again', async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'l1', retry: 10 });
      res.end();
    },
    resume: (res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
    },
  };
  const h = await connect();
  try {
    await call(h);
    assert.unreachable('should have failed');
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_TARGET_UNAVAILABLE');
    assert.match((error as Error).message, /answered the resumption \(GET with Last-Event-ID\) of its SSE stream for id \d+ with HTTP 404/);
  }
  assert.is(seen.filter((s) => s.body?.method === 'tools/call').length, 1);
  await h.session.close();
});

test('a resumption answered 409 or 503 (the old stream not yet noticed gone, a balancer) is tried again, within the same bound', async () => {
  let tries = 0;
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'r1', retry: 10 });
      res.end();
    },
    resume: (res, _last, id) => {
      tries++;
      if (tries === 1) return void res.writeHead(409, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Conflict"}}');
      if (tries === 2) return void res.writeHead(503).end();
      sse(res);
      event(res, { id: 'r2', data: answer(id, 'third time') });
      res.end();
    },
  };
  let h = await connect();
  assert.equal(await call(h), answer(pendingId, 'third time'));
  assert.is(resumes().length, 3);
  await h.session.close();

  seen = [];
  script = { ...script, resume: (res) => void res.writeHead(503).end() };
  h = await connect();
  try {
    await call(h);
    assert.unreachable('should have failed');
  } catch (error) {
    assert.is((error as McpmuxError).code, 'MCPMUX_TARGET_UNAVAILABLE');
    assert.match((error as Error).message, /with HTTP 503: \(5 times in a row\)/);
  }
  assert.is(resumes().length, 5);
  await h.session.close();
});

test('a stream that breaks after an event id is resumed as well (not reported as a pause: the upstream did not choose it)', async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 'b1', retry: 10 });
      setTimeout(() => res.socket?.destroy(), 20);
    },
    resume: (res, last, id) => {
      sse(res);
      event(res, { id: `${last}.next`, data: answer(id, 'after a reset') });
      res.end();
    },
  };
  const h = await connect();
  assert.equal(await call(h), answer(pendingId, 'after a reset'));
  assert.equal(resumes().map((s) => s.headers['last-event-id']), ['b1']);
  assert.is(h.paused.length, 0);
  await h.session.close();
});

test('no event id to resume from, or no session (a stateless upstream): an early end is an error at once', async () => {
  script = {
    call: (res) => {
      sse(res);
      event(res, { data: log('no id') });
      res.end();
    },
    resume: () => assert.unreachable('no resumption without an event id'),
  };
  let h = await connect();
  try {
    await call(h);
    assert.unreachable('should have failed');
  } catch (error) {
    assert.match((error as Error).message, /ended its SSE stream without a response to id/);
  }
  await h.session.close();

  stateless = true;
  script = {
    call: (res) => {
      sse(res);
      event(res, { id: 's1', retry: 10 });
      res.end();
    },
    resume: () => assert.unreachable('no resumption without a session'),
  };
  h = await connect();
  assert.is(h.session.sessionId, undefined);
  try {
    await call(h);
    assert.unreachable('should have failed');
  } catch (error) {
    assert.match((error as Error).message, /ended its SSE stream without a response to id/);
  }
  await sleep(50);
  assert.is(resumes().length, 0);
  await h.session.close();
});

test("the GET stream: reconnected after the upstream's retry hint (not the backoff) and from an id-only event", async () => {
  const gets: Array<{ at: number; last: string | undefined }> = [];
  let closedAt = 0;
  script = {
    call: () => undefined,
    listen: (res, req) => {
      gets.push({ at: Date.now(), last: undefined });
      sse(res);
      event(res, { id: 'g1', retry: 150 });
      res.end();
      closedAt = Date.now();
      void req;
    },
    resume: (res, last) => {
      gets.push({ at: Date.now(), last });
      sse(res); // stays open
    },
  };
  const listener = new UpstreamListener({
    dispatcher: pool.dispatcher,
    endpoint: endpoint(),
    target: 'poller',
    sessionId: SESSION,
    protocolVersion: '2025-11-25',
    logger,
    onMessage: () => undefined,
    onExpired: () => undefined,
    retryMs: { initial: 4_000, max: 8_000 },
  });
  assert.is(await listener.start(2_000), true);
  const deadline = Date.now() + 3_000;
  while (gets.length < 2 && Date.now() < deadline) await sleep(10);
  listener.stop();
  assert.is(gets.length, 2, 'reconnected');
  assert.is(gets[1]!.last, 'g1');
  const waited = gets[1]!.at - closedAt;
  assert.ok(waited >= 130 && waited < 1_500, `waited ${waited} ms (hint 150, backoff would be 2-4 s)`);
});

test.run();
