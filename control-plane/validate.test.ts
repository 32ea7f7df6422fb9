import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateDir } from './validate.ts';
import { DEFAULT_FILES_GATEWAY_CLASSES } from './translate/translate.ts';

const TUTORIAL = fileURLToPath(new URL('../deploy/examples/tutorial/', import.meta.url));
const options = { gatewayClasses: DEFAULT_FILES_GATEWAY_CLASSES };

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpmux-validate-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

test('the tutorial folder is ok and reports listeners, routes, targets with URLs, and tool prefixes', async () => {
  const { ok, report } = await validateDir(TUTORIAL, options);
  assert.ok(ok, report);
  for (const line of [
    'group agentgateway-system/mcp-gateway',
    'listener http: HTTP port 80',
    'route agentgateway-system/mcp-route/0/0: /mcp -> agentgateway-system/mcp-federated (listeners http)',
    'target mcp-server-everything-3001: http://127.0.0.1:3001/mcp',
    'target mcp-website-fetcher-80: http://127.0.0.1:8081/mcp',
    'prefix mode: always',
    'target mcp-modern-demo-3701: http://127.0.0.1:3701/mcp',
    'tool prefixes: mcp-modern-demo-3701_, mcp-server-everything-3001_, mcp-website-fetcher-80_',
    'tools: all (no filters)',
    "serverInfo: (mcpmux's own)",
    "instructions: (the targets' own)",
  ]) {
    assert.ok(report.includes(line), `missing "${line}" in:\n${report}`);
  }
  assert.not.ok(report.includes('problems:'), report);
});

const GATEWAY_AND_ROUTE = [
  'apiVersion: gateway.networking.k8s.io/v1', 'kind: Gateway', 'metadata: {name: gw, namespace: ns}',
  'spec: {gatewayClassName: mcpmux, listeners: [{name: http, port: 80, protocol: HTTP}]}', '---',
  'apiVersion: gateway.networking.k8s.io/v1', 'kind: HTTPRoute', 'metadata: {name: r, namespace: ns}',
  'spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: b}]}]}', '',
].join('\n');

function backend(fields: string[], targets: string[]): string {
  return [
    'apiVersion: mcpmux.dev/v1alpha1', 'kind: MCPBackend', 'metadata: {name: b, namespace: ns}', 'spec:',
    ...fields.map((f) => `  ${f}`),
    '  targets:', ...targets.map((t) => `  - static: {name: ${t}, host: ${t}.example.com, port: 80}`), '',
  ].join('\n');
}

test('each backend shows its prefix mode, the tool prefixes it leads to, filters, serverInfo and instructions', async () => {
  const table: Array<[string[], string[], string[]]> = [
    [[], ['a', 'b'], ['prefix mode: always', 'tool prefixes: a_, b_', 'tools: all (no filters)', "serverInfo: (mcpmux's own)", "instructions: (the targets' own)"]],
    [['prefixMode: conditional'], ['a', 'b'], ['prefix mode: conditional', 'tool prefixes: a_, b_']],
    [['prefixMode: conditional'], ['a'], ['prefix mode: conditional', 'tool prefixes: (none: names unprefixed while the backend has one target)']],
    [['prefixMode: never'], ['a', 'b'], ['prefix mode: never', 'tool prefixes: (none: names unprefixed; a name two targets share is left out)']],
    [['tools: {include: [b_*, a_x]}'], ['a', 'b'], ['tools: include a_x, b_*; exclude (none)']],
    [['tools: {exclude: [a_delete]}'], ['a'], ['tools: include (all); exclude a_delete']],
    [['serverInfo: {name: Weather, version: "1.2"}'], ['a'], ['serverInfo: Weather 1.2']],
    [['serverInfo: {name: Weather}'], ['a'], ['serverInfo: Weather (no version)']],
    [['instructions: "Use a_forecast."'], ['a'], ['instructions: "Use a_forecast." (15 characters)']],
  ];
  for (const [fields, targets, expected] of table) {
    const dir = await folder({ 'gw.yaml': GATEWAY_AND_ROUTE, 'backend.yaml': backend(fields, targets) });
    try {
      const { ok, report } = await validateDir(dir, options);
      assert.ok(ok, report);
      for (const line of expected) assert.ok(report.includes(`    ${line}\n`), `missing "${line}" in:\n${report}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('a folder is the files source: stdio targets are served and shown as the command they run, env values left out', async () => {
  const stdio = [
    'apiVersion: mcpmux.dev/v1alpha1', 'kind: MCPBackend', 'metadata: {name: b, namespace: ns}', 'spec:', '  targets:',
    '  - static: {name: local, protocol: stdio, command: npx, args: [-y, "my server", stdio], env: {API_TOKEN: hunter2}, cwd: /srv}',
    '  - static: {name: remote, host: remote.example.com, port: 80}', '',
  ].join('\n');
  const dir = await folder({ 'gw.yaml': GATEWAY_AND_ROUTE, 'backend.yaml': stdio });
  try {
    const { ok, report } = await validateDir(dir, options);
    assert.ok(ok, report);
    assert.ok(report.includes("    target local: runs npx -y 'my server' stdio in /srv with env API_TOKEN (stdio, era legacy, from MCPBackend/ns/b)\n"), report);
    assert.ok(report.includes('    target remote: http://remote.example.com:80/mcp (streamable-http, era auto, from MCPBackend/ns/b:80)\n'), report);
    assert.not.ok(report.includes('hunter2'), report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("each target shows its configured protocol era: the backend's protocolEra, a Service's annotation over it, legacy for SSE", async () => {
  const eras = [
    'apiVersion: mcpmux.dev/v1alpha1', 'kind: MCPBackend', 'metadata: {name: b, namespace: ns}', 'spec:', '  targets:',
    '  - static: {name: default, host: default.example.com, port: 80}',
    '  - static: {name: pinned, host: pinned.example.com, port: 80}', '    protocolEra: legacy',
    '  - static: {name: stateless, host: stateless.example.com, port: 80}', '    protocolEra: modern',
    '  - static: {name: events, host: events.example.com, port: 80, protocol: SSE}',
    '  - selector: {matchLabels: {app: svc}}', '    protocolEra: modern', '---',
    'apiVersion: v1', 'kind: Service', 'metadata: {name: svc, namespace: ns, labels: {app: svc}, annotations: {mcpmux.dev/protocol-era: legacy}}',
    'spec: {ports: [{port: 80, appProtocol: mcpmux.dev/mcp}]}', '',
  ].join('\n');
  const dir = await folder({ 'gw.yaml': GATEWAY_AND_ROUTE, 'backend.yaml': eras });
  try {
    const { ok, report } = await validateDir(dir, options);
    assert.ok(ok, report);
    for (const line of [
      'target default: http://default.example.com:80/mcp (streamable-http, era auto, from MCPBackend/ns/b:80)',
      'target pinned: http://pinned.example.com:80/mcp (streamable-http, era legacy, from MCPBackend/ns/b:80)',
      'target stateless: http://stateless.example.com:80/mcp (streamable-http, era modern, from MCPBackend/ns/b:80)',
      'target events: http://events.example.com:80/mcp (sse, era legacy, from MCPBackend/ns/b:80)',
      'target svc-80: http://svc.ns.svc:80/mcp (streamable-http, era legacy, from Service/ns/svc:80)',
    ]) {
      assert.ok(report.includes(`    ${line}\n`), `missing "${line}" in:\n${report}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('protocolEra modern on an SSE target is a problem: served as legacy, and the result is not ok', async () => {
  const sse = [
    'apiVersion: mcpmux.dev/v1alpha1', 'kind: MCPBackend', 'metadata: {name: b, namespace: ns}', 'spec:', '  targets:',
    '  - static: {name: events, host: events.example.com, port: 80, protocol: SSE}', '    protocolEra: modern', '',
  ].join('\n');
  const dir = await folder({ 'gw.yaml': GATEWAY_AND_ROUTE, 'backend.yaml': sse });
  try {
    const { ok, report } = await validateDir(dir, options);
    assert.not.ok(ok, report);
    assert.ok(report.includes('    target events: http://events.example.com:80/mcp (sse, era legacy, from MCPBackend/ns/b:80)\n'), report);
    assert.ok(report.includes('MCPBackend ns/b: ResolvedRefs=False UnsupportedProtocolEra: target events (MCPBackend/ns/b:80): protocolEra modern ignored: SSE targets speak MCP 2025-11-25 only (served as legacy)'), report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an invalid tool filter is a problem that names the field', async () => {
  const dir = await folder({ 'gw.yaml': GATEWAY_AND_ROUTE, 'backend.yaml': backend(['tools: {include: ["a b"]}'], ['a']) });
  try {
    const { ok, report } = await validateDir(dir, options);
    assert.not.ok(ok);
    assert.ok(report.includes('MCPBackend ns/b: Accepted=False InvalidParameters: spec.tools.include[0]: "a b" is not a tool name glob'), report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('parse errors are reported as file:line and make the result not ok', async () => {
  const dir = await folder({
    'good.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n',
    'sub/bad.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [b\n',
  });
  try {
    const { ok, report } = await validateDir(dir, options);
    assert.not.ok(ok);
    assert.match(report, new RegExp(`${join(dir, 'sub', 'bad.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));
    assert.ok(report.includes('2 files, 1 object'), report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('problem conditions are listed (False ones, and Conflicted=True), and the result is not ok', async () => {
  const dir = await folder({
    'gw.yaml': [
      'apiVersion: gateway.networking.k8s.io/v1', 'kind: Gateway', 'metadata: {name: gw, namespace: ns}',
      'spec: {gatewayClassName: mcpmux, listeners: [{name: http, port: 80, protocol: HTTP}]}', '---',
      'apiVersion: gateway.networking.k8s.io/v1', 'kind: HTTPRoute', 'metadata: {name: r, namespace: ns}',
      'spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: missing}]}]}', '',
    ].join('\n'),
  });
  try {
    const { ok, report } = await validateDir(dir, options);
    assert.not.ok(ok);
    assert.ok(report.includes('HTTPRoute ns/r (parent ns/gw): ResolvedRefs=False BackendNotFound'), report);
    assert.ok(report.includes('no routes'), report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a folder without a Gateway of our classes is not ok and says why', async () => {
  const dir = await folder({ 'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n' });
  try {
    const { ok, report } = await validateDir(dir, { gatewayClasses: ['mcpmux'] });
    assert.not.ok(ok);
    assert.ok(report.includes('no Gateway of class mcpmux'), report);
    const missing = await validateDir(join(dir, 'nope'), options);
    assert.not.ok(missing.ok);
    assert.match(missing.report, /not a folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the secured example: who may call, the rules, the credential header, and no secret value', async () => {
  const { ok, report } = await validateDir(fileURLToPath(new URL('../deploy/examples/secured/', import.meta.url)), { gatewayClasses: ['mcpmux'] });
  assert.ok(ok, report);
  assert.match(report, /authentication: API keys of admin, reader/);
  assert.match(report, /authorization: allow readers-echo, allow admins-everything, deny nobody-runs-long-operations/);
  assert.match(report, /upstream credential: header authorization/);
  for (const secret of ['reader-key-change-me', 'admin-key-change-me', 'upstream-token-change-me']) assert.not.match(report, new RegExp(secret));
});

test.run();
