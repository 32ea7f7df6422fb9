// Hand-built snapshots for tests: one listener, one route, one backend, targets from URLs (or
// commands, for stdio targets).
import type { Backend, Snapshot, StdioCommand, Target } from '../../shared/config/types.ts';

export function target(backend: string, name: string, url: string, overrides: Partial<Target> = {}): Target {
  const parsed = new URL(url);
  return {
    backend,
    name,
    endpoints: [{ address: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)), ready: true }],
    path: parsed.pathname,
    protocol: 'PROTOCOL_STREAMABLE_HTTP',
    scheme: parsed.protocol.replace(':', ''),
    timeouts: { requestMs: 0, initializeMs: 0 },
    authSecret: '',
    source: `test/${name}`,
    stdio: null,
    protocolEra: 'PROTOCOL_ERA_AUTO',
    ...overrides,
  };
}

/** A stdio target: the proxy runs `command args...` (cwd and env as given). */
export function stdioTarget(backend: string, name: string, command: string, args: string[] = [], stdio: Partial<StdioCommand> = {}): Target {
  return {
    backend,
    name,
    endpoints: [],
    path: '',
    protocol: 'PROTOCOL_STDIO',
    scheme: '',
    timeouts: { requestMs: 0, initializeMs: 0 },
    authSecret: '',
    source: `test/${name}`,
    stdio: { command, args, env: {}, cwd: '', ...stdio },
    protocolEra: 'PROTOCOL_ERA_LEGACY',
  };
}

export interface SimpleSnapshot {
  version: string;
  /** Name → URL (or a full Target for special cases). */
  targets: Record<string, string | Target>;
  pathPrefix?: string;
  backend?: Partial<Backend>;
}

export const BACKEND = 'agentgateway-system/mcp-federated';

export function simpleSnapshot(spec: SimpleSnapshot): Snapshot {
  const backendName = spec.backend?.name ?? BACKEND;
  const targets = Object.entries(spec.targets).map(([name, t]) => (typeof t === 'string' ? target(backendName, name, t) : t));
  return {
    version: spec.version,
    group: 'agentgateway-system/mcp-gateway',
    listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostnames: [], certificateSecrets: [] }],
    routes: [{ name: 'agentgateway-system/mcp/0/0', listeners: ['http'], pathPrefix: spec.pathPrefix ?? '/mcp', backend: backendName, hostnames: [] }],
    backends: [
      {
        name: backendName,
        prefixMode: 'PREFIX_MODE_ALWAYS',
        failureMode: 'FAILURE_MODE_OPEN',
        toolInclude: [],
        toolExclude: [],
        serverInfo: null,
        instructions: '',
        ...spec.backend,
        targets: targets.map((t) => t.name).sort(),
      },
    ],
    targets,
    policies: [],
    secrets: [],
  };
}
