// What every benchmark scenario returns: rows for the printed table and BENCHMARKS.md, and checks
// against the targets of DESIGN.md ("Performance targets"). Targets are ratios or differences taken
// in one run, because the machines are shared and noisy.

export type Cell = string | number;

export interface Check {
  /** What is checked, e.g. "added p50 at 1 session". */
  name: string;
  /** The target as people read it, e.g. "≤ 0.25 ms". */
  target: string;
  /** The measured value as people read it, e.g. "0.18 ms". */
  actual: string;
  pass: boolean;
}

export interface ScenarioResult {
  /** Short id used on the command line, e.g. "overhead". */
  id: string;
  title: string;
  /** Column names, in order; each row has a cell per column. */
  columns: string[];
  rows: Record<string, Cell>[];
  checks: Check[];
  /** Anything a reader needs to interpret the figures (what was skipped and why, settings). */
  notes: string[];
}

export interface ScenarioOptions {
  /** Smaller counts for a quick look (`npm run bench -- --quick`); targets are still checked. */
  quick: boolean;
}

export type Scenario = (options: ScenarioOptions) => Promise<ScenarioResult>;

/** Milliseconds with a precision that suits sub-millisecond figures. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) < 10 ? `${value.toFixed(3)} ms` : `${value.toFixed(1)} ms`;
}

export function check(name: string, target: string, actual: string, pass: boolean): Check {
  return { name, target, actual, pass };
}
