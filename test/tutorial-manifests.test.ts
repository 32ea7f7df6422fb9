// The reference tutorial's manifests live in the repository once: deploy/examples/tutorial/tutorial.yaml.
// Every test that needs them reads that file (test/support/tutorial.ts); nothing reads a copy kept
// beside the repository (test/repository-paths.test.ts). Here, with nothing outside the repository:
// the file holds the tutorial's eight objects unchanged (pinned by digest: an edit must be a
// deliberate one), no other YAML in the repository is a second copy of them, and the website
// fetcher the Python tests run is the tutorial's ConfigMap app.py with only its documented changes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { canonicalJson } from '../shared/config/version.ts';
import { ROOT } from './support/processes.ts';
import { sourceFiles } from './support/repository-paths.ts';
import { TUTORIAL_LOCAL_ENDPOINTS, TUTORIAL_MANIFESTS, tutorialManifests } from './support/tutorial.ts';

interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
}

function documents(text: string, source: string): KubeDoc[] {
  const docs = parseAllDocuments(text);
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return docs.map((doc) => doc.toJS() as KubeDoc | null).filter((doc): doc is KubeDoc => doc !== null);
}

const tutorial = documents(tutorialManifests(), 'tutorial.yaml');
/** What test/support/python.ts runs as the tutorial's website fetcher (FETCHER_APP; not imported: that module installs a venv). */
const FETCHER_APP = new URL('./fixtures/website_fetcher/app.py', import.meta.url);

/**
 * sha256 of the canonical JSON of tutorial.yaml's objects (comments and layout do not count). The
 * objects are those of the tutorial's `kubectl apply` steps, line for line (re-indented: the
 * tutorial's text lost its indentation). Change it only together with a change of the tutorial itself.
 */
const TUTORIAL_DIGEST = '27772b3bde5610fe5177d849cb55f01ff06a38b95cbcc219f4d876d3bc0e6c0a';

test('deploy/examples/tutorial/tutorial.yaml holds the tutorial\'s eight objects, unchanged', () => {
  assert.equal(tutorial.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`), [
    'Gateway agentgateway-system/mcp-gateway',
    'Deployment agentgateway-system/mcp-server-everything',
    'Service agentgateway-system/mcp-server-everything',
    'ConfigMap agentgateway-system/mcp-website-fetcher-fix',
    'Deployment agentgateway-system/mcp-website-fetcher',
    'Service agentgateway-system/mcp-website-fetcher',
    'AgentgatewayBackend agentgateway-system/mcp-federated',
    'HTTPRoute agentgateway-system/mcp-route',
  ]);
  const digest = createHash('sha256').update(canonicalJson(tutorial)).digest('hex');
  assert.is(digest, TUTORIAL_DIGEST, 'tutorial.yaml\'s objects changed: the project must accept the tutorial\'s objects unchanged, so this file must stay them');
});

test('local-endpoints.yaml only adds EndpointSlices for the tutorial\'s Services', () => {
  const services = new Set(tutorial.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
  const slices = documents(readFileSync(TUTORIAL_LOCAL_ENDPOINTS, 'utf8'), 'local-endpoints.yaml') as Array<KubeDoc & { metadata: { labels?: Record<string, string> } }>;
  assert.equal(slices.map((o) => o.kind), ['EndpointSlice', 'EndpointSlice']);
  assert.equal(new Set(slices.map((o) => o.metadata.labels?.['kubernetes.io/service-name'])), services);
});

test('no other YAML in the repository is a copy of the tutorial\'s objects', () => {
  const objects = new Set(tutorial.map((o) => canonicalJson(o)));
  const copies: string[] = [];
  for (const file of sourceFiles(ROOT)) {
    if (file === TUTORIAL_MANIFESTS || !/\.ya?ml$/.test(file) || /[\\/]templates[\\/]/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (!text.includes('mcp-gateway') && !text.includes('mcp-federated')) continue;
    const found = documents(text, file).filter((o) => objects.has(canonicalJson(o))).length;
    // One object alike (a Gateway of the same name, say) is a coincidence; half the tutorial is a copy.
    if (found * 2 >= objects.size) copies.push(`${relative(ROOT, file)} (${found} of the tutorial's ${objects.size} objects)`);
  }
  assert.equal(copies, [], `read deploy/examples/tutorial/tutorial.yaml instead (a golden case can name it on a "# Input files:" line):\n  ${copies.join('\n  ')}`);
});

test('the website fetcher the tests run is the tutorial\'s app.py with only its documented changes', () => {
  const configMap = tutorial.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mcp-website-fetcher-fix');
  const original = configMap?.data?.['app.py'];
  assert.type(original, 'string');
  // The fixture's two changes, as its header says: `import os`, and host and port from the environment.
  const expected = `import os\n\n${original!}`
    .replace('host="0.0.0.0",', 'host=os.environ.get("HOST", "127.0.0.1"),')
    .replace('port=8000,', 'port=int(os.environ.get("PORT", "8000")),');
  const fixture = readFileSync(FETCHER_APP, 'utf8').replace(/^(#.*\n)+/, '');
  assert.fixture(fixture, expected);
});

test.run();
