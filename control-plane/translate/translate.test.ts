// Golden tests: each testdata/<case>.yaml holds input objects, a "# Output" line, then the expected
// snapshots and statuses. UPDATE_GOLDEN=1 rewrites the expected part from the current translator;
// review the diff like any other change. Cases translate as the files source does (its gateway
// classes, stdio targets allowed); a line "# Options: {allowStdio: false}" in the input changes that.
// A line "# Input files: a.yaml b.yaml" adds those repository files (paths from the repository root)
// to the case's input: the tutorial case translates deploy/examples/tutorial itself, the one copy of
// the tutorial's manifests, rather than a copy of its own.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { parseManifests } from '../sources/yaml.ts';
import { emptyState, reduceAll } from '../state/reducer.ts';
import { DEFAULT_FILES_GATEWAY_CLASSES, translate, TranslateCache, type TranslateOptions, type TranslateResult } from './translate.ts';
import { validateDir } from '../validate.ts';
import { deepFrozen } from '../../shared/config/version.ts';

const DATA = fileURLToPath(new URL('./testdata/', import.meta.url));
const OUTPUT_MARKER = /^# Output[ \t]*$/m;
const OPTIONS_LINE = /^# Options:(.*)$/m;
const INPUT_FILES_LINE = /^# Input files:(.*)$/m;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

function run(input: string, file: string): TranslateResult {
  const { objects, errors } = parseManifests(input, file);
  assert.equal(errors, [], `${file}: input must parse`);
  const state = reduceAll(emptyState(), objects.map((object) => ({ type: 'upsert' as const, object })));
  const overrides = OPTIONS_LINE.exec(input);
  const options: Partial<TranslateOptions> = overrides ? (parse(overrides[1]!) as Partial<TranslateOptions>) : {};
  return translate(state, { gatewayClasses: DEFAULT_FILES_GATEWAY_CLASSES, allowStdio: true, ...options }, new TranslateCache());
}

/** A case's input part, with the repository files its "# Input files:" line names appended. */
function withInputFiles(input: string): string {
  const files = INPUT_FILES_LINE.exec(input)?.[1]!.trim().split(/\s+/).filter(Boolean) ?? [];
  return [input, ...files.map((file) => readFileSync(join(REPO, file), 'utf8'))].join('\n---\n');
}

/** Plain data, as the YAML side parses back (no frozen objects, no undefined members). */
function plain(result: TranslateResult): unknown {
  return JSON.parse(JSON.stringify(result));
}

const cases = readdirSync(DATA).filter((f) => f.endsWith('.yaml')).sort();

test('there is a golden case for each required scenario', () => {
  for (const name of ['tutorial', 'no-endpoint-slice', 'url-annotation', 'sse-appprotocol', 'non-mcp-appprotocol-ignored',
    'other-gateway-class-ignored', 'name-collision-across-namespaces', 'mcpbackend-static-target',
    'route-with-unresolved-backend', 'two-gateways', 'naming-and-filters', 'invalid-tool-filter', 'stdio-target',
    'stdio-target-not-allowed', 'protocol-era', 'protocol-era-problems', 'https-listeners', 'hostname-intersection']) {
    assert.ok(cases.includes(`${name}.yaml`), `missing testdata/${name}.yaml`);
  }
});

for (const file of cases) {
  test(`golden ${file}`, () => {
    const path = join(DATA, file);
    const text = readFileSync(path, 'utf8');
    const marker = OUTPUT_MARKER.exec(text);
    assert.ok(marker, `${file} has no "# Output" line`);
    const input = text.slice(0, marker.index);
    const result = run(withInputFiles(input), file);
    // Handed out sealed: every object of every snapshot frozen (under MCPMUX_DEBUG_FREEZE, as tests run: shared/config/freeze.ts).
    for (const snapshot of result.snapshots) assert.ok(deepFrozen(snapshot), `${file}: snapshot ${snapshot.group} is deeply frozen`);
    const actual = plain(result);
    if (update) {
      writeFileSync(path, `${input}# Output\n${stringify(actual, { lineWidth: 0 })}`);
      return;
    }
    const expected: unknown = parse(text.slice(marker.index + marker[0].length));
    assert.equal(actual, expected, `${file}: output differs (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
  });
}

test('the tutorial exposes the tutorial target names, dialled at the local stand-ins', () => {
  const input = withInputFiles(readFileSync(join(DATA, 'tutorial.yaml'), 'utf8').split(OUTPUT_MARKER)[0]!);
  const { snapshots, statuses } = run(input, 'tutorial.yaml');
  assert.is(snapshots.length, 1);
  const snapshot = snapshots[0]!;
  assert.is(snapshot.group, 'agentgateway-system/mcp-gateway');
  assert.equal(snapshot.routes.map((r) => [r.pathPrefix, r.backend]), [['/mcp', 'agentgateway-system/mcp-federated']]);
  assert.equal(
    snapshot.targets.map((t) => [t.name, `${t.endpoints[0]?.address}:${t.endpoints[0]?.port}${t.path}`]),
    [['mcp-server-everything-3001', '127.0.0.1:3001/mcp'], ['mcp-website-fetcher-80', '127.0.0.1:8081/mcp']],
  );
  assert.equal(statuses.flatMap((s) => s.conditions.filter((c) => c.status === 'False' && c.type !== 'Conflicted')), []);
});

test('deploy/examples/tutorial is the tutorial case (its modern demo aside): same snapshot', async () => {
  const input = withInputFiles(readFileSync(join(DATA, 'tutorial.yaml'), 'utf8').split(OUTPUT_MARKER)[0]!);
  const golden = run(input, 'tutorial.yaml');
  const examples = fileURLToPath(new URL('../../deploy/examples/tutorial/', import.meta.url));
  // The folder adds one file to the tutorial: the 2026-07-28 demo npm start federates too.
  assert.equal(readdirSync(examples).filter((f) => f.endsWith('.yaml')).sort(), ['local-endpoints.yaml', 'modern-demo.yaml', 'tutorial.yaml']);
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-tutorial-case-'));
  try {
    for (const file of ['tutorial.yaml', 'local-endpoints.yaml']) copyFileSync(join(examples, file), join(dir, file));
    const report = await validateDir(dir, { gatewayClasses: DEFAULT_FILES_GATEWAY_CLASSES });
    assert.ok(report.ok, report.report);
    assert.ok(report.report.includes(`version ${golden.snapshots[0]!.version}`), report.report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
