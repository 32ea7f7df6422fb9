// One worker thread's share of the discovery clients (see fleets.ts). Times go back to the main
// thread as absolute milliseconds (timeOrigin + now), since each thread has its own timeOrigin.
import { parentPort, workerData } from 'node:worker_threads';
import { connectFleet, type DecodeMode } from './fleet.ts';

export interface WorkerOptions {
  address: string;
  count: number;
  idPrefix: string;
  decode: DecodeMode;
}

export type ToWorker = { type: 'expect'; previous: string; timeoutMs: number } | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; version: string }
  | { type: 'converged'; version: string; firstAckAt: number; lastAckAt: number }
  | { type: 'failed'; error: string };

const port = parentPort!;
const options = workerData as WorkerOptions;
const send = (message: FromWorker): void => port.postMessage(message);

try {
  const fleet = await connectFleet(options.address, options.count, { decode: options.decode, idPrefix: options.idPrefix });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      fleet.close();
      port.close();
      return;
    }
    fleet.converged(message.previous, message.timeoutMs).then(
      (result) =>
        send({
          type: 'converged',
          version: result.version,
          firstAckAt: performance.timeOrigin + result.firstAckAt,
          lastAckAt: performance.timeOrigin + result.lastAckAt,
        }),
      (error: unknown) => send({ type: 'failed', error: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ type: 'ready', version: fleet.commonVersion() });
} catch (error) {
  send({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
}
