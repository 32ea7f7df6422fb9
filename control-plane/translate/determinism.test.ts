// The whole pure pipeline fed by a real folder: files source → event log → reducer → translator.
// Same objects → same version, whatever the file layout or volatile metadata; a change to what a
// proxy would serve → a new version.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { MemoryEventLog } from '../events/log.ts';
import { FilesSource } from '../sources/files.ts';
import type { KubeObject, SourceChange } from '../sources/source.ts';
import { parseManifests } from '../sources/yaml.ts';
import { emptyState, reduce, type ClusterState } from '../state/reducer.ts';
import { DEFAULT_FILES_GATEWAY_CLASSES, translate, TranslateCache } from './translate.ts';

const TUTORIAL = new URL('../../deploy/examples/tutorial/', import.meta.url);

async function tutorialObjects(): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const file of ['tutorial.yaml', 'local-endpoints.yaml']) {
    objects.push(...parseManifests(await readFile(new URL(file, TUTORIAL), 'utf8'), file).objects);
  }
  return objects;
}

/** A running pipeline over a folder; `version()` is the tutorial group's current snapshot version. */
async function pipeline(files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'mcpmux-determinism-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const log = new MemoryEventLog();
  let state: ClusterState = emptyState();
  log.subscribe((events) => {
    for (const event of events) state = reduce(state, event);
  });
  let wake: (() => void) | null = null;
  const source = new FilesSource({ dir, logger: pino({ level: 'silent' }), debounceMs: 20 });
  await source.start((changes: SourceChange[]) => {
    log.append(source.name, changes);
    wake?.();
  });
  const cache = new TranslateCache();
  return {
    dir,
    version: (): string => {
      const { snapshots } = translate(state, { gatewayClasses: DEFAULT_FILES_GATEWAY_CLASSES }, cache);
      assert.is(snapshots.length, 1);
      return snapshots[0]!.version;
    },
    /** Resolves after the next emitted batch has been folded into the state. */
    nextBatch: (): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no batch within 5 s')), 5000);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      }),
    close: async () => {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function withVolatileMetadata(object: KubeObject, i: number): KubeObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      resourceVersion: String(1000 + i),
      uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
      generation: i + 1,
      creationTimestamp: `2025-01-0${(i % 9) + 1}T00:00:00Z`,
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', time: '2025-01-01T00:00:00Z' }],
    },
    status: { observedGeneration: i },
  };
}

test('file order, file layout and volatile metadata do not change the version', async () => {
  const objects = await tutorialObjects();
  const reference = await pipeline({ 'a.yaml': objects.map((o) => `---\n${stringify(o)}`).join('') });
  // One object per file, named so the files sort in reverse order, every object carrying volatile fields.
  const reversed: Record<string, string> = {};
  objects.forEach((o, i) => (reversed[`${String(objects.length - i).padStart(2, '0')}-${o.kind}.yaml`] = stringify(withVolatileMetadata(o, i))));
  const shuffled = await pipeline(reversed);
  try {
    assert.is(shuffled.version(), reference.version());
  } finally {
    await reference.close();
    await shuffled.close();
  }
});

test('an edit to a selected Service changes the version; an edit to an unrelated object does not', async () => {
  const objects = await tutorialObjects();
  const render = (edit: (o: KubeObject) => KubeObject): string => objects.map((o) => `---\n${stringify(edit(o))}`).join('');
  const p = await pipeline({ 'all.yaml': render((o) => o) });
  try {
    const before = p.version();

    // The ConfigMap and the Deployments are not part of any snapshot.
    const batch1 = p.nextBatch();
    await writeFile(join(p.dir, 'all.yaml'), render((o) => (o.kind === 'ConfigMap' ? { ...o, data: { 'app.py': 'changed' } } : o)));
    await batch1;
    assert.is(p.version(), before);

    // Only resourceVersion churn (what a cluster does all day) does not either.
    const batch2 = p.nextBatch();
    await writeFile(join(p.dir, 'all.yaml'), render((o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '42' } })));
    await batch2;
    assert.is(p.version(), before);

    // A label change that drops the fetcher from the backend's selector is a new config.
    const batch3 = p.nextBatch();
    const unselect = (o: KubeObject): KubeObject =>
      o.kind === 'Service' && o.metadata.name === 'mcp-website-fetcher' ? { ...o, metadata: { ...o.metadata, labels: { app: 'mcp-website-fetcher' } } } : o;
    await writeFile(join(p.dir, 'all.yaml'), render(unselect));
    await batch3;
    const after = p.version();
    assert.is.not(after, before);

    // And putting it back restores the exact version.
    const batch4 = p.nextBatch();
    await writeFile(join(p.dir, 'all.yaml'), render((o) => o));
    await batch4;
    assert.is(p.version(), before);
  } finally {
    await p.close();
  }
});

test.run();
