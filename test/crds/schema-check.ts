// Test support for deploy/crds: loads the CRDs, checks that their schemas are structural (the rules
// kube-apiserver applies to apiextensions.k8s.io/v1), validates objects against an openAPIV3Schema
// with ajv and a small layer for what Kubernetes adds to JSON Schema (see "Validation" below; CEL
// rules, x-kubernetes-validations, are listed, not evaluated: that is the real-apiserver tier's
// job), and finds the backend objects both crds.test.ts (no cluster) and crds.apiserver.test.ts (a
// real kube-apiserver, which does evaluate the CEL rules) check.
import { Ajv, type AnySchemaObject, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
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
  'x-kubernetes-int-or-string'?: boolean;
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
  if (!existsSync(dir)) throw new Error(`${relative(REPO_ROOT, dir)} is missing: the checks that read it would pass on nothing`);
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
// Validation: ajv checks the JSON Schema part; the Kubernetes part is the small layer below.
//
// What kube-apiserver does beyond JSON Schema, and how it is handled here:
// - a field that is null and not nullable is dropped (pruned) before validation: pruneNulls();
// - nullable: true lets null through: the type becomes [type, "null"] (and null joins the enum);
// - an undeclared field is an error (kubectl's strict field validation), except where
//   x-kubernetes-preserve-unknown-fields keeps it, in additionalProperties maps, and in the root's
//   metadata (kube-apiserver checks ObjectMeta itself): the others get additionalProperties: false;
// - x-kubernetes-int-or-string: the type becomes ["integer", "string"];
// - x-kubernetes-list-type set or map: items (or their x-kubernetes-list-map-keys) must be unique,
//   a keyword of our own;
// - formats: date-time (RFC 3339), int32 and int64, the ones the CRDs use (ajv refuses a schema
//   with any other, so a new one has to be added here);
// - exclusiveMinimum / exclusiveMaximum as OpenAPI 3.0 booleans become draft-07 numbers.
// x-kubernetes-validations (CEL) are NOT evaluated here: celRules() lists them and
// crds.apiserver.test.ts has a real kube-apiserver run them. The other x- keywords are annotations.

const ANNOTATIONS = [
  'example', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
  'x-kubernetes-map-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations',
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Where a set (its items) or a map list (its items' keys) repeats itself: [index, the repeated value or key as JSON]. */
function duplicates(listType: string, list: readonly unknown[], mapKeys: readonly string[]): [number, string][] {
  if (listType !== 'set' && listType !== 'map') return [];
  const keys = list.map((item) => JSON.stringify(listType === 'set' ? item : mapKeys.map((k) => (item as Record<string, unknown> | null)?.[k])));
  const seen = new Set<string>();
  const found: [number, string][] = [];
  for (const [i, key] of keys.entries()) {
    if (seen.has(key)) found.push([i, key]);
    seen.add(key);
  }
  return found;
}

const listTypeKeyword: SchemaValidateFunction = (listType: string, list: unknown[], parentSchema?: AnySchemaObject) => {
  const found = duplicates(listType, list, (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? []);
  listTypeKeyword.errors = found.map(([index, key]) => ({ keyword: 'x-kubernetes-list-type', params: { listType, index, key } }));
  return found.length === 0;
};

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
  ajv.addVocabulary(ANNOTATIONS);
  ajv.addKeyword({ keyword: 'x-kubernetes-list-type', type: 'array', schemaType: 'string', errors: true, validate: listTypeKeyword });
  ajv.addFormat('date-time', RFC3339);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => n >= -(2 ** 31) && n <= 2 ** 31 - 1 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

/** The draft-07 schema ajv compiles for an openAPIV3Schema node (see above); `at` is "root", "root metadata" or "". */
function jsonSchemaOf(node: Schema, at = ''): AnySchemaObject {
  const out: AnySchemaObject = { ...node };
  if (node.properties) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([name, child]) => [name, jsonSchemaOf(child, at === 'root' && name === 'metadata' ? 'root metadata' : '')]));
  }
  if (node.items) out.items = jsonSchemaOf(node.items);
  if (typeof node.additionalProperties === 'object') out.additionalProperties = jsonSchemaOf(node.additionalProperties);
  else if (node.type === 'object' && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true && at !== 'root metadata') {
    out.additionalProperties = false;
  }
  if (node['x-kubernetes-int-or-string'] === true && node.type === undefined) out.type = ['integer', 'string'];
  if (node.nullable === true) {
    if (out.type !== undefined) out.type = [out.type, 'null'].flat();
    if (node.enum) out.enum = [...node.enum, null];
  }
  delete out.nullable;
  for (const [keyword, limit] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof node[keyword] !== 'boolean') continue;
    delete out[keyword];
    if (node[keyword]) {
      out[keyword] = node[limit];
      delete out[limit];
    }
  }
  return out;
}

/** The value as kube-apiserver validates it: object fields that are null and not nullable dropped. */
function pruneNulls(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return schema.items ? value.map((item) => pruneNulls(schema.items!, item)) : value;
  if (schema.type !== 'object' || typeof value !== 'object' || value === null) return value;
  const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  const kept: [string, unknown][] = [];
  for (const [key, field] of Object.entries(value)) {
    const declared = schema.properties?.[key] ?? additional;
    if (field === null && !declared?.nullable) continue;
    kept.push([key, declared ? pruneNulls(declared, field) : field]);
  }
  return Object.fromEntries(kept);
}

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

/** The first sentence of a node's description, to say what was expected. */
function hint(node: Schema | undefined): string {
  const text = node?.description?.replace(/\s+/g, ' ').trim();
  if (!text) return '';
  const sentence = /^.*?[.](?= |$)/.exec(text)?.[0] ?? text;
  return ` (${sentence.length > 160 ? `${sentence.slice(0, 159)}…` : sentence})`;
}

const child = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** One ajv error as "path: message", the path as kubectl prints it; `data` is the value at `path`. */
function describe(error: ErrorObject, path: string, data: unknown): string {
  const at = path || '<root>';
  const schema = (error.parentSchema ?? {}) as Schema;
  const params = error.params as Record<string, unknown>;
  const limit = params.limit as number;
  switch (error.keyword) {
    case 'type': {
      const types = [schema.type ?? []].flat().filter((type) => type !== 'null') as string[];
      const actual = data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data;
      const named = types.map((type) => (type === 'array' ? 'a list' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`));
      return `${at}: ${types.length === 1 ? typeProblem(types[0], data) : `must be ${named.join(' or ')}, not ${actual}`}`;
    }
    case 'enum':
      return `${at}: ${JSON.stringify(data)} is not one of ${(schema.enum ?? []).filter((v) => v !== null || data === null).map((v) => JSON.stringify(v)).join(', ')}${hint(schema)}`;
    case 'minLength':
      return `${at}: must be at least ${limit} characters${limit === 1 ? ' (not empty)' : ''}`;
    case 'maxLength':
      return `${at}: must be at most ${limit} characters, not ${[...String(data)].length}`;
    case 'pattern': {
      const text = String(data);
      return `${at}: ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} does not match ${String(params.pattern)}${hint(schema)}`;
    }
    case 'format':
      if (params.format === 'date-time') return `${at}: ${JSON.stringify(data)} is not an RFC 3339 date-time`;
      if (params.format === 'int32') return `${at}: ${String(data)} does not fit in an int32`;
      if (params.format === 'int64') return `${at}: ${String(data)} is not a 64-bit integer JavaScript can hold exactly`;
      return `${at}: ${JSON.stringify(data)} is not a ${String(params.format)}`;
    case 'minimum':
      return `${at}: must be at least ${limit}, not ${String(data)}${hint(schema)}`;
    case 'maximum':
      return `${at}: must be at most ${limit}, not ${String(data)}${hint(schema)}`;
    case 'exclusiveMinimum':
      return `${at}: must be more than ${limit}, not ${String(data)}${hint(schema)}`;
    case 'exclusiveMaximum':
      return `${at}: must be less than ${limit}, not ${String(data)}${hint(schema)}`;
    case 'minItems':
      return `${at}: needs at least ${limit} items, has ${(data as unknown[]).length}`;
    case 'maxItems':
      return `${at}: takes at most ${limit} items, has ${(data as unknown[]).length}`;
    case 'x-kubernetes-list-type':
      return `${path}[${params.index as number}]: duplicate ${params.listType === 'set' ? 'value' : 'key'} ${String(params.key)}`;
    case 'additionalProperties': {
      const known = Object.keys(schema.properties ?? {});
      return `${child(path, String(params.additionalProperty))}: unknown field${known.length > 0 ? ` (${at === '<root>' ? 'the object' : at} has ${known.join(', ')})` : ''}`;
    }
    case 'required': {
      const name = String(params.missingProperty);
      return `${child(path, name)}: required${hint(schema.properties?.[name])}`;
    }
    case 'minProperties':
      return `${at}: needs at least ${limit} fields`;
    case 'maxProperties':
      return `${at}: takes at most ${limit} fields`;
    default:
      return `${at}: ${error.message ?? `fails ${error.keyword}`}`;
  }
}

/** Keywords reported before a node's children's errors, in this order (a string's format after its pattern, a number's after its bounds); the others come after them. */
const BEFORE_CHILDREN = [
  'enum', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'number format', 'multipleOf', 'minItems', 'maxItems',
];
const AFTER_CHILDREN = ['x-kubernetes-list-type', 'required', 'minProperties', 'maxProperties'];
const rank = (error: ErrorObject): number => {
  const before = BEFORE_CHILDREN.indexOf(error.keyword === 'format' && typeof error.data === 'number' ? 'number format' : error.keyword);
  if (before >= 0) return before;
  const after = AFTER_CHILDREN.indexOf(error.keyword);
  return BEFORE_CHILDREN.length + 1 + (after >= 0 ? after : AFTER_CHILDREN.length);
};

/**
 * ajv's errors as messages, in the value's order: a node's own problems, then its items' or fields'
 * (an unknown field where it stands), then what concerns the node as a whole (required fields,
 * duplicates). A node of the wrong type gets that one message.
 */
function report(errors: readonly ErrorObject[], value: unknown, path: string): string[] {
  const byPointer = new Map<string, ErrorObject[]>();
  for (const error of errors) byPointer.set(error.instancePath, [...(byPointer.get(error.instancePath) ?? []), error]);
  const messages: string[] = [];
  const reported = new Set<ErrorObject>();
  const say = (error: ErrorObject, at: string, data: unknown): void => {
    reported.add(error);
    messages.push(describe(error, at, data));
  };
  const walk = (data: unknown, pointer: string, at: string): void => {
    const here = [...(byPointer.get(pointer) ?? [])].sort((a, b) => rank(a) - rank(b));
    const wrongType = here.find((error) => error.keyword === 'type');
    if (wrongType) {
      here.forEach((error) => reported.add(error));
      say(wrongType, at, data);
      return;
    }
    for (const error of here) if (rank(error) < BEFORE_CHILDREN.length) say(error, at, data);
    if (Array.isArray(data)) {
      for (const [i, item] of data.entries()) walk(item, `${pointer}/${i}`, `${at}[${i}]`);
    } else if (typeof data === 'object' && data !== null) {
      for (const [key, field] of Object.entries(data)) {
        const unknown = here.find((error) => error.keyword === 'additionalProperties' && error.params.additionalProperty === key);
        if (unknown) say(unknown, at, data);
        else walk(field, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, child(at, key));
      }
    }
    for (const error of here) if (!reported.has(error)) say(error, at, data);
  };
  walk(value, '', path);
  for (const error of errors) if (!reported.has(error)) messages.push(`${error.instancePath || '<root>'}: ${error.message ?? error.keyword}`);
  return messages;
}

/**
 * Validates objects against openAPIV3Schemas, compiling each schema once, on first use (schemas are
 * told apart by identity: a schema must not change once validated with).
 */
export class SchemaValidator {
  readonly #ajv = newAjv();
  readonly #compiled = new Map<Schema, ValidateFunction>();

  /**
   * Problems of `value` against `schema`, each "path: message" with the path as kubectl prints it
   * ("spec.targets[0].static.port"), `path` prefixed. Like kube-apiserver: a null field that is
   * not nullable is dropped (pruned) before validation, and, as with kubectl's strict field
   * validation, a field the schema does not declare is an error unless
   * x-kubernetes-preserve-unknown-fields keeps it. CEL rules (x-kubernetes-validations) are not
   * evaluated: see celRules().
   */
  validate(schema: Schema, value: unknown, path = ''): string[] {
    let check = this.#compiled.get(schema);
    if (!check) {
      check = this.#ajv.compile(jsonSchemaOf(schema, 'root'));
      this.#compiled.set(schema, check);
    }
    const pruned = pruneNulls(schema, value);
    return check(pruned) ? [] : report(check.errors ?? [], pruned, path);
  }
}

/** SchemaValidator.validate for a single use (it compiles the schema every time: keep a SchemaValidator to validate many). */
export function validate(schema: Schema, value: unknown, path = ''): string[] {
  return new SchemaValidator().validate(schema, value, path);
}
