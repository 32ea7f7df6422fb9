// Nothing under test/, control-plane/, proxy/, shared/ or deploy/ reads a path outside the repository:
// in a user's clone there is nothing beside it (issue 16: tests read the team handbook's copy of the
// tutorial from ../shared/…, and failed with ENOENT in a plain clone). test/support/repository-paths.ts
// does the static scan; here it runs over the repository, and over a planted repository whose every
// way out is found and whose legitimate paths (imports of the repository's own shared/, files beside
// a module, temp folders, a path-traversal string that is data) are not.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './support/processes.ts';
import { findOutsideReads, formatFindings, sourceFiles, SOURCE_FOLDERS } from './support/repository-paths.ts';

test('nothing under test/, control-plane/, proxy/, shared/ or deploy/ reads a path outside the repository', () => {
  const files = sourceFiles(ROOT);
  for (const folder of SOURCE_FOLDERS) assert.ok(files.some((f) => f.startsWith(join(ROOT, folder))), `scanned nothing in ${folder}/`);
  assert.ok(files.includes(join(ROOT, 'test', 'repository-paths.test.ts')), 'this file is scanned too');
  const findings = findOutsideReads(ROOT, files);
  assert.equal(findings, [], `read from the repository instead (the tutorial's manifests: deploy/examples/tutorial/tutorial.yaml):\n${formatFindings(findings)}`);
});

// The handbook's folder, assembled so that this file does not name it in a string of its own.
const HANDBOOK = ['..', 'shared', 'reference'].join('/');

/** A planted repository: each line ending in "// OUT" (or "# OUT") must be reported, and only those. */
const PLANTED: Record<string, string> = {
  'test/support/processes.ts': `import { fileURLToPath } from 'node:url';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
`,
  'test/support/again.ts': `export { ROOT as TOP } from './processes.ts';
`,
  'test/support/handbook.ts': `import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SEED = join(REPO_ROOT, '..', 'elsewhere', 'seed.yaml'); // OUT
export const BESIDE = join(REPO_ROOT, 'deploy', 'examples');
`,
  'test/planted.test.ts': `import { readFileSync, existsSync } from 'node:fs';
import * as fs from 'node:fs';
import path, { dirname, join, relative, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ROOT } from './support/processes.ts';
import { TOP } from './support/again.ts';
import { SEED, BESIDE } from './support/handbook.ts';
import { createLogger } from '../shared/log.ts';
import outside from '../../outside/module.ts'; // OUT
const a = readFileSync(\`\${ROOT}../elsewhere/seed.yaml\`, 'utf8'); // OUT
const b = readFileSync(\`\${ROOT}..\${path.sep}elsewhere\`, 'utf8'); // OUT
const c = resolve(TOP, '..', 'elsewhere'); // OUT
const d = dirname(ROOT); // OUT
const e = readFileSync('../elsewhere/notes.txt', 'utf8'); // OUT
const f = fs.existsSync('../../x'); // OUT
const g = path.join(process.cwd(), '..', 'x'); // OUT
const h = \`\${ROOT}\` + '../x'; // OUT
const i = readFileSync(new URL('../../elsewhere/seed.yaml', import.meta.url)); // OUT
const j = join(import.meta.dirname, '..', '..', 'x'); // OUT
const k = join(ROOT, 'deploy', '..', '..', 'main', 'deploy'); // OUT
const l = await import('../../outside/other.ts'); // OUT
const m = { cwd: '../elsewhere' }; // OUT
const n = '${HANDBOOK}/notes.md'; // OUT
// Fine: the repository's own files, temp folders, data that merely looks like a path.
const fine = [
  readFileSync(\`\${ROOT}deploy/examples/tutorial/tutorial.yaml\`, 'utf8'),
  readFileSync(join(ROOT, 'deploy', 'examples', 'tutorial', 'tutorial.yaml'), 'utf8'),
  fileURLToPath(new URL('../deploy/examples/tutorial/tutorial.yaml', import.meta.url)),
  join(ROOT, 'deploy', '..', 'test'),
  relative(ROOT, '/elsewhere'),
  join(tmpdir(), '..', 'x'),
  join(BESIDE, String(Math.random())),
  '/mcp/../admin',
  ['..', 'x'].join('/'),
  resolve(process.argv[2] ?? '.'),
  SEED.length,
];
// A comment may mention ${HANDBOOK}/notes.md: it reads nothing.
`,
  'shared/cli/table.ts': `export const MODULES = { proxy: '../../proxy/cli.ts' };
export async function load(name: keyof typeof MODULES) {
  return import(new URL(MODULES[name], import.meta.url).href);
}
`,
  'control-plane/kube/deep.test.ts': `import { readFileSync } from 'node:fs';
const text = readFileSync(new URL('../../../elsewhere/seed.yaml', import.meta.url), 'utf8'); // OUT
const fine = readFileSync(new URL('../../deploy/examples/tutorial/tutorial.yaml', import.meta.url), 'utf8');
`,
  'deploy/examples/notes.yaml': `# A comment may name ${HANDBOOK}: it reads nothing.
source: ${HANDBOOK}/tutorial.txt # OUT
`,
  'test/support/kube/go.mod': `module example.com/kube
replace example.com/inside => ./stub
replace example.com/outside => ../../../../elsewhere # OUT
`,
  // Not scanned: outside the source folders, or ignored.
  'docs/notes.md': `[handbook](${HANDBOOK}/notes.md)\n`,
  'test/results/out.json': `{ "from": "${HANDBOOK}" }\n`,
  '.gitignore': 'test/results/\n',
};

test('a planted repository: every way out is found, legitimate paths are not', () => {
  const root = mkdtempSync(join(tmpdir(), 'mcpmux-repository-paths-'));
  try {
    const expected: string[] = [];
    for (const [file, content] of Object.entries(PLANTED)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), content);
      for (const [i, line] of content.split('\n').entries()) if (/(\/\/|#) OUT$/.test(line)) expected.push(`${file}:${i + 1}`);
    }
    const findings = findOutsideReads(root);
    const found = [...new Set(findings.map((f) => `${f.file}:${f.line}`))];
    assert.equal(found.sort(), expected.sort(), formatFindings(findings));
    // Each finding says where the path leads.
    const seed = findings.find((f) => f.file === 'test/planted.test.ts' && f.text.includes('elsewhere/seed.yaml'));
    assert.match(seed?.why ?? '', /reaches .*\/elsewhere\/seed\.yaml \(\.\.\/elsewhere\/seed\.yaml\), outside the repository/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
