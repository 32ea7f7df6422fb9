// The test load balancer (test/support/balancer.ts): round-robin per request, readiness, retry only
// when nothing reached a backend, SSE streaming both ways (aborts and broken streams included).
import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startBalancer, type Balancer } from './support/balancer.ts';
import { Cleanup } from '../shared/testing/processes.ts';
import { freePort, until } from './support/processes.ts';

interface Hit {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface TestBackend {
  url: string;
  hits: Hit[];
  server: Server;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const cleanup = new Cleanup();
test.after.each(() => cleanup.run());

/** A plain HTTP backend; by default it answers with its name and what it received. */
async function backend(name: string, handler?: Handler): Promise<TestBackend> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler) return handler(req, res, body);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, length: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

async function balancer(options: Parameters<typeof startBalancer>[0]): Promise<Balancer> {
  const started = await startBalancer(options);
  cleanup.add(() => started.close());
  return started;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  socket: Socket;
}

/** One request through node:http (optionally over a keep-alive agent), read to the end. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer; agent?: HttpAgent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString(), socket: res.socket as Socket }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens an SSE request and hands back the response once its headers arrived (within 3 s). */
function openStream(url: string): Promise<{ req: ReturnType<typeof httpRequest>; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no response headers within 3 s'));
    }, 3000);
    const req = httpRequest(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      clearTimeout(timer);
      resolve({ req, res });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The next chunk of a response body, as text. */
function nextChunk(res: IncomingMessage, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no chunk in time')), timeoutMs);
    res.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      res.pause();
      resolve(chunk.toString());
    });
    res.resume();
  });
}

const backendOf = (reply: Reply): string => (JSON.parse(reply.text) as { backend: string }).backend;

test('round-robin per request over 3 backends, on one keep-alive client connection', async () => {
  const backends = await Promise.all(['a', 'b', 'c'].map((name) => backend(name)));
  const lb = await balancer({ backends: backends.map((b) => ({ url: b.url })) });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  cleanup.add(() => agent.destroy());
  const replies: Reply[] = [];
  for (let i = 0; i < 6; i++) {
    replies.push(await send(`${lb.url}/mcp?n=${i}`, { agent, headers: { 'x-trace': `t${i}`, 'proxy-authorization': 'secret', 'keep-alive': 'timeout=5' } }));
  }
  assert.is(new Set(replies.map((r) => r.socket)).size, 1, 'all six requests shared one client connection');
  assert.equal(replies.map(backendOf), ['a', 'b', 'c', 'a', 'b', 'c']);
  assert.equal(lb.counts, [2, 2, 2]);
  const first = backends[0]!.hits[0]!;
  assert.is(first.url, '/mcp?n=0');
  assert.is(first.headers['x-trace'], 't0');
  assert.is(first.headers.host, new URL(backends[0]!.url).host, "host is the backend's");
  assert.is(first.headers['proxy-authorization'], undefined, 'proxy-* headers are not forwarded');
  assert.not.match(String(first.headers['keep-alive']), /timeout=5/, 'keep-alive is hop-by-hop');
});

test('a backend whose readyUrl answers 503 gets nothing until it answers 200', async () => {
  let ready = false;
  const probe = await backend('probe', (_req, res) => {
    res.statusCode = ready ? 200 : 503;
    res.end();
  });
  const a = await backend('a');
  const b = await backend('b');
  const lb = await balancer({ backends: [{ url: a.url }, { url: b.url, readyUrl: `${probe.url}/ready` }], readyIntervalMs: 20 });
  for (let i = 0; i < 4; i++) assert.is(backendOf(await send(`${lb.url}/x`)), 'a');
  assert.is(b.hits.length, 0);
  ready = true;
  await until(async () => backendOf(await send(`${lb.url}/x`)) === 'b', 'b to get a request once ready');
  assert.ok(probe.hits.every((hit) => hit.url === '/ready' && hit.method === 'GET'));
  ready = false;
  await new Promise((r) => setTimeout(r, 100));
  const seen = b.hits.length;
  for (let i = 0; i < 4; i++) assert.is(backendOf(await send(`${lb.url}/x`)), 'a');
  assert.is(b.hits.length, seen, 'not ready again: nothing more');
});

test('a backend that is not listening is skipped by a retry; the request succeeds', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const a = await backend('a');
  const b = await backend('b');
  const lb = await balancer({ backends: [{ url: dead }, { url: a.url }, { url: dead }, { url: b.url }] });
  const answered: string[] = [];
  for (let i = 0; i < 6; i++) {
    const reply = await send(`${lb.url}/x`, { method: 'POST', body: Buffer.from(`{"i":${i}}`) });
    assert.is(reply.status, 200);
    answered.push(backendOf(reply));
  }
  assert.equal(new Set(answered), new Set(['a', 'b']));
  assert.is(a.hits.length + b.hits.length, 6, 'each request executed exactly once');
  assert.is(lb.counts[0], 0);
  assert.is(lb.counts[2], 0);
});

test('a reset after the request was sent is a 502, never a retry on another backend', async () => {
  const resetting = await backend('reset', (req) => req.socket.destroy());
  const b = await backend('b');
  const lb = await balancer({ backends: [{ url: resetting.url }, { url: b.url }] });
  const reply = await send(`${lb.url}/call`, { method: 'POST', body: Buffer.from('{"method":"tools/call"}') });
  assert.is(reply.status, 502);
  assert.is(resetting.hits.length, 1);
  assert.is(b.hits.length, 0, 'the other backend never saw the request');
  assert.equal(lb.counts, [1, 0]);
});

test('an SSE response streams: headers at once, each event as it comes, before the backend ends it', async () => {
  let emit!: (text: string | undefined) => void;
  let ended = false;
  const sse = await backend('sse', (_req, res) => {
    // Headers only, as an MCP GET stream opens: the client must see them before any event.
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    emit = (text) => {
      if (text === undefined) {
        res.end();
        ended = true;
      } else res.write(text);
    };
  });
  const lb = await balancer({ backends: [{ url: sse.url }] });
  const { res } = await openStream(`${lb.url}/mcp`);
  assert.is(res.statusCode, 200);
  assert.is(res.headers['content-type'], 'text/event-stream');
  const first = nextChunk(res);
  emit('event: message\ndata: one\n\n');
  assert.match(await first, 'data: one');
  const second = nextChunk(res);
  emit('data: two\n\n');
  assert.match(await second, 'data: two');
  assert.is(ended, false, 'the backend has not ended the response yet');
  const end = new Promise((resolve) => res.on('end', resolve));
  res.resume(); // nextChunk paused it
  emit(undefined);
  await end;
});

test('a client that closes its connection closes the upstream request', async () => {
  let upstreamClosed = false;
  const sse = await backend('sse', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: hello\n\n');
    // On the server side, 'close' before the response ended means the connection went away.
    res.on('close', () => (upstreamClosed = !res.writableEnded));
  });
  const lb = await balancer({ backends: [{ url: sse.url }] });
  const { req, res } = await openStream(`${lb.url}/mcp`);
  assert.match(await nextChunk(res), 'hello');
  assert.is(upstreamClosed, false);
  req.destroy();
  await until(() => upstreamClosed, 'the backend to see its request closed');
});

test('a backend that dies mid-SSE-response breaks the client stream', async () => {
  const sse = await backend('sse', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    setTimeout(() => req.socket.destroy(), 50);
  });
  const lb = await balancer({ backends: [{ url: sse.url }] });
  const { res } = await openStream(`${lb.url}/mcp`);
  const outcome = new Promise<string>((resolve) => {
    res.on('error', (error) => resolve(`error: ${error.message}`));
    res.on('end', () => resolve('end'));
  });
  assert.match(await nextChunk(res), 'first');
  res.resume();
  const result = await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('still open'), 3000))]);
  assert.match(result, /^error/, `the client sees a broken stream, not a clean end (${result})`);
});

test('a POST body is forwarded intact; one over 8 MiB is refused with 413', async () => {
  const a = await backend('a');
  const lb = await balancer({ backends: [{ url: a.url }] });
  const body = randomBytes(1024 * 1024 + 7);
  const reply = await send(`${lb.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
  const echoed = JSON.parse(reply.text) as { method: string; length: number; sha256: string; headers: Record<string, string> };
  assert.is(echoed.method, 'POST');
  assert.is(echoed.length, body.length);
  assert.is(echoed.sha256, createHash('sha256').update(body).digest('hex'));
  assert.is(echoed.headers['content-type'], 'application/octet-stream');

  const tooBig = await send(`${lb.url}/mcp`, { method: 'POST', headers: { 'content-length': String(9 * 1024 * 1024) } }).catch((error: Error) => error);
  if (tooBig instanceof Error) throw tooBig;
  assert.is(tooBig.status, 413);
  assert.is(a.hits.length, 1, 'the oversized request never reached the backend');
});

test('no ready backend: 503 after waiting about 2 s; a backend enabled meanwhile answers instead', async () => {
  const a = await backend('a');
  const lb = await balancer({ backends: [{ url: a.url }] });
  lb.setEnabled(0, false);
  const started = Date.now();
  const reply = await send(`${lb.url}/mcp`);
  const waited = Date.now() - started;
  assert.is(reply.status, 503);
  assert.equal(JSON.parse(reply.text), { error: 'no ready backend' });
  assert.ok(waited >= 1900 && waited < 3000, `waited ${waited} ms`);
  assert.is(a.hits.length, 0);

  const pending = send(`${lb.url}/mcp`);
  await new Promise((r) => setTimeout(r, 300));
  lb.setEnabled(0, true);
  const late = await pending;
  assert.is(late.status, 200, 'a rolling restart gap shorter than 2 s is invisible');
  assert.is(backendOf(late), 'a');
});

test('only loopback backends and bind addresses', async () => {
  for (const url of ['http://10.0.0.1:80', 'http://example.com:80', 'https://127.0.0.1:443']) {
    let failed = false;
    await startBalancer({ backends: [{ url }] }).then((lb) => lb.close(), () => (failed = true));
    assert.ok(failed, `${url} refused`);
  }
  let failed = false;
  await startBalancer({ backends: [{ url: 'http://127.0.0.1:1', readyUrl: 'http://192.168.1.1/ready' }] }).then((lb) => lb.close(), () => (failed = true));
  assert.ok(failed, 'a non-loopback readyUrl is refused');
  failed = false;
  await startBalancer({ backends: [{ url: 'http://localhost:1' }], address: '0.0.0.0' }).then((lb) => lb.close(), () => (failed = true));
  assert.ok(failed, 'a non-loopback bind address is refused');
});

test.run();
