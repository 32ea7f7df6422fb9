// The image, as far as it can be checked without a Docker engine. deploy/Dockerfile lints clean;
// every COPY from the build context names files that exist and that .dockerignore lets through; the
// final stage runs as the provisioner's numeric non-root user with the CLI as its entrypoint; and
// the files it copies are enough to run: every module the CLI can load (walked from the launcher
// shared/cli/mcpmux.mjs), every file those modules read beside themselves, and a copy of exactly
// that file set answers --version and each subcommand's --help.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
// dockerfile-ast is the parser dockerfile-utils lints with (a dependency it pins).
import { Copy, DockerfileParser, JSONInstruction, Label, ModifiableInstruction, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contextFiles, ignored, parseDockerignore } from '../deploy/image/dockerignore.ts';
import { ROOT } from './support/processes.ts';

const run = promisify(execFile);
const DOCKERFILE = 'deploy/Dockerfile';
/** The launcher (plain JavaScript: it checks the Node version, then imports shared/cli/mcpmux.ts). */
const ENTRY = 'shared/cli/mcpmux.mjs';
const PORTS = ['8080', '15000', '15001', '18000'];
/** Files the CLI refers to that the image leaves out on purpose, and why. */
const LEFT_OUT: Record<string, string> = {
  'deploy/examples/website-fetcher/server.ts': "the tutorial's demo upstream `mcpmux dev` starts; dev is for a laptop (npm start), not for the image",
  'deploy/examples/modern-demo/server.ts': 'the 2026-07-28 demo upstream `mcpmux dev` starts; dev is for a laptop (npm start), not for the image',
};

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
/** Whether `npm ci --omit=dev` installs `name` at the top of node_modules, where Node finds it. */
function installedForProduction(name: string): boolean {
  const entry = lock.packages[`node_modules/${name}`];
  return entry !== undefined && entry.dev !== true;
}
const dockerfileText = readFileSync(join(ROOT, DOCKERFILE), 'utf8');

const ignoreRules = parseDockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

// --- the Dockerfile's stages ----------------------------------------------------------------------

interface Stage {
  name: string | null;
  instructions: Instruction[];
}

function stages(): Stage[] {
  const found: Stage[] = [];
  for (const instruction of DockerfileParser.parse(dockerfileText).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      found.push({ name: args[1]?.toUpperCase() === 'AS' ? (args[2] ?? null) : null, instructions: [] });
    } else {
      found.at(-1)?.instructions.push(instruction);
    }
  }
  return found;
}

function finalStage(): Stage {
  const all = stages();
  assert.ok(all.length >= 2, 'a build stage and a final stage');
  return all.at(-1)!;
}

function keyword(stage: Stage, name: string): Instruction[] {
  return stage.instructions.filter((i) => i.getKeyword() === name);
}

/** An instruction's words: its JSON strings in exec form, its arguments (flags left out) otherwise. */
function words(instruction: Instruction): string[] {
  if (instruction instanceof JSONInstruction && instruction.getJSONStrings().length > 0) return instruction.getJSONStrings().map((s) => s.getJSONValue());
  return instruction.getArguments().map((a) => a.getValue());
}

function flag(instruction: Instruction, name: string): string | null | undefined {
  if (!(instruction instanceof ModifiableInstruction)) return undefined;
  const found = instruction.getFlags().find((f) => f.getName() === name);
  return found ? found.getValue() : undefined;
}

/** COPY instructions that read the build context (not another stage), with sources and destination. */
function contextCopies(stage: Stage): Array<{ line: number; sources: string[]; dest: string }> {
  return stage.instructions
    .filter((i): i is Copy => i instanceof Copy && flag(i, 'from') === undefined)
    .map((i) => {
      const all = words(i);
      return { line: i.getRange().start.line + 1, sources: all.slice(0, -1), dest: all.at(-1) ?? '' };
    });
}

function workdir(stage: Stage): string {
  const last = keyword(stage, 'WORKDIR').at(-1);
  assert.ok(last, 'the final stage sets WORKDIR');
  return words(last)[0]!;
}

// --- files --------------------------------------------------------------------------------------

function filesUnder(relativePath: string): string[] {
  const absolute = join(ROOT, relativePath);
  if (!statSync(absolute).isDirectory()) return [relativePath];
  const found: string[] = [];
  for (const entry of readdirSync(absolute)) found.push(...filesUnder(posix.join(relativePath, entry)));
  return found;
}

/**
 * What the final stage holds from the build context: image path (relative to WORKDIR) → repo path.
 * node_modules comes from the build stage (`npm ci --omit=dev`), so it is not in this map.
 */
function imageFiles(): Map<string, string> {
  const stage = finalStage();
  const base = workdir(stage);
  const files = new Map<string, string>();
  for (const copy of contextCopies(stage)) {
    const dest = posix.resolve(base, copy.dest);
    for (const source of copy.sources) {
      const clean = posix.normalize(source).replace(/\/+$/, '');
      const isDir = statSync(join(ROOT, clean)).isDirectory();
      for (const file of filesUnder(clean).filter((f) => !ignored(ignoreRules, f))) {
        const target = isDir ? posix.join(dest, posix.relative(clean, file)) : copy.dest.endsWith('/') ? posix.join(dest, posix.basename(file)) : dest;
        files.set(posix.relative(base, target), file);
      }
    }
  }
  return files;
}

/** True when the image has `repoPath` at the same place relative to WORKDIR as in the repo. */
function inImage(files: ReadonlyMap<string, string>, repoPath: string): boolean {
  return files.get(repoPath) === repoPath;
}

function unquote(value: string): string {
  return /^"(.*)"$/s.exec(value)?.[1] ?? value;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

// --- what the CLI can load ------------------------------------------------------------------------

interface References {
  /** Relative and bare specifiers of runtime imports (`import type` left out: erased). */
  imports: string[];
  /** First arguments of `new URL('…', import.meta.url)`: files read or started beside the module. */
  urls: string[];
}

function references(file: string): References {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: References = { imports: [], urls: [] };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      found.imports.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.imports.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.imports.push(node.arguments[0].text);
    } else if (ts.isPropertyAssignment(node) && node.name.getText(source) === 'module' && ts.isStringLiteralLike(node.initializer) && /^\.\.?\/.*\.ts$/.test(node.initializer.text)) {
      // The CLI's subcommand table: modules loaded with import(new URL(entry.module, import.meta.url)).
      found.imports.push(node.initializer.text);
    } else if (ts.isNewExpression(node) && node.expression.getText(source) === 'URL' && node.arguments?.length === 2 && ts.isStringLiteralLike(node.arguments[0]!) && node.arguments[1]!.getText(source) === 'import.meta.url') {
      found.urls.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

interface Reachable {
  modules: Set<string>;
  /** Bare package name → a module importing it. */
  packages: Map<string, string>;
  /** Repo path (a trailing "/" for folders) → the module referring to it. */
  urls: Map<string, string>;
}

let reachable: Reachable | undefined;

function reachableFromCli(): Reachable {
  reachable ??= walkFromCli();
  return reachable;
}

function walkFromCli(): Reachable {
  const reached: Reachable = { modules: new Set(), packages: new Map(), urls: new Map() };
  const queue = [ENTRY];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (reached.modules.has(file)) continue;
    reached.modules.add(file);
    const refs = references(file);
    for (const specifier of refs.imports) {
      if (specifier.startsWith('node:') || isBuiltin(specifier)) continue;
      if (!specifier.startsWith('.')) {
        if (!reached.packages.has(packageName(specifier))) reached.packages.set(packageName(specifier), file);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      assert.ok(existsSync(join(ROOT, target)), `${file} imports ${specifier}, which does not exist`);
      queue.push(target);
    }
    for (const url of refs.urls) {
      // Folders keep a trailing "/"; the repository root is "".
      const target = posix.normalize(posix.join(posix.dirname(file), url)).replace(/\/$/, '').replace(/^\.$/, '');
      reached.urls.set(url.endsWith('/') && target !== '' ? `${target}/` : target, file);
    }
  }
  return reached;
}

// --- tests ----------------------------------------------------------------------------------------

test('dockerfile-utils finds no error or warning in deploy/Dockerfile', () => {
  // The linter is wired up: a broken Dockerfile does produce diagnostics.
  assert.ok(validate('FROM node:22-bookworm-slim\nCOPY only-one-argument\n').length > 0);
  const diagnostics = validate(dockerfileText);
  assert.equal(
    diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
    [],
  );
});

test('.dockerignore leaves out .git, node_modules, tests, docs and examples, and lets the runtime files in', () => {
  const cases: Array<[string, boolean]> = [
    ['.git/config', true],
    ['node_modules/yaml/package.json', true],
    ['test/run-tests.ts', true],
    ['docs/architecture.md', true],
    ['README.md', true],
    ['deploy/examples/tutorial/tutorial.yaml', true],
    ['shared/cli/command.test.ts', true],
    ['shared/testing/processes.ts', true],
    ['proxy/testing/fixture.ts', true],
    ['control-plane/translate/testdata/tutorial.yaml', true],
    ['deploy/crds/reference.ts', true],
    ['kubeconfig', true],
    ['package.json', false],
    ['package-lock.json', false],
    ['shared/cli/mcpmux.mjs', false],
    ['shared/cli/mcpmux.ts', false],
    ['control-plane/cli.ts', false],
    ['proxy/cli.ts', false],
    ['proto/mcpmux/v1/discovery.proto', false],
    ['deploy/crds/mcpbackend.yaml', false],
  ];
  for (const [file, expected] of cases) assert.is(ignored(ignoreRules, file), expected, `${file} ${expected ? 'left out' : 'kept'}`);
});

test('the build context (what deploy/image/build.ts hashes) is exactly the files the COPYs take', () => {
  const context = contextFiles(ROOT, ignoreRules);
  assert.ok(context.includes('shared/cli/mcpmux.mjs') && context.includes('package-lock.json'), 'the runtime files are in it');
  assert.equal(context.filter((f) => /^(node_modules|\.git|test|docs)\//.test(f) || f.endsWith('.test.ts')), [], 'no dependency, test or doc file');
  const copied = new Set(imageFiles().values());
  assert.equal(context.filter((f) => !copied.has(f)), [], 'context files no COPY takes');
  assert.equal([...copied].filter((f) => !context.includes(f)), [], 'copied files missing from the context');
});

test('every COPY from the build context names files that exist and are not left out of it', () => {
  let copies = 0;
  for (const stage of stages()) {
    for (const copy of contextCopies(stage)) {
      assert.ok(copy.sources.length > 0, `line ${copy.line}: COPY has a source`);
      for (const source of copy.sources) {
        copies++;
        assert.not.match(source, /[*?[]/, `line ${copy.line}: ${source}: wildcards are not checked here; name the files`);
        const clean = posix.normalize(source).replace(/\/+$/, '');
        assert.ok(!clean.startsWith('..') && !posix.isAbsolute(clean), `line ${copy.line}: ${source} is inside the context`);
        assert.ok(existsSync(join(ROOT, clean)), `line ${copy.line}: ${source} exists`);
        const kept = filesUnder(clean).filter((f) => !ignored(ignoreRules, f));
        assert.ok(kept.length > 0, `line ${copy.line}: .dockerignore leaves nothing of ${source}`);
        if (!statSync(join(ROOT, clean)).isDirectory()) assert.not.ok(ignored(ignoreRules, clean), `line ${copy.line}: .dockerignore leaves out ${source}`);
      }
    }
  }
  assert.ok(copies >= 7, `the COPY sources were found (${copies})`);
  const fromStages = finalStage().instructions.filter((i) => i instanceof Copy && flag(i, 'from') !== undefined);
  const names = new Set(stages().map((s) => s.name));
  for (const copy of fromStages) assert.ok(names.has(flag(copy, 'from') ?? ''), `COPY --from=${flag(copy, 'from')} names a stage of this file`);
});

test('the final stage runs as the provisioner\'s numeric non-root user, on files it cannot write', () => {
  const stage = finalStage();
  const user = keyword(stage, 'USER').at(-1);
  assert.ok(user, 'the final stage sets USER');
  const match = /^(\d+)(?::(\d+))?$/.exec(words(user)[0] ?? '');
  assert.ok(match, `USER is numeric (uid[:gid]) so runAsNonRoot can verify it: ${words(user).join(' ')}`);
  assert.is.not(Number(match[1]), 0, 'uid is not root');
  if (match[2] !== undefined) assert.is.not(Number(match[2]), 0, 'gid is not root');
  const provisioner = readFileSync(join(ROOT, 'control-plane/kube/provisioner.ts'), 'utf8');
  assert.is(match[1], /runAsUser: (\d+)/.exec(provisioner)?.[1], 'the uid the provisioner runs proxies as');
  // Files copied in stay root-owned: the user can read, not write (readOnlyRootFilesystem or not).
  for (const copy of keyword(stage, 'COPY').concat(keyword(stage, 'ADD'))) {
    assert.is(flag(copy, 'chown'), undefined, `line ${copy.getRange().start.line + 1}: no --chown`);
    assert.is(flag(copy, 'chmod'), undefined, `line ${copy.getRange().start.line + 1}: no --chmod`);
  }
  assert.is(keyword(stage, 'VOLUME').length, 0, 'no VOLUME: nothing is written in the image at run time');
  const env = new Map(keyword(stage, 'ENV').flatMap((e) => words(e).map((w) => w.split('=') as [string, string])));
  assert.is(env.get('HOME'), '/tmp', 'HOME points at the emptyDir-friendly /tmp');
  assert.is(env.get('TMPDIR'), '/tmp');
});

test('the node binary gets cap_net_bind_service in the final stage, as the provisioner expects', () => {
  const runs = keyword(finalStage(), 'RUN').map((r) => words(r).join(' '));
  assert.ok(
    runs.some((r) => /\bsetcap cap_net_bind_service=\+ep \/usr\/local\/bin\/node\b/.test(r)),
    'a RUN in the final stage gives /usr/local/bin/node the file capability',
  );
});

test('entrypoint, ports and labels', () => {
  const stage = finalStage();
  const entrypoint = keyword(stage, 'ENTRYPOINT');
  assert.is(entrypoint.length, 1, 'one ENTRYPOINT');
  assert.equal(words(entrypoint[0]!), ['node', ENTRY], 'exec form: node runs the CLI, the role comes from the arguments');
  assert.is(workdir(stage), '/app');
  const exposed = new Set(keyword(stage, 'EXPOSE').flatMap((e) => words(e).map((p) => p.replace(/\/tcp$/, ''))));
  for (const port of PORTS) assert.ok(exposed.has(port), `EXPOSE ${port}`);
  const labels = new Map(
    keyword(stage, 'LABEL').flatMap((l) => (l instanceof Label ? l.getProperties().map((p) => [p.getName(), unquote(p.getUnescapedValue() ?? '')] as const) : [])),
  );
  for (const name of ['title', 'description', 'version', 'revision', 'licenses', 'base.name']) assert.ok(labels.has(`org.opencontainers.image.${name}`), `label org.opencontainers.image.${name}`);
  assert.is(labels.get('org.opencontainers.image.licenses'), pkg.license);
  const versionArg = keyword(stage, 'ARG').map((a) => words(a)[0] ?? '').find((w) => w.startsWith('VERSION='));
  assert.is(versionArg, `VERSION=${pkg.version}`, 'the image version defaults to package.json\'s (bump both)');
});

test('every module the CLI can load is in the image, none from test/ or deploy/examples/, and bare imports are production dependencies', () => {
  const files = imageFiles();
  const reached = reachableFromCli();
  for (const module of ['shared/cli/mcpmux.ts', 'control-plane/cli.ts', 'proxy/cli.ts', 'shared/cli/dev.ts', 'shared/cli/inspect.ts']) {
    assert.ok(reached.modules.has(module), `the walk follows the subcommand table to ${module}`);
  }
  assert.ok(reached.modules.size > 50, `the walk reached the component modules (${reached.modules.size})`);
  for (const module of reached.modules) {
    assert.not.match(module, /^(test|deploy\/examples)\/|\.test\.ts$|(^|\/)testing\//, `${module} is runtime code, not a test or an example`);
    assert.ok(inImage(files, module), `${module} is copied into the image`);
  }
  for (const [name, importer] of reached.packages) {
    assert.ok(installedForProduction(name), `${importer} imports ${name}: npm ci --omit=dev must install it (add it to dependencies)`);
  }
});

test('the runtime imports no package that package.json does not declare, but the known ones', () => {
  const undeclared = [...reachableFromCli().packages.keys()].filter((name) => !(name in pkg.dependencies));
  assert.equal(undeclared, [], 'runtime imports missing from package.json dependencies');
});

test('every file the CLI reads or starts beside its modules is in the image (or left out on purpose)', () => {
  const files = imageFiles();
  const imagePaths = [...files.keys()];
  const { urls } = reachableFromCli();
  for (const [target, referrer] of urls) {
    if (target in LEFT_OUT) continue;
    const at = `${target} (from ${referrer})`;
    if (target.startsWith('node_modules/')) {
      assert.ok(installedForProduction(packageName(target.slice('node_modules/'.length))), `${at}: npm ci --omit=dev installs its package`);
    } else if (target.endsWith('/') || target === '') {
      assert.ok(imagePaths.some((p) => p.startsWith(target)), `${at}: the folder is in the image`);
    } else {
      assert.ok(inImage(files, target), `${at}: in the image`);
    }
  }
  assert.ok(urls.has('proto/') && urls.has('package.json'), 'the walk found the proto folder and package.json');
  for (const proto of filesUnder('proto').filter((f) => f.endsWith('.proto'))) assert.ok(inImage(files, proto), `${proto} is in the image`);
  for (const [file, why] of Object.entries(LEFT_OUT)) {
    assert.ok(urls.has(file), `${file} is still referred to (else drop it from LEFT_OUT): ${why}`);
    assert.not.ok(inImage(files, file), `${file} is left out of the image`);
  }
});

test('every non-test module under shared/, control-plane/ and proxy/ is in the image', () => {
  const files = imageFiles();
  const modules = ['shared', 'control-plane', 'proxy']
    .flatMap((folder) => filesUnder(folder))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !/(^|\/)testing\//.test(f));
  assert.ok(modules.length > 50);
  for (const module of modules) assert.ok(inImage(files, module), `${module} is copied into the image`);
});

test('a copy of exactly the image\'s files runs the entrypoint: --version, --help and each subcommand\'s --help', async () => {
  const files = imageFiles();
  const stage = finalStage();
  const [, ...entryArgs] = words(keyword(stage, 'ENTRYPOINT')[0]!);
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-image-'));
  try {
    for (const [imagePath, repoPath] of files) {
      mkdirSync(dirname(join(dir, imagePath)), { recursive: true });
      copyFileSync(join(ROOT, repoPath), join(dir, imagePath));
    }
    // What `npm ci --omit=dev` installs; the repo's node_modules has the dev dependencies as well,
    // so the test above checks the production ones by name.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const mcpmux = (...args: string[]) => run(process.execPath, [...entryArgs, ...args], { cwd: dir, timeout: 30_000, env: { ...process.env, HOME: dir, TMPDIR: dir } });

    const version = await mcpmux('--version');
    assert.is(version.stdout.trim(), `mcpmux ${pkg.version}`);
    const help = await mcpmux('--help');
    assert.match(help.stdout, /Usage: mcpmux <command>/);
    for (const name of ['control-plane', 'proxy', 'validate', 'snapshot', 'proxies']) {
      const sub = await mcpmux(name, '--help');
      assert.match(sub.stdout, new RegExp(`Usage: mcpmux ${name}`), `${name} --help`);
    }
    // One real command over the copied modules: validate reads manifests and translates them.
    const validated = await mcpmux('validate', join(ROOT, 'deploy/examples/tutorial'));
    assert.match(validated.stdout, /mcp-server-everything-3001/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
