import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REFERENCE_PATH, renderReference } from './reference.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('docs/crd-reference.md is what the CRDs generate (run node deploy/crds/reference.ts after changing a CRD)', () => {
  assert.fixture(readFileSync(`${ROOT}${REFERENCE_PATH}`, 'utf8'), renderReference());
});

test('the reference covers every kind, required field and CEL rule', () => {
  const doc = renderReference();
  assert.match(doc, /## MCPBackend \(`mcpmux\.dev\/v1alpha1`\)/);
  assert.match(doc, /## AgentgatewayBackend/);
  assert.match(doc, /\| `spec\.targets` \| \[\]object \| .*\*\*required\*\*/);
  const rules = readFileSync(`${ROOT}deploy/crds/mcpbackend.yaml`, 'utf8').match(/- rule: /g)?.length ?? 0;
  const rows = doc.split('## AgentgatewayBackend')[0]?.match(/^\| `[^`]+` \| [^|]+ \| `/gm)?.length ?? 0;
  assert.ok(rules > 0 && rows === rules, `every MCPBackend CEL rule is listed (${rows} of ${rules})`);
});

test.run();
