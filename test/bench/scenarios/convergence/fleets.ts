// The discovery clients spread over worker threads. One thread receiving 1000 responses and
// sending 1000 ACKs takes ~0.15 ms for each, so with a single thread the tail of the measurement
// would be the bench's own queue rather than the control plane's fan-out (1000 real proxies work in
// parallel). Workers let the clients use the cores the control plane leaves idle.
import { Worker } from 'node:worker_threads';
import type { DecodeMode } from './fleet.ts';
import type { FromWorker, ToWorker, WorkerOptions } from './fleet-worker.ts';

export interface Fleets {
  readonly size: number;
  readonly threads: number;
  /** The version every client ACKed when the fleets connected. */
  readonly initialVersion: string;
  /** Resolves once every client has ACKed one new version; times are this thread's performance.now(). */
  converged(previous: string, timeoutMs: number): Promise<{ version: string; firstAckAt: number; lastAckAt: number }>;
  close(): Promise<void>;
}

interface Thread {
  worker: Worker;
  next(): Promise<FromWorker>;
}

export async function startFleets(address: string, size: number, options: { threads: number; decode: DecodeMode; timeoutMs?: number }): Promise<Fleets> {
  const count = Math.max(1, Math.min(options.threads, size));
  const threads: Thread[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(
      threads.map(async ({ worker }) => {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'close' } satisfies ToWorker);
        const timer = setTimeout(() => void worker.terminate(), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
  };
  for (let t = 0; t < count; t++) {
    const share = Math.floor(size / count) + (t < size % count ? 1 : 0);
    const workerData: WorkerOptions = { address, count: share, idPrefix: `bench-t${t}`, decode: options.decode };
    const worker = new Worker(new URL('./fleet-worker.ts', import.meta.url), { workerData });
    const inbox: FromWorker[] = [];
    const waiting: Array<(message: FromWorker) => void> = [];
    const deliver = (message: FromWorker): void => {
      const waiter = waiting.shift();
      if (waiter) waiter(message);
      else inbox.push(message);
    };
    worker.on('message', deliver);
    worker.on('error', (error) => deliver({ type: 'failed', error: `worker ${t}: ${error.message}` }));
    worker.on('exit', (code) => deliver({ type: 'failed', error: `worker ${t} exited (${code})` }));
    threads.push({ worker, next: () => (inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((resolve) => waiting.push(resolve))) });
  }
  const ready = await withTimeout(Promise.all(threads.map((t) => t.next())), options.timeoutMs ?? 60_000, 'discovery clients to connect').catch(async (error: unknown) => {
    await closeAll();
    throw error;
  });
  const failed = ready.find((m) => m.type !== 'ready');
  const versions = new Set(ready.map((m) => (m.type === 'ready' ? m.version : '')));
  if (failed || versions.size !== 1) {
    await closeAll();
    throw new Error(failed?.type === 'failed' ? failed.error : `client threads disagree on the first version: ${[...versions].join(', ')}`);
  }

  return {
    size,
    threads: count,
    initialVersion: [...versions][0]!,
    async converged(previous, timeoutMs) {
      for (const { worker } of threads) worker.postMessage({ type: 'expect', previous, timeoutMs } satisfies ToWorker);
      const answers = await withTimeout(Promise.all(threads.map((t) => t.next())), timeoutMs + 1000, 'every client thread to converge');
      let version = '';
      let first = Number.POSITIVE_INFINITY;
      let last = Number.NEGATIVE_INFINITY;
      for (const answer of answers) {
        if (answer.type !== 'converged') throw new Error(answer.type === 'failed' ? answer.error : `unexpected ${answer.type} from a client thread`);
        if (version && answer.version !== version) throw new Error(`client threads converged on different versions (${version}, ${answer.version})`);
        version = answer.version;
        first = Math.min(first, answer.firstAckAt);
        last = Math.max(last, answer.lastAckAt);
      }
      return { version, firstAckAt: first - performance.timeOrigin, lastAckAt: last - performance.timeOrigin };
    },
    close: closeAll,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
