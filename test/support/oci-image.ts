// Tiny container images for the cluster tier, made locally (nothing can be pulled here): one layer
// holding a few files, written as an OCI image layout in a tar archive that `ctr images import`
// reads. The layer is made with the system's tar (numeric root ownership, fixed mtime), so the same
// files always give the same digests.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Thrown when an image cannot be assembled; says which step failed. */
export class OciImageError extends Error {
  override name = 'OciImageError';
}

export interface ImageFile {
  /** Absolute path inside the image, e.g. /smoke. */
  path: string;
  /** File on this machine to copy there. */
  source: string;
  mode?: number;
}

export interface ImageSpec {
  /** Full reference, e.g. mcpmux.test/smoke:1 (what pods name in `image:`). */
  name: string;
  files: readonly ImageFile[];
  entrypoint: readonly string[];
  cmd?: readonly string[];
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

async function tar(args: string[], what: string): Promise<void> {
  try {
    await run('tar', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new OciImageError(`tar (${what}) failed: ${(error as { stderr?: string }).stderr || (error as Error).message}`);
  }
}

/** Writes `spec` as an OCI image-layout tar archive at `out` (linux/amd64); returns `out`. */
export async function buildOciArchive(spec: ImageSpec, out: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'mcpmux-oci-'));
  try {
    const rootfs = join(work, 'rootfs');
    for (const file of spec.files) {
      const target = join(rootfs, file.path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file.source, target);
      chmodSync(target, file.mode ?? 0o755);
    }
    const layout = join(work, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const layerPath = join(work, 'layer.tar');
    await tar(['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', layerPath, '-C', rootfs, '.'], 'layer');
    const layer = readFileSync(layerPath);
    const layerDigest = sha256(layer);
    writeFileSync(join(blobs, layerDigest), layer);

    const blob = (json: unknown): { digest: string; size: number } => {
      const text = JSON.stringify(json);
      const digest = sha256(text);
      writeFileSync(join(blobs, digest), text);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
    };
    const config = blob({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: spec.entrypoint, Cmd: spec.cmd ?? [], Env: ['PATH=/'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    });
    const manifest = blob({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layer.length }],
    });
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    // containerd names the imported image after io.containerd.image.name.
    writeFileSync(join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': spec.name.split(':').pop() },
      }],
    }));
    mkdirSync(dirname(out), { recursive: true });
    await tar(['--numeric-owner', '--owner=0', '--group=0', '-cf', out, '-C', layout, 'oci-layout', 'index.json', 'blobs'], 'archive');
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
