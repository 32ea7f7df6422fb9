import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Protocol, Snapshot } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import { parseManifests } from '../sources/yaml.ts';
import { emptyState, reduceAll, type ClusterState } from '../state/reducer.ts';
import { resolveProtocolEra, type ProtocolEraSetting } from './protocol-era.ts';
import { translate, TranslateCache, type TranslateResult } from './translate.ts';

test('resolveProtocolEra: annotation, then the backend entry, then auto; SSE and stdio always legacy', () => {
  const HTTP: Protocol = 'PROTOCOL_STREAMABLE_HTTP';
  const table: Array<[Protocol, ProtocolEraSetting | undefined, string | undefined, string, string[]]> = [
    // protocol, entry's protocolEra, annotation → era, problem reasons
    [HTTP, undefined, undefined, 'PROTOCOL_ERA_AUTO', []],
    [HTTP, 'auto', undefined, 'PROTOCOL_ERA_AUTO', []],
    [HTTP, 'legacy', undefined, 'PROTOCOL_ERA_LEGACY', []],
    [HTTP, 'modern', undefined, 'PROTOCOL_ERA_MODERN', []],
    [HTTP, undefined, 'modern', 'PROTOCOL_ERA_MODERN', []],
    [HTTP, 'modern', 'legacy', 'PROTOCOL_ERA_LEGACY', []],
    [HTTP, 'modern', 'auto', 'PROTOCOL_ERA_AUTO', []], // the annotation is the most specific, auto included
    [HTTP, 'legacy', ' Modern\n', 'PROTOCOL_ERA_MODERN', []], // trimmed, any case
    [HTTP, 'modern', 'modrn', 'PROTOCOL_ERA_AUTO', ['InvalidAnnotation']], // invalid: auto, not the entry's setting
    [HTTP, 'legacy', '', 'PROTOCOL_ERA_AUTO', ['InvalidAnnotation']],
    ['PROTOCOL_SSE', undefined, undefined, 'PROTOCOL_ERA_LEGACY', []],
    ['PROTOCOL_SSE', 'auto', 'legacy', 'PROTOCOL_ERA_LEGACY', []],
    ['PROTOCOL_SSE', 'modern', undefined, 'PROTOCOL_ERA_LEGACY', ['UnsupportedProtocolEra']],
    ['PROTOCOL_SSE', 'modern', 'legacy', 'PROTOCOL_ERA_LEGACY', []], // the annotation settles it
    ['PROTOCOL_SSE', undefined, 'modern', 'PROTOCOL_ERA_LEGACY', ['UnsupportedProtocolEra']],
    ['PROTOCOL_SSE', 'modern', 'nope', 'PROTOCOL_ERA_LEGACY', ['InvalidAnnotation']], // auto after the invalid annotation: no era problem
    ['PROTOCOL_STDIO', undefined, undefined, 'PROTOCOL_ERA_LEGACY', []],
    ['PROTOCOL_STDIO', 'legacy', undefined, 'PROTOCOL_ERA_LEGACY', []],
    ['PROTOCOL_STDIO', 'modern', undefined, 'PROTOCOL_ERA_LEGACY', ['UnsupportedProtocolEra']],
  ];
  for (const [protocol, configured, annotation, era, reasons] of table) {
    const what = `${protocol} ${configured} ${JSON.stringify(annotation)}`;
    const resolved = resolveProtocolEra({ protocol, configured, annotation, what: 'target t (x)', service: 'Service ns/s' });
    assert.is(resolved.era, era, what);
    assert.equal(resolved.problems.map((p) => p.reason), reasons, what);
  }
  const invalid = resolveProtocolEra({ protocol: 'PROTOCOL_STREAMABLE_HTTP', configured: 'modern', annotation: 'modrn', what: 'target t (x)', service: 'Service ns/s' });
  assert.is(invalid.problems[0]!.message, 'Service ns/s: annotation mcpmux.dev/protocol-era ignored: "modrn" is not auto, legacy or modern (served with protocolEra auto)');
  const sse = resolveProtocolEra({ protocol: 'PROTOCOL_SSE', configured: undefined, annotation: 'modern', what: 'target t (x)' });
  assert.is(sse.problems[0]!.message, 'target t (x): annotation mcpmux.dev/protocol-era modern ignored: SSE targets speak MCP 2025-11-25 only (served as legacy)');
});

// ---- Through the translator ----

const BASE = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: tools}
spec: {gatewayClassName: mcpmux, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: tools}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: b}]}]}
`;

function objects(yaml: string): KubeObject[] {
  const { objects: parsed, errors } = parseManifests(yaml, 'test.yaml');
  assert.equal(errors, []);
  return parsed;
}

function state(yaml: string): ClusterState {
  return reduceAll(emptyState(), objects(`${BASE}---\n${yaml}`).map((object) => ({ type: 'upsert' as const, object })));
}

const OPTIONS = { gatewayClasses: ['mcpmux'], allowStdio: true };
const cache = new TranslateCache();

function eras(snapshot: Snapshot): Record<string, string> {
  return Object.fromEntries(snapshot.targets.map((t) => [t.name, t.protocolEra]));
}

function backendStatus(result: TranslateResult): string[] {
  const status = result.statuses.find((s) => s.kind === 'MCPBackend');
  return status!.conditions.filter((c) => c.type === 'ResolvedRefs').map((c) => `${c.status} ${c.reason}: ${c.message}`);
}

const service = (name: string, labels: string, annotations = '{}', appProtocol = 'mcpmux.dev/mcp'): string => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: tools, labels: ${labels}, annotations: ${annotations}}
spec: {ports: [{port: 80, appProtocol: ${appProtocol}}]}
`;

test('default auto; the backend field for static and selector targets; the Service annotation over it', () => {
  const result = translate(state(`
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: b, namespace: tools}
spec:
  targets:
  - selector: {matchLabels: {app: x}}
    protocolEra: modern
  - static: {name: plain, host: h, port: 80}
  - static: {name: pinned, host: h, port: 81}
    protocolEra: legacy
---
${service('selected', '{app: x}')}
---
${service('annotated', '{app: x}', '{mcpmux.dev/protocol-era: legacy}')}
`), OPTIONS, cache);
  assert.equal(eras(result.snapshots[0]!), {
    'annotated-80': 'PROTOCOL_ERA_LEGACY',
    pinned: 'PROTOCOL_ERA_LEGACY',
    plain: 'PROTOCOL_ERA_AUTO',
    'selected-80': 'PROTOCOL_ERA_MODERN',
  });
  assert.equal(backendStatus(result), ['True ResolvedRefs: 4 targets: annotated-80, pinned, plain, selected-80']);
});

test('an invalid annotation: auto for that Service, the backend says why (InvalidAnnotation)', () => {
  const result = translate(state(`
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: b, namespace: tools}
spec:
  targets:
  - selector: {matchLabels: {app: x}}
    protocolEra: legacy
---
${service('typo', '{app: x}', '{mcpmux.dev/protocol-era: stateless}')}
---
${service('fine', '{app: x}')}
`), OPTIONS, cache);
  assert.equal(eras(result.snapshots[0]!), { 'fine-80': 'PROTOCOL_ERA_LEGACY', 'typo-80': 'PROTOCOL_ERA_AUTO' });
  assert.equal(backendStatus(result), [
    'False InvalidAnnotation: Service tools/typo: annotation mcpmux.dev/protocol-era ignored: "stateless" is not auto, legacy or modern (served with protocolEra auto)',
  ]);
});

test('modern on SSE and stdio targets: served as legacy, reported (UnsupportedProtocolEra); the target stays', () => {
  const result = translate(state(`
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: b, namespace: tools}
spec:
  targets:
  - static: {name: events, host: h, port: 80, protocol: SSE}
    protocolEra: modern
  - static: {name: dev, protocol: stdio, command: srv}
    protocolEra: modern
  - selector: {matchLabels: {app: x}}
---
${service('old', '{app: x}', '{mcpmux.dev/protocol-era: modern}', 'mcpmux.dev/mcp-sse')}
`), OPTIONS, cache);
  assert.equal(eras(result.snapshots[0]!), { dev: 'PROTOCOL_ERA_LEGACY', events: 'PROTOCOL_ERA_LEGACY', 'old-80': 'PROTOCOL_ERA_LEGACY' });
  const [resolvedRefs] = backendStatus(result);
  assert.ok(resolvedRefs!.startsWith('False UnsupportedProtocolEra: '), resolvedRefs);
  for (const part of [
    'target old-80 (Service/tools/old:80): annotation mcpmux.dev/protocol-era modern ignored: SSE targets speak MCP 2025-11-25 only (served as legacy)',
    'target events (MCPBackend/tools/b:80): protocolEra modern ignored: SSE targets speak MCP 2025-11-25 only (served as legacy)',
    'target dev (MCPBackend/tools/b): protocolEra modern ignored: stdio targets speak MCP 2025-11-25 only (served as legacy)',
  ]) {
    assert.ok(resolvedRefs!.includes(part), `missing "${part}" in ${resolvedRefs}`);
  }
});

test('a changed era is a new version; the same settings the same version', () => {
  const backend = (era: string): string => `
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: b, namespace: tools}
spec: {targets: [{static: {name: a, host: h, port: 80}, protocolEra: ${era}}]}
`;
  const version = (era: string): string => translate(state(backend(era)), OPTIONS, cache).snapshots[0]!.version;
  const versions = ['auto', 'legacy', 'modern'].map(version);
  assert.is(new Set(versions).size, 3, versions.join(' '));
  assert.is(version('modern'), versions[2]);
});

test('incremental: a Service that another selector entry picks up after a namespace label change takes that entry\'s era', () => {
  // Entry 0 (modern) selects app=x in namespaces labelled fast=yes; entry 1 (no era) app=x in the
  // backend's own namespace. The Service, its port and its slices never change: only which entry
  // selects it first does, so the target built earlier must not be reused as it was.
  const yaml = (fast: boolean): string => `
apiVersion: v1
kind: Namespace
metadata: {name: tools, labels: {fast: "${fast ? 'yes' : 'no'}"}}
---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: b, namespace: tools}
spec:
  targets:
  - selector: {matchLabels: {app: x}, namespaceSelector: {matchLabels: {fast: "yes"}}}
    protocolEra: modern
  - selector: {matchLabels: {app: x}}
---
${service('s', '{app: x}')}
`;
  const before = state(yaml(false));
  const first = translate(before, OPTIONS, cache);
  assert.equal(eras(first.snapshots[0]!), { 's-80': 'PROTOCOL_ERA_AUTO' });
  const namespace = objects(yaml(true)).find((o) => o.kind === 'Namespace')!;
  const after = reduceAll(before, [{ type: 'upsert', object: { ...namespace, metadata: { ...namespace.metadata, resourceVersion: '2' } } }]);
  const second = translate(after, OPTIONS, cache);
  assert.equal(eras(second.snapshots[0]!), { 's-80': 'PROTOCOL_ERA_MODERN' });
  assert.equal(JSON.stringify(second), JSON.stringify(translate(state(yaml(true)), OPTIONS, new TranslateCache())), 'the same as a translation from scratch');
  assert.is.not(second.snapshots[0]!.version, first.snapshots[0]!.version);
});

test.run();
