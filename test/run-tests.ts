// Runs every *.test.ts under the source folders, one file per child process (isolated ports, timers
// and handles), and ends with the line CI reads: "N passed, N failed".
// - A file that fails has its whole output printed. Each file runs with test/support/uvu-hooks.ts
//   preloaded, so that a failing hook (test.before above all, whose error uvu drops) prints its error
//   and fails the file.
// - Each file runs in its own process group: when it ends, or is killed for running past its timeout,
//   whatever it started and left behind (servers, a `go build`) goes with it, instead of holding
//   ports and CPU while the next files run.
// - Tools that tests install on first use (a kube-apiserver built from source: ~11 minutes cold) are
//   installed first, when a selected file needs them, so that no file's timeout runs during a build.
// - test/cluster/ (the cluster tier: a real node with containerd, kubelet and pods; root only) runs
//   only with --cluster (`npm run test:cluster`), and then alone, each file with a 15-minute timeout.
// Usage: node test/run-tests.ts [--cluster] [filter-substring ...]
// (MCPMUX_TEST_ROOT=<folder> runs the tests of another tree: test/run-tests.test.ts plants some.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.MCPMUX_TEST_ROOT ? `${resolve(process.env.MCPMUX_TEST_ROOT)}/` : fileURLToPath(new URL('..', import.meta.url));
const FOLDERS = ['shared', 'control-plane', 'proxy', 'deploy', 'test'];
const CLUSTER_TIER = process.argv.includes('--cluster');
const CLUSTER_DIR = join(ROOT, 'test', 'cluster');
const FILE_TIMEOUT_MS = Number(process.env.MCPMUX_TEST_FILE_TIMEOUT_MS ?? (CLUSTER_TIER ? 900_000 : 180_000));
const CONCURRENCY = Number(process.env.MCPMUX_TEST_CONCURRENCY ?? 2);
const HOOKS = new URL('./support/uvu-hooks.ts', import.meta.url).href;
const SUPPORT = fileURLToPath(new URL('./support/', import.meta.url));

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

// ---------------------------------------------------------------------------------------------
// Tools installed before the tests

/** What installs each tool a support module installs on first use (`node <script> <args>`). */
const INSTALLERS: Record<string, { script: string; args: string[] }> = {
  'tools.ts': { script: 'install-tools.ts', args: ['grpcurl', 'nats-server', 'helm'] },
  'python.ts': { script: 'install-tools.ts', args: ['python-fetcher', 'python-modern'] },
  'kube-tools.ts': { script: 'kube-tools.ts', args: [] },
  'node-tools.ts': { script: 'node-tools.ts', args: [] },
  // The images deploy/image builds (about 4 minutes cold, well past one file's timeout).
  'images.ts': { script: 'images.ts', args: [] },
  // The MCP Inspector from npm, for the cluster tier (whose namespaces reach no registry).
  'inspector.ts': { script: 'inspector.ts', args: [] },
};

/** The support modules of INSTALLERS that `files` import, directly or through other modules of the repository. */
export function installersNeeded(files: readonly string[]): string[] {
  const seen = new Set<string>();
  const needed = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    if (dirname(file) === resolve(SUPPORT) && Object.hasOwn(INSTALLERS, file.slice(SUPPORT.length))) {
      needed.add(file.slice(SUPPORT.length));
      return; // what an installer imports (kube-tools.ts takes CACHE_DIR from tools.ts) is not needed by the test
    }
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) visit(resolve(dirname(file), match[1]!));
  };
  for (const file of files) visit(file);
  return Object.keys(INSTALLERS).filter((name) => needed.has(name));
}

/** Installs what the selected files need; a failure is reported and the files run anyway (each then says what is missing). */
function prepare(files: readonly string[]): void {
  const needed = installersNeeded(files);
  if (needed.length === 0) return;
  const byScript = new Map<string, string[]>();
  for (const name of needed) byScript.set(INSTALLERS[name]!.script, [...(byScript.get(INSTALLERS[name]!.script) ?? []), ...INSTALLERS[name]!.args]);
  for (const [script, args] of byScript) {
    const started = Date.now();
    // stderr passes through: a cold build says what it builds and that it takes minutes.
    const result = spawnSync(process.execPath, [join(SUPPORT, script), ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const command = [`node test/support/${script}`, ...args].join(' ');
    if (result.status === 0) {
      console.log(`[run-tests] ${command}: ready in ${seconds} s`);
    } else {
      console.log(`[run-tests] ${command} failed after ${seconds} s; the tests that need it will fail:`);
      console.log(`${result.stdout}${result.error ? String(result.error) : ''}`.replace(/^/gm, '     | '));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running the files

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  ms: number;
}

/** Process groups of the files running now: killed if this runner is stopped. */
const groups = new Set<number>();
const killGroup = (pid: number | undefined): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
};
process.on('exit', () => groups.forEach(killGroup));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    groups.forEach(killGroup);
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[signal]);
  });
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    // detached: its own process group (and session), so that one kill reaches everything it started.
    // MCPMUX_DEBUG_FREEZE: what the translator seals is deep-frozen, so a test writing to it throws (shared/config/freeze.ts).
    const child = spawn(process.execPath, ['--import', HOOKS, file], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', MCPMUX_DEBUG_FREEZE: '1' }, detached: true });
    const pid = child.pid;
    if (pid !== undefined) groups.add(pid);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[run-tests] ${relative(ROOT, file)} timed out after ${FILE_TIMEOUT_MS} ms; killed with every process it started\n`;
      killGroup(pid);
    }, FILE_TIMEOUT_MS);
    child.on('error', (error) => (output += `\n[run-tests] ${error.message}\n`));
    // The file is done: what it left running goes too (and so its pipes close, which 'close' waits for).
    child.on('exit', () => killGroup(pid));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) groups.delete(pid);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
      // A file that crashed or never reported counts as one failure, so nothing fails silently.
      // uvu's Total leaves skipped tests out. A clean exit with nothing run and nothing skipped is a failure too.
      const failed = code === 0 ? (total === 0 && skipped === 0 ? 1 : Math.max(0, total - passed)) : Math.max(1, total - passed);
      if (failed > 0 && passed === 0 && total > 0 && !/\[uvu-hooks\]|FAIL /.test(output)) {
        output += `\n[run-tests] ${relative(ROOT, file)}: no test passed and none reported an error (exit ${code ?? signal}): a failing hook that uvu-hooks did not see?\n`;
      }
      resolve({ file, passed, failed, skipped, output, ms: Date.now() - started });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const filters = process.argv.slice(2).filter((arg) => arg !== '--cluster');
  const files = FOLDERS.filter((folder) => existsSync(join(ROOT, folder)))
    .flatMap((folder) => findTests(join(ROOT, folder)))
    .filter((file) => file.startsWith(`${CLUSTER_DIR}/`) === CLUSTER_TIER)
    .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
    .sort();

  prepare(files);

  const results: FileResult[] = [];
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const result = await runFile(file);
      results.push(result);
      const mark = result.failed > 0 ? 'FAIL' : 'ok  ';
      console.log(`${mark} ${relative(ROOT, file)}  ${result.passed} passed, ${result.failed} failed (${result.ms} ms)`);
      if (result.failed > 0 || process.env.MCPMUX_TEST_VERBOSE) console.log(result.output.replace(/^/gm, '     | '));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));

  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  const failedFiles = results.filter((r) => r.failed > 0).map((r) => relative(ROOT, r.file)).sort();
  console.log(`\n${files.length} test files${failedFiles.length ? `; failed: ${failedFiles.join(', ')}` : ''}`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
}
