// `mcpmux snapshot get|history|diff` and `mcpmux proxies` against a running control plane (the
// tutorial stack), as a user runs them: tables (and a diff by kind and field) by default, every page
// of a list followed, JSON and YAML on request, secrets redacted, a clear error and exit 2 when
// nothing listens.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { CLI, ROOT } from './support/processes.ts';
import { federatedService, startStack, type Stack } from './support/stack.ts';
import { until } from './support/processes.ts';

const exec = promisify(execFile);
const mcpmux = (...args: string[]) =>
  exec(process.execPath, [CLI, ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

let stack: Stack;

test.before(async () => {
  stack = await startStack();
});

test.after(async () => {
  await stack?.stop();
});

test('snapshot get: a table of routes and targets, or the whole snapshot as JSON or YAML', async () => {
  const cp = ['--control-plane', stack.grpcAddress];
  const table = await mcpmux('snapshot', 'get', ...cp);
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, /group agentgateway-system\/mcp-gateway\s+version [0-9a-f]{16}/);
  assert.match(table.stdout, /80\s+\/mcp\s+agentgateway-system\/mcp-federated\s+mcp-server-everything-3001\s+1\/1/);
  const json = JSON.parse((await mcpmux('snapshot', 'get', ...cp, '--output', 'json')).stdout) as { group: string; version: string; targets: Array<{ name: string }> };
  assert.is(json.group, 'agentgateway-system/mcp-gateway');
  assert.ok(json.targets.some((t) => t.name === 'mcp-website-fetcher-80'));
  const yaml = parse((await mcpmux('snapshot', 'get', ...cp, '--output', 'yaml')).stdout) as { version: string };
  assert.is(yaml.version, json.version, 'YAML and JSON show the same snapshot');
});

test('snapshot history and diff follow a change; proxies shows the ACKed version', async () => {
  const cp = ['--control-plane', stack.grpcAddress];
  const first = JSON.parse((await mcpmux('snapshot', 'get', ...cp, '--output', 'json')).stdout) as { version: string };
  stack.writeFile(
    'cli-extra.yaml',
    federatedService('cli-extra', 3007),
  );
  try {
    let history: Array<{ version: string }> = [];
    await until(async () => {
      history = JSON.parse((await mcpmux('snapshot', 'history', ...cp, '--output', 'json')).stdout) as Array<{ version: string }>;
      return history.length >= 2;
    }, 'a second version in the history', 10_000);
    const latest = history.at(-1)?.version ?? '';
    assert.is.not(latest, first.version);
    const table = await mcpmux('snapshot', 'history', ...cp);
    assert.match(table.stdout, new RegExp(`${first.version}[\\s\\S]*${latest}`), 'oldest first');
    // One version per admin call: the command follows the pages and prints the same history.
    const paged = await mcpmux('snapshot', 'history', ...cp, '--page-size', '1');
    assert.is(paged.code, 0, paged.stderr);
    assert.is(paged.stdout, table.stdout, 'every page printed, in the same order');
    const diff = await mcpmux('snapshot', 'diff', first.version, ...cp);
    assert.is(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, new RegExp(`${first.version} \\(event \\d+\\) → ${latest}`));
    // By kind, each resource with the fields that changed, then a summary.
    assert.match(diff.stdout, /\ntargets\n {2}added {4}agentgateway-system\/mcp-federated\/cli-extra-3007\n(?: {4}\+ .*\n)+/);
    assert.match(diff.stdout, / {4}\+ endpoints: \[\{"address":"cli-extra\.agentgateway-system\.svc","port":3007,"ready":true\}\]\n/);
    assert.match(diff.stdout, /\nbackends\n {2}changed {2}agentgateway-system\/mcp-federated\n {4}\+ targets\[\]: "cli-extra-3007"\n/);
    assert.match(diff.stdout, /\nsummary: 1 added, 1 changed, 0 removed \(targets 1, backends 1\); \d+ fields\n/);
    assert.match(diff.stdout, /upsert\s+Service\s+agentgateway-system\/cli-extra/, 'and the event that made it');
    // --output json: the answer as it came, the field changes in it.
    const raw = JSON.parse((await mcpmux('snapshot', 'diff', first.version, ...cp, '--output', 'json')).stdout) as { changes: Array<{ kind: string; change: string; fields: Array<{ path: string; before: string; after: string }> }> };
    const backend = raw.changes.find((c) => c.kind === 'backend');
    assert.equal(backend?.fields.find((f) => f.path === 'targets[]'), { path: 'targets[]', before: '', after: '"cli-extra-3007"' });
    // A field of a target changed: that field alone, - old + new.
    stack.writeFile('cli-extra.yaml', federatedService('cli-extra', 3007).replace('labels:', 'annotations: {mcpmux.dev/path: /v2/mcp}, labels:'));
    await until(async () => (await mcpmux('snapshot', 'get', ...cp, '--output', 'json')).stdout.includes('/v2/mcp'), 'the version with the new path', 10_000);
    const changed = await mcpmux('snapshot', 'diff', latest, ...cp);
    assert.match(changed.stdout, /\ntargets\n {2}changed {2}agentgateway-system\/mcp-federated\/cli-extra-3007\n {4}~ path: - "\/mcp" {2}\+ "\/v2\/mcp"\n\n/);
    assert.match(changed.stdout, /summary: 0 added, 1 changed, 0 removed \(targets 1\); 1 field\n/);
    const newest = JSON.parse((await mcpmux('snapshot', 'get', ...cp, '--output', 'json')).stdout) as { version: string };
    await until(async () => (await mcpmux('proxies', ...cp)).stdout.includes(newest.version), 'the proxy ACKed the new version', 10_000);
    const proxies = await mcpmux('proxies', ...cp, '--page-size', '1');
    assert.match(proxies.stdout, /^history: memory \(this replica only\)\nproxy\s+group/, 'where the history lives, first');
    assert.match(proxies.stdout, /proxy-1\s+agentgateway-system\/mcp-gateway\s+yes/);
    // A session makes the proxy find out its upstreams' eras, and it reports them.
    const client = await stack.connect();
    await client.listTools();
    await client.close();
    await until(async () => (await mcpmux('proxies', ...cp)).stdout.includes('mcp-server-everything-3001=legacy'), 'the upstream eras in mcpmux proxies', 10_000);
    const json = JSON.parse((await mcpmux('proxies', ...cp, '--output', 'json')).stdout) as Array<{ metadata: Record<string, string> }>;
    assert.is(json[0]!.metadata['era.mcp-server-everything-3001'], 'legacy');
  } finally {
    stack.removeFile('cli-extra.yaml');
  }
});

test('without a control plane: exit 2 and what to do; a bad action is a usage error', async () => {
  const down = await mcpmux('snapshot', 'get', '--control-plane', '127.0.0.1:1');
  assert.is(down.code, 2);
  assert.match(down.stderr, /127\.0\.0\.1:1.*is a control plane listening there\?/);
  const bad = await mcpmux('snapshot', 'show');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /say get, history or diff/);
  const noFrom = await mcpmux('snapshot', 'diff');
  assert.match(noFrom.stderr, /FROM is a version/);
});

test.run();
