// Kubernetes YAML → objects, with every problem located as file:line. Pure (no I/O), so the files
// source and `mcpmux validate` read manifests the same way.
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from './source.ts';

export interface ManifestError {
  file: string;
  /** 1-based. */
  line: number;
  message: string;
}

export interface ParsedManifests {
  objects: KubeObject[];
  errors: ManifestError[];
}

/**
 * Kinds that live outside namespaces: they keep an empty namespace instead of getting "default".
 * Only those a manifest folder for mcpmux plausibly holds; anything else defaults like kubectl would.
 */
const CLUSTER_SCOPED_KINDS = new Set([
  'GatewayClass',
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

export function formatManifestError(error: ManifestError): string {
  return `${error.file}:${error.line}: ${error.message}`;
}

/**
 * Parses a multi-document YAML text. Empty documents are skipped; a `kind: List` is expanded into its
 * items (as `kubectl get -o yaml` writes them). Objects without a namespace get "default" unless their
 * kind is cluster-scoped. Objects of any kind are returned: deciding what matters is the translator's job.
 */
export function parseManifests(text: string, fileName: string): ParsedManifests {
  const lineCounter = new LineCounter();
  const objects: KubeObject[] = [];
  const errors: ManifestError[] = [];
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) errors.push({ file: fileName, line: lineAt(error.pos[0]), message: error.message });
      continue;
    }
    const line = lineAt(doc.contents?.range[0] ?? doc.range[0]);
    let value: unknown;
    try {
      // Throws on what parses but has no value: an alias to no anchor, or more alias expansions
      // than the library allows (a "billion laughs" document).
      value = doc.toJS();
    } catch (error) {
      errors.push({ file: fileName, line, message: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (value === null || value === undefined) continue;
    const items = isRecord(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      const checked = checkObject(item);
      if (typeof checked === 'string') errors.push({ file: fileName, line, message: checked });
      else objects.push(checked);
    }
  }
  return { objects, errors };
}

/** The object with its namespace defaulted, or what is wrong with it. */
function checkObject(value: unknown): KubeObject | string {
  if (!isRecord(value)) return 'a document must be a mapping (a Kubernetes object)';
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') return 'object has no apiVersion';
  if (typeof kind !== 'string' || kind === '') return 'object has no kind';
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    return `${kind} has no metadata.name`;
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    return `${kind} ${metadata.name}: metadata.namespace must be a string`;
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      return `${kind} ${metadata.name}: metadata.${field} must map strings to strings (quote values like "true")`;
    }
  }
  const namespace = CLUSTER_SCOPED_KINDS.has(kind) ? undefined : ((metadata.namespace as string | undefined) ?? 'default');
  const object = { ...value, metadata: { ...metadata } } as KubeObject;
  if (namespace === undefined) delete object.metadata.namespace;
  else object.metadata.namespace = namespace;
  return object;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
