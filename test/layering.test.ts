// Guardrails (issue 20 §3): the layering a newcomer can rely on, and the size a file may grow to.
//  - control-plane/ and proxy/ meet only in shared/: neither imports the other, and shared/
//    imports neither.
//  - the translator (control-plane/translate/) does no I/O: nothing it reaches through its imports
//    opens a file, a socket, a process or a log.
//  - no production file passes MAX_LINES (the three that did when the rule came were split).
//  - docs/architecture.md names only files that exist (full paths, and the short `mux/session.ts` form).
// Each rule is also run against a planted breach, so a rule that could never fail would show.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './support/processes.ts';
import { closure, importsOf, productionFiles, repoPath } from './support/imports.ts';

const MAX_LINES = 500;
/** Modules that reach outside the process: a pure translator imports none of them. */
const IO_MODULES = /^(node:(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|worker_threads|cluster|readline)|undici|@grpc\/grpc-js|@kubernetes\/client-node|@nats-io\/.*|nats|pino)$/;

/** Imports from files under `from` (repository paths) into files under any of `forbidden`. */
function crossings(root: string, from: string, forbidden: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of productionFiles(root, from)) {
    for (const edge of importsOf(file)) {
      const target = edge.file && repoPath(root, edge.file);
      if (target && forbidden.some((folder) => target.startsWith(`${folder}/`))) found.push(`${repoPath(root, file)}:${edge.line} imports ${target}`);
    }
  }
  return found;
}

/** I/O modules the translator reaches, each with the chain of imports that reaches it. */
function translatorIo(root: string): string[] {
  const found: string[] = [];
  for (const [file, chain] of closure(productionFiles(root, 'control-plane/translate'))) {
    for (const edge of importsOf(file)) {
      if (!edge.file && IO_MODULES.test(edge.specifier)) found.push(`${chain.map((f) => repoPath(root, f)).join(' → ')} imports ${edge.specifier}`);
    }
  }
  return found;
}

function longFiles(root: string): string[] {
  const found: string[] = [];
  for (const folder of ['control-plane', 'proxy', 'shared']) {
    for (const file of productionFiles(root, folder)) {
      const lines = readFileSync(file, 'utf8').split('\n').length - 1;
      const path = repoPath(root, file);
      if (lines > MAX_LINES) found.push(`${path}: ${lines} lines (at most ${MAX_LINES}: split it into modules with one job each)`);
    }
  }
  return found;
}

/** Paths docs/architecture.md names (`folder/file.ts` in backticks or links) that do not exist. */
/**
 * Files a doc names in backquotes that do not exist. A full path (`proxy/mux/session.ts`) must exist
 * as written; a short one (`mux/session.ts`, the doc's shorthand inside a section about one side)
 * must exist under proxy/, control-plane/ or shared/.
 */
function missingDocPaths(root: string, doc: string): string[] {
  const text = readFileSync(join(root, doc), 'utf8');
  const named = new Set<string>();
  for (const match of text.matchAll(/`((?:[\w.-]+\/)+[\w.-]+\.(?:ts|proto|md|yaml|json))`/g)) named.add(match[1] as string);
  const exists = (path: string): boolean => {
    try {
      readFileSync(join(root, path));
      return true;
    } catch {
      return false;
    }
  };
  return [...named].filter((path) => {
    if (FULL_PATH.test(path)) return !exists(path);
    return !SHORT_PATH_ROOTS.some((under) => exists(`${under}/${path}`));
  });
}
const FULL_PATH = /^(control-plane|proxy|shared|test|deploy|proto|docs)\//;
const SHORT_PATH_ROOTS = ['proxy', 'control-plane', 'shared'];

test('control-plane/ and proxy/ meet only in shared/; shared/ imports neither', () => {
  assert.equal(crossings(ROOT, 'control-plane', ['proxy']), []);
  assert.equal(crossings(ROOT, 'proxy', ['control-plane']), []);
  assert.equal(crossings(ROOT, 'shared', ['proxy', 'control-plane']), []);
});

test('the translator does no I/O: nothing it imports, however indirectly, opens files, sockets, processes or logs', () => {
  const reached = closure(productionFiles(ROOT, 'control-plane/translate'));
  assert.ok(reached.size > 20, `the translator's imports were followed (${reached.size} files)`);
  assert.equal(translatorIo(ROOT), []);
});

test(`no production file passes ${MAX_LINES} lines`, () => {
  assert.equal(longFiles(ROOT), []);
});

test('docs/architecture.md names only files that exist', () => {
  assert.equal(missingDocPaths(ROOT, 'docs/architecture.md'), []);
});

test('each rule fails on a planted breach', () => {
  const root = mkdtempSync(join(tmpdir(), 'mcpmux-layering-'));
  try {
    const plant = (path: string, text: string): void => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    plant('proxy/uses-cp.ts', "import { x } from '../control-plane/thing.ts';\nimport type { T } from '../control-plane/types.ts';\n");
    plant('control-plane/thing.ts', "export const x = 1;\n");
    plant('control-plane/types.ts', "export type T = number;\n");
    plant('shared/up.ts', "export { y } from '../proxy/y.ts';\n");
    plant('proxy/y.ts', "export const y = 2;\n");
    plant('control-plane/translate/translate.ts', "import { helper } from '../helpers/helper.ts';\nexport const t = helper;\n");
    plant('control-plane/helpers/helper.ts', "import { readFileSync } from 'node:fs';\nexport const helper = readFileSync;\n");
    plant('proxy/long.ts', 'export const a = 1;\n'.repeat(MAX_LINES + 1));
    plant('docs/architecture.md', '`proxy/y.ts`, `proxy/gone.ts`, `helpers/helper.ts` and `mux/gone.ts`\n');
    // A type-only import ties nothing at run time: only the value import is a crossing.
    assert.equal(crossings(root, 'proxy', ['control-plane']), ['proxy/uses-cp.ts:1 imports control-plane/thing.ts']);
    assert.equal(crossings(root, 'shared', ['proxy', 'control-plane']), ['shared/up.ts:1 imports proxy/y.ts']);
    assert.equal(translatorIo(root), ['control-plane/translate/translate.ts → control-plane/helpers/helper.ts imports node:fs']);
    assert.equal(longFiles(root), [`proxy/long.ts: ${MAX_LINES + 1} lines (at most ${MAX_LINES}: split it into modules with one job each)`]);
    assert.equal(missingDocPaths(root, 'docs/architecture.md'), ['proxy/gone.ts', 'mux/gone.ts']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
