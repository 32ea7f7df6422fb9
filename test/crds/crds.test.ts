// The CRDs of deploy/crds without a cluster: they parse, their schemas are structural and documented,
// the tutorial's and the examples' backends validate against them, broken objects fail at the field
// at fault, and the schemas agree with the translator (control-plane/translate/backends.ts) on every
// backend object the translator's golden cases hold. CEL rules are listed here and evaluated by
// crds.apiserver.test.ts, against a real kube-apiserver.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../../control-plane/sources/source.ts';
import { readBackend } from '../../control-plane/translate/backends.ts';
import { AGENTGATEWAY_GROUP, MCPMUX_GROUP } from '../../control-plane/translate/kinds.ts';
import {
  AGENTGATEWAY_BACKEND_CRD,
  MCPBACKEND_CRD,
  celRules,
  exampleBackends,
  loadCrd,
  schemaOf,
  structuralProblems,
  translatorTestdataBackends,
  type Crd,
  type KubeDoc,
  type Schema,
} from './schema-check.ts';
import { SchemaValidator } from './schema-validate.ts';
import { ANNOTATION_ONLY_REJECTIONS, INVALID_SAMPLES, VALID_SAMPLES } from './samples.ts';

const crds: Record<string, Crd> = {
  MCPBackend: loadCrd(MCPBACKEND_CRD),
  AgentgatewayBackend: loadCrd(AGENTGATEWAY_BACKEND_CRD),
};

// One validator for the file: ajv compiles each CRD's schema once, on first use.
const validator = new SchemaValidator();
const validate = (schema: Schema, value: unknown): string[] => validator.validate(schema, value);

function schemaFor(object: KubeDoc): Schema {
  const crd = crds[object.kind];
  if (!crd) throw new Error(`no CRD for kind ${object.kind}`);
  assert.is(object.apiVersion, `${crd.spec.group}/${crd.spec.versions[0]!.name}`, `${object.metadata.name}: apiVersion`);
  return schemaOf(crd);
}

/** What the translator says of the object: undefined when it accepts it, else its message. */
function translatorProblem(object: KubeDoc): string | undefined {
  const read = readBackend(object as KubeObject);
  return typeof read === 'string' ? read : undefined;
}

test('the CRDs name the groups, kinds and plurals the control plane watches', () => {
  const expected = [
    ['MCPBackend', 'mcpbackends.mcpmux.dev', MCPMUX_GROUP, 'mcpbackends', 'mcpb'],
    ['AgentgatewayBackend', 'agentgatewaybackends.agentgateway.dev', AGENTGATEWAY_GROUP, 'agentgatewaybackends', 'agbe'],
  ] as const;
  for (const [kind, name, group, plural, shortName] of expected) {
    const crd = crds[kind]!;
    assert.is(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.is(crd.kind, 'CustomResourceDefinition');
    assert.is(crd.metadata.name, name);
    assert.is(crd.spec.group, group);
    assert.is(crd.spec.scope, 'Namespaced');
    assert.equal(
      { kind: crd.spec.names.kind, plural: crd.spec.names.plural, singular: crd.spec.names.singular, listKind: crd.spec.names.listKind },
      { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
    );
    assert.ok(crd.spec.names.shortNames?.includes(shortName), `${kind}: short name ${shortName}`);
    assert.ok(crd.spec.names.categories?.includes(kind === 'MCPBackend' ? 'mcpmux' : 'agentgateway'), `${kind}: category`);
    assert.is(crd.spec.versions.length, 1);
    const [version] = crd.spec.versions;
    assert.equal([version!.name, version!.served, version!.storage], ['v1alpha1', true, true]);
    assert.equal(version!.subresources, { status: {} }, `${kind}: status subresource`);
  }
});

test('printer columns: targets, Accepted and age', () => {
  const columns = (kind: string): string[] => (crds[kind]!.spec.versions[0]!.additionalPrinterColumns ?? []).filter((c) => !c.priority).map((c) => `${c.name}=${c.jsonPath}`);
  assert.equal(columns('MCPBackend'), [
    'Targets=.status.targets',
    'Accepted=.status.conditions[?(@.type=="Accepted")].status',
    'Age=.metadata.creationTimestamp',
  ]);
  // As agentgateway's own CRD shows them.
  assert.equal(columns('AgentgatewayBackend'), ['Accepted=.status.conditions[?(@.type=="Accepted")].status', 'Age=.metadata.creationTimestamp']);
  for (const crd of Object.values(crds)) {
    for (const column of crd.spec.versions[0]!.additionalPrinterColumns ?? []) {
      assert.ok(['integer', 'number', 'string', 'boolean', 'date'].includes(column.type), `${column.name}: type ${column.type}`);
      assert.ok(column.description, `${column.name}: description`);
      // Every column reads a field the schema has.
      const field = /^\.(\w+)\.(\w+)/.exec(column.jsonPath);
      assert.ok(field, column.jsonPath);
      if (field[1] !== 'metadata') assert.ok(schemaOf(crd).properties?.[field[1]!]?.properties?.[field[2]!], `${crd.spec.names.kind}: ${column.jsonPath} is not in the schema`);
    }
  }
});

test('the schemas are structural, and every field is described', () => {
  for (const [kind, crd] of Object.entries(crds)) assert.equal(structuralProblems(schemaOf(crd)), [], kind);
});

test('the structural checker catches what kube-apiserver refuses', () => {
  const bad: Schema = {
    type: 'object',
    description: 'root',
    properties: {
      untyped: { description: 'no type' },
      both: { type: 'object', description: 'both', properties: { a: { type: 'string', description: 'a' } }, additionalProperties: { type: 'string', description: 'v' } },
      bare: { type: 'object', description: 'keeps nothing' },
      list: { type: 'array', description: 'no items' },
      undocumented: { type: 'string' },
      ref: { type: 'string', description: 'ref', $ref: '#/definitions/x' },
      look: { type: 'string', description: 'lookahead', pattern: '^(?!x)' },
      map: { type: 'array', description: 'map list', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'], items: { type: 'object', description: 'i', properties: { k: { type: 'string', description: 'k' } } } },
      cel: { type: 'object', description: 'cel', properties: { a: { type: 'string', description: 'a' } }, 'x-kubernetes-validations': [{ rule: 'true', fieldPath: '.b' }] },
    },
    required: ['missing'],
  };
  const problems = structuralProblems(bad).join('\n');
  for (const expected of [
    /untyped: needs a type/, /both: properties and additionalProperties are mutually exclusive/, /bare: an object without properties/,
    /list: an array needs a single items schema/, /undocumented: needs a description/, /ref: keyword \$ref is not allowed/,
    /look: pattern .* lookaround/, /map: map key k must be required/, /cel: x-kubernetes-validations\[0\]: needs a message/,
    /cel: x-kubernetes-validations\[0\]: fieldPath \.b is not a property/, /<root>: required field missing is not in properties/,
  ]) {
    assert.match(problems, expected);
  }
});

test('the validator: types, bounds, patterns, unknown fields, nulls, preserved fields', () => {
  const schema: Schema = {
    type: 'object',
    description: 'd',
    required: ['n'],
    properties: {
      n: { type: 'integer', description: 'd', minimum: 1, maximum: 3 },
      s: { type: 'string', description: 'd', pattern: '^[a-z]+$', maxLength: 3 },
      e: { type: 'string', description: 'Colour.', enum: ['red'] },
      l: { type: 'array', description: 'd', maxItems: 1, items: { type: 'string', description: 'd' } },
      m: { type: 'object', description: 'd', additionalProperties: { type: 'string', description: 'd' } },
      keep: { type: 'object', description: 'd', 'x-kubernetes-preserve-unknown-fields': true },
      opt: { type: 'string', description: 'd', nullable: true },
    },
  };
  assert.equal(validate(schema, { n: 2, s: 'ab', e: 'red', l: ['x'], m: { a: 'b' }, keep: { any: [1, { deep: true }] }, opt: null }), []);
  assert.equal(validate(schema, { n: 2, s: null }), [], 'a null field that is not nullable is pruned');
  assert.equal(validate(schema, { n: null }), ['n: required (d)'], 'pruned, then missing');
  assert.equal(validate(schema, {
    n: 4, s: 'ABCD', e: 'blue', l: ['x', 7], m: { a: true }, extra: 1,
  }), [
    'n: must be at most 3, not 4 (d)',
    's: must be at most 3 characters, not 4',
    's: "ABCD" does not match ^[a-z]+$ (d)',
    'e: "blue" is not one of "red" (Colour.)',
    'l: takes at most 1 items, has 2',
    'l[1]: must be a string, not number (quote it)',
    'm.a: must be a string, not boolean (quote it)',
    'extra: unknown field (the object has n, s, e, l, m, keep, opt)',
  ]);
  assert.equal(validate(schema, { n: 1.5 }), ['n: must be an integer, not a fraction']);
  assert.equal(validate(schema, []), ['<root>: must be an object, not array']);
});

/** The tutorial's AgentgatewayBackend as the tutorial writes it (Step 5): what the CRD must accept unchanged. */
const TUTORIAL_BACKEND = {
  apiVersion: 'agentgateway.dev/v1alpha1',
  kind: 'AgentgatewayBackend',
  metadata: { name: 'mcp-federated', namespace: 'agentgateway-system' },
  spec: { mcp: { targets: [{ name: 'mcp-servers', selector: { services: { matchLabels: { 'mcp-federation': 'true' } } } }] } },
};

test('the tutorial\'s AgentgatewayBackend validates unchanged, and so does every backend of deploy/examples', () => {
  const examples = exampleBackends();
  assert.ok(examples.length > 1, `deploy/examples holds ${examples.length} backends`);
  const tutorial = examples.filter((found) => found.source.startsWith('deploy/examples/tutorial/'));
  assert.equal(tutorial.map((found) => found.source), ['deploy/examples/tutorial/tutorial.yaml#7']);
  assert.equal(tutorial[0]!.object, TUTORIAL_BACKEND, 'deploy/examples/tutorial/tutorial.yaml holds the tutorial\'s backend unchanged');
  for (const { source, object } of examples) {
    assert.equal(validate(schemaFor(object), object), [], source);
    assert.is(translatorProblem(object), undefined, `${source}: the translator accepts it too`);
  }
});

test('valid samples validate, and the translator accepts them (or says why not)', () => {
  for (const { object, translatorRejects } of VALID_SAMPLES) {
    const name = `${object.kind}/${object.metadata.name}`;
    assert.equal(validate(schemaFor(object), object), [], name);
    const problem = translatorProblem(object);
    if (translatorRejects) assert.ok(problem && translatorRejects.startsWith(problem.split(':')[0]!), `${name}: translator says ${problem}`);
    else assert.is(problem, undefined, `${name}: translator says ${problem}`);
  }
});

test('invalid samples fail at the field at fault (CEL-only ones are left to kube-apiserver)', () => {
  const rules = Object.fromEntries(Object.entries(crds).map(([kind, crd]) => [kind, celRules(schemaOf(crd))]));
  for (const sample of INVALID_SAMPLES) {
    const { object, at, cel, why } = sample;
    const errors = validate(schemaFor(object), object);
    if (cel) {
      // Structurally fine: the CEL rule with this message is what rejects it.
      assert.equal(errors, [], `${why}: only CEL should reject it`);
      assert.ok(rules[object.kind]!.some((rule) => rule.message.startsWith(cel)), `${why}: no CEL rule says "${cel}"`);
    } else {
      assert.ok(errors.length > 0, `${why}: accepted`);
      assert.ok(errors.some((error) => error.startsWith(`${at}: `)), `${why}: expected an error at ${at}, got:\n  ${errors.join('\n  ')}`);
    }
  }
});

test('the CRDs never reject what the translator accepts, and reject what it rejects', () => {
  for (const sample of INVALID_SAMPLES) {
    const problem = translatorProblem(sample.object);
    if (sample.translatorAccepts) assert.is(problem, undefined, `${sample.why}: marked as accepted by the translator`);
    else assert.ok(problem, `${sample.why}: the CRD rejects it, so must the translator`);
  }
  // The translator's golden cases, valid and invalid ones. Objects it accepts must validate; objects
  // that fail validation must be ones it rejects. (Rejections by a CEL rule are checked by the
  // kube-apiserver test; rejections for a bad annotation are beyond any schema.)
  const found = translatorTestdataBackends();
  assert.ok(found.length >= 20, `only ${found.length} backends found in the translator's testdata`);
  let accepted = 0;
  let rejectedByBoth = 0;
  for (const { source, object } of found) {
    const errors = validate(schemaFor(object), object);
    const problem = translatorProblem(object);
    if (problem === undefined) {
      accepted++;
      assert.equal(errors, [], `${source} (${object.metadata.name}): the translator accepts it`);
    } else if (errors.length > 0) {
      rejectedByBoth++;
    }
  }
  assert.ok(accepted >= 15 && rejectedByBoth >= 4, `accepted ${accepted}, rejected by both ${rejectedByBoth}`);
  const names = new Set(found.map((f) => f.object.metadata.name));
  for (const name of ANNOTATION_ONLY_REJECTIONS) assert.ok(names.has(name), `testdata no longer has ${name}: update ANNOTATION_ONLY_REJECTIONS`);
});

test('CEL rules: listed, each with a message and a sample that breaks it', () => {
  for (const [kind, crd] of Object.entries(crds)) {
    const rules = celRules(schemaOf(crd));
    assert.ok(rules.length > 0, kind);
    for (const rule of rules) {
      const broken = INVALID_SAMPLES.filter((s) => s.object.kind === kind && s.cel && rule.message.startsWith(s.cel));
      assert.ok(broken.length > 0, `${kind} ${rule.path}: no invalid sample breaks "${rule.message}"`);
    }
    console.log(`${kind}: ${rules.length} CEL rules\n${rules.map((r) => `  ${r.path}${r.fieldPath ?? ''}: ${r.rule}`).join('\n')}`);
  }
});

test.run();
