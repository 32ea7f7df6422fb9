// The watched folder of the convergence benchmark: the tutorial's manifests unchanged, its local
// EndpointSlices, a fleet of extra labelled Services (so the snapshot has the size of a small
// cluster's, not two targets), and one file the benchmark rewrites for every change.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TUTORIAL = fileURLToPath(new URL('../../../../deploy/examples/tutorial/', import.meta.url));

/** The file each change rewrites. */
export const CHANGING_FILE = 'changing.yaml';

function service(name: string, url: string, extraAnnotations = ''): string {
  return `---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: agentgateway-system
  labels:
    mcp-federation: "true"
  annotations:
    mcpmux.dev/url: "${url}"${extraAnnotations}
spec:
  ports:
  - port: 80
    targetPort: 8000
    appProtocol: kgateway.dev/mcp
`;
}

/**
 * The changing object: a Service of the tutorial's backend whose mcpmux.dev/url port changes, so
 * its target's endpoint (and the snapshot version) changes while every name stays the same.
 */
export function changingManifest(change: number): string {
  return `# Rewritten by the convergence benchmark; change ${change}.\n${service('bench-changing', `http://127.0.0.1:${20000 + change}/mcp`)}`;
}

/** A temp folder with the manifests; `extraServices` labelled Services besides the tutorial's two. */
export function writeManifestFolder(extraServices: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-convergence-'));
  writeFileSync(join(dir, 'tutorial.yaml'), readFileSync(join(TUTORIAL, 'tutorial.yaml'), 'utf8'));
  writeFileSync(join(dir, 'local-endpoints.yaml'), readFileSync(join(TUTORIAL, 'local-endpoints.yaml'), 'utf8'));
  const fleet: string[] = [];
  for (let i = 0; i < extraServices; i++) {
    const name = `bench-server-${String(i).padStart(3, '0')}`;
    fleet.push(service(name, `http://10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:8000/mcp`, i % 5 === 0 ? `\n    mcpmux.dev/target-name: ${name}-tools` : ''));
  }
  writeFileSync(join(dir, 'fleet.yaml'), fleet.join(''));
  writeFileSync(join(dir, CHANGING_FILE), changingManifest(0));
  return dir;
}
