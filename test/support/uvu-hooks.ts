// Preloaded into every test file by test/run-tests.ts (node --import): makes a failing uvu hook visible.
//
// uvu 0.5 runs test.before hooks inside a try whose `finally` returns, which discards the hook's
// error: the file reports every test as not passed, prints no reason, and still exits 0. Here each
// hook registered on uvu's `test` (before, after, before.each, after.each) is wrapped so that its
// error is printed, with its stack, before uvu sees it, and the file exits non-zero.
// (Files that make their own suites with uvu's suite() are not covered; none does.)
import { test } from 'uvu';

type Hook = (state: unknown) => unknown;
type Register = (hook: Hook) => void;

let failed = false;

function wrap(kind: string, register: Register): Register {
  return (hook) =>
    register(async (state) => {
      try {
        return await hook(state);
      } catch (error) {
        failed = true;
        const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
        process.stderr.write(`\n[uvu-hooks] test.${kind} hook of ${process.argv[1]} failed:\n${detail}\n\n`);
        throw error;
      }
    });
}

const hooks = test as unknown as { before: Register & { each: Register }; after: Register & { each: Register } };
const before = Object.assign(wrap('before', hooks.before), { each: wrap('before.each', hooks.before.each) });
const after = Object.assign(wrap('after', hooks.after), { each: wrap('after.each', hooks.after.each) });
hooks.before = before;
hooks.after = after;

// uvu sets process.exitCode from the test results after the run; a swallowed hook error left it 0.
process.on('exit', () => {
  if (failed && !process.exitCode) process.exitCode = 1;
});
