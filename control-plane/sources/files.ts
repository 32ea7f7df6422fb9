// The files source: a folder of Kubernetes YAML, watched. It is the embedded default (no cluster
// needed) and feeds the same reducer and translator as the kubernetes source.
//
// Every burst of filesystem events triggers a rescan of the folder; files whose text is unchanged are
// not parsed again (nor canonicalized). The union of all files' objects is diffed against what was
// last emitted, so an object that moved between files is an upsert (or nothing), never a delete.
//
// Timing: fs.watch (inotify) reports a write within a millisecond or two, so the latency from an
// edit to the emitted batch is the quiet period plus one rescan. The quiet period is short (10 ms):
// it only has to cover one writer's burst of syscalls (truncate, write, rename: an editor's save,
// `git checkout`, `cp`), which come microseconds to a few milliseconds apart. A slower writer is
// caught by the re-read in #scan (events that arrived while reading mean: read again after another
// quiet period), and a longer fixed wait would not protect against a truly slow one anyway (a shell
// redirect truncates long before the command writes). The max delay bounds how long constant churn
// can hold a batch back. The control plane adds no second fixed delay behind this one
// (snapshots/debounce.ts rebuilds on an isolated change at once), so an edit reaches the
// translator ~15 ms after it is written.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { canonicalJson } from '../../shared/config/version.ts';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { objectId, type KubeObject, type Source, type SourceChange } from './source.ts';
import { formatManifestError, parseManifests } from './yaml.ts';

export interface FilesSourceOptions {
  dir: string;
  logger: Logger;
  /** Quiet period that ends a burst of filesystem events (default 10 ms; see the top of this file). */
  debounceMs?: number;
  /** Under constant churn, rescan at least this often. */
  maxDelayMs?: number;
}

interface Emitted {
  object: KubeObject;
  /** Its canonical JSON, computed once when its file is parsed: what the diff compares. */
  canonical: string;
}

interface FileEntry {
  text: string;
  /** The objects of the last text that parsed without error: a broken edit keeps these. */
  objects: Emitted[];
}

const MANIFEST = /\.ya?ml$/i;

/** What a scan of the folder finds: manifest files and the folders holding them (both relative to it). */
export interface ManifestTree {
  /** Sorted paths of *.yaml / *.yml files. */
  files: string[];
  /** Sorted folders walked, the top one as ''. */
  folders: string[];
}

/**
 * Manifest files under dir, recursively, with the folders walked. Hidden entries are skipped
 * (editor swap files, and the "..data" folder of a mounted ConfigMap, whose files are also linked
 * at the top); symlinked files are read, symlinked folders are not followed (no cycles).
 */
export async function listManifestTree(dir: string): Promise<ManifestTree> {
  const files: string[] = [];
  const folders: string[] = [];
  async function walk(folder: string): Promise<void> {
    folders.push(relative(dir, folder));
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (MANIFEST.test(entry.name) && (entry.isFile() || entry.isSymbolicLink())) files.push(relative(dir, path));
    }
  }
  await walk(dir);
  return { files: files.sort(), folders: folders.sort() };
}

/** Manifest files under dir, recursively, as sorted paths relative to dir (see listManifestTree). */
export async function listManifestFiles(dir: string): Promise<string[]> {
  return (await listManifestTree(dir)).files;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export class FilesSource implements Source {
  readonly name = 'files' as const;
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  readonly #files = new Map<string, FileEntry>();
  #emitted = new Map<string, Emitted>();
  #emit: ((changes: SourceChange[]) => void) | null = null;
  /** One watcher per folder (relative path → watcher), the top folder's under ''. */
  readonly #watchers = new Map<string, FSWatcher>();
  #timer: NodeJS.Timeout | null = null;
  #burstStarted = 0;
  #scanning: Promise<void> | null = null;
  #dirty = false;
  #stopped = false;

  constructor(options: FilesSourceOptions) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#debounceMs = options.debounceMs ?? 10;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
  }

  async start(emit: (changes: SourceChange[]) => void): Promise<void> {
    const info = await stat(this.#dir).catch(() => null);
    if (!info?.isDirectory()) throw new McpmuxError('MCPMUX_USAGE', `manifest folder ${this.#dir} does not exist or is not a folder`);
    this.#emit = emit;
    // Watch the top folder before the first scan, so an edit made while it runs is not missed;
    // subfolders get their watchers as scans find them.
    this.#watch('');
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#burstStarted = Date.now();
    this.#scanning = this.#scan({ initial: true });
    try {
      await this.#scanning;
    } catch (error) {
      this.#scanning = null;
      await this.stop(); // closes the watcher; a source that failed to start holds nothing open
      throw error;
    }
    this.#scanning = null;
    if (this.#dirty) this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#scanning;
  }

  /**
   * Watches one folder, non-recursively. Node's recursive watcher on Linux loses a file after it is
   * replaced by a rename (an editor's save; a write-then-rename): later edits to it raise no event.
   * A plain directory watch (inotify on the folder) reports every create, write, rename and delete
   * in it, so each folder gets its own.
   */
  #watch(folder: string): boolean {
    if (this.#watchers.has(folder) || this.#stopped) return false;
    const path = join(this.#dir, folder);
    let watcher: FSWatcher;
    try {
      watcher = watch(path, () => this.#schedule());
    } catch (error) {
      // Gone between listing and watching: the parent's watcher reports that, and the next scan forgets it.
      this.#logger.debug({ err: errorMessage(error), dir: path }, 'cannot watch folder');
      return false;
    }
    watcher.on('error', (error) => {
      this.#logger.error({ code: 'MCPMUX_SOURCE_PARSE', err: errorMessage(error), dir: path }, 'watching the manifest folder failed');
    });
    this.#watchers.set(folder, watcher);
    return true;
  }

  /** Watchers for the folders a scan found, none for those that went away. */
  #syncWatchers(folders: readonly string[]): boolean {
    const wanted = new Set(folders);
    for (const [folder, watcher] of this.#watchers) {
      if (folder !== '' && !wanted.has(folder)) {
        watcher.close();
        this.#watchers.delete(folder);
      }
    }
    let added = false;
    for (const folder of folders) if (this.#watch(folder)) added = true;
    return added;
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#scanning) {
      this.#dirty = true;
      return;
    }
    const now = Date.now();
    if (!this.#timer) this.#burstStarted = now;
    else clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#burstStarted + this.#maxDelayMs - now));
    this.#timer = setTimeout(() => this.#runScan(), wait);
  }

  #runScan(): void {
    this.#timer = null;
    if (this.#scanning) {
      this.#dirty = true; // one scan at a time; the running one reads again when it ends
      return;
    }
    this.#scanning = this.#scan({ initial: false })
      .catch((error: unknown) => {
        this.#logger.error({ code: 'MCPMUX_SOURCE_PARSE', err: errorMessage(error), dir: this.#dir }, 'rescanning the manifest folder failed');
      })
      .finally(() => {
        this.#scanning = null;
        if (this.#dirty) this.#schedule();
      });
  }

  async #scan({ initial }: { initial: boolean }): Promise<void> {
    for (;;) {
      this.#dirty = false;
      await this.#readAll();
      // Files changed while we read them (a write in progress reads as a truncated file): read
      // again before telling anyone, unless the burst has already delayed us for maxDelayMs.
      // setImmediate runs after the poll phase, so watch events already queued are seen first.
      await new Promise((resolve) => setImmediate(resolve));
      if (!this.#dirty || this.#stopped || Date.now() - this.#burstStarted >= this.#maxDelayMs) break;
      await new Promise((resolve) => setTimeout(resolve, this.#debounceMs)); // let the burst settle
    }
    const changes = this.#diff();
    if (this.#stopped || !this.#emit) return;
    if (initial || changes.length > 0) this.#emit(changes);
  }

  async #readAll(): Promise<void> {
    const { files: paths, folders } = await listManifestTree(this.#dir);
    // A folder watched only now may have changed after it was listed: read once more to be sure.
    if (this.#syncWatchers(folders)) this.#dirty = true;
    // A few reads at a time (each is several thread-pool round trips; too many at once would run
    // out of file descriptors and read as deleted), applied in path order.
    const texts = await mapLimit(paths, 16, (path) => readFile(join(this.#dir, path), 'utf8').catch(() => null));
    const seen = new Set<string>();
    for (const [i, path] of paths.entries()) {
      const text = texts[i];
      if (text === null || text === undefined) continue; // deleted between listing and reading: its own event rescans
      seen.add(path);
      this.#update(path, text);
    }
    for (const path of [...this.#files.keys()]) if (!seen.has(path)) this.#files.delete(path);
  }

  /** Re-parses a file whose text changed; a file that does not parse keeps its last good objects. */
  #update(path: string, text: string): void {
    const previous = this.#files.get(path);
    if (previous?.text === text) return;
    const fileName = join(this.#dir, path);
    const { objects, errors } = parseManifests(text, fileName);
    for (const error of errors) {
      this.#logger.error({ code: 'MCPMUX_SOURCE_PARSE', file: error.file, line: error.line }, formatManifestError(error));
    }
    if (errors.length > 0 && previous) {
      this.#logger.warn({ file: fileName }, 'keeping the last objects that parsed from this file');
    }
    const parsed = errors.length > 0 ? (previous?.objects ?? []) : objects.map((object) => ({ object, canonical: canonicalJson(object) }));
    this.#files.set(path, { text, objects: parsed });
  }

  /** Upserts for new or changed objects, deletes for vanished ones, sorted by identity. */
  #diff(): SourceChange[] {
    const next = new Map<string, Emitted>();
    const origin = new Map<string, string>();
    for (const path of [...this.#files.keys()].sort()) {
      for (const emitted of this.#files.get(path)!.objects) {
        const id = objectId(emitted.object);
        const other = origin.get(id);
        if (other !== undefined && other !== path) {
          this.#logger.warn({ object: id, files: [other, path] }, 'object defined in two files; the later file wins');
        }
        origin.set(id, path);
        next.set(id, emitted);
      }
    }
    const changes: Array<SourceChange & { id: string }> = [];
    for (const [id, now] of next) {
      if (this.#emitted.get(id)?.canonical !== now.canonical) changes.push({ id, type: 'upsert', object: now.object });
    }
    for (const [id, before] of this.#emitted) {
      if (!next.has(id)) changes.push({ id, type: 'delete', object: before.object });
    }
    this.#emitted = next;
    return changes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(({ type, object }) => ({ type, object }));
  }
}
