// Presenting results: aligned text tables for the terminal, and the Markdown that BENCHMARKS.md keeps.
import { cpus, totalmem } from 'node:os';
import type { Cell, ScenarioResult } from './result.ts';

export interface RunInfo {
  command: string;
  date: string;
  node: string;
  cpus: string;
  memory: string;
  quick: boolean;
}

export function runInfo(command: string, quick: boolean): RunInfo {
  const cores = cpus();
  return {
    command,
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    quick,
  };
}

function cell(value: Cell | undefined): string {
  return value === undefined ? '' : String(value);
}

export function textTable(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line([...columns]), line(widths.map((w) => '-'.repeat(w))), ...rows.map((row) => line(columns.map((c) => cell(row[c]))))].join('\n');
}

export function textReport(result: ScenarioResult): string {
  const parts = [`== ${result.title} [${result.id}]`, textTable(result.columns, result.rows)];
  if (result.checks.length > 0) {
    parts.push(result.checks.map((c) => `${c.pass ? 'PASS' : 'MISS'}  ${c.name}: ${c.actual} (target ${c.target})`).join('\n'));
  }
  if (result.notes.length > 0) parts.push(result.notes.map((n) => `note: ${n}`).join('\n'));
  return parts.join('\n\n') + '\n';
}

function markdownTable(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  return [
    `| ${columns.map(escape).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${columns.map((c) => escape(cell(row[c]))).join(' | ')} |`),
  ].join('\n');
}

export function markdownReport(info: RunInfo, results: readonly ScenarioResult[]): string {
  const out = [
    `Measured with \`${info.command}\` on ${info.date.slice(0, 10)}: Node ${info.node}, ${info.cpus}, ${info.memory}${info.quick ? ' (quick mode: smaller counts)' : ''}.`,
    '',
  ];
  const checks = results.flatMap((r) => r.checks.map((c) => ({ ...c, scenario: r.id })));
  if (checks.length > 0) {
    out.push('### Targets', '', markdownTable(['scenario', 'check', 'target', 'measured', ''], checks.map((c) => ({ scenario: c.scenario, check: c.name, target: c.target, measured: c.actual, '': c.pass ? 'met' : '**missed**' }))), '');
  }
  for (const result of results) {
    out.push(`### ${result.title}`, '', markdownTable(result.columns, result.rows), '');
    for (const note of result.notes) out.push(`- ${note}`);
    if (result.notes.length > 0) out.push('');
  }
  return out.join('\n');
}

/** Replaces what lies between the two markers of `document` with `generated`. */
export function replaceGenerated(document: string, generated: string): string {
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const from = document.indexOf(begin);
  const to = document.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`BENCHMARKS.md has no ${begin} … ${end} section to replace`);
  return `${document.slice(0, from + begin.length)}\n${generated}\n${document.slice(to)}`;
}
