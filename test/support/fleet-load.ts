// An open-loop load driver for fleet tests and `npm run bench:fleet`: N sessions, each sending
// tools/call at a fixed rate whatever the answers do (so a stall shows as failures, not as a slower
// loop), each holding its GET stream open. It counts what a user would notice: failed requests
// (HTTP or JSON-RPC errors, transport errors), lost sessions (404 on a session the client had),
// streams that broke (ended or errored without the client closing them; they are reopened with
// Last-Event-ID, and a reopen that fails counts as failed).
import { Pool } from 'undici';
import { Latencies } from '../bench/lib/histogram.ts';
import { BenchCallError, findAnswer, StreamableClient } from '../bench/lib/clients.ts';

export interface RateLoadOptions {
  url: string;
  sessions: number;
  /** Requests per second per session. */
  ratePerSession: number;
  /** The echo tool's name as the endpoint lists it. */
  tool: string;
  /** Hold a GET stream per session (default true). */
  streams?: boolean;
}

export interface RateLoadReport {
  sent: number;
  ok: number;
  failed: number;
  /** Answers 404 (the session was unknown): sessions lost. */
  lost: number;
  errors: Map<string, number>;
  /** GET streams that ended or failed while the load ran. */
  streamBreaks: number;
  /** Reopened streams (after a break) that the fleet served again. */
  streamResumes: number;
  latencies: Latencies;
  elapsedMs: number;
}

export interface RateLoad {
  report(): RateLoadReport;
  stop(): Promise<RateLoadReport>;
}

interface LoadSession {
  headers: Record<string, string>;
  lastEventId: string | undefined;
  stream: AbortController | undefined;
}

export async function startRateLoad(options: RateLoadOptions): Promise<RateLoad> {
  const client = new StreamableClient(options.url, options.sessions * 8);
  const url = new URL(options.url);
  const streamPool = new Pool(url.origin, { connections: options.sessions * 2, pipelining: 1 });
  const report: RateLoadReport = { sent: 0, ok: 0, failed: 0, lost: 0, errors: new Map(), streamBreaks: 0, streamResumes: 0, latencies: new Latencies(), elapsedMs: 0 };
  const fail = (message: string): void => {
    report.failed++;
    const kind = message.slice(0, 160);
    report.errors.set(kind, (report.errors.get(kind) ?? 0) + 1);
  };
  let stopping = false;
  let nextId = 1;
  const sessions: LoadSession[] = [];
  for (let i = 0; i < options.sessions; i++) sessions.push({ headers: await client.initialize(), lastEventId: undefined, stream: undefined });

  const openStream = async (session: LoadSession, resume: boolean): Promise<void> => {
    const abort = new AbortController();
    session.stream = abort;
    try {
      const response = await streamPool.request({
        path: url.pathname,
        method: 'GET',
        headers: { ...session.headers, accept: 'text/event-stream', ...(session.lastEventId ? { 'last-event-id': session.lastEventId } : {}) },
        signal: abort.signal,
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        if (response.statusCode === 404) report.lost++;
        // A replica that is draining refuses new streams with 503 and Retry-After (the client opens
        // the stream again, on another replica): a break the client rides out, not a failure.
        if (response.statusCode === 503 && response.headers['retry-after'] !== undefined) throw new Error('GET stream refused by a draining replica; opened again');
        throw new Error(`GET stream: HTTP ${response.statusCode}`);
      }
      if (resume) report.streamResumes++;
      let buffer = '';
      for await (const chunk of response.body) {
        buffer += chunk.toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: ?(.*)$/m.exec(event)?.[1];
          if (id) session.lastEventId = id;
        }
      }
      if (stopping) return;
      throw new Error('GET stream ended');
    } catch (error) {
      if (stopping || abort.signal.aborted) return;
      report.streamBreaks++;
      if (/HTTP/.test(String(error))) fail(String(error));
      // The client reconnects, as an SDK client would, after a short pause.
      setTimeout(() => void openStream(session, true), 100);
    }
  };
  if (options.streams !== false) for (const session of sessions) void openStream(session, false);

  const call = async (session: LoadSession): Promise<void> => {
    const id = nextId++;
    report.sent++;
    const started = process.hrtime.bigint();
    try {
      const answer = await client.post(
        { ...session.headers, accept: 'application/json' },
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name: options.tool, arguments: { message: `m${id}` } } },
      );
      if (answer.status === 404) report.lost++;
      if (answer.status !== 200) throw new BenchCallError(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
      const parsed = findAnswer(answer.contentType, answer.body, id);
      if (parsed.error) throw new BenchCallError(`JSON-RPC ${parsed.error.code}: ${parsed.error.message}`);
      report.latencies.recordNs(process.hrtime.bigint() - started);
      report.ok++;
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
  };
  const inFlight = new Set<Promise<void>>();
  const began = Date.now();
  const interval = 1000 / options.ratePerSession;
  const timers = sessions.map((session, i) =>
    setTimeout(() => {
      const tick = setInterval(() => {
        const pending = call(session);
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
      }, interval);
      timers[i] = tick;
    }, (interval / options.sessions) * i),
  );
  return {
    report: () => report,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all(inFlight);
      stopping = true;
      report.elapsedMs = Date.now() - began;
      for (const session of sessions) session.stream?.abort();
      await Promise.all(sessions.map((session) => client.end(session.headers).catch(() => undefined)));
      await client.close();
      await streamPool.destroy();
      return report;
    },
  };
}

/** One line for logs and the note. */
export function describeLoad(report: RateLoadReport): string {
  const errors = [...report.errors].map(([kind, n]) => `${n}× ${kind}`).join('; ');
  return (
    `${report.sent} requests, ${report.ok} ok, ${report.failed} failed, ${report.lost} lost-session answers, ` +
    `${report.streamBreaks} stream breaks (${report.streamResumes} resumed), p50 ${report.latencies.percentile(50).toFixed(2)} ms, p99 ${report.latencies.percentile(99).toFixed(2)} ms` +
    (errors ? ` — errors: ${errors}` : '')
  );
}
