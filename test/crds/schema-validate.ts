// Test support for deploy/crds: validates objects against a CRD's openAPIV3Schema as kube-apiserver
// would, short of CEL: ajv checks the JSON Schema part, and the layer below adds what Kubernetes
// adds to JSON Schema. The CRDs themselves are loaded by schema-check.ts.
import { Ajv, type AnySchemaObject, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import { typeProblem, type Schema } from './schema-check.ts';

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
