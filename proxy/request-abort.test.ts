import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestAbort } from './request-abort.ts';

test('hooks run once on abort, after the signal is aborted; removed ones and late ones do not', () => {
  const abort = new RequestAbort();
  const seen: string[] = [];
  const first = (): void => void seen.push(`first:${String(abort.signal.aborted)}`);
  const removed = (): void => void seen.push('removed');
  abort.onAbort(first);
  abort.onAbort(removed);
  abort.offAbort(removed);
  let listened = false;
  abort.signal.addEventListener('abort', () => (listened = true));
  abort.abort(new Error('gone'));
  abort.abort(new Error('again'));
  abort.onAbort(() => seen.push('late'));
  assert.equal(seen, ['first:true']);
  assert.ok(listened, 'the real signal still fires');
  assert.is((abort.signal.reason as Error).message, 'gone');
});

test.run();
