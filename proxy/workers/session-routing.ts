// Session routing between the workers of one pod (mcpmux proxy --workers N, without NATS). The
// pod's listening socket hands each client connection to any worker, but a session lives in the
// memory of the worker that created it: a legacy SSE stream and its POSTs, or a streamable
// session's POSTs sent on several connections, must meet there. Session ids name their worker
// (session-owner.ts); a worker that receives a request on another worker's session passes it on,
// unparsed, over that worker's private Unix socket (an HTTP listener in the pod's 0700 socket
// directory), streaming the body up and the answer (SSE included) back. Requests naming no session
// (initialize, 2026-07-28 stateless requests) are served where they land. The same socket takes
// the questions workers ask each other (a 2026-07-28 retry of a call another worker holds), as the
// replicas of a fleet ask them over NATS.
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import { sendError, refuse } from '../downstream/respond.ts';
import { header } from '../downstream/read-message.ts';
import { sessionOwner } from './session-owner.ts';
import { McpmuxError } from '../../shared/errors.ts';

/** Where this worker sits in its pod. */
export interface WorkerPlace {
  /** 0-based; the session id tag is `w<index>_`. */
  index: number;
  /** The pod's replica id: worker k is replica `<it>-w<k>` (workerReplicaId). */
  podReplicaId: string;
  count: number;
  /** The pod's private directory of worker sockets (0700, made by the primary). */
  socketDir: string;
}

/** The Unix socket worker `index` takes forwarded requests on. */
export function workerSocketPath(socketDir: string, index: number): string {
  return join(socketDir, `w${index}.sock`);
}

/** The replica id of worker `index` of the pod `podReplicaId` (its control-plane node id, the replica named in its held calls). */
export function workerReplicaId(podReplicaId: string, index: number): string {
  return `${podReplicaId}-w${index}`;
}

/** Request headers that carry the forwarding between workers (trusted on the private socket only). */
const GATEWAY_PORT_HEADER = 'x-mcpmux-worker-gateway-port';
/** On the private socket: not a client's request but a question to this worker (its kind), JSON in and out. */
const ASK_HEADER = 'x-mcpmux-worker-ask';

/** Answers one kind of question another worker of the pod asks (a held call's retry). */
export type AskHandler = (payload: unknown) => Promise<unknown>;
/** Headers of one hop, not passed on (RFC 9110 7.6.1); Node frames each hop's body itself (chunked unless a length is known). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Our own headers between workers: never taken from a client (one could otherwise pose as a worker asking a question). */
const WORKER_HEADER_PREFIX = 'x-mcpmux-worker-';

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && !name.startsWith(WORKER_HEADER_PREFIX)) kept[name] = value;
  return kept;
}

/** The session a request names: its Mcp-Session-Id, a legacy POST's ?sessionId=, or the session a Last-Event-ID resumes. */
export function namedSession(req: IncomingMessage): string | undefined {
  const fromHeader = header(req, 'mcp-session-id');
  if (fromHeader !== undefined) return fromHeader;
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  if (query !== -1) {
    const fromQuery = new URLSearchParams(url.slice(query + 1)).get('sessionId');
    if (fromQuery !== null) return fromQuery;
  }
  return header(req, 'last-event-id');
}

/** Serves a request passed on by another worker, on the binding of `gatewayPort` (undefined: the lowest). */
export type ServeForwarded = (req: IncomingMessage, res: ServerResponse, gatewayPort: number | undefined) => void;

export class SessionRouter {
  readonly #place: WorkerPlace;
  readonly #logger: Logger;
  /** Keep-alive connections to each other worker's socket: forwarding costs no connect per request. */
  readonly #agents = new Map<number, Agent>();
  readonly #onForward: (() => void) | undefined;
  readonly #handlers = new Map<string, AskHandler>();
  #internal: Server | undefined;

  /** `onForward` is told of each request passed on to another worker (the proxy counts them). */
  constructor(place: WorkerPlace, logger: Logger, onForward?: () => void) {
    this.#place = place;
    this.#logger = logger;
    this.#onForward = onForward;
  }

  /** The other worker that owns the session this request names; undefined: it is served here (ours, none named, or a worker that does not exist). */
  ownerElsewhere(req: IncomingMessage): number | undefined {
    const id = namedSession(req);
    if (id === undefined) return undefined;
    const owner = sessionOwner(id);
    return owner === undefined || owner === this.#place.index || owner >= this.#place.count ? undefined : owner;
  }

  /**
   * Passes the request to worker `owner` and its answer back, both streamed. An owner that is not
   * there (it died and is restarting, its sessions with it) makes the session unknown: 404, as for
   * any session id nobody holds.
   */
  forward(req: IncomingMessage, res: ServerResponse, owner: number, gatewayPort: number | undefined): void {
    this.#onForward?.();
    const headers = endToEnd(req.headers);
    headers[GATEWAY_PORT_HEADER] = gatewayPort === undefined ? '' : String(gatewayPort);
    const upstream = request({ socketPath: workerSocketPath(this.#place.socketDir, owner), agent: this.#agent(owner), method: req.method, path: req.url, headers });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      // An event stream's headers reach the client now, not with its first event.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      req.resume();
      const gone = error.code === 'ECONNREFUSED' || error.code === 'ENOENT';
      this.#logger.debug({ owner, err: error.message }, gone ? "request on a session of a worker that is gone: unknown session" : 'passing a request to its worker failed');
      if (gone) sendError(res, refuse('MCPMUX_SESSION_NOT_FOUND', 'Session not found (the worker that held it restarted): initialize a new session'));
      // Anything else (a reset) may pass: the session is not declared lost for it.
      else sendError(res, refuse('MCPMUX_FLEET_UNAVAILABLE', 'the worker holding this session did not answer just now: retry shortly'), null, { 'retry-after': '1' });
    });
    // The client went away: so does the request to the owner (which then sees its stream close).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  /** Answers questions of `kind` from the other workers (what a fleet asks over NATS, a pod asks here). */
  serve(kind: string, handler: AskHandler): void {
    this.#handlers.set(kind, handler);
  }

  /**
   * Asks the worker that is replica `replica` a question of `kind` and resolves with its answer.
   * Throws an McpmuxError when `replica` is no worker of this pod, or it does not answer in time.
   */
  async ask(replica: string, kind: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const owner = Array.from({ length: this.#place.count }, (_, k) => k).find((k) => workerReplicaId(this.#place.podReplicaId, k) === replica);
    if (owner === undefined || owner === this.#place.index) throw new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `replica ${replica} is not another worker of this pod (${this.#place.podReplicaId}); without NATS a retry must come back to the pod that holds its call`);
    this.#onForward?.();
    const body = JSON.stringify(payload);
    return new Promise((resolve, reject) => {
      const asked = request(
        { socketPath: workerSocketPath(this.#place.socketDir, owner), agent: this.#agent(owner), method: 'POST', path: `/${kind}`, timeout: timeoutMs, headers: { [ASK_HEADER]: kind, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('error', reject);
          answer.on('end', () => {
            let parsed: { result?: unknown; error?: string };
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: string };
            } catch {
              reject(new McpmuxError('MCPMUX_INTERNAL', `worker ${owner} answered something that is not JSON (HTTP ${answer.statusCode})`));
              return;
            }
            if (answer.statusCode === 200) resolve(parsed.result);
            else reject(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `worker ${owner} could not answer: ${parsed.error ?? `HTTP ${answer.statusCode}`}`));
          });
        },
      );
      asked.on('timeout', () => asked.destroy(new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `worker ${owner} did not answer within ${timeoutMs} ms`)));
      asked.on('error', (error: NodeJS.ErrnoException) => reject(error instanceof McpmuxError ? error : new McpmuxError('MCPMUX_FLEET_UNAVAILABLE', `worker ${owner} is not reachable (${error.code ?? error.message}): it may be restarting`)));
      asked.end(body);
    });
  }

  /** A question from another worker: its kind's handler, JSON in, JSON out. */
  #answer(kind: string, req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const handler = this.#handlers.get(kind);
    if (!handler) {
      req.resume();
      reply(404, { error: `this worker answers no ${kind} questions` });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      Promise.resolve()
        .then(() => handler(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
        .then(
          (result) => reply(200, { result }),
          (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }),
        );
    });
  }

  #agent(owner: number): Agent {
    let agent = this.#agents.get(owner);
    if (!agent) {
      agent = new Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64 });
      this.#agents.set(owner, agent);
    }
    return agent;
  }

  /** Listens on this worker's socket for requests the other workers pass on. */
  async listen(serve: ServeForwarded): Promise<void> {
    const path = workerSocketPath(this.#place.socketDir, this.#place.index);
    // A socket file left by this worker's previous life (it died) would make the bind fail.
    rmSync(path, { force: true });
    const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      const kind = req.headers[ASK_HEADER];
      if (typeof kind === 'string') {
        this.#answer(kind, req, res);
        return;
      }
      const raw = req.headers[GATEWAY_PORT_HEADER];
      const port = typeof raw === 'string' && raw !== '' ? Number(raw) : undefined;
      serve(req, res, port);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: a cluster worker's listen would otherwise go through the primary.
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#internal = server;
  }

  /** Stops taking forwarded requests (after the drain: the other workers' forwarded requests were answered by then). */
  async close(): Promise<void> {
    for (const agent of this.#agents.values()) agent.destroy();
    const server = this.#internal;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
