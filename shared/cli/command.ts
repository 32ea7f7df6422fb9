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

/** Flags win over environment variables, which win over defaults. Unknown flags are errors. */
export function parseCommandArgs(
  command: Command,
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): { flags: FlagValues; positionals: string[]; help: boolean } {
  const specs = new Map(command.flags.map((f) => [f.name, f]));
  const given = new Map<string, string | boolean>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const negated = name.startsWith('no-') && specs.get(name.slice(3))?.type === 'boolean';
    const spec = specs.get(negated ? name.slice(3) : name);
    if (!spec) throw usage(command, `unknown flag --${name}`);
    if (spec.type === 'boolean') {
      given.set(spec.name, eq === -1 ? !negated : arg.slice(eq + 1));
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw usage(command, `--${name} needs a value`);
    given.set(spec.name, value);
  }
  const flags: FlagValues = {};
  for (const spec of command.flags) {
    const raw = given.get(spec.name) ?? env[envName(command.name, spec.name)];
    flags[spec.name] = raw === undefined ? spec.default : convert(command, spec, raw, given.has(spec.name));
  }
  return { flags, positionals, help };
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
