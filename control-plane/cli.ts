import { flag, type Command } from '../shared/cli/command.ts';
import { McpmuxError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { waitForShutdown } from '../shared/cli/signals.ts';
import { startControlPlane } from './control-plane.ts';
import { FilesSource } from './sources/files.ts';
import { DEFAULT_FILES_GATEWAY_CLASSES } from './translate/translate.ts';
import { validateDir } from './validate.ts';

export const controlPlaneCommand: Command = {
  name: 'control-plane',
  summary: 'Watch Kubernetes objects (a folder of YAML, or a cluster) and stream versioned snapshots to proxies over gRPC.',
  usage: 'mcpmux control-plane [--source files] [--dir DIR] [--address 127.0.0.1] [--grpc-port 18000] [--http-port 15001]',
  description:
    'The gRPC port serves discovery (proxies), admin and server reflection (grpcurl). The HTTP port serves /healthz, /readyz and /metrics.\n' +
    'The files source reads Service, EndpointSlice, Gateway, HTTPRoute, AgentgatewayBackend and MCPBackend objects from a folder and\n' +
    'watches it; a Service gets a local address from an EndpointSlice in the folder or its mcpmux.dev/url annotation.',
  examples: [
    'mcpmux control-plane --dir deploy/examples/tutorial',
    'grpcurl -plaintext 127.0.0.1:18000 mcpmux.v1.AdminService/GetSnapshot',
  ],
  flags: [
    { name: 'source', type: 'string', default: 'files', choices: ['files'], description: 'where objects come from (kubernetes arrives with the cluster issue)' },
    { name: 'dir', type: 'string', default: 'deploy/examples/tutorial', description: 'folder of Kubernetes YAML for the files source' },
    { name: 'address', type: 'string', default: '127.0.0.1', description: 'address to bind the gRPC and HTTP ports' },
    { name: 'grpc-port', type: 'number', default: 18000, description: 'discovery + admin + reflection' },
    { name: 'http-port', type: 'number', default: 15001, description: '/healthz, /readyz, /metrics' },
    { name: 'gateway-class', type: 'string', default: DEFAULT_FILES_GATEWAY_CLASSES.join(','), description: 'comma-separated GatewayClass names to serve' },
    { name: 'event-log-retention', type: 'number', default: 10000, description: 'events kept in memory for ListEvents' },
  ],
  async run(flags) {
    const logger = createLogger('control-plane');
    const gatewayClasses = flag.string(flags, 'gateway-class').split(',').map((c) => c.trim()).filter(Boolean);
    if (gatewayClasses.length === 0) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux control-plane: --gateway-class names no class');
    const dir = flag.string(flags, 'dir');
    const running = await startControlPlane({
      source: new FilesSource({ dir, logger }),
      gatewayClasses,
      address: flag.string(flags, 'address'),
      grpcPort: flag.number(flags, 'grpc-port'),
      httpPort: flag.number(flags, 'http-port'),
      eventLogRetention: flag.number(flags, 'event-log-retention'),
      logger,
    });
    await waitForShutdown(logger);
    await running.close();
    return 0;
  },
};

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a folder of Kubernetes YAML and print the listeners, routes, targets and tool prefixes it would expose.',
  usage: 'mcpmux validate DIR',
  description: 'Exits 1 with file:line errors when a file does not parse or an object is rejected, 0 otherwise.',
  examples: ['mcpmux validate deploy/examples/tutorial'],
  flags: [{ name: 'gateway-class', type: 'string', default: DEFAULT_FILES_GATEWAY_CLASSES.join(','), description: 'comma-separated GatewayClass names to serve' }],
  async run(flags, positionals) {
    const [dir, ...extra] = positionals;
    if (!dir || extra.length > 0) throw new McpmuxError('MCPMUX_USAGE', 'mcpmux validate: name exactly one folder (see mcpmux validate --help)');
    const gatewayClasses = flag.string(flags, 'gateway-class').split(',').map((c) => c.trim()).filter(Boolean);
    const { ok, report } = await validateDir(dir, { gatewayClasses });
    process.stdout.write(report.endsWith('\n') ? report : `${report}\n`);
    return ok ? 0 : 1;
  },
};
