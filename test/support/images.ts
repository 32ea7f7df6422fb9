// The images deploy/image builds, for tests: ready-made (built, or reused while their key holds) and
// in the project's image store, with their docker archives under ~/.cache/mcpmux/images.
// test/run-tests.ts runs this file first (`node test/support/images.ts`) for any test that imports
// it, so that a cold build (about 4 minutes: two mmdebstraps, npm ci, pip, a Go build) runs before
// the files and not inside one file's timeout.
import { ensureImage, IMAGES, imageSpec, type BuildOptions, type BuildResult } from '../../deploy/image/images.ts';

export { archivePath, IMAGES, IMAGES_DIR, type BuildResult } from '../../deploy/image/images.ts';
export { podman, podmanFlags, ulimitFlags } from '../../deploy/image/containers.ts';

/** Builds (or reuses) the named images, in order. */
export async function ensureImages(names: readonly string[], options: BuildOptions = {}): Promise<Map<string, BuildResult>> {
  const results = new Map<string, BuildResult>();
  for (const name of names) results.set(name, await ensureImage(imageSpec(name), options));
  return results;
}

/** Why this machine cannot build the images at all (not Linux, not root), or undefined when it can. */
export function cannotBuildImages(): string | undefined {
  if (process.platform !== 'linux') return `the image build runs on Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the image build (mmdebstrap, buildah with runc) runs as root here; run as root or use npm run image on a machine where you are';
  return undefined;
}

if (import.meta.main) {
  const reason = cannotBuildImages();
  if (reason) {
    console.log(`images: not built: ${reason}`);
  } else {
    const names = process.argv.length > 2 ? process.argv.slice(2) : IMAGES.map((i) => i.name);
    for (const [name, result] of await ensureImages(names, { log: (line) => process.stderr.write(`${line}\n`) })) {
      console.log(`${name}: ${result.archive} (${result.built ? 'built' : 'cached'}, ${result.seconds.toFixed(1)} s)`);
    }
  }
}
