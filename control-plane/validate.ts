// `mcpmux validate DIR`: the files source's parsing, the reducer and the translator run once over a
// folder, and a report of what a proxy would serve. The CLI wrapper lives in cli.ts.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeStdioCommand } from '../shared/config/stdio.ts';
import { protocolEraName, type Backend, type Endpoint, type Snapshot, type Target } from '../shared/config/types.ts';
import { listManifestFiles } from './sources/files.ts';
import type { KubeObject } from './sources/source.ts';
import { formatManifestError, parseManifests } from './sources/yaml.ts';
import { emptyState, reduceAll } from './state/reducer.ts';
import { isProblem, type ObjectStatus } from './translate/status.ts';
import { translate, TranslateCache } from './translate/translate.ts';

export interface ValidateOptions {
  gatewayClasses: readonly string[];
}

export interface ValidateResult {
  /** No file failed to parse, some Gateway is served, and no status condition reports a problem. */
  ok: boolean;
  report: string;
}

export async function validateDir(dir: string, options: ValidateOptions): Promise<ValidateResult> {
  if (!(await stat(dir).catch(() => null))?.isDirectory()) return { ok: false, report: `${dir}: not a folder` };
  const files = await listManifestFiles(dir);
  const objects: KubeObject[] = [];
  const errors: string[] = [];
  for (const file of files) {
    const parsed = parseManifests(await readFile(join(dir, file), 'utf8'), join(dir, file));
    objects.push(...parsed.objects);
    errors.push(...parsed.errors.map(formatManifestError));
  }
  const state = reduceAll(emptyState(), objects.map((object) => ({ type: 'upsert' as const, object })));
  // A folder is what the files source reads, so its stdio targets are served.
  const { snapshots, statuses } = translate(state, { gatewayClasses: options.gatewayClasses, allowStdio: true }, new TranslateCache());
  const problems = statuses.flatMap(describeProblems);

  const lines = [`${dir}: ${files.length} file${files.length === 1 ? '' : 's'}, ${objects.length} object${objects.length === 1 ? '' : 's'}`];
  if (errors.length > 0) lines.push('', 'errors:', ...errors.map((e) => `  ${e}`));
  if (snapshots.length === 0) lines.push('', `no Gateway of class ${options.gatewayClasses.join(' or ')}: nothing would be served`);
  for (const snapshot of snapshots) lines.push('', ...describeSnapshot(snapshot));
  if (problems.length > 0) lines.push('', 'problems:', ...problems.map((p) => `  ${p}`));
  const ok = errors.length === 0 && problems.length === 0 && snapshots.length > 0;
  lines.push('', ok ? 'ok' : `not ok: ${errors.length} parse error(s), ${problems.length} problem(s)`);
  return { ok, report: `${lines.join('\n')}\n` };
}

function describeSnapshot(snapshot: Snapshot): string[] {
  const lines = [`group ${snapshot.group} (version ${snapshot.version})`];
  for (const l of snapshot.listeners) {
    const certificates = l.certificateSecrets.map((name) => `${name}${snapshot.secrets.some((s) => s.name === name) ? '' : ' (unresolved)'}`);
    lines.push(`  listener ${l.name}: ${l.protocol} port ${l.port}${l.hostnames.length ? ` hosts ${l.hostnames.join(', ')}` : ''}${certificates.length ? ` certificates ${certificates.join(', ')}` : ''}`);
  }
  for (const r of snapshot.routes) lines.push(`  route ${r.name}: ${r.pathPrefix} -> ${r.backend} (listeners ${r.listeners.join(', ')}${r.hostnames.length ? `; hosts ${r.hostnames.join(', ')}` : ''})`);
  if (snapshot.routes.length === 0) lines.push('  no routes');
  for (const backend of snapshot.backends) {
    const targets = snapshot.targets.filter((t) => t.backend === backend.name);
    lines.push(`  backend ${backend.name}: ${targets.length} target${targets.length === 1 ? '' : 's'}`);
    for (const t of targets) lines.push(`    target ${t.name}: ${targetUrls(t)} (${protocolName(t)}, era ${eraName(t)}, from ${t.source})`);
    lines.push(...describeNaming(backend, targets));
    lines.push(...describeAccess(snapshot, backend, targets));
  }
  return lines;
}

/** Who may call the backend, what each may use, and whether its targets carry a credential (never its value). */
function describeAccess(snapshot: Snapshot, backend: Backend, targets: Target[]): string[] {
  const policy = snapshot.policies.find((p) => p.backends.includes(backend.name));
  const lines: string[] = [];
  const authn = policy?.authentication;
  if (!authn) lines.push('    authentication: none (anyone may call)');
  else {
    const ways = [...authn.jwt.map((j) => `JWT from ${j.issuer}`), ...(authn.apiKeys.length > 0 ? [`API keys of ${authn.apiKeys.map((k) => k.principal).join(', ')}`] : [])];
    lines.push(`    authentication: ${ways.join('; ') || 'nothing resolves: every request is refused'}`);
  }
  const rules = policy?.authorization?.rules ?? [];
  if (rules.length > 0) lines.push(`    authorization: ${rules.map((r) => `${r.effect} ${r.name}`).join(', ')}`);
  const credential = targets.find((t) => t.authSecret)?.authSecret;
  if (credential) {
    const secret = snapshot.secrets.find((s) => s.name === credential);
    lines.push(`    upstream credential: ${secret ? `header ${secret.data.header}` : 'Secret not found: the targets are unavailable'}`);
  }
  return lines;
}

/** Prefix mode, the tool prefixes it leads to, filters, serverInfo and instructions of one backend. */
function describeNaming(backend: Backend, targets: Target[]): string[] {
  const prefixes = targets.map((t) => `${t.name}_`).join(', ') || '(none)';
  let mode: string;
  let prefixLine: string;
  switch (backend.prefixMode) {
    case 'PREFIX_MODE_UNSPECIFIED':
    case 'PREFIX_MODE_ALWAYS':
      mode = 'always';
      prefixLine = prefixes;
      break;
    case 'PREFIX_MODE_CONDITIONAL':
      mode = 'conditional';
      prefixLine = targets.length > 1 ? prefixes : '(none: names unprefixed while the backend has one target)';
      break;
    case 'PREFIX_MODE_NEVER':
      mode = 'never';
      prefixLine = '(none: names unprefixed; a name two targets share is left out)';
      break;
    default: {
      const never: never = backend.prefixMode;
      throw new Error(`unknown prefix mode ${String(never)}`);
    }
  }
  const lines = [`    prefix mode: ${mode}`, `    tool prefixes: ${prefixLine}`];
  if (backend.toolInclude.length > 0 || backend.toolExclude.length > 0) {
    const include = backend.toolInclude.length > 0 ? backend.toolInclude.join(', ') : '(all)';
    const exclude = backend.toolExclude.length > 0 ? backend.toolExclude.join(', ') : '(none)';
    lines.push(`    tools: include ${include}; exclude ${exclude}`);
  } else {
    lines.push('    tools: all (no filters)');
  }
  const info = backend.serverInfo;
  lines.push(`    serverInfo: ${info ? `${info.name}${info.version ? ` ${info.version}` : ' (no version)'}` : "(mcpmux's own)"}`);
  lines.push(`    instructions: ${describeInstructions(backend.instructions)}`);
  return lines;
}

function describeInstructions(text: string): string {
  if (text === '') return "(the targets' own)";
  const first = text.split('\n', 1)[0]!;
  const shown = first.length > 60 ? `${first.slice(0, 60)}…` : first === text ? first : `${first} …`;
  return `${JSON.stringify(shown)} (${text.length} character${text.length === 1 ? '' : 's'})`;
}

function targetUrls(target: Target): string {
  if (target.stdio) return `runs ${describeStdioCommand(target.stdio)}`;
  if (target.endpoints.length === 0) return '(no endpoints)';
  return target.endpoints.map((e) => `${url(target, e)}${e.ready ? '' : ' (not ready)'}`).join(', ');
}

function url(target: Target, endpoint: Endpoint): string {
  const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
  return `${target.scheme}://${host}:${endpoint.port}${target.path}`;
}

function protocolName(target: Target): string {
  return target.protocol === 'PROTOCOL_SSE' ? 'sse' : target.protocol === 'PROTOCOL_STDIO' ? 'stdio' : 'streamable-http';
}

/** The configured protocol era (protocolEra, mcpmux.dev/protocol-era): auto, legacy or modern. */
function eraName(target: Target): string {
  return protocolEraName(target.protocolEra);
}

function describeProblems(status: ObjectStatus): string[] {
  const parent = status.parentRef ? ` (parent ${status.parentRef.namespace}/${status.parentRef.name})` : '';
  const where = `${status.kind} ${status.namespace ? `${status.namespace}/` : ''}${status.name}${parent}`;
  return status.conditions.filter(isProblem).map((c) => `${where}: ${c.type}=${c.status} ${c.reason}: ${c.message}`);
}
