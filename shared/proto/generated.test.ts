// The generated proto types (shared/proto/generated/) are what proto-loader-gen-types writes today
// from proto/ with the loader's options: a .proto edited without `npm run proto:types` fails here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GENERATED_DIR, generateProtoTypes, generatorFlags, readTree, REPO_ROOT, staleFiles, UnmappedLoaderOptionError } from './generate-types.ts';
import { LOADER_OPTIONS, PROTO_ROOT } from './load.ts';

test('the committed generated types are fresh (else: run npm run proto:types and commit shared/proto/generated/)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-proto-types-'));
  try {
    generateProtoTypes(dir);
    const fresh = readTree(dir);
    assert.ok(fresh.has('mcpmux/v1/Snapshot.ts'), 'the generator wrote the config messages');
    const stale = staleFiles(readTree(GENERATED_DIR), fresh);
    assert.equal(stale, [], `shared/proto/generated/ does not match proto/ (${stale.join('; ')}): run npm run proto:types and commit the result`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a changed, missing or leftover generated file is reported', () => {
  const fresh = new Map([['a.ts', 'A'], ['b.ts', 'B'], ['c.ts', 'C']]);
  assert.equal(staleFiles(new Map(fresh), fresh), []);
  assert.equal(staleFiles(new Map([['a.ts', 'A'], ['b.ts', 'old B'], ['d.ts', 'D']]), fresh), ['b.ts: differs', 'c.ts: missing', 'd.ts: no longer generated']);
});

test("the generator's flags are the loader's options; an option with no flag is refused", () => {
  assert.equal(generatorFlags(LOADER_OPTIONS, REPO_ROOT), ['--longs=String', '--enums=String', '--defaults', '--arrays', '--objects', '--oneofs', '-I', 'proto']);
  assert.throws(() => generatorFlags({ ...LOADER_OPTIONS, alternateCommentMode: true }, PROTO_ROOT), (error: unknown) => error instanceof UnmappedLoaderOptionError && error.option === 'alternateCommentMode');
});

test.run();
