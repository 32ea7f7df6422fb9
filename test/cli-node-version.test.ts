// Issue 16: mcpmux on a Node too old to run it. The README asks for Node >= 22.18, and `npm install`
// passes on older ones; then `npm start`, `npx mcpmux` or the bin used to die with a raw
// ERR_UNKNOWN_FILE_EXTENSION stack. package.json's bin and `npm start` run a plain-JavaScript
// launcher that checks the Node version first and says what to install. Run here with an old Node
// when the machine has one (/usr/bin/node, or MCPMUX_OLD_NODE), and always with this Node with
// type stripping turned off, which no Node can run mcpmux with either.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './support/processes.ts';

const exec = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; scripts: Record<string, string> };
const BIN = pkg.bin.mcpmux!;

/** A Node older than 22.18 on this machine, if there is one. */
function oldNode(): { path: string; version: string } | undefined {
  for (const path of [process.env.MCPMUX_OLD_NODE, '/usr/bin/node', '/usr/local/bin/node'].filter((p): p is string => Boolean(p))) {
    const probe = spawnSync(path, ['--version'], { encoding: 'utf8' });
    const match = /^v(\d+)\.(\d+)\./.exec(probe.stdout ?? '');
    if (probe.status === 0 && match && (Number(match[1]) < 22 || (Number(match[1]) === 22 && Number(match[2]) < 18))) return { path, version: probe.stdout.trim() };
  }
  return undefined;
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  return exec(command, args, { cwd: ROOT, env, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** The command `npm start` runs, as words: `node <file> dev`. */
function startCommand(): string[] {
  const words = pkg.scripts.start!.split(/\s+/);
  assert.is(words[0], 'node', `npm start runs node: ${pkg.scripts.start}`);
  return words.slice(1);
}

function assertTellsWhatToInstall(outcome: Outcome, version: string): void {
  assert.is(outcome.code, 1, `exit status 1: ${outcome.stderr}`);
  assert.is(outcome.stdout, '');
  assert.match(outcome.stderr, /^mcpmux needs Node\.js 22\.18 or newer/);
  assert.ok(outcome.stderr.includes(version), `names the Node that ran it (${version}): ${outcome.stderr}`);
  assert.match(outcome.stderr, /nvm install 22/);
  assert.match(outcome.stderr, /npm install -g node@22/);
  assert.match(outcome.stderr, /npx -y node@22 \S*shared\/cli\/mcpmux\.mjs/);
  assert.not.match(outcome.stderr, /ERR_UNKNOWN_FILE_EXTENSION|\n\s+at /, 'no stack');
}

const old = oldNode();

test('package.json: the bin and npm start run the launcher, a plain-JavaScript file that is executable', () => {
  assert.match(BIN, /\.m?js$/, `bin ${BIN} is JavaScript any Node can load`);
  assert.is(startCommand()[0], BIN, 'npm start runs the same file');
  assert.ok((statSync(join(ROOT, BIN)).mode & 0o111) !== 0, `${BIN} is executable (npx runs it through its #! line)`);
  assert.match(readFileSync(join(ROOT, BIN), 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('an old Node (the bin, npm start\'s command, and the bin run through its #! line): what to install, no stack', async () => {
  if (!old) {
    console.log('  (no Node older than 22.18 on this machine: set MCPMUX_OLD_NODE to check one; the type-stripping test below covers the same path)');
    return;
  }
  assertTellsWhatToInstall(await run(old.path, [BIN, '--version']), old.version);
  assertTellsWhatToInstall(await run(old.path, startCommand()), old.version);
  // `npx mcpmux` and a globally installed bin run the file itself: `env node` finds the old Node first on PATH.
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-old-node-'));
  try {
    symlinkSync(old.path, join(dir, 'node'));
    assertTellsWhatToInstall(await run(join(ROOT, BIN), ['proxy', '--port', '8080'], { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` }), old.version);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('this Node with type stripping off: the same message, not a stack', async () => {
  assertTellsWhatToInstall(await run(process.execPath, ['--no-experimental-strip-types', BIN, '--version']), process.version);
});

test('Node >= 22.18: the launcher runs the CLI (the bin, npm start\'s command, and through its #! line)', async () => {
  const version = await run(process.execPath, [BIN, '--version']);
  assert.is(version.code, 0, version.stderr);
  assert.is(version.stdout.trim(), `mcpmux ${pkg.version}`);
  const help = await run(process.execPath, [...startCommand(), '--help']);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: mcpmux dev/);
  const usage = await run(process.execPath, [BIN, 'frobnicate']);
  assert.is(usage.code, 2, 'exit codes come through');
  assert.match(usage.stderr, /unknown command "frobnicate"/);
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-node-'));
  try {
    symlinkSync(process.execPath, join(dir, 'node'));
    const direct = await run(join(ROOT, BIN), ['--version'], { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` });
    assert.is(direct.stdout.trim(), `mcpmux ${pkg.version}`, direct.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npx mcpmux (the repository\'s own bin) runs the CLI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-npx-'));
  try {
    // npx (npm's, whichever Node runs it) and the bin's `env node` find this Node first.
    symlinkSync(process.execPath, join(dir, 'node'));
    const env = { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}`, npm_config_yes: 'false', npm_config_offline: 'true' };
    const outcome = await run('npx', ['--no-install', 'mcpmux', '--version'], env);
    assert.is(outcome.stdout.trim(), `mcpmux ${pkg.version}`, outcome.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
