// The subcommands of the one executable: where each lives and what it does. Loaded by path so that
// shared/ never imports control-plane/ or proxy/ code statically (and `--help` stays fast).
import type { Command } from './command.ts';

export interface SubcommandEntry {
  module: string;
  export: string;
  summary: string;
}

export const SUBCOMMANDS: Record<string, SubcommandEntry> = {
  dev: { module: './dev.ts', export: 'devCommand', summary: 'control plane (files) + proxy + the tutorial\'s demo upstreams: what `npm start` runs' },
  'control-plane': { module: '../../control-plane/cli.ts', export: 'controlPlaneCommand', summary: 'watch Kubernetes objects (a folder or a cluster) and serve snapshots over gRPC' },
  proxy: { module: '../../proxy/cli.ts', export: 'proxyCommand', summary: 'serve /mcp for one Gateway, configured by the control plane' },
  validate: { module: '../../control-plane/cli.ts', export: 'validateCommand', summary: 'check a folder of manifests and print the targets and tool prefixes it would expose' },
  snapshot: { module: './inspect.ts', export: 'snapshotCommand', summary: 'print a control plane\'s snapshots: get [VERSION], history, diff FROM [TO]' },
  proxies: { module: './inspect.ts', export: 'proxiesCommand', summary: 'list the proxies connected to a control plane and the versions they ACKed' },
  'admin-cert': { module: '../../control-plane/pki/cli.ts', export: 'adminCertCommand', summary: 'issue a client certificate for the admin API from the control plane\'s CA Secret' },
  ca: { module: '../../control-plane/pki/cli.ts', export: 'caCommand', summary: 'rotate the control plane\'s CA: ca rotate stage|promote|retire' },
};

/** The Command a subcommand entry names. */
export async function loadSubcommand(entry: SubcommandEntry): Promise<Command> {
  const loaded = (await import(new URL(entry.module, import.meta.url).href)) as Record<string, Command>;
  const command = loaded[entry.export];
  if (!command) throw new Error(`internal: ${entry.module} does not export ${entry.export}`);
  return command;
}
