// Runs every *.test.ts under the source folders, one file per child process (isolated ports, timers
// and handles), and ends with the line CI reads: "N passed, N failed".
// Usage: node test/run-tests.ts [filter-substring ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FOLDERS = ['shared', 'control-plane', 'proxy', 'deploy', 'test'];
const FILE_TIMEOUT_MS = Number(process.env.MCPMUX_TEST_FILE_TIMEOUT_MS ?? 180_000);
const CONCURRENCY = Number(process.env.MCPMUX_TEST_CONCURRENCY ?? 2);

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  ms: number;
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[run-tests] ${relative(ROOT, file)} timed out after ${FILE_TIMEOUT_MS} ms; killed\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
      // A file that crashed or never reported counts as one failure, so nothing fails silently.
      const failed = code === 0 && total > 0 ? total - passed - skipped : Math.max(1, total - passed - skipped);
      resolve({ file, passed, failed, skipped, output, ms: Date.now() - started });
    });
  });
}

const filters = process.argv.slice(2);
const files = FOLDERS.flatMap((folder) => findTests(join(ROOT, folder)))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();

const results: FileResult[] = [];
const queue = [...files];
async function worker(): Promise<void> {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const result = await runFile(file);
    results.push(result);
    const mark = result.failed > 0 ? 'FAIL' : 'ok  ';
    console.log(`${mark} ${relative(ROOT, file)}  ${result.passed} passed, ${result.failed} failed (${result.ms} ms)`);
    if (result.failed > 0 || process.env.MCPMUX_TEST_VERBOSE) console.log(result.output.replace(/^/gm, '     | '));
  }
}
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + r.skipped, 0);
console.log(`\n${files.length} test files`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
