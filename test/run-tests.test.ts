// test/run-tests.ts over a planted tree (MCPMUX_TEST_ROOT): a failing test.before hook, whose error uvu
// itself drops (it reports the file's tests as not passed, prints no reason and exits 0), shows its
// error and fails the file; so does a file that throws while loading; a passing file stays quiet; the
// last line is the one CI reads. And what a file starts does not outlive it: neither a process it
// forgot to stop nor, when the file runs past its timeout, anything it was running.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './support/processes.ts';

const run = promisify(execFile);

const FILES: Record<string, string> = {
  'test/hook.test.ts': `import { test } from 'uvu';
test.before(async () => {
  await new Promise((resolve) => setTimeout(resolve, 10));
  throw new Error('etcd did not answer /health within 90000 ms');
});
test('one', () => {});
test('two', () => {});
test.run();
`,
  'test/load.test.ts': `import { test } from 'uvu';
throw new Error('cannot read the tutorial');
`,
  'test/fine.test.ts': `import { test } from 'uvu';
test('fine', () => {});
test.run();
`,
};

/** Runs test/run-tests.ts over a planted tree of `files`; its exit code and output. */
async function runPlanted(files: Record<string, string>, env: Record<string, string> = {}): Promise<{ root: string; code: number; out: string }> {
  const root = mkdtempSync(join(tmpdir(), 'mcpmux-run-tests-'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(root, 'test'), { recursive: true });
    writeFileSync(join(root, file), content);
  }
  return run(process.execPath, [join(ROOT, 'test', 'run-tests.ts')], { env: { ...process.env, MCPMUX_TEST_ROOT: root, ...env } }).then(
    ({ stdout }) => ({ root, code: 0, out: stdout }),
    (error: { code: number; stdout: string }) => ({ root, code: error.code, out: error.stdout }),
  );
}

/** Whether a process runs (a zombie waiting for its reaper does not). */
function running(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a failing before hook and a failing load print their errors; a passing file stays quiet', async () => {
  const { root, code, out } = await runPlanted(FILES);
  try {
    assert.is(code, 1, out);
    assert.match(out, /^FAIL test\/hook\.test\.ts {2}0 passed, 2 failed/m);
    assert.match(out, /\[uvu-hooks\] test\.before hook of .*hook\.test\.ts failed:\n\s*\|\s*Error: etcd did not answer \/health within 90000 ms/);
    assert.match(out, /^FAIL test\/load\.test\.ts {2}0 passed, 1 failed/m);
    assert.match(out, /Error: cannot read the tutorial/);
    assert.match(out, /^ok {3}test\/fine\.test\.ts {2}1 passed, 0 failed/m);
    assert.not.match(out, /\| {2}\(1 \/ 1\)/, 'the passing file\'s output is not printed');
    assert.match(out, /3 test files; failed: test\/hook\.test\.ts, test\/load\.test\.ts\n1 passed, 3 failed\n$/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** A test file that starts a process that would run forever, writes its pid, then (`hang`) never ends. */
const starter = (hang: boolean): string => `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
test('starts a process and leaves it running', async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  child.unref();
  writeFileSync(new URL('./' + ${JSON.stringify(hang ? 'hang' : 'leave')} + '.pid', import.meta.url), String(child.pid));
  ${hang ? 'await new Promise(() => setInterval(() => {}, 1000));' : ''}
});
test.run();
`;

test('skipped tests are counted as skipped, not failed; a file that runs and skips nothing is a failure', async () => {
  const { root, code, out } = await runPlanted({
    'test/skips.test.ts': `import { test } from 'uvu';
test('runs', () => {});
test.skip('later', () => {});
test.skip('later too', () => {});
test.run();
`,
    'test/all-skipped.test.ts': `import { test } from 'uvu';
test.skip('needs an image', () => {});
test.run();
`,
  });
  try {
    assert.is(code, 0, out);
    assert.match(out, /^ok {3}test\/skips\.test\.ts {2}1 passed, 0 failed/m);
    assert.match(out, /^ok {3}test\/all-skipped\.test\.ts {2}0 passed, 0 failed/m);
    assert.match(out, /\n1 passed, 0 failed, 3 skipped\n$/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('what a file leaves running, or runs when it times out, goes with it', async () => {
  const { root, out } = await runPlanted({ 'test/leave.test.ts': starter(false), 'test/hang.test.ts': starter(true) }, { MCPMUX_TEST_FILE_TIMEOUT_MS: '4000' });
  try {
    assert.match(out, /^ok {3}test\/leave\.test\.ts {2}1 passed, 0 failed/m);
    assert.match(out, /^FAIL test\/hang\.test\.ts {2}0 passed, 1 failed/m);
    assert.match(out, /timed out after 4000 ms; killed with every process it started/);
    for (const name of ['leave', 'hang']) {
      const pid = Number(readFileSync(join(root, 'test', `${name}.pid`), 'utf8'));
      assert.ok(pid > 0, `${name}.pid`);
      const deadline = Date.now() + 2000;
      while (running(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.not.ok(running(pid), `the process ${name}.test.ts started (pid ${pid}) still runs`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
