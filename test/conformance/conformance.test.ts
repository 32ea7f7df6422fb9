// MCP conformance (@modelcontextprotocol/conformance, pinned) directly against the fixture and
// through a real mcpmux stack: runs test/conformance/run.ts as `npm run conformance` would and holds
// it to its contract: every active scenario passes directly, and through mcpmux at least the floor.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../support/processes.ts';

const RUNNER = fileURLToPath(new URL('./run.ts', import.meta.url));
const TIMEOUT_MS = 170_000; // inside run-tests' 180 s per file; a normal run takes well under 30 s

function runConformance(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', MCPMUX_CONFORMANCE_TIMEOUT_MS: String(TIMEOUT_MS - 10_000) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('every active server scenario passes directly; through mcpmux at least the floor', async () => {
  const { code, output } = await runConformance();
  const summary = /conformance: direct (\d+)\/(\d+), through mcpmux (\d+)\/(\d+) \(floor (\d+)\)/.exec(output);
  assert.ok(summary, `no summary line in the runner's output:\n${output}`);
  const [, direct, total, through, , floor] = summary!.map(Number);
  console.log(summary![0]);
  assert.ok(total! >= 30, `the pinned suite (0.1.16) has 30 active server scenarios, the runner ran ${total}`);
  assert.is(direct, total, `the fixture must pass every active scenario directly:\n${output}`);
  assert.ok(through! >= floor!, `through mcpmux ${through} fell below the floor ${floor}:\n${output}`);
  assert.is(code, 0, `the runner exited ${code}:\n${output}`);
});

test.run();
