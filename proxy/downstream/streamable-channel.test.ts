// SEP-1699 polling, client side: a 2025-11-25 client's request stream is primed (an id, no data, a
// retry hint); when the upstream pauses (closes its stream to be polled), pauseRequest closes the
// client's stream the same way, after a `retry:` hint, and the rest (related messages, the answer)
// waits in the event store for the client's GET with Last-Event-ID. Driven over real HTTP.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JSONRPCResponse } from '@modelcontextprotocol/sdk/types.js';
import type { FleetStreamLink } from '../fleet/shared-stream.ts';
import { MemoryEventStore } from './event-store.ts';
import { StreamableChannel, type StreamableChannelOptions } from './streamable-channel.ts';

const SESSION = 's1';
let server: Server;
let base: string;
let channel: StreamableChannel;
let store: MemoryEventStore;
let abandoned: number[] = [];
/** The POSTs' responses by request id: the test answers as JSON when the channel says so. */
const responses = new Map<number, ServerResponse>();

test.before(async () => {
  server = createServer((req, res) => {
    req.resume();
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      const id = Number(u.searchParams.get('id'));
      const after = u.searchParams.get('after');
      responses.set(id, res);
      channel.openRequestStream(id, res, {
        prime: u.searchParams.get('prime') === '1',
        onAbandoned: () => abandoned.push(id),
        ...(after === null ? {} : { sseAfterMs: Number(after) }),
      });
      return;
    }
    channel.resume(res, String(req.headers['last-event-id'])).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function fresh(options: Partial<StreamableChannelOptions> = {}): void {
  channel?.close();
  store = new MemoryEventStore({ maxEventsPerSession: 100, maxBytesPerSession: 100_000 });
  channel = new StreamableChannel({ sessionId: SESSION, store, keepAliveMs: 60_000, maxBufferedBytes: 1 << 20, ...options });
  abandoned = [];
}

/** One HTTP exchange, its body read as raw text as it comes. */
interface Raw {
  status: number;
  contentType: string;
  /** The text so far once it matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  ended: Promise<string>;
}

async function raw(path: string, init: RequestInit): Promise<Raw> {
  const response = await fetch(`${base}${path}`, init);
  let text = '';
  const waiters = new Set<() => void>();
  const ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body ?? []) {
        text += decoder.decode(chunk as Uint8Array, { stream: true });
        for (const wake of waiters) wake();
      }
    } catch {
      // cut (the server closing at the end of the file): what came is what there is
    }
    return text;
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    ended,
    async waitFor(pattern, timeoutMs = 3_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(text)}`);
        await new Promise<void>((resolve) => {
          waiters.add(resolve);
          setTimeout(resolve, 20);
        });
      }
      return text;
    },
  };
}

const post = (id: number, query = '') => raw(`/mcp?id=${id}${query}`, { method: 'POST', headers: { accept: 'text/event-stream' } });
const resume = (lastEventId: string) => raw('/mcp', { method: 'GET', headers: { accept: 'text/event-stream', 'last-event-id': lastEventId } });
const answer = (id: number): JSONRPCResponse => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `answer ${id}` }] } }) as JSONRPCResponse;
const note = (text: string) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info', data: text } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a primed stream's first event: an id, a retry hint (the channel's), empty data", async () => {
  fresh({ retryMs: 750 });
  const client = await post(1, '&prime=1&after=0');
  assert.is(client.contentType, 'text/event-stream');
  assert.is(await client.waitFor(/\n\n/), 'id: r1.1\nretry: 750\ndata: \n\n');
  assert.ok(channel.finishRequest(1, answer(1)));
  assert.match(await client.ended, /^id: r1\.1\nretry: 750\ndata: \n\nevent: message\nid: r1\.2\ndata: \{.*"answer 1".*\}\n\n$/);
});

test('sseAfterMs 0 opens the stream at once; left to the channel, a quick answer still goes out as JSON', async () => {
  fresh({ sseAfterMs: 200 });
  const now = await post(1, '&prime=1&after=0');
  assert.is(now.contentType, 'text/event-stream', 'headers sent before any answer');
  await now.waitFor(/id: r1\.1/);
  const held = post(2, '&prime=1');
  await sleep(30);
  assert.is(channel.finishRequest(2, answer(2)), false, 'still undecided: the caller answers with JSON');
  responses.get(2)?.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(2)));
  assert.is((await held).contentType, 'application/json');
  channel.finishRequest(1, answer(1));
  assert.match(await now.ended, /"answer 1"/);
});

test('pauseRequest on a request still undecided: the stream opens primed, gets the retry hint and closes; the answer waits for the resume', async () => {
  fresh();
  const client = await post(1, '&prime=1');
  assert.is(channel.pauseRequest(1, 250), true);
  assert.is(client.contentType, 'text/event-stream');
  assert.is(await client.ended, 'id: r1.1\nretry: 1000\ndata: \n\nretry: 250\n\n', 'priming event, retry hint, closed');
  assert.equal(abandoned, [], 'a paused request is not abandoned: the client comes back');
  assert.is(channel.send(note('while paused'), 1), true);
  assert.is(channel.finishRequest(1, answer(1)), true, 'answered on the stream (stored), not as JSON');
  const resumed = await resume('r1.1');
  assert.is(resumed.status, 200);
  const text = await resumed.ended;
  assert.match(text, /^event: message\nid: r1\.2\ndata: .*while paused.*\n\nevent: message\nid: r1\.3\ndata: .*"answer 1".*\n\n$/);
  assert.is(store.size(SESSION), 0, 'delivered: nothing left to replay');
});

test('paused, then the client resumes before the answer: the rest arrives live and the stream ends with it', async () => {
  fresh();
  const client = await post(1, '&prime=1&after=0');
  await client.waitFor(/id: r1\.1/);
  channel.send(note('before'), 1);
  await client.waitFor(/before/);
  assert.is(channel.pauseRequest(1, 100), true);
  assert.match(await client.ended, /retry: 100\n\n$/);
  const resumed = await resume('r1.2');
  await sleep(50);
  channel.send(note('after'), 1);
  await resumed.waitFor(/after/);
  channel.finishRequest(1, answer(1));
  const text = await resumed.ended;
  assert.match(text, /^event: message\nid: r1\.3\ndata: .*after.*\n\nevent: message\nid: r1\.4\ndata: .*"answer 1".*\n\n$/);
  assert.equal(abandoned, []);
});

test('not paused: a client that was not primed (before 2025-11-25), a request answered as JSON, an unknown one, a fleet', async () => {
  fresh();
  const old = await post(1, '&prime=0&after=0');
  assert.is(channel.pauseRequest(1, 100), false, 'an older client would not come back');
  channel.send(note('still open'), 1);
  await old.waitFor(/still open/);
  channel.finishRequest(1, answer(1));
  assert.match(await old.ended, /"answer 1"/);

  channel.trackJsonRequest(2);
  assert.is(channel.pauseRequest(2, 100), false);
  assert.is(channel.pauseRequest(99, 100), false);

  const link = { requestStreamKey: (n: number) => `f${n}` } as unknown as FleetStreamLink;
  fresh({ fleet: link });
  const inFleet = await post(3, '&prime=1&after=0');
  await inFleet.waitFor(/id: f1\.1/);
  assert.is(channel.pauseRequest(3, 100), false, "in a fleet the client's GET might reach a replica that cannot continue the stream");
  channel.finishRequest(3, answer(3));
  assert.match(await inFleet.ended, /"answer 3"/);
});

test.run();
