// What ends an upstream exchange early, the same for every HTTP upstream connection: its deadline
// (on the pool's queue when the connection has one: no timer of its own) and, when the caller can
// cancel, its client request's cancellation (through the request's callback set when it has one,
// else one AbortSignal listener): cheaper per request than composing AbortSignals.
import { McpmuxError } from '../../shared/errors.ts';
import { timer, type DelayQueues } from '../delay-queue.ts';
import type { RequestOptions } from './connection.ts';
import type { Exchange } from './exchange.ts';

/** Bounds `call` by `options`' timeout and cancellation; returns what lifts them once it settled. */
export function boundExchange(call: Exchange, target: string, options: RequestOptions, deadlines: DelayQueues | undefined): () => void {
  const expire = (): void => call.abort(new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', `target ${target} did not answer within ${options.timeoutMs} ms`));
  const deadline = deadlines ? deadlines.after(options.timeoutMs, expire) : timer(options.timeoutMs, expire);
  const { signal, abortHooks: hooks } = options;
  if (!signal) return () => deadline.cancel();
  const onCancel = (): void => call.abort(abortReason(signal));
  if (signal.aborted) onCancel();
  else if (hooks) hooks.onAbort(onCancel);
  else signal.addEventListener('abort', onCancel, { once: true });
  return () => {
    deadline.cancel();
    if (hooks) hooks.offAbort(onCancel);
    else signal.removeEventListener('abort', onCancel);
  };
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new McpmuxError('MCPMUX_REQUEST_CANCELLED', 'the request was cancelled');
}
