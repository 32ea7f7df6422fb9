// The helm chart (deploy/helm/mcpmux) as the tests see it: a real helm binary (built from its Go module
// into the cache by ensureTool), rendering with `helm template`, linting, and the rendered objects
// parsed with the `yaml` package.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../support/processes.ts';
import { ensureTool } from '../support/tools.ts';

const run = promisify(execFile);

export const CHART = join(ROOT, 'deploy/helm/mcpmux');
export const ALL_ON_VALUES = join(ROOT, 'test/helm/all-on.values.yaml');
export const RELEASE = 'mcpmux';
export const NAMESPACE = 'mcpmux-system';

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws on a non-zero exit (check `code`). */
export async function helm(args: readonly string[], env: Record<string, string> = {}): Promise<HelmResult> {
  const binary = await ensureTool('helm');
  try {
    const { stdout, stderr } = await run(binary, [...args], {
      cwd: ROOT,
      // No user config, cache or plugins leak in (or out).
      env: { ...process.env, HELM_CONFIG_HOME: join(tmpdir(), 'mcpmux-helm-config'), HELM_CACHE_HOME: join(tmpdir(), 'mcpmux-helm-cache'), HELM_DATA_HOME: join(tmpdir(), 'mcpmux-helm-data'), ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof code === 'number' ? code : 1, stdout: stdout ?? '', stderr: stderr ?? String(error) };
  }
}

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Every document of a multi-document YAML text, empty ones dropped; throws on a parse error or warning. */
export function parseDocs(text: string, what: string): KubeDoc[] {
  const docs: KubeDoc[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0 || doc.warnings.length > 0) throw new Error(`${what}: ${[...doc.errors, ...doc.warnings].map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as KubeDoc | null;
    if (value) docs.push(value);
  }
  return docs;
}

/** `helm template` of the chart as release mcpmux in mcpmux-system; throws with helm's output when it fails. */
export async function render(args: readonly string[] = []): Promise<{ docs: KubeDoc[]; text: string; stderr: string }> {
  const result = await helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args]);
  if (result.code !== 0) throw new Error(`helm template ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return { docs: parseDocs(result.stdout, 'helm template'), text: result.stdout, stderr: result.stderr };
}

/** The one object of a kind (and name, when given); throws when there is not exactly one. */
export function one(docs: readonly KubeDoc[], kind: string, name?: string): KubeDoc {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ')}`);
  return found[0]!;
}

/**
 * NOTES.txt as helm renders it after an install. `helm template` leaves NOTES out and a client-only
 * dry run still wants a cluster, so a copy of the chart renders it through `tpl` inside a ConfigMap.
 */
export async function renderNotes(args: readonly string[] = []): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-chart-notes-'));
  try {
    const chart = join(dir, 'mcpmux');
    cpSync(CHART, chart, { recursive: true });
    cpSync(join(chart, 'templates/NOTES.txt'), join(chart, 'notes.src'));
    writeFileSync(join(chart, 'templates/zz-notes.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.src") . | toJson }}\n');
    const result = await helm(['template', RELEASE, chart, '--namespace', NAMESPACE, '--show-only', 'templates/zz-notes.yaml', ...args]);
    if (result.code !== 0) throw new Error(`rendering NOTES.txt failed: ${result.stderr}`);
    const [configMap] = parseDocs(result.stdout, 'NOTES');
    return (configMap as unknown as { data: { notes: string } }).data.notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

/** Rules flattened to one line per (group, resource, name) with its verbs sorted: easy to compare. */
export function flattenRules(rules: readonly PolicyRule[]): string[] {
  const lines: string[] = [];
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? ['']) {
      for (const resource of rule.resources ?? []) {
        for (const name of rule.resourceNames ?? ['']) {
          lines.push(`${group || 'core'} ${resource}${name ? `/${name}` : ''}: ${[...rule.verbs].sort().join(',')}`);
        }
      }
    }
  }
  return lines.sort();
}

/** The container named `name` of a Deployment or StatefulSet (or the first one). */
export function container(workload: KubeDoc, name?: string): Record<string, unknown> & { args?: string[]; securityContext: Record<string, unknown> } {
  const containers = (workload as unknown as { spec: { template: { spec: { containers: Array<Record<string, unknown> & { name: string }> } } } }).spec.template.spec.containers;
  const found = name === undefined ? containers[0] : containers.find((c) => c.name === name);
  if (!found) throw new Error(`${workload.kind}/${workload.metadata.name} has no container ${name}`);
  return found as never;
}

export function podSpec(workload: KubeDoc): Record<string, unknown> & { securityContext: Record<string, unknown> } {
  return (workload as unknown as { spec: { template: { spec: never } } }).spec.template.spec;
}
