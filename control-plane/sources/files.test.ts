// The files source against a real temporary folder. Every wait is on an event (a batch emitted, a
// line logged), bounded by a timeout so a missing event fails the test instead of hanging it.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FilesSource, listManifestFiles } from './files.ts';
import type { SourceChange } from './source.ts';

const service = (name: string, port = 80, namespace?: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}spec:\n  ports:\n  - port: ${port}\n`;
const docs = (...parts: string[]): string => parts.map((p) => `---\n${p}`).join('');
const summary = (changes: SourceChange[]): string[] =>
  changes.map((c) => `${c.type} ${c.object.kind} ${c.object.metadata.namespace}/${c.object.metadata.name}`);

/** Waits for something pushed by a callback: batches from the source, lines from the logger. */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(item: T) => void> = [];
  push = (item: T): void => {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  };
  next(what: string, timeoutMs = 5000): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
  /** Waits until an item satisfies `done`, returning every item seen on the way. */
  async until(what: string, done: (item: T) => boolean): Promise<T[]> {
    const seen: T[] = [];
    for (;;) {
      const item = await this.next(what);
      seen.push(item);
      if (done(item)) return seen;
    }
  }
  get pending(): number {
    return this.#items.length;
  }
}

interface Fixture {
  dir: string;
  source: FilesSource;
  batches: Inbox<SourceChange[]>;
  logs: Inbox<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

async function startFixture(files: Record<string, string>): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpmux-files-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  const logs = new Inbox<Record<string, unknown>>();
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const batches = new Inbox<SourceChange[]>();
  const source = new FilesSource({ dir, logger, debounceMs: 20 });
  await source.start(batches.push);
  return {
    dir,
    source,
    batches,
    logs,
    cleanup: async () => {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('start emits every object of every file (recursively, multi-document) as one batch, then resolves', async () => {
  const f = await startFixture({
    'a.yaml': docs(service('one'), service('two', 80, 'team')),
    'nested/b.yml': service('three'),
    'notes.txt': service('ignored'),
    '.hidden.yaml': service('ignored-too'),
  });
  try {
    assert.is(f.batches.pending, 1);
    const initial = await f.batches.next('initial batch');
    assert.equal(summary(initial), ['upsert Service default/one', 'upsert Service default/three', 'upsert Service team/two']);
  } finally {
    await f.cleanup();
  }
});

test('an empty folder still emits one (empty) initial batch', async () => {
  const f = await startFixture({});
  try {
    assert.equal(await f.batches.next('initial batch'), []);
  } finally {
    await f.cleanup();
  }
});

test('edit → upsert of what changed only; new file → upsert; deleted file → delete', async () => {
  const f = await startFixture({ 'a.yaml': docs(service('one'), service('two')) });
  try {
    await f.batches.next('initial batch');
    await writeFile(join(f.dir, 'a.yaml'), docs(service('one'), service('two', 81)));
    assert.equal(summary(await f.batches.next('edit')), ['upsert Service default/two']);

    await mkdir(join(f.dir, 'sub'));
    await writeFile(join(f.dir, 'sub', 'c.yaml'), service('three'));
    assert.equal(summary(await f.batches.next('new file')), ['upsert Service default/three']);

    await rm(join(f.dir, 'a.yaml'));
    const deleted = await f.batches.next('delete');
    assert.equal(summary(deleted), ['delete Service default/one', 'delete Service default/two']);
    // A delete carries the object as last seen.
    assert.equal(deleted[1]!.object.spec, { ports: [{ port: 81 }] });
  } finally {
    await f.cleanup();
  }
});

test("an editor's rename-and-replace is an edit, every time (not only the first)", async () => {
  // Node's recursive fs.watch on Linux stops reporting a file once it has been replaced by a rename.
  const f = await startFixture({ 'a.yaml': service('one'), 'sub/b.yaml': service('two') });
  try {
    await f.batches.next('initial batch');
    for (const [folder, name, port] of [['', 'one', 8080], ['', 'one', 8081], ['', 'one', 8082], ['sub', 'two', 9090], ['sub', 'two', 9091]] as const) {
      const file = join(f.dir, folder, folder === '' ? 'a.yaml' : 'b.yaml');
      await writeFile(join(f.dir, folder, '.swp'), service(name, port));
      await rename(join(f.dir, folder, '.swp'), file);
      const batch = await f.batches.next(`replace ${folder}/${name} with port ${port}`);
      assert.equal(summary(batch), [`upsert Service default/${name}`]);
      assert.equal(batch[0]!.object.spec, { ports: [{ port }] });
    }
  } finally {
    await f.cleanup();
  }
});

test('a folder created after start is watched: files written into it later are read', async () => {
  const f = await startFixture({ 'a.yaml': service('one') });
  try {
    await f.batches.next('initial batch');
    await mkdir(join(f.dir, 'team'));
    await writeFile(join(f.dir, 'team', 'b.yaml'), service('two'));
    assert.equal(summary(await f.batches.next('new folder with a file')), ['upsert Service default/two']);
    await writeFile(join(f.dir, 'team', 'b.yaml'), service('two', 7070));
    const batch = await f.batches.next('edit in the new folder');
    assert.equal(batch[0]!.object.spec, { ports: [{ port: 7070 }] });
  } finally {
    await f.cleanup();
  }
});

test('an object moved between files is never deleted', async () => {
  const f = await startFixture({ 'a.yaml': docs(service('one'), service('moving')), 'z.yaml': service('sentinel') });
  try {
    await f.batches.next('initial batch');
    await writeFile(join(f.dir, 'b.yaml'), service('moving'));
    await writeFile(join(f.dir, 'a.yaml'), service('one'));
    // The move itself changes nothing; a later edit elsewhere shows everything before it was seen.
    await writeFile(join(f.dir, 'z.yaml'), service('sentinel', 81));
    const seen = await f.batches.until('sentinel edit', (b) => summary(b).includes('upsert Service default/sentinel'));
    assert.equal(seen.flatMap(summary), ['upsert Service default/sentinel']);
  } finally {
    await f.cleanup();
  }
});

test('a file that does not parse logs file:line with MCPMUX_SOURCE_PARSE and keeps its last good objects', async () => {
  const f = await startFixture({ 'a.yaml': docs(service('one'), service('two')), 'z.yaml': service('sentinel') });
  try {
    await f.batches.next('initial batch');
    await writeFile(join(f.dir, 'a.yaml'), `${service('one')}  ports: [broken\n`);
    const [error] = (await f.logs.until('parse error log', (l) => l.code === 'MCPMUX_SOURCE_PARSE')).slice(-1);
    assert.is(error!.file, join(f.dir, 'a.yaml'));
    assert.is(error!.line, 8); // the line with "ports: [broken"
    assert.match(String(error!.msg), new RegExp(`^${join(f.dir, 'a.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8: `));

    // Nothing was emitted for the broken file: the next batch is the sentinel edit alone.
    await writeFile(join(f.dir, 'z.yaml'), service('sentinel', 81));
    assert.equal(summary(await f.batches.next('sentinel edit')), ['upsert Service default/sentinel']);

    // Fixing the file diffs against the last good objects: "two" is gone now.
    await writeFile(join(f.dir, 'a.yaml'), service('one'));
    assert.equal(summary(await f.batches.next('fix')), ['delete Service default/two']);
  } finally {
    await f.cleanup();
  }
});

test('start rejects a folder that does not exist', async () => {
  const source = new FilesSource({ dir: join(tmpdir(), 'mcpmux-does-not-exist-4242'), logger: pino({ level: 'silent' }) });
  try {
    await source.start(() => assert.unreachable('no emit'));
    assert.unreachable('start should reject');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'MCPMUX_USAGE');
  }
});

test('listManifestFiles lists *.yaml and *.yml recursively, sorted, skipping hidden entries', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mcpmux-list-'));
  try {
    for (const name of ['b.yaml', 'a.yml', 'x/c.YAML', '.git/config.yaml', 'README.md']) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), '');
    }
    assert.equal(await listManifestFiles(dir), ['a.yml', 'b.yaml', join('x', 'c.YAML')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
