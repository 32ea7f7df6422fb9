#!/usr/bin/env node
// The one executable. Each subcommand lives with the component it runs; this file only finds it.
// Subcommands are loaded by path so that shared/ never imports control-plane/ or proxy/ code.
import { McpmuxError } from '../errors.ts';
import { MCPMUX_VERSION } from '../version.ts';
import { parseCommandArgs, renderHelp } from './command.ts';
import { SUBCOMMANDS, loadSubcommand } from './subcommands.ts';
import { enableCompileCache } from 'node:module';

// The subcommands load a few hundred modules (client-node alone takes ~250 ms): V8's compiled code
// is kept on disk (NODE_COMPILE_CACHE, else the temp folder), so a restarted replica starts faster.
enableCompileCache?.();

function topHelp(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  return [
    'mcpmux: a Kubernetes-native MCP gateway. One /mcp endpoint for every MCP server in the cluster.',
    '',
    'Usage: mcpmux <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`),
    '',
    'Run `mcpmux <command> --help` for its flags. `mcpmux --version` prints the version.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`mcpmux ${MCPMUX_VERSION}\n`);
    return 0;
  }
  const entry = SUBCOMMANDS[name];
  if (!entry) {
    process.stderr.write(`mcpmux: unknown command "${name}"\n\n${topHelp()}`);
    return 2;
  }
  const command = await loadSubcommand(entry);
  const { flags, positionals, help } = parseCommandArgs(command, rest);
  if (help) {
    process.stdout.write(renderHelp(command));
    return 0;
  }
  return command.run(flags, positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof McpmuxError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`mcpmux: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = error instanceof McpmuxError && error.code === 'MCPMUX_USAGE' ? 2 : 1;
  },
);
