// `mcpmux snapshot diff` as a person reads it: resources grouped by kind, under each the fields
// that changed (DiffVersions' ResourceChange.fields, computed by the control plane), `- old` and
// `+ new`, long values cut, then a summary line. Pure: the command prints what this returns.
import type { DiffVersionsResponse, FieldChange, ResourceChange } from '../proto/messages.ts';

/** Kinds in the order a reader looks for them (what serves a tool first), by their heading. */
const KIND_ORDER: ReadonlyArray<readonly [kind: string, heading: string]> = [
  ['target', 'targets'],
  ['route', 'routes'],
  ['backend', 'backends'],
  ['listener', 'listeners'],
  ['policy', 'policies'],
  ['secret', 'secrets'],
];

export interface DiffTextOptions {
  /** A value longer than this (JSON text) is cut; default 80. */
  maxValue?: number;
  /** A changed field whose `- old  + new` fits in this many columns stays on one line; default 120. */
  width?: number;
}

export function diffText(diff: Pick<DiffVersionsResponse, 'fromVersion' | 'toVersion' | 'fromEventSeq' | 'toEventSeq' | 'changes'>, options: DiffTextOptions = {}): string {
  const maxValue = options.maxValue ?? 80;
  const width = options.width ?? 120;
  const lines = [`${diff.fromVersion} (event ${diff.fromEventSeq}) → ${diff.toVersion} (event ${diff.toEventSeq})`, ''];
  const kinds = [...KIND_ORDER, ...[...new Set(diff.changes.map((c) => c.kind))].filter((k) => !KIND_ORDER.some(([known]) => known === k)).sort().map((k) => [k, `${k}s`] as const)];
  const perKind: string[] = [];
  for (const [kind, heading] of kinds) {
    const changes = diff.changes.filter((c) => c.kind === kind);
    if (changes.length === 0) continue;
    perKind.push(`${heading} ${changes.length}`);
    lines.push(heading);
    for (const change of changes) lines.push(...resource(change, maxValue, width));
  }
  const count = (what: string): number => diff.changes.filter((c) => c.change === what).length;
  const fields = diff.changes.reduce((n, c) => n + (c.fields?.length ?? 0), 0);
  if (diff.changes.length === 0) lines.push('summary: no changes');
  else {
    if (lines.at(-1) !== '') lines.push('');
    lines.push(`summary: ${count('added')} added, ${count('changed')} changed, ${count('removed')} removed (${perKind.join(', ')}); ${fields} field${fields === 1 ? '' : 's'}`);
  }
  return `${lines.join('\n')}\n`;
}

function resource(change: ResourceChange, maxValue: number, width: number): string[] {
  const lines = [`  ${change.change.padEnd(8)} ${change.name}`];
  const indent = ' '.repeat(4);
  for (const field of change.fields ?? []) lines.push(...fieldLines(field, indent, maxValue, width));
  if ((change.fields ?? []).length === 0 && change.change === 'changed') lines.push(`${indent}(no field listed: the control plane is older than field diffs; --output json shows before and after)`);
  return lines;
}

function fieldLines(field: FieldChange, indent: string, maxValue: number, width: number): string[] {
  const before = field.before && cut(field.before, maxValue);
  const after = field.after && cut(field.after, maxValue);
  if (!before) return [`${indent}+ ${field.path}: ${after}`];
  if (!after) return [`${indent}- ${field.path}: ${before}`];
  const oneLine = `${indent}~ ${field.path}: - ${before}  + ${after}`;
  if (oneLine.length <= width) return [oneLine];
  return [`${indent}~ ${field.path}`, `${indent}    - ${before}`, `${indent}    + ${after}`];
}

function cut(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, Math.max(1, max - 1))}… (${value.length} chars)`;
}
