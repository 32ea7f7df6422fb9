// The image recipes, checked without building (test/image.test.ts builds and runs them): every
// Dockerfile npm run image builds lints clean and builds the same image with `docker build` and no
// arguments as with the arguments npm run image passes (each ARG's default is that value; the base
// is an ARG whose default is the public image the local base stands in for); what it COPYs is in
// its context; it runs as a numeric non-root user. And the content key that decides a rebuild
// follows the context's files and nothing else.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { DockerfileParser, ModifiableInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imageKey, IMAGES, imageSpec, type ImageSpec } from '../deploy/image/images.ts';
import { baseKey, NODE_VERSION } from '../deploy/image/bases.ts';
import { GO_TOOLS } from './support/tools.ts';
import { ROOT } from './support/processes.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; scripts: Record<string, string> };
/** The public image each local base stands in for, as the Dockerfiles name it by default. */
const PUBLIC_BASES = { NODE_IMAGE: 'node:22-bookworm-slim', PYTHON_IMAGE: 'python:3.11-slim-bookworm' } as const;

interface Parsed {
  /** ARG name → default (undefined: none), across the file. */
  args: Map<string, string | undefined>;
  froms: string[];
  copies: string[][];
  user: string | undefined;
}

function parse(spec: ImageSpec): Parsed {
  const parsed: Parsed = { args: new Map(), froms: [], copies: [], user: undefined };
  for (const instruction of DockerfileParser.parse(readFileSync(join(ROOT, spec.dockerfile), 'utf8')).getInstructions()) {
    const words = instruction.getArguments().map((a) => a.getValue());
    const keyword = instruction.getKeyword();
    if (keyword === 'ARG') {
      const [name, value] = (words[0] ?? '').split('=');
      if (!parsed.args.has(name!) || value !== undefined) parsed.args.set(name!, value);
    } else if (keyword === 'FROM') parsed.froms.push(words[0] ?? '');
    else if (keyword === 'COPY' && !(instruction instanceof ModifiableInstruction && instruction.getFlags().some((f) => f.getName() === 'from'))) parsed.copies.push(words.slice(0, -1));
    else if (keyword === 'USER') parsed.user = words[0];
  }
  return parsed;
}

test('npm run image names the build script, and the images are the four the tutorial and the chart need', () => {
  assert.is(pkg.scripts.image, 'node deploy/image/build.ts');
  assert.equal(IMAGES.map((i) => `${i.name}:${i.tag}`), [
    `mcpmux:${pkg.version}`,
    `mcp-server-everything:${pkg.dependencies['@modelcontextprotocol/server-everything']}`,
    `mcp-website-fetcher:${pkg.version}`,
    `mcpmux-nats:${GO_TOOLS['nats-server'].replace(/^.*@v/, '')}`,
  ]);
});

test('every Dockerfile lints clean', () => {
  for (const spec of IMAGES) {
    const diagnostics = validate(readFileSync(join(ROOT, spec.dockerfile), 'utf8'));
    assert.equal(diagnostics.map((d) => `${spec.dockerfile}:${d.range.start.line + 1}: ${d.message}`), []);
  }
});

test('docker build with no arguments builds what npm run image builds: each ARG defaults to the value passed', () => {
  for (const spec of IMAGES) {
    const { args, froms } = parse(spec);
    for (const [name, value] of Object.entries(spec.buildArgs)) {
      assert.ok(args.has(name), `${spec.dockerfile} declares ARG ${name}`);
      assert.is(args.get(name), value, `${spec.dockerfile}: ARG ${name}'s default is what npm run image passes`);
    }
    if (spec.base) {
      const arg = spec.base.arg as keyof typeof PUBLIC_BASES;
      assert.is(args.get(arg), PUBLIC_BASES[arg], `${spec.dockerfile}: ${arg} defaults to the public base`);
      assert.ok(froms.length > 0 && froms.every((f) => f === `\${${arg}}`), `${spec.dockerfile}: every stage is FROM \${${arg}}, so the local base replaces all of them (${froms.join(', ')})`);
    } else {
      assert.equal(froms, ['scratch'], `${spec.dockerfile}: no base but scratch`);
    }
  }
  // The local node base carries the Node the public one does (>= 22.18 runs the .ts sources).
  const [major, minor] = NODE_VERSION.split('.').map(Number);
  assert.ok(major === 22 && minor! >= 18, `Node ${NODE_VERSION}`);
});

test('every COPY names files of its context, and every image runs as a numeric non-root user', async () => {
  for (const spec of IMAGES) {
    const { copies, user } = parse(spec);
    assert.match(user ?? '', /^[1-9]\d*:[1-9]\d*$/, `${spec.dockerfile}: USER uid:gid, not root`);
    if (spec.name === 'mcpmux-nats') {
      // Its context is staged by the build (a static binary); the only file it copies is that one.
      assert.equal(copies, [['nats-server']]);
      continue;
    }
    const context = await spec.context();
    const files = spec.contextFiles(context);
    for (const sources of copies) {
      for (const source of sources) {
        const clean = posix.normalize(source).replace(/\/+$/, '');
        assert.ok(files.some((f) => f === clean || f.startsWith(`${clean}/`)), `${spec.dockerfile}: COPY ${source} is in its context`);
      }
    }
  }
  // The fetcher's image carries the fixture's app.py and the pins the tests' venv uses.
  const fetcher = imageSpec('mcp-website-fetcher');
  assert.equal(fetcher.contextFiles(await fetcher.context()), ['app.py', 'requirements.txt']);
});

test('the content key follows the context files, the build arguments and the base recipe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-image-key-'));
  try {
    writeFileSync(join(dir, 'app.py'), 'print(1)\n');
    writeFileSync(join(dir, 'requirements.txt'), 'mcp==1.30.0\n');
    const spec = { ...imageSpec('mcp-website-fetcher'), context: async () => dir };
    const key = imageKey(spec, dir, baseKey('python'));
    assert.is(imageKey(spec, dir, baseKey('python')), key, 'the same inputs, the same key');
    writeFileSync(join(dir, 'app.py'), 'print(2)\n');
    const edited = imageKey(spec, dir, baseKey('python'));
    assert.is.not(edited, key, 'a context file changed');
    assert.is.not(imageKey({ ...spec, buildArgs: { X: '1' } }, dir, baseKey('python')), edited, 'a build argument changed');
    assert.is.not(imageKey(spec, dir, baseKey('node')), edited, 'another base');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // mcpmux's context is what .dockerignore lets through: a test file is not in it.
  const mcpmux = imageSpec('mcpmux');
  const files = mcpmux.contextFiles(ROOT);
  assert.ok(files.includes('shared/cli/mcpmux.ts'));
  assert.not.ok(files.some((f) => f.endsWith('.test.ts') || f.startsWith('test/')), 'no test file keys the image');
});

test.run();
