#!/usr/bin/env node
// The one executable. Each subcommand lives with the component it runs; this file only finds it.
// Subcommands are loaded by path so that shared/ never imports control-plane/ or proxy/ code.
import { McpmuxError } from '../errors.ts';
import { MCPMUX_VERSION } from '../version.ts';
import { parseCommandArgs, renderHelp, type Command } from './command.ts';

const SUBCOMMANDS: Record<string, { module: string; export: string; summary: string }> = {
  dev: { module: './dev.ts', export: 'devCommand', summary: 'control plane (files) + proxy + the tutorial\'s demo upstreams: what `npm start` runs' },
  'control-plane': { module: '../../control-plane/cli.ts', export: 'controlPlaneCommand', summary: 'watch Kubernetes objects (a folder or a cluster) and serve snapshots over gRPC' },
  proxy: { module: '../../proxy/cli.ts', export: 'proxyCommand', summary: 'serve /mcp for one Gateway, configured by the control plane' },
  validate: { module: '../../control-plane/cli.ts', export: 'validateCommand', summary: 'check a folder of manifests and print the targets and tool prefixes it would expose' },
  snapshot: { module: './inspect.ts', export: 'snapshotCommand', summary: 'print a control plane\'s snapshots: get [VERSION], history, diff FROM [TO]' },
  proxies: { module: './inspect.ts', export: 'proxiesCommand', summary: 'list the proxies connected to a control plane and the versions they ACKed' },
};

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
  const loaded = (await import(new URL(entry.module, import.meta.url).href)) as Record<string, Command>;
  const command = loaded[entry.export];
  if (!command) throw new Error(`internal: ${entry.module} does not export ${entry.export}`);
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
