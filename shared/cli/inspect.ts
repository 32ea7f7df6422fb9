// `mcpmux snapshot get|diff|history` and `mcpmux proxies`: a running control plane inspected over
// its admin API (what grpcurl shows too, without needing grpcurl). Secrets arrive redacted: the
// control plane never sends their values on this API.
import { stringify } from 'yaml';
import { AdminClient } from '../admin/client.ts';
import { upstreamEras } from '../admin/proxy-metadata.ts';
import { McpmuxError, errorMessage } from '../errors.ts';
import { loadTls } from '../net/tls.ts';
import type { Timestamp } from '../proto/messages.ts';
import { flag, type Command, type FlagSpec, type FlagValues } from './command.ts';
import { diffText } from './diff-text.ts';

const CONNECTION_FLAGS: FlagSpec[] = [
  { name: 'control-plane', type: 'string', default: '127.0.0.1:18000', description: 'host:port of the control plane gRPC server' },
  { name: 'group', type: 'string', default: '', description: 'NAMESPACE/NAME of the Gateway (empty: the only one)' },
  { name: 'output', type: 'string', default: 'table', choices: ['table', 'json', 'yaml'], description: 'how to print the answer' },
  { name: 'tls-ca', type: 'string', description: 'mTLS: PEM CA the control plane\'s certificate chains to (with --tls-cert and --tls-key)' },
  { name: 'tls-cert', type: 'string', description: 'mTLS: PEM client certificate' },
  { name: 'tls-key', type: 'string', description: 'mTLS: PEM private key of --tls-cert' },
  { name: 'tls-server-name', type: 'string', description: 'mTLS: the name in the control plane\'s certificate, when not the host of --control-plane' },
];

/** The admin API answers lists in pages; the commands follow them all, this many per call. */
const PAGE_SIZE_FLAG: FlagSpec = { name: 'page-size', type: 'number', default: 0, description: 'items per admin API call when listing (0: the control plane\'s default); every page is printed' };

function connect(flags: FlagValues): AdminClient {
  const tls = loadTls(
    { ca: flags['tls-ca'] as string | undefined, cert: flags['tls-cert'] as string | undefined, key: flags['tls-key'] as string | undefined },
    { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' },
  );
  return new AdminClient(flag.string(flags, 'control-plane'), { tls, tlsServerName: (flags['tls-server-name'] as string | undefined) || undefined });
}

/** A gRPC failure as a message a user can act on. */
function unreachable(flags: FlagValues, error: unknown): McpmuxError {
  const message = errorMessage(error);
  const hint = /UNAVAILABLE|ECONNREFUSED|No connection established/i.test(message)
    ? ` (is a control plane listening there? mcpmux control-plane --grpc-port, or --control-plane HOST:PORT)`
    : '';
  return new McpmuxError('MCPMUX_USAGE', `control plane ${flag.string(flags, 'control-plane')}: ${message}${hint}`);
}

function time(timestamp: Timestamp | undefined | null): string {
  if (!timestamp) return '';
  return new Date(Number(timestamp.seconds ?? 0) * 1000 + Math.floor(Number(timestamp.nanos ?? 0) / 1e6)).toISOString();
}

function table(columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns), ...rows.map(line)].join('\n') + '\n';
}

function print(flags: FlagValues, value: unknown, asTable: () => string): void {
  const output = flag.string(flags, 'output');
  if (output === 'json') process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(stringify(value));
  else process.stdout.write(asTable());
}

export const snapshotCommand: Command = {
  name: 'snapshot',
  summary: 'Inspect the snapshots a control plane serves: the current or an old one, their history, what changed between two.',
  usage: 'mcpmux snapshot get [VERSION] | history | diff FROM [TO]  [--control-plane 127.0.0.1:18000] [--group NS/NAME] [--output table|json|yaml] [--page-size N]',
  description:
    'get prints a snapshot (the current one, or VERSION from the history): routes, backends and targets, secrets redacted.\n' +
    'history lists the versions built, newest last, with the event that made each (all of them, --page-size per call).\n' +
    'diff shows what changed between two versions (TO defaults to the current one), by kind (targets, routes, backends,\n' +
    'listeners, policies, secrets): each resource added, removed or changed, its fields as - old / + new, a summary, and\n' +
    'the events in between; --output json or yaml prints the control plane\'s answer as it is.',
  examples: ['mcpmux snapshot get', 'mcpmux snapshot get --output yaml', 'mcpmux snapshot history', 'mcpmux snapshot diff 1a2b3c4d', 'mcpmux snapshot diff 1a2b3c4d --output json', 'mcpmux snapshot get --control-plane mcpmux-control-plane.mcpmux-system:18000 --output json'],
  flags: [...CONNECTION_FLAGS, PAGE_SIZE_FLAG],
  async run(flags, positionals) {
    const [action, ...args] = positionals;
    const group = flag.string(flags, 'group');
    if (action !== 'get' && action !== 'history' && action !== 'diff') {
      throw new McpmuxError('MCPMUX_USAGE', `mcpmux snapshot: say get, history or diff (got ${action === undefined ? 'nothing' : JSON.stringify(action)}); see mcpmux snapshot --help`);
    }
    if (action === 'diff' && args[0] === undefined) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux snapshot diff FROM [TO]: FROM is a version (see mcpmux snapshot history)');
    const admin = connect(flags);
    try {
      if (action === 'get') {
        const snapshot = await admin.getSnapshot(group, args[0] ?? '').catch((error: unknown) => {
          throw unreachable(flags, error);
        });
        print(flags, snapshot, () => {
          const lines = [`group ${snapshot.group}  version ${snapshot.version}`, ''];
          const rows: string[][] = [];
          for (const route of snapshot.routes ?? []) {
            const ports = (snapshot.listeners ?? []).filter((l) => route.listeners.includes(l.name)).map((l) => l.port).join(',');
            for (const target of (snapshot.targets ?? []).filter((t) => t.backend === route.backend)) {
              const ready = target.endpoints.filter((e) => e.ready).length;
              rows.push([ports, route.pathPrefix, route.backend, target.name, `${ready}/${target.endpoints.length}`]);
            }
          }
          return `${lines.join('\n')}${table(['port', 'prefix', 'backend', 'target', 'ready endpoints'], rows)}`;
        });
      } else if (action === 'history') {
        // The API answers newest first; a history reads oldest first, the current version last.
        const versions = (
          await admin.listVersions(group, flag.number(flags, 'page-size')).catch((error: unknown) => {
            throw unreachable(flags, error);
          })
        ).reverse();
        print(flags, versions, () => table(['group', 'version', 'built', 'event seq'], versions.map((v) => [v.group, v.version, time(v.builtAt), v.eventSeq])));
      } else {
        const diff = await admin.diffVersions(args[0] ?? '', args[1] ?? '', group).catch((error: unknown) => {
          throw unreachable(flags, error);
        });
        print(flags, diff, () => {
          const events = diff.events.length === 0 ? '' : `\nevents in between\n${table(['seq', 'type', 'kind', 'object'], diff.events.map((e) => [e.seq, e.type, e.kind, e.namespace ? `${e.namespace}/${e.name}` : e.name]))}`;
          return diffText(diff) + events;
        });
      }
      return 0;
    } finally {
      admin.close();
    }
  },
};

export const proxiesCommand: Command = {
  name: 'proxies',
  summary: 'List the proxies connected to a control plane: the version each ACKed, and the last NACK if any.',
  usage: 'mcpmux proxies [--control-plane 127.0.0.1:18000] [--output table|json|yaml] [--page-size N]',
  description:
    'Every proxy this control plane replica knows (all pages, --page-size per call), by node id. The table\'s first line\n' +
    'says where the control plane keeps its event history (history: memory (this replica only), file PATH, ...).',
  examples: ['mcpmux proxies', 'mcpmux proxies --output json', 'mcpmux proxies --page-size 100'],
  flags: [...CONNECTION_FLAGS.filter((f) => f.name !== 'group'), PAGE_SIZE_FLAG],
  async run(flags) {
    const admin = connect(flags);
    try {
      const { proxies, history } = await admin.proxies(flag.number(flags, 'page-size')).catch((error: unknown) => {
        throw unreachable(flags, error);
      });
      print(flags, proxies, () =>
        `history: ${history || 'not said (a control plane older than this mcpmux)'}\n` +
        table(
          ['proxy', 'group', 'connected', 'acked version', 'sent version', 'last NACK', 'last seen', 'upstream eras'],
          proxies.map((p) => [p.nodeId, p.group, p.connected ? 'yes' : 'no', p.ackedVersion, p.sentVersion, p.lastNackError ? `${p.lastNackVersion}: ${p.lastNackError}` : '', time(p.lastSeen), upstreamEras(p.metadata)]),
        ),
      );
      return 0;
    } finally {
      admin.close();
    }
  },
};
