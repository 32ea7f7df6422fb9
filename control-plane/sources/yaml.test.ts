import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatManifestError, parseManifests } from './yaml.ts';

test('the tutorial manifests parse into their eight objects, namespaces kept', () => {
  const text = readFileSync(new URL('../../deploy/examples/tutorial/tutorial.yaml', import.meta.url), 'utf8');
  const { objects, errors } = parseManifests(text, 'tutorial.yaml');
  assert.equal(errors, []);
  assert.equal(objects.map((o) => o.kind), ['Gateway', 'Deployment', 'Service', 'ConfigMap', 'Deployment', 'Service', 'AgentgatewayBackend', 'HTTPRoute']);
  assert.ok(objects.every((o) => o.metadata.namespace === 'agentgateway-system'));
});

test('empty documents are skipped; a missing namespace is "default" except for cluster-scoped kinds', () => {
  const text = ['---', '# nothing', '---', 'apiVersion: v1', 'kind: Service', 'metadata: {name: a}', '---', '---',
    'apiVersion: gateway.networking.k8s.io/v1', 'kind: GatewayClass', 'metadata: {name: mcpmux}', ''].join('\n');
  const { objects, errors } = parseManifests(text, 'f.yaml');
  assert.equal(errors, []);
  assert.equal(objects.map((o) => [o.kind, o.metadata.namespace]), [['Service', 'default'], ['GatewayClass', undefined]]);
  assert.not.ok('namespace' in objects[1]!.metadata);
});

test('a syntax error names the file and its line', () => {
  const text = ['apiVersion: v1', 'kind: Service', 'metadata: {name: a}', '---', 'apiVersion: v1', 'kind: Service', 'metadata:', '  name: [b', '  x: y', ''].join('\n');
  const { objects, errors } = parseManifests(text, 'dir/bad.yaml');
  assert.is(objects.length, 1);
  assert.ok(errors.length >= 1);
  assert.is(errors[0]!.file, 'dir/bad.yaml');
  assert.ok(errors[0]!.line >= 8 && errors[0]!.line <= 9, `line ${errors[0]!.line}`);
  assert.match(formatManifestError(errors[0]!), /^dir\/bad\.yaml:\d+: /);
});

test('objects missing apiVersion, kind or metadata.name are errors at the document line', () => {
  const text = ['kind: Service', 'metadata: {name: a}', '---', 'apiVersion: v1', 'metadata: {name: b}', '---', 'apiVersion: v1', 'kind: Service',
    'metadata: {namespace: x}', '---', '- a list', '---', 'apiVersion: v1', 'kind: Service', 'metadata:', '  name: c', '  labels: {on: true}', ''].join('\n');
  const { objects, errors } = parseManifests(text, 'f.yaml');
  assert.is(objects.length, 0);
  assert.equal(errors.map((e) => [e.line, e.message]), [
    [1, 'object has no apiVersion'],
    [4, 'object has no kind'],
    [7, 'Service has no metadata.name'],
    [11, 'a document must be a mapping (a Kubernetes object)'],
    [13, 'Service c: metadata.labels must map strings to strings (quote values like "true")'],
  ]);
});

test('a duplicate key is an error, not a silent overwrite', () => {
  const { errors } = parseManifests('apiVersion: v1\nkind: Service\nkind: ConfigMap\nmetadata: {name: a}\n', 'f.yaml');
  assert.is(errors.length, 1);
  assert.is(errors[0]!.line, 3);
});

test('a kind: List is expanded into its items', () => {
  const text = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}\n';
  const { objects, errors } = parseManifests(text, 'f.yaml');
  assert.equal(errors, []);
  assert.equal(objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['default/a', 'x/b']);
});

test('an alias to no anchor is an error with its line, not an exception (found by the fuzzer)', () => {
  const { objects, errors } = parseManifests('apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n*nowhere\n', 'f.yaml');
  assert.is(objects.length, 1);
  assert.is(errors.length, 1);
  assert.is(errors[0]!.line, 5);
  assert.match(errors[0]!.message, /alias/i);
});

test.run();
