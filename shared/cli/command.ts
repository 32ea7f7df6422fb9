import { parseArgs } from 'node:util';
import { McpmuxError } from '../errors.ts';

export interface FlagSpec {
  /** Long name without dashes, e.g. "grpc-port". */
  name: string;
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  description: string;
  /** For string flags with a closed set of values. */
  choices?: readonly string[];
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  description?: string;
  examples: string[];
  flags: FlagSpec[];
  /** Resolves to the process exit code. */
  run(flags: FlagValues, positionals: string[]): Promise<number>;
}

/** The environment variable a flag also reads: MCPMUX_<COMMAND>_<FLAG>, e.g. MCPMUX_PROXY_PORT. */
export function envName(command: string, flag: string): string {
  return `MCPMUX_${command}_${flag}`.toUpperCase().replace(/-/g, '_');
}

/**
 * Flags win over environment variables, which win over defaults. Unknown flags are errors. The
 * argv is read by node:util's parseArgs (`--flag value`, `--flag=value`, `--no-flag` for booleans,
 * `--` ending the flags); this layer adds the environment, the types and mcpmux's own messages.
 */
export function parseCommandArgs(
  command: Command,
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): { flags: FlagValues; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const spec of command.flags) options[spec.name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    // `--flag=value` of a boolean (`--leader-elect=false`) is read as its value, as an environment variable would be.
    parsed = parseArgs({ args: booleanValuesApart(command, argv), options, allowPositionals: true, allowNegative: true, strict: true });
  } catch (error) {
    throw usage(command, parseArgsMessage(error));
  }
  const given = new Map<string, string | boolean>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name === 'help' || value === undefined) continue;
    given.set(name, value as string | boolean);
  }
  for (const [name, value] of booleanValues(command, argv)) given.set(name, value);
  const flags: FlagValues = {};
  for (const spec of command.flags) {
    const raw = given.get(spec.name) ?? env[envName(command.name, spec.name)];
    flags[spec.name] = raw === undefined ? spec.default : convert(command, spec, raw, given.has(spec.name));
  }
  return { flags, positionals: parsed.positionals, help: parsed.values.help === true };
}

/** `--bool=value` arguments, which parseArgs refuses (a boolean takes no value there): left out here, read by booleanValues. */
function booleanValuesApart(command: Command, argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.filter((arg, i) => (end !== -1 && i > end) || booleanWithValue(command, arg) === undefined);
}

/** The `--bool=value` arguments before `--`, in order, as [flag, value]. */
function booleanValues(command: Command, argv: readonly string[]): Array<[string, string]> {
  const end = argv.indexOf('--');
  const out: Array<[string, string]> = [];
  for (const arg of end === -1 ? argv : argv.slice(0, end)) {
    const found = booleanWithValue(command, arg);
    if (found) out.push(found);
  }
  return out;
}

function booleanWithValue(command: Command, arg: string): [string, string] | undefined {
  const eq = arg.indexOf('=');
  if (!arg.startsWith('--') || eq === -1) return undefined;
  const name = arg.slice(2, eq);
  return command.flags.some((f) => f.name === name && f.type === 'boolean') ? [name, arg.slice(eq + 1)] : undefined;
}

/** parseArgs' refusal in mcpmux's words: which flag, and what is wrong with it. */
function parseArgsMessage(error: unknown): string {
  const code = (error as { code?: string }).code;
  const text = error instanceof Error ? error.message : String(error);
  const named = /'(--?[\w-]+)/.exec(text)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${named}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && / argument missing|ambiguous/.test(text)) return `${named} needs a value`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${named} takes no value`;
  return text;
}

function convert(command: Command, spec: FlagSpec, raw: string | boolean, fromFlag: boolean): string | number | boolean {
  const where = fromFlag ? `--${spec.name}` : envName(command.name, spec.name);
  if (typeof raw === 'boolean') return raw;
  switch (spec.type) {
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      throw usage(command, `${where} must be true or false, not "${raw}"`);
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(value) || value < 0) throw usage(command, `${where} must be a whole number, not "${raw}"`);
      return value;
    }
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) throw usage(command, `${where} must be one of ${spec.choices.join(', ')}, not "${raw}"`);
      return raw;
  }
}

function usage(command: Command, message: string): McpmuxError {
  return new McpmuxError('MCPMUX_USAGE', `mcpmux ${command.name}: ${message} (see mcpmux ${command.name} --help)`);
}

export function renderHelp(command: Command): string {
  const lines = [`Usage: ${command.usage}`, '', command.summary];
  if (command.description) lines.push('', command.description);
  if (command.flags.length > 0) {
    lines.push('', 'Flags (each also read from the environment variable shown):');
    const width = Math.max(...command.flags.map((f) => flagLabel(f).length));
    for (const flag of command.flags) {
      const defaults = flag.default === undefined || flag.default === '' ? '' : ` (default ${String(flag.default)})`;
      const choices = flag.choices ? ` [${flag.choices.join('|')}]` : '';
      lines.push(`  ${flagLabel(flag).padEnd(width)}  ${flag.description}${choices}${defaults}`);
      lines.push(`  ${''.padEnd(width)}  env ${envName(command.name, flag.name)}`);
    }
  }
  if (command.examples.length > 0) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

function flagLabel(flag: FlagSpec): string {
  return flag.type === 'boolean' ? `--${flag.name}` : `--${flag.name} ${flag.type === 'number' ? 'N' : 'VALUE'}`;
}

/** Typed accessors for parsed flags (the spec guarantees the type). */
export const flag = {
  string: (flags: FlagValues, name: string): string => String(flags[name] ?? ''),
  number: (flags: FlagValues, name: string): number => Number(flags[name] ?? 0),
  boolean: (flags: FlagValues, name: string): boolean => flags[name] === true,
};
