// A round-robin HTTP load balancer for tests and benchmarks, loopback only: what a Kubernetes
// Service does in front of N proxy replicas (no stickiness; every request, not every connection,
// goes to the next ready backend). Responses stream through unbuffered, so SSE works.
//
// Retries are the delicate part: the gateway must never execute a tool call twice. A request is
// retried on the next backend only if undici failed it before handing it to a connection
// (onRequestStart not called: connect refused/reset/timed out, pool closed), since until then not
// one byte of it was written. Once it was handed to a socket, any failure is final: 502 while no
// response headers went out, a destroyed client response after.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, Pool, type Dispatcher } from 'undici';

export interface BalancerOptions {
  /** Backends as http://127.0.0.1:PORT (MCP port) — each may also give a readiness URL. */
  backends: Array<{ url: string; readyUrl?: string }>;
  /** Poll each backend's readyUrl this often (GET, 200 = ready); a backend is used only while ready. Default 100 ms. Without readyUrl a backend is always considered ready. */
  readyIntervalMs?: number;
  /** Bind address/port; default 127.0.0.1 and a free port. */
  address?: string;
  port?: number;
}

export interface Balancer {
  url: string;
  port: number;
  /** Per backend index: requests sent to it (handed to a connection; refused connects do not count). */
  readonly counts: number[];
  /** Replace/restart: mark backend i down/up by hand (tests), besides readiness. */
  setEnabled(index: number, enabled: boolean): void;
  close(): Promise<void>;
}

/** Request bodies are read whole before dispatch (so a refused connect can be retried); this is their cap. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** How long a request waits for a ready backend (a rolling restart's gap) before a 503. */
const READY_WAIT_MS = 2_000;
/** Short, so a backend that is draining never gets a request on a connection it is about to close. */
const BACKEND_KEEP_ALIVE_MS = 500;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

interface Backend {
  origin: string;
  host: string;
  pool: Pool;
  ready: URL | undefined;
  isReady: boolean;
  enabled: boolean;
  timer: NodeJS.Timeout | undefined;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function loopbackUrl(text: string, what: string): URL {
  const url = new URL(text);
  if (url.protocol !== 'http:') throw new Error(`balancer: ${what} ${text} is not http://`);
  if (!isLoopback(url.hostname)) throw new Error(`balancer: ${what} ${text} is not a loopback address`);
  return url;
}

/** Header names never forwarded: hop-by-hop ones, proxy-*, and those the Connection header lists. */
function hopByHop(connection: string | string[] | undefined): (name: string) => boolean {
  const listed = new Set(
    [connection ?? []]
      .flat()
      .flatMap((value) => value.split(','))
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  return (name) => HOP_BY_HOP.has(name) || name.startsWith('proxy-') || listed.has(name);
}

export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const address = options.address ?? '127.0.0.1';
  if (!isLoopback(address === '::1' ? '[::1]' : address)) throw new Error(`balancer: bind address ${address} is not loopback`);
  const interval = options.readyIntervalMs ?? 100;
  // Every URL is checked before anything is opened, so a refused one leaves nothing behind.
  const targets = options.backends.map(({ url, readyUrl }) => {
    const target = loopbackUrl(url, 'backend');
    if ((target.pathname !== '/' && target.pathname !== '') || target.search) throw new Error(`balancer: backend ${url} must be an origin (the client's path is forwarded)`);
    return { target, ready: readyUrl === undefined ? undefined : loopbackUrl(readyUrl, 'readyUrl') };
  });
  const backends: Backend[] = targets.map(({ target, ready }) => ({
    origin: target.origin,
    host: target.host,
    pool: new Pool(target.origin, {
      // One request per connection at a time (an SSE response may stream for long), and idle
      // connections dropped well before the backend's own keep-alive timeout (Node's 5 s).
      pipelining: 1,
      keepAliveTimeout: BACKEND_KEEP_ALIVE_MS,
      keepAliveMaxTimeout: BACKEND_KEEP_ALIVE_MS,
      connect: { timeout: 2_000 },
    }),
    ready,
    isReady: ready === undefined,
    enabled: true,
    timer: undefined,
  }));
  const counts = backends.map(() => 0);
  let next = 0;
  let closed = false;
  /** Woken whenever a backend's readiness or enabled flag changes (requests waiting for one). */
  const waiters = new Set<() => void>();
  const changed = (): void => {
    for (const wake of [...waiters]) wake();
  };

  const probes = new Agent({ pipelining: 1, keepAliveTimeout: BACKEND_KEEP_ALIVE_MS, keepAliveMaxTimeout: BACKEND_KEEP_ALIVE_MS });
  const probe = async (backend: Backend): Promise<void> => {
    const url = backend.ready;
    if (!url) return;
    let ok = false;
    try {
      const timeout = Math.max(interval, 1_000);
      const response = await probes.request({ origin: url.origin, path: url.pathname + url.search, method: 'GET', headersTimeout: timeout, bodyTimeout: timeout });
      ok = response.statusCode === 200;
      await response.body.dump();
    } catch {
      ok = false;
    }
    if (closed) return;
    if (ok !== backend.isReady) {
      backend.isReady = ok;
      changed();
    }
  };
  const poll = (backend: Backend): void => {
    // setTimeout after each probe rather than setInterval: a slow probe never overlaps the next.
    backend.timer = setTimeout(() => {
      void probe(backend).then(() => {
        if (!closed) poll(backend);
      });
    }, interval);
    backend.timer.unref();
  };
  const release = (): Promise<unknown> => Promise.all([...backends.map((backend) => backend.pool.destroy()), probes.destroy()]);

  /** The next usable backend not tried yet for this request, round-robin; undefined if none. */
  const pick = (tried: ReadonlySet<number>): number | undefined => {
    for (let step = 0; step < backends.length; step++) {
      const index = (next + step) % backends.length;
      const backend = backends[index];
      if (backend && backend.enabled && backend.isReady && !tried.has(index)) {
        next = index + 1;
        return index;
      }
    }
    return undefined;
  };

  /** Waits (until `deadline`) for a usable backend; undefined when none came or the client left. */
  const waitForBackend = async (tried: ReadonlySet<number>, deadline: number, res: ServerResponse): Promise<number | undefined> => {
    for (;;) {
      const index = pick(tried);
      if (index !== undefined || closed || res.destroyed) return index;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          res.off('close', wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        waiters.add(wake);
        res.once('close', wake);
      });
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, res);
    if (body === undefined) return;
    const skip = hopByHop(req.headers.connection);
    const headers: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      const lower = name.toLowerCase();
      // host is the backend's; content-length is undici's (from the buffered body); undici refuses expect.
      if (skip(lower) || lower === 'host' || lower === 'content-length' || lower === 'expect') continue;
      headers.push(name, req.rawHeaders[i + 1] ?? '');
    }
    const tried = new Set<number>();
    const deadline = Date.now() + READY_WAIT_MS;
    let lastError: Error | undefined;
    for (;;) {
      const index = await waitForBackend(tried, deadline, res);
      if (res.destroyed || closed) return;
      const backend = index === undefined ? undefined : backends[index];
      if (index === undefined || !backend) {
        if (lastError) sendJson(res, 503, { error: 'no reachable backend', detail: describe(lastError) });
        else sendJson(res, 503, { error: 'no ready backend' });
        return;
      }
      tried.add(index);
      const outcome = await forward(backend, req, res, [...headers, 'host', backend.host], body, () => (counts[index] = (counts[index] ?? 0) + 1));
      if (outcome === 'done') return;
      lastError = outcome;
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 502, { error: 'bad gateway', detail: describe(error) });
      else res.destroy();
    });
  });
  // Longer than any client's idle timeout, so the balancer never closes a connection under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  try {
    // The first probe round completes before the balancer is used, so it starts with true readiness.
    await Promise.all(backends.map(probe));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    closed = true;
    await release();
    throw error;
  }
  for (const backend of backends) if (backend.ready) poll(backend);
  const port = (server.address() as AddressInfo).port;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    port,
    get counts() {
      return counts;
    },
    setEnabled(index, enabled) {
      const backend = backends[index];
      if (!backend) throw new Error(`balancer: no backend ${index}`);
      backend.enabled = enabled;
      changed();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const backend of backends) clearTimeout(backend.timer);
      changed();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      // destroy, not close: an SSE response still streaming must not hold close() open.
      await release();
    },
  };
}

/** The whole request body, or undefined after answering 413 (or when the client went away). */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const tooLarge = (): void => {
      cleanup();
      // The rest of the body is left unread (not req.destroy(), which would cut the 413 too):
      // the connection closes after the answer.
      req.pause();
      res.setHeader('connection', 'close');
      sendJson(res, 413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` });
      resolve(undefined);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return tooLarge();
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    // The client aborted its upload.
    const onGone = (): void => {
      cleanup();
      resolve(undefined);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      res.off('close', onGone);
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    res.on('close', onGone);
  });
}

/**
 * Sends the request to one backend and streams the response back. Resolves 'done' when the
 * exchange is over (answered, failed after the request may have reached the backend, or the
 * client left), or with the error when the request never reached a connection (retry elsewhere).
 */
function forward(
  backend: Backend,
  req: IncomingMessage,
  res: ServerResponse,
  headers: string[],
  body: Buffer,
  onSent: () => void,
): Promise<'done' | Error> {
  return new Promise((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let started = false;
    let finished = false;
    const finish = (outcome: 'done' | Error): void => {
      if (finished) return;
      finished = true;
      res.off('close', onClientClose);
      res.off('drain', onDrain);
      resolve(outcome);
    };
    // The client went away (or its response is complete): stop the upstream request too.
    const onClientClose = (): void => {
      if (!res.writableFinished) controller?.abort(new Error('client closed the connection'));
    };
    const onDrain = (): void => controller?.resume();
    res.on('close', onClientClose);
    res.on('drain', onDrain);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctl) {
        // From here on the request is written to a socket: it may reach the backend.
        controller = ctl;
        started = true;
        if (res.destroyed) {
          // Aborted here, undici writes nothing (it checks request.aborted before the write).
          ctl.abort(new Error('client closed the connection'));
          return;
        }
        onSent();
      },
      onResponseStart(_ctl, statusCode, upstreamHeaders, statusMessage) {
        if (res.destroyed) return;
        const skip = hopByHop(upstreamHeaders.connection);
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstreamHeaders)) {
          if (value !== undefined && !skip(name)) out[name] = value;
        }
        res.writeHead(statusCode, statusMessage || undefined, out);
        // Without a length the body may come late and in pieces (SSE): send the headers now.
        if (out['content-length'] === undefined) res.flushHeaders();
      },
      onResponseData(ctl, chunk) {
        if (res.destroyed) return;
        if (!res.write(chunk)) ctl.pause();
      },
      onResponseEnd() {
        res.end();
        finish('done');
      },
      onResponseError(_ctl, error) {
        if (res.destroyed) return finish('done');
        if (!started && (error as { code?: string }).code !== 'UND_ERR_INVALID_ARG') return finish(error);
        if (!res.headersSent) sendJson(res, 502, { error: 'bad gateway', detail: describe(error) });
        else res.destroy(error);
        finish('done');
      },
    };
    backend.pool.dispatch(
      {
        origin: backend.origin,
        path: req.url ?? '/',
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: body.length > 0 ? body : null,
        // SSE responses and long tool calls: no undici timers, the client decides how long to wait.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      handler,
    );
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
