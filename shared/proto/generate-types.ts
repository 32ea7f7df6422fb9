// Regenerates shared/proto/generated/ from proto/: @grpc/proto-loader's own proto-loader-gen-types
// (from node_modules, offline), with flags derived from LOADER_OPTIONS so the generated `X__Output`
// types are exactly the shapes the loader decodes at run time. `npm run proto:types` writes the
// committed folder; shared/proto/generated.test.ts regenerates into a temporary one and fails when
// the two differ. Output is deterministic: paths in it are relative to the repository root.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_FILES } from './load.ts';

export const GENERATED_DIR = fileURLToPath(new URL('./generated/', import.meta.url));
/** The repository root: the generator runs there, so the paths it writes are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATOR = createRequire(import.meta.url).resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');

/** The folder's README, written with the generated files (and compared with them). */
const README = `# Generated: do not edit

TypeScript types for proto/mcpmux/v1/*.proto, written by \`npm run proto:types\`
(shared/proto/generate-types.ts runs @grpc/proto-loader's proto-loader-gen-types with the flags
that match LOADER_OPTIONS in shared/proto/load.ts). \`X__Output\` is a message as the loader
decodes it (every field present, an unset message field null, enums as names, 64-bit integers as
strings); \`X\` is what the loader accepts to encode. Doc comments are the .proto's. Code imports
them through shared/config/types.ts and shared/proto/messages.ts, not from here.
shared/proto/generated.test.ts fails when this folder is stale: after editing a .proto, run
\`npm run proto:types\` and commit the result.
`;

/** A loader option the generator cannot be told about: the generated types would not match it. */
export class UnmappedLoaderOptionError extends Error {
  readonly option: string;
  constructor(option: string) {
    super(`LOADER_OPTIONS.${option} has no proto-loader-gen-types flag in shared/proto/generate-types.ts: map it there so the generated types match the loader`);
    this.name = 'UnmappedLoaderOptionError';
    this.option = option;
  }
}

/** proto-loader-gen-types flags for loader options; throws for one it has no mapping for. */
export function generatorFlags(options: protoLoader.Options, root: string): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    switch (key) {
      case 'keepCase':
      case 'defaults':
      case 'arrays':
      case 'objects':
      case 'oneofs':
      case 'json':
        if (value === true) flags.push(`--${key}`);
        break;
      case 'longs':
      case 'enums':
      case 'bytes':
        // The loader takes the constructor (String, Number, Array); the generator its name.
        flags.push(`--${key}=${typeof value === 'function' ? value.name : String(value)}`);
        break;
      case 'includeDirs':
        // Relative, so the "Original file" line of each generated file does not name this checkout.
        for (const dir of value as string[]) flags.push('-I', relative(root, dir).split(sep).join('/') || '.');
        break;
      default:
        throw new UnmappedLoaderOptionError(key);
    }
  }
  return flags;
}

/** Writes the types for PROTO_FILES into `outDir`, replacing what was there. */
export function generateProtoTypes(outDir: string = GENERATED_DIR): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // Beyond the loader's options: the .proto comments as doc comments (what an editor shows on a
  // field), and `.ts` import specifiers (Node runs the .ts files as they are).
  const args = [GENERATOR, ...generatorFlags(LOADER_OPTIONS, REPO_ROOT), '--includeComments', '--importFileExtension=.ts', '-O', outDir, ...PROTO_FILES];
  const run = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`proto-loader-gen-types exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`);
  writeFileSync(join(outDir, 'README.md'), README);
}

/** Every file under `dir` (forward-slash paths relative to it) with its text. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split(sep).join('/'), readFileSync(path, 'utf8'));
  }
  return files;
}

/** Files that differ between the committed folder and a fresh generation, each saying how. */
export function staleFiles(committed: ReadonlyMap<string, string>, fresh: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [path, text] of fresh) {
    const old = committed.get(path);
    if (old === undefined) found.push(`${path}: missing`);
    else if (old !== text) found.push(`${path}: differs`);
  }
  for (const path of committed.keys()) if (!fresh.has(path)) found.push(`${path}: no longer generated`);
  return found.sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  generateProtoTypes();
  console.log(`wrote ${readTree(GENERATED_DIR).size} files to ${relative(REPO_ROOT, GENERATED_DIR)}`);
}
