// Test support for deploy/crds: loads the CRDs, checks that their schemas are structural (the rules
// kube-apiserver applies to apiextensions.k8s.io/v1), validates objects against an openAPIV3Schema
// with a small validator (the OpenAPI subset the CRDs use; CEL rules are listed, not evaluated), and
// holds the sample objects both crds.test.ts (no cluster) and crds.apiserver.test.ts (a real
// kube-apiserver, which does evaluate the CEL rules) check.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

// ---------------------------------------------------------------------------------------------
// Files

export const CRDS_DIR = fileURLToPath(new URL('../../deploy/crds/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MCPBACKEND_CRD = join(CRDS_DIR, 'mcpbackend.yaml');
export const AGENTGATEWAY_BACKEND_CRD = join(CRDS_DIR, 'compat', 'agentgatewaybackend.yaml');
export const EXAMPLES_DIR = join(REPO_ROOT, 'deploy', 'examples');
export const TRANSLATOR_TESTDATA_DIR = join(REPO_ROOT, 'control-plane', 'translate', 'testdata');
/** The tutorial's manifests in the team handbook, next to the repository; absent in a bare checkout. */
export const SEED_MANIFESTS = join(REPO_ROOT, '..', 'shared', 'reference', 'seed-manifests.yaml');

// ---------------------------------------------------------------------------------------------
// Types

/** The part of OpenAPI v3 a CRD's structural schema may use. */
export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-validations'?: CelValidation[];
  [keyword: string]: unknown;
}

export interface CelValidation {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
  optionalOldSelf?: boolean;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: Record<string, never>; scale?: unknown };
  additionalPrinterColumns?: PrinterColumn[];
  schema: { openAPIV3Schema: Schema };
}

export interface Crd {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: CrdVersion[];
  };
}

/** A Kubernetes object as read from YAML. */
export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** An object and where it came from ("deploy/examples/tutorial/tutorial.yaml#3"). */
export interface Found {
  source: string;
  object: KubeDoc;
}

// ---------------------------------------------------------------------------------------------
// Reading YAML

/** Every document of a multi-document YAML text, as plain data; throws on a YAML error. */
export function parseDocuments(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const out: unknown[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export function loadCrd(file: string): Crd {
  const docs = parseDocuments(readFileSync(file, 'utf8'), file);
  if (docs.length !== 1) throw new Error(`${file}: expected one CustomResourceDefinition, found ${docs.length} documents`);
  return { file, ...(docs[0] as Omit<Crd, 'file'>) };
}

/** The openAPIV3Schema of the CRD's only version. */
export function schemaOf(crd: Crd): Schema {
  const [version] = crd.spec.versions;
  if (!version || crd.spec.versions.length !== 1) throw new Error(`${crd.file}: expected exactly one version`);
  return version.schema.openAPIV3Schema;
}

export const BACKEND_KINDS: Readonly<Record<string, string>> = {
  MCPBackend: 'mcpmux.dev/v1alpha1',
  AgentgatewayBackend: 'agentgateway.dev/v1alpha1',
};

function isBackend(value: unknown): value is KubeDoc {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, apiVersion } = value as { kind?: unknown; apiVersion?: unknown };
  return typeof kind === 'string' && Object.hasOwn(BACKEND_KINDS, kind) && BACKEND_KINDS[kind] === apiVersion;
}

/** The MCPBackend and AgentgatewayBackend objects of a YAML text (a translator golden case: its input part). */
export function backendsIn(text: string, source: string): Found[] {
  const input = text.split(/^# Output[ \t]*$/m)[0]!;
  return parseDocuments(input, source)
    .map((object, i) => ({ source: `${source}#${i + 1}`, object }))
    .filter((found): found is Found => isBackend(found.object));
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) files.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry)) files.push(path);
  }
  return files;
}

function backendsInFiles(files: readonly string[]): Found[] {
  return files.flatMap((file) => backendsIn(readFileSync(file, 'utf8'), relative(REPO_ROOT, file)));
}

/** Backend objects of deploy/examples/**\/*.yaml. */
export function exampleBackends(): Found[] {
  return backendsInFiles(yamlFiles(EXAMPLES_DIR));
}

/** Backend objects of the tutorial's seed manifests; empty when the handbook is not next to the repository. */
export function seedBackends(): Found[] {
  return existsSync(SEED_MANIFESTS) ? backendsIn(readFileSync(SEED_MANIFESTS, 'utf8'), 'reference/seed-manifests.yaml') : [];
}

/** Backend objects of the translator's golden cases (valid and invalid ones alike). */
export function translatorTestdataBackends(): Found[] {
  return backendsInFiles(yamlFiles(TRANSLATOR_TESTDATA_DIR));
}

// ---------------------------------------------------------------------------------------------
// Structural schema checks

/** Keywords a structural schema may use (v1 CRDs reject $ref, patternProperties, uniqueItems, ...). */
const KEYWORDS = new Set([
  'type', 'description', 'title', 'properties', 'required', 'items', 'additionalProperties', 'enum', 'pattern', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'nullable', 'default', 'example',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-validations', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const CEL_KEYS = new Set(['rule', 'message', 'messageExpression', 'reason', 'fieldPath', 'optionalOldSelf']);
const CEL_REASONS = new Set(['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate']);

/**
 * Why the schema is not structural (or not up to our own rules: a description on every node but the
 * root's metadata, patterns that mean the same to Go's RE2 and to JavaScript); empty when it is.
 */
export function structuralProblems(root: Schema): string[] {
  const problems: string[] = [];
  const walk = (node: Schema, path: string, isRootMetadata: boolean): void => {
    const at = path || '<root>';
    for (const key of Object.keys(node)) if (!KEYWORDS.has(key)) problems.push(`${at}: keyword ${key} is not allowed in a structural schema`);
    if (isRootMetadata) {
      if (node.type !== 'object') problems.push(`${at}: must be type: object`);
      const extra = Object.keys(node).filter((k) => k !== 'type' && k !== 'description');
      if (extra.length > 0) problems.push(`${at}: only name and generateName of metadata may be restricted (found ${extra.join(', ')})`);
      return;
    }
    if (typeof node.type !== 'string' || !TYPES.has(node.type)) problems.push(`${at}: needs a type (object, array, string, integer, number or boolean)`);
    if (typeof node.description !== 'string' || node.description.trim() === '') problems.push(`${at}: needs a description (it is what kubectl explain shows)`);
    if (node.properties && node.additionalProperties !== undefined) problems.push(`${at}: properties and additionalProperties are mutually exclusive`);
    if (typeof node.additionalProperties === 'boolean') problems.push(`${at}: additionalProperties must be a schema`);
    if (node.type === 'object') {
      if (!node.properties && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
        problems.push(`${at}: an object without properties, additionalProperties or x-kubernetes-preserve-unknown-fields keeps nothing (unknown fields are pruned)`);
      }
      for (const name of node.required ?? []) {
        if (!node.properties || !Object.hasOwn(node.properties, name)) problems.push(`${at}: required field ${name} is not in properties`);
      }
    } else {
      for (const key of ['properties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'x-kubernetes-map-type'] as const) {
        if (node[key] !== undefined) problems.push(`${at}: ${key} needs type: object`);
      }
    }
    if (node.type === 'array') {
      if (!node.items || typeof node.items !== 'object' || Array.isArray(node.items)) problems.push(`${at}: an array needs a single items schema`);
      const listType = node['x-kubernetes-list-type'];
      if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType)) problems.push(`${at}: x-kubernetes-list-type must be atomic, set or map`);
      if (listType === 'map') {
        const keys = node['x-kubernetes-list-map-keys'] ?? [];
        if (keys.length === 0) problems.push(`${at}: a map list needs x-kubernetes-list-map-keys`);
        for (const key of keys) {
          const item = node.items;
          if (item?.type !== 'object' || !item.properties?.[key]) problems.push(`${at}: map key ${key} is not a property of the items`);
          else if (!(item.required ?? []).includes(key) && item.properties[key]!.default === undefined) problems.push(`${at}: map key ${key} must be required or defaulted`);
        }
      } else if (node['x-kubernetes-list-map-keys'] !== undefined) {
        problems.push(`${at}: x-kubernetes-list-map-keys needs x-kubernetes-list-type: map`);
      }
    } else {
      for (const key of ['items', 'minItems', 'maxItems', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys'] as const) {
        if (node[key] !== undefined) problems.push(`${at}: ${key} needs type: array`);
      }
    }
    if (node.type !== 'string') {
      for (const key of ['pattern', 'minLength', 'maxLength'] as const) if (node[key] !== undefined) problems.push(`${at}: ${key} needs type: string`);
    }
    if (node.pattern !== undefined) {
      // Go's RE2 has no lookaround or backreferences; JavaScript reads them: keep to what both mean alike.
      if (/\(\?[=!<]|\\[1-9]/.test(node.pattern)) problems.push(`${at}: pattern ${node.pattern} uses lookaround or backreferences (RE2 has neither)`);
      try {
        new RegExp(node.pattern, 'u');
      } catch (error) {
        problems.push(`${at}: pattern does not compile: ${(error as Error).message}`);
      }
    }
    for (const value of node.enum ?? []) {
      const problem = typeProblem(node.type, value);
      if (problem) problems.push(`${at}: enum value ${JSON.stringify(value)} ${problem}`);
    }
    for (const [i, validation] of (node['x-kubernetes-validations'] ?? []).entries()) {
      const where = `${at}: x-kubernetes-validations[${i}]`;
      for (const key of Object.keys(validation)) if (!CEL_KEYS.has(key)) problems.push(`${where}: unknown key ${key}`);
      if (typeof validation.rule !== 'string' || validation.rule.trim() === '') problems.push(`${where}: needs a rule`);
      if (typeof validation.message !== 'string' || validation.message.trim() === '') problems.push(`${where}: needs a message (what kubectl prints)`);
      if (validation.reason !== undefined && !CEL_REASONS.has(validation.reason)) problems.push(`${where}: reason ${validation.reason} is not one of ${[...CEL_REASONS].join(', ')}`);
      if (validation.fieldPath !== undefined) {
        const field = /^\.([A-Za-z0-9_]+)$/.exec(validation.fieldPath)?.[1];
        if (!field || !node.properties?.[field]) problems.push(`${where}: fieldPath ${validation.fieldPath} is not a property of this object`);
      }
    }
    for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, path ? `${path}.${name}` : name, path === '' && name === 'metadata');
    if (node.items && typeof node.items === 'object') walk(node.items, `${at}[*]`, false);
    if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${at}[*]`, false);
  };
  walk(root, '', false);
  if (root.type !== 'object') problems.push('<root>: must be type: object');
  return problems;
}

export interface CelRule {
  /** The schema node the rule sits on: "spec.targets[*].static". */
  path: string;
  rule: string;
  message: string;
  fieldPath?: string;
}

/** Every CEL rule of a schema, in schema order. The real-apiserver test makes sure each one rejects something. */
export function celRules(root: Schema): CelRule[] {
  const rules: CelRule[] = [];
  const walk = (node: Schema, path: string): void => {
    for (const v of node['x-kubernetes-validations'] ?? []) {
      const rule: CelRule = { path: path || '<root>', rule: v.rule, message: v.message ?? '' };
      if (v.fieldPath) rule.fieldPath = v.fieldPath;
      rules.push(rule);
    }
    for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, path ? `${path}.${name}` : name);
    if (node.items) walk(node.items, `${path}[*]`);
    if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}[*]`);
  };
  walk(root, '');
  return rules;
}

// ---------------------------------------------------------------------------------------------
// Validation

function typeProblem(type: string | undefined, value: unknown): string | undefined {
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  switch (type) {
    case 'object':
      return actual === 'object' ? undefined : `must be an object, not ${actual}`;
    case 'array':
      return actual === 'array' ? undefined : `must be a list, not ${actual}`;
    case 'string':
      return actual === 'string' ? undefined : `must be a string, not ${actual}${actual === 'number' || actual === 'boolean' ? ' (quote it)' : ''}`;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? undefined : `must be an integer, not ${actual === 'number' ? 'a fraction' : actual}`;
    case 'number':
      return actual === 'number' ? undefined : `must be a number, not ${actual}`;
    case 'boolean':
      return actual === 'boolean' ? undefined : `must be a boolean, not ${actual}`;
    default:
      return undefined;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The first sentence of a node's description, to say what was expected. */
function hint(node: Schema): string {
  const text = node.description?.replace(/\s+/g, ' ').trim();
  if (!text) return '';
  const sentence = /^.*?[.](?= |$)/.exec(text)?.[0] ?? text;
  return ` (${sentence.length > 160 ? `${sentence.slice(0, 159)}…` : sentence})`;
}

const child = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/**
 * Problems of `value` against `schema`, each "path: message" with the path as kubectl prints it
 * ("spec.targets[0].static.port"). Like kube-apiserver: a null field that is not nullable is
 * dropped (pruned) before validation, and, as with kubectl's strict field validation, a field the
 * schema does not declare is an error unless x-kubernetes-preserve-unknown-fields keeps it.
 * CEL rules (x-kubernetes-validations) are not evaluated: see celRules().
 */
export function validate(schema: Schema, value: unknown, path = ''): string[] {
  const errors: string[] = [];
  const at = path || '<root>';
  if (value === null && schema.nullable) return errors;
  const problem = typeProblem(schema.type, value);
  if (problem) return [`${at}: ${problem}`];

  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}${hint(schema)}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length; // characters, as Go counts runes
    if (schema.minLength !== undefined && length < schema.minLength) errors.push(`${at}: must be at least ${schema.minLength} characters${schema.minLength === 1 ? ' (not empty)' : ''}`);
    if (schema.maxLength !== undefined && length > schema.maxLength) errors.push(`${at}: must be at most ${schema.maxLength} characters, not ${length}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(`${at}: ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} does not match ${schema.pattern}${hint(schema)}`);
    }
    if (schema.format === 'date-time' && !RFC3339.test(value)) errors.push(`${at}: ${JSON.stringify(value)} is not an RFC 3339 date-time`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: must be at least ${schema.minimum}, not ${value}${hint(schema)}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: must be at most ${schema.maximum}, not ${value}${hint(schema)}`);
    if (schema.format === 'int32' && (value < -(2 ** 31) || value > 2 ** 31 - 1)) errors.push(`${at}: ${value} does not fit in an int32`);
    if (schema.format === 'int64' && !Number.isSafeInteger(value)) errors.push(`${at}: ${value} is not a 64-bit integer JavaScript can hold exactly`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: needs at least ${schema.minItems} items, has ${value.length}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: takes at most ${schema.maxItems} items, has ${value.length}`);
    if (schema.items) for (const [i, item] of value.entries()) errors.push(...validate(schema.items, item, `${path}[${i}]`));
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = listType === 'set' ? value.map((item) => JSON.stringify(item)) : value.map((item) => JSON.stringify((schema['x-kubernetes-list-map-keys'] ?? []).map((k) => (item as Record<string, unknown>)?.[k])));
      const seen = new Set<string>();
      for (const [i, key] of keys.entries()) {
        if (seen.has(key)) errors.push(`${path}[${i}]: duplicate ${listType === 'set' ? 'value' : 'key'} ${key}`);
        seen.add(key);
      }
    }
  }
  if (schema.type === 'object' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const fields = value as Record<string, unknown>;
    const present = Object.keys(fields).filter((key) => !(fields[key] === null && !(schema.properties?.[key] ?? (schema.additionalProperties as Schema | undefined))?.nullable));
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    for (const key of present) {
      const declared = schema.properties?.[key];
      if (declared) errors.push(...validate(declared, fields[key], child(path, key)));
      else if (additional) errors.push(...validate(additional, fields[key], child(path, key)));
      else if (!preserve && !(path === 'metadata')) {
        const known = Object.keys(schema.properties ?? {});
        errors.push(`${child(path, key)}: unknown field${known.length > 0 ? ` (${at === '<root>' ? 'the object' : at} has ${known.join(', ')})` : ''}`);
      }
    }
    for (const key of schema.required ?? []) if (!present.includes(key)) errors.push(`${child(path, key)}: required${hint(schema.properties?.[key] ?? {})}`);
    if (schema.minProperties !== undefined && present.length < schema.minProperties) errors.push(`${at}: needs at least ${schema.minProperties} fields`);
    if (schema.maxProperties !== undefined && present.length > schema.maxProperties) errors.push(`${at}: takes at most ${schema.maxProperties} fields`);
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Samples, shared by crds.test.ts and crds.apiserver.test.ts

/** Namespace of every sample below (the apiserver test creates it). */
export const SAMPLE_NAMESPACE = 'crd-samples';

export const mcpBackend = (name: string, spec: unknown, annotations?: Record<string, string>): KubeDoc => ({
  apiVersion: 'mcpmux.dev/v1alpha1',
  kind: 'MCPBackend',
  metadata: { name, namespace: SAMPLE_NAMESPACE, ...(annotations ? { annotations } : {}) },
  spec,
});

export const agwBackend = (name: string, spec: unknown): KubeDoc => ({
  apiVersion: 'agentgateway.dev/v1alpha1',
  kind: 'AgentgatewayBackend',
  metadata: { name, namespace: SAMPLE_NAMESPACE },
  spec,
});

export interface ValidSample {
  object: KubeDoc;
  /** Set when mcpmux's translator rejects the object although the CRD accepts it, and why that is right. */
  translatorRejects?: string;
}

/** Objects both CRDs must accept: together they use every field of both schemas. */
export const VALID_SAMPLES: readonly ValidSample[] = [
  {
    object: mcpBackend('every-field', {
      targets: [
        { name: 'docs', selector: { matchLabels: { app: 'docs', 'mcp-federation': 'true' }, matchExpressions: [{ key: 'stage', operator: 'In', values: ['stable', 'canary'] }, { key: 'legacy', operator: 'DoesNotExist' }] } },
        { selector: { matchLabels: { mcp: 'true' }, namespaceSelector: { matchLabels: { team: 'weather' }, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }, { key: 'tier', operator: 'Exists', values: [] }] } } },
        { selector: {} },
        { static: { name: 'Weather_API', host: 'weather.example.com', port: 443, scheme: 'https', path: '/v2/mcp', protocol: 'StreamableHTTP' } },
        { name: 'legacy', static: { host: '10.0.0.9', port: 8000, protocol: 'SSE' } },
        { static: { name: 'plain', host: 'plain.tools.svc', port: 80, path: 'mcp', protocol: 'streamable-http', scheme: 'http' } },
        { static: { name: 'low', host: 'h', port: 1, protocol: 'sse' } },
        { static: { name: 'high', host: 'h', port: 65535, path: '' } },
      ],
      prefixMode: 'Conditional',
      failureMode: 'closed',
      timeouts: { request: '1m30s', initialize: '500ms' },
      tools: { include: ['forecast_*', 'alerts_get-?', 'forecast_*', 'admin.tools/list_*'], exclude: ['forecast_debug'] },
      serverInfo: { name: 'weather-gateway', version: '2.1.0' },
      instructions: 'Weather tools for the operations team.\nForecasts are in UTC.\n',
      upstreamAuth: { secretRef: { name: 'weather-token', key: 'token' }, header: 'X-Api-Key' },
    }),
  },
  { object: mcpBackend('minimal', { targets: [] }) },
  {
    object: mcpBackend('authenticated', {
      targets: [],
      authentication: {
        jwt: [
          { issuer: 'https://idp.example', audiences: ['mcpmux'], jwksUri: 'https://idp.example/.well-known/jwks.json' },
          { issuer: 'https://other.example', jwks: { secretRef: { name: 'other-jwks', key: 'jwks.json' } } },
        ],
        apiKeys: { secretRef: { name: 'api-keys' } },
      },
      authorization: {
        rules: [
          { name: 'ops', principals: { groups: ['ops'] } },
          { name: 'readers', principals: { scopes: ['mcp:read'], subjects: ['ci-bot'] }, targets: ['weather'], tools: ['echo_*'] },
          { name: 'no-deletes', effect: 'Deny', tools: ['*_delete*'] },
        ],
      },
    }),
  },
  { object: mcpBackend('modes-any-case', { targets: [], prefixMode: ' NEVER ', failureMode: 'OPEN', timeouts: { request: '0s', initialize: '1h1m1s1ms' } }) },
  { object: mcpBackend('longest-timeout', { targets: [], timeouts: { request: '1193h2m47s295ms', initialize: '71582m47s295ms' } }) },
  { object: mcpBackend('server-name-only', { targets: [], serverInfo: { name: 'Team tools' }, upstreamAuth: { secretRef: { name: 'a.b-c', key: 'API_KEY.v1' } } }) },
  {
    // The same field left empty (YAML `field:`): null, pruned by the apiserver, ignored by the translator.
    object: mcpBackend('nulls', { targets: [], tools: { include: null }, serverInfo: null, instructions: null }),
  },
  {
    object: mcpBackend('stdio', {
      targets: [
        { static: { name: 'everything', protocol: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything@2026.8.31', 'stdio'], env: { LOG_LEVEL: 'debug', EMPTY: '' }, cwd: '/tmp' } },
        { name: 'files', static: { protocol: 'STDIO', command: './bin/files-server' } },
        { static: { name: 'remote', host: '127.0.0.1', port: 3001 } },
      ],
    }),
  },
  {
    object: agwBackend('static-targets', {
      mcp: {
        targets: [
          { name: 'remote', static: { host: 'tools.example.com', port: 443, scheme: 'https', path: '/mcp', protocol: 'StreamableHTTP' } },
          // kgateway's older form: the name inside static, no entry name.
          { static: { name: 'legacy', host: 'legacy.example.com', port: 8080, protocol: 'SSE' } },
        ],
      },
    }),
  },
  {
    object: agwBackend('selector-everything', {
      mcp: {
        targets: [{
          name: 'all',
          selector: {
            services: { matchLabels: { 'mcp-federation': 'true' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
            namespaces: { matchLabels: { team: 'x' }, matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] },
          },
        }],
      },
    }),
  },
  {
    // agentgateway's newer fields: kept as written, not read by mcpmux.
    object: agwBackend('agentgateway-fields', {
      mcp: {
        prefixMode: 'Conditional',
        failureMode: 'FailOpen',
        sessionRouting: 'Stateless',
        targets: [{ name: 'remote', static: { host: 'tools.example.com', port: 443, policies: { tls: { sni: 'tools.example.com' } } } }],
      },
      policies: { mcp: { authorization: { action: 'Allow' } } },
    }),
  },
  {
    object: agwBackend('llm', { ai: { provider: { openai: { model: 'gpt-4o-mini' } } }, policies: { auth: { secretRef: { name: 'openai-secret' } } } }),
    translatorRejects: 'not an MCP backend: agentgateway manifests of other backend kinds must still apply (mcpmux reports them)',
  },
];

export interface InvalidSample {
  /** What is wrong, in a few words (the test's name). */
  why: string;
  object: KubeDoc;
  /**
   * The field path at fault, as kubectl prints it ("spec.targets[0].static.port"). The offline
   * validator must report an error at exactly this path, unless `cel` says only a CEL rule catches it;
   * kube-apiserver's answer must contain it either way.
   */
  at: string;
  /** The message of the CEL rule that rejects it (kube-apiserver only). */
  cel?: string;
  /** Set when mcpmux's translator accepts the object anyway, and why the CRD is right to refuse it. */
  translatorAccepts?: string;
}

/** Objects the CRDs must reject, each at one field path. */
export const INVALID_SAMPLES: readonly InvalidSample[] = [
  // MCPBackend: OpenAPI checks.
  { why: 'unknown protocol', object: mcpBackend('bad-protocol', { targets: [{ static: { name: 'a', host: 'h', port: 80, protocol: 'grpc' } }] }), at: 'spec.targets[0].static.protocol' },
  { why: 'port above 65535', object: mcpBackend('port-70000', { targets: [{ static: { name: 'a', host: 'h', port: 70000 } }] }), at: 'spec.targets[0].static.port' },
  { why: 'port 0', object: mcpBackend('port-0', { targets: [{ static: { name: 'a', host: 'h', port: 0 } }] }), at: 'spec.targets[0].static.port' },
  {
    why: 'quoted port',
    object: mcpBackend('quoted-port', { targets: [{ static: { name: 'a', host: 'h', port: '8080' } }] }),
    at: 'spec.targets[0].static.port',
    translatorAccepts: 'the files source reads a quoted port as a number; in the API a port is an integer, as everywhere in Kubernetes',
  },
  {
    why: 'unknown field at spec level',
    object: mcpBackend('unknown-spec-field', { targets: [], prefixmode: 'never' }),
    at: 'spec.prefixmode',
    translatorAccepts: 'the translator ignores fields it does not read; the apiserver rejects them (kubectl\'s strict field validation) or prunes them',
  },
  { why: 'misspelt tools.exclude', object: mcpBackend('misspelt-exclude', { targets: [], tools: { exlcude: ['a'] } }), at: 'spec.tools.exlcude' },
  { why: 'tool glob with a space', object: mcpBackend('glob-space', { targets: [], tools: { include: ['search_*', 'search_delete all'] } }), at: 'spec.tools.include[1]' },
  { why: 'empty tool glob', object: mcpBackend('glob-empty', { targets: [], tools: { exclude: [''] } }), at: 'spec.tools.exclude[0]' },
  { why: 'tool globs not a list', object: mcpBackend('glob-string', { targets: [], tools: { include: 'a,b' } }), at: 'spec.tools.include' },
  { why: 'unknown prefix mode', object: mcpBackend('prefix-sometimes', { targets: [], prefixMode: 'sometimes' }), at: 'spec.prefixMode' },
  { why: 'unknown failure mode', object: mcpBackend('failure-sometimes', { targets: [], failureMode: 'sometimes' }), at: 'spec.failureMode' },
  { why: 'fractional duration', object: mcpBackend('timeout-fraction', { targets: [], timeouts: { request: '1.5s' } }), at: 'spec.timeouts.request' },
  { why: 'duration without unit', object: mcpBackend('timeout-unitless', { targets: [], timeouts: { initialize: '10' } }), at: 'spec.timeouts.initialize' },
  { why: 'unquoted label value', object: mcpBackend('label-bool', { targets: [{ selector: { matchLabels: { on: true } } }] }), at: 'spec.targets[0].selector.matchLabels.on' },
  { why: 'unknown selector operator', object: mcpBackend('operator-equals', { targets: [{ selector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } }] }), at: 'spec.targets[0].selector.matchExpressions[0].operator' },
  { why: 'requirement without key', object: mcpBackend('requirement-no-key', { targets: [{ selector: { matchExpressions: [{ operator: 'Exists' }] } }] }), at: 'spec.targets[0].selector.matchExpressions[0].key' },
  { why: 'unknown scheme', object: mcpBackend('scheme-ftp', { targets: [{ static: { name: 'a', host: 'h', port: 21, scheme: 'ftp' } }] }), at: 'spec.targets[0].static.scheme' },
  { why: 'empty static name', object: mcpBackend('static-name-empty', { targets: [{ name: 'entry', static: { name: '', host: 'h', port: 80 } }] }), at: 'spec.targets[0].static.name' },
  { why: 'number in stdio args', object: mcpBackend('stdio-number-arg', { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'server', args: ['--port', 3001] } }] }), at: 'spec.targets[0].static.args[1]' },
  { why: 'number in stdio env', object: mcpBackend('stdio-number-env', { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'server', env: { PORT: 3001 } } }] }), at: 'spec.targets[0].static.env.PORT' },
  { why: 'blank stdio command', object: mcpBackend('stdio-blank-command', { targets: [{ static: { name: 'a', protocol: 'stdio', command: '  ' } }] }), at: 'spec.targets[0].static.command' },
  { why: 'unquoted serverInfo version', object: mcpBackend('version-number', { targets: [], serverInfo: { name: 'w', version: 1 } }), at: 'spec.serverInfo.version' },
  { why: 'unknown serverInfo field', object: mcpBackend('server-title', { targets: [], serverInfo: { name: 'w', title: 'W' } }), at: 'spec.serverInfo.title' },
  { why: 'two-line server name', object: mcpBackend('server-two-lines', { targets: [], serverInfo: { name: 'a\nb' } }), at: 'spec.serverInfo.name' },
  { why: 'blank server name', object: mcpBackend('server-blank', { targets: [], serverInfo: { name: '  ' } }), at: 'spec.serverInfo.name' },
  { why: 'instructions not text', object: mcpBackend('instructions-list', { targets: [], instructions: ['a'] }), at: 'spec.instructions' },
  { why: 'instructions too long', object: mcpBackend('instructions-long', { targets: [], instructions: 'x'.repeat(65_537) }), at: 'spec.instructions' },
  { why: 'no targets', object: mcpBackend('no-targets', { prefixMode: 'always' }), at: 'spec.targets' },
  { why: 'no spec', object: { apiVersion: 'mcpmux.dev/v1alpha1', kind: 'MCPBackend', metadata: { name: 'no-spec', namespace: SAMPLE_NAMESPACE } }, at: 'spec' },
  {
    why: 'upstreamAuth without a key',
    object: mcpBackend('auth-no-key', { targets: [], upstreamAuth: { secretRef: { name: 'token' } } }),
    at: 'spec.upstreamAuth.secretRef.key',
  },
  {
    why: 'upstreamAuth header with a space',
    object: mcpBackend('auth-bad-header', { targets: [], upstreamAuth: { secretRef: { name: 'token', key: 'token' }, header: 'X Api Key' } }),
    at: 'spec.upstreamAuth.header',
  },
  // MCPBackend: CEL rules.
  { why: 'authentication with nothing in it', object: mcpBackend('authn-empty', { targets: [], authentication: { jwt: [] } }), at: 'spec.authentication', cel: 'authentication needs jwt providers or apiKeys' },
  {
    why: 'JWT provider with both jwksUri and jwks',
    object: mcpBackend('authn-both', { targets: [], authentication: { jwt: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', jwks: { secretRef: { name: 'k', key: 'jwks' } } }] } }),
    at: 'spec.authentication.jwt[0]',
    cel: 'a JWT provider needs exactly one of jwksUri and jwks',
  },
  { why: 'selector and static in one entry', object: mcpBackend('both', { targets: [{ selector: {}, static: { name: 'a', host: 'h', port: 1 } }] }), at: 'spec.targets[0]', cel: 'each target needs exactly one of selector and static' },
  { why: 'neither selector nor static', object: mcpBackend('neither', { targets: [{ name: 'x' }] }), at: 'spec.targets[0]', cel: 'each target needs exactly one of selector and static' },
  { why: 'static target without a name', object: mcpBackend('static-no-name', { targets: [{ static: { host: 'h', port: 1 } }] }), at: 'spec.targets[0]', cel: 'a static target needs a name' },
  { why: 'static target without host', object: mcpBackend('static-no-host', { targets: [{ static: { name: 'a', port: 80 } }] }), at: 'spec.targets[0].static.host', cel: 'host is required (unless protocol is stdio)' },
  { why: 'static target without port', object: mcpBackend('static-no-port', { targets: [{ static: { name: 'a', host: 'h', protocol: 'SSE' } }] }), at: 'spec.targets[0].static.port', cel: 'port is required (unless protocol is stdio)' },
  { why: 'command without protocol stdio', object: mcpBackend('command-no-protocol', { targets: [{ static: { name: 'a', command: 'server', args: ['stdio'] } }] }), at: 'spec.targets[0].static', cel: 'command, args, env and cwd are for stdio targets' },
  { why: 'env on an SSE target', object: mcpBackend('sse-with-env', { targets: [{ static: { name: 'a', host: 'h', port: 1, protocol: 'SSE', env: {} } }] }), at: 'spec.targets[0].static', cel: 'command, args, env and cwd are for stdio targets' },
  { why: 'stdio target without command', object: mcpBackend('stdio-no-command', { targets: [{ static: { name: 'a', protocol: 'stdio', args: ['stdio'] } }] }), at: 'spec.targets[0].static.command', cel: 'command is required for a stdio target' },
  { why: 'env name with =', object: mcpBackend('stdio-env-name', { targets: [{ static: { name: 'a', protocol: 'stdio', command: 'server', env: { 'A=B': 'x' } } }] }), at: 'spec.targets[0].static.env', cel: 'environment variable names must not be empty or contain "="' },
  { why: 'stdio target with host', object: mcpBackend('stdio-with-host', { targets: [{ static: { name: 'a', protocol: 'Stdio', command: 'server', host: '127.0.0.1' } }] }), at: 'spec.targets[0].static', cel: 'host, port, scheme and path have no meaning for a stdio target' },
  { why: 'In without values', object: mcpBackend('in-no-values', { targets: [{ selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }] }), at: 'spec.targets[0].selector.matchExpressions[0]', cel: 'operators In and NotIn need values' },
  { why: 'Exists with values', object: mcpBackend('exists-values', { targets: [{ selector: { namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } } }] }), at: 'spec.targets[0].selector.namespaceSelector.matchExpressions[0]', cel: 'operators In and NotIn need values' },
  { why: 'timeout above 4294967295ms', object: mcpBackend('timeout-too-long', { targets: [], timeouts: { request: '99999h' } }), at: 'spec.timeouts.request', cel: 'a timeout is at most 4294967295ms' },
  { why: 'initialize timeout above 4294967295ms', object: mcpBackend('init-timeout-too-long', { targets: [], timeouts: { initialize: '71583m' } }), at: 'spec.timeouts.initialize', cel: 'a timeout is at most 4294967295ms' },
  // AgentgatewayBackend (compat): OpenAPI checks.
  { why: 'agentgateway static target without host', object: agwBackend('agw-no-host', { mcp: { targets: [{ name: 'a', static: { port: 80 } }] } }), at: 'spec.mcp.targets[0].static.host' },
  { why: 'agentgateway port above 65535', object: agwBackend('agw-port-70000', { mcp: { targets: [{ name: 'a', static: { host: 'h', port: 70000 } }] } }), at: 'spec.mcp.targets[0].static.port' },
  { why: 'agentgateway stdio target', object: agwBackend('agw-stdio', { mcp: { targets: [{ static: { name: 'a', protocol: 'stdio', host: 'h', port: 1 } }] } }), at: 'spec.mcp.targets[0].static.protocol' },
  { why: 'agentgateway unknown protocol', object: agwBackend('agw-bad-protocol', { mcp: { targets: [{ name: 'a', static: { host: 'h', port: 1, protocol: 'WebSocket' } }] } }), at: 'spec.mcp.targets[0].static.protocol' },
  { why: 'agentgateway unquoted label value', object: agwBackend('agw-label-bool', { mcp: { targets: [{ name: 'a', selector: { services: { matchLabels: { 'mcp-federation': true } } } }] } }), at: 'spec.mcp.targets[0].selector.services.matchLabels.mcp-federation' },
  { why: 'agentgateway selector without services', object: agwBackend('agw-namespaces-only', { mcp: { targets: [{ name: 'a', selector: { namespaces: { matchLabels: { team: 'x' } } } }] } }), at: 'spec.mcp.targets[0].selector.services' },
  { why: 'agentgateway unknown selector operator', object: agwBackend('agw-operator', { mcp: { targets: [{ name: 'a', selector: { services: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } } }] } }), at: 'spec.mcp.targets[0].selector.services.matchExpressions[0].operator' },
  { why: 'agentgateway misspelt target field', object: agwBackend('agw-typo', { mcp: { targets: [{ name: 'a', selectr: { services: {} } }] } }), at: 'spec.mcp.targets[0].selectr' },
  { why: 'agentgateway mcp without targets', object: agwBackend('agw-no-targets', { mcp: { target: [] } }), at: 'spec.mcp.targets' },
  // AgentgatewayBackend (compat): CEL rules.
  { why: 'agentgateway selector and static in one entry', object: agwBackend('agw-both', { mcp: { targets: [{ name: 'a', selector: { services: {} }, static: { host: 'h', port: 1 } }] } }), at: 'spec.mcp.targets[0]', cel: 'each target needs exactly one of selector and static' },
  { why: 'agentgateway static target without a name', object: agwBackend('agw-static-no-name', { mcp: { targets: [{ static: { host: 'h', port: 1 } }] } }), at: 'spec.mcp.targets[0]', cel: 'a static target needs a name' },
];

/**
 * Objects of the translator's golden cases that the translator rejects but no schema can: their
 * problem is in mcpmux.dev/* annotations, which a CRD schema cannot see.
 */
export const ANNOTATION_ONLY_REJECTIONS: readonly string[] = ['empty-item', 'version-without-name'];
