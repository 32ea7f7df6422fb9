// npm run image: builds mcpmux's image (and, on request, the tutorial's upstreams and NATS) with
// buildah on bases made here, and saves each as a docker archive under ~/.cache/mcpmux/images.
// Run with --help for the options; deploy/image/images.ts says how and why.
import { parseArgs } from 'node:util';
import { archivePath, ensureImage, IMAGES, imageSpec, type BuildResult } from './images.ts';

const HELP = `Usage: npm run image [-- [options] [IMAGE ...]]

Builds images from the repository's Dockerfiles with buildah (as root; buildah, podman, mmdebstrap and
runc are installed with apt-get when missing), on Debian bookworm bases made here with mmdebstrap,
and saves each as a docker archive (docker load, kind load image-archive, ctr images import).
An image whose Dockerfile, build arguments, base recipe and context files are unchanged is reused.

Images (default: mcpmux):
${IMAGES.map((i) => `  ${`${i.name}:${i.tag}`.padEnd(34)} ${i.what}`).join('\n')}
  all                                every image above

Options:
  --rebuild      build even when nothing changed (buildah's layer cache still applies)
  --fresh-base   make the bases again, with the current Debian packages
  --list         print each image's archive and whether it exists, build nothing
  -h, --help     this text

Archives: ${archivePath({ name: 'NAME', tag: 'TAG' })}`;

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { rebuild: { type: 'boolean' }, 'fresh-base': { type: 'boolean' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
})();

if (values.help) {
  console.log(HELP);
  process.exit(0);
}

let specs;
try {
  specs = positionals.length === 0 ? [imageSpec('mcpmux')] : positionals.includes('all') ? [...IMAGES] : positionals.map(imageSpec);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

if (values.list) {
  const { existsSync, statSync } = await import('node:fs');
  for (const spec of specs) {
    const archive = archivePath(spec);
    console.log(`${`${spec.name}:${spec.tag}`.padEnd(34)} ${existsSync(archive) ? `${(statSync(archive).size / 1e6).toFixed(0)} MB` : 'not built'}  ${archive}`);
  }
  process.exit(0);
}

const started = Date.now();
const results: BuildResult[] = [];
try {
  for (const spec of specs) {
    results.push(await ensureImage(spec, { rebuild: values.rebuild, freshBase: values['fresh-base'], log: (line) => console.error(line) }));
    const r = results.at(-1)!;
    console.log(`${`${spec.name}:${spec.tag}`.padEnd(34)} ${r.built ? 'built' : 'cached'} in ${r.seconds.toFixed(1)} s  id ${r.id.slice(0, 12)}  ${(r.bytes / 1e6).toFixed(0)} MB  ${r.archive}`);
  }
} catch (error) {
  console.error(`npm run image: ${(error as Error).message}`);
  process.exit(1);
}
console.log(`${results.length} image${results.length === 1 ? '' : 's'} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
