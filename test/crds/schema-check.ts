// Test support for deploy/crds: loads the CRDs, checks that their schemas are structural (the rules
// kube-apiserver applies to apiextensions.k8s.io/v1), lists their CEL rules (x-kubernetes-validations:
// evaluated by the real-apiserver tier, not here), and finds the backend objects both crds.test.ts
// (no cluster) and crds.apiserver.test.ts (a real kube-apiserver) check. Validating an object
// against a schema is schema-validate.ts.
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

/** What is wrong with `value` for a schema `type`, said as a user fixes it; undefined when it fits. */
export function typeProblem(type: string | undefined, value: unknown): string | undefined {
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
