// A proxy fleet on loopback for tests and benchmarks (issue 8): a real nats-server with JetStream,
// server-everything, a control plane on a temp copy of the tutorial, N proxy replicas sharing
// sessions through NATS (each a CLI process), and our round-robin balancer in front of them, as a
// Kubernetes Service would be. Replicas can be killed, drained (SIGTERM) and started again on
// their ports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBalancer, type Balancer } from './balancer.ts';
import { startNatsServer, type NatsServer } from './nats.ts';
import { CLI, EVERYTHING, FETCHER, freePort, startNode, waitForHttpOk, type Managed } from './processes.ts';
import { endpointSlice, federatedService, TUTORIAL_YAML } from './stack.ts';
import { fileURLToPath } from 'node:url';

const MODERN_DEMO = fileURLToPath(new URL('../../deploy/examples/modern-demo/server.ts', import.meta.url));

export interface FleetHarnessOptions {
  replicas?: number;
  /** Share sessions over NATS (default); false runs independent replicas (for comparisons). */
  nats?: boolean;
  /** Extra proxy flags, e.g. ['--session-idle-timeout', '60']. */
  proxyArgs?: string[];
  env?: Record<string, string>;
  /** Also run the tutorial's website fetcher (the node stand-in). */
  fetcher?: boolean;
  /** Also run the modern demo (2026-07-28 only), federated as mcp-modern-demo-3701. */
  modern?: boolean;
  /** Start nats-server with its monitoring port (NatsServer.monitorUrl). */
  natsMonitor?: boolean;
}

export interface Replica {
  id: string;
  port: number;
  httpPort: number;
  url: string;
  process: Managed | undefined;
}

export interface FleetHarness {
  dir: string;
  nats: NatsServer | undefined;
  everything: Managed;
  everythingUrl: string;
  controlPlane: Managed;
  grpcAddress: string;
  replicas: Replica[];
  balancer: Balancer;
  /** The balancer's MCP URL: what clients use. */
  mcpUrl: string;
  /** Starts replica i (again) on its ports; resolves once it is ready. */
  start(i: number): Promise<void>;
  /** SIGKILL: no drain, no goodbye. */
  kill(i: number): Promise<void>;
  /** SIGTERM and wait for the exit (the drain); resolves with the exit code. */
  drain(i: number, timeoutMs?: number): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startFleet(options: FleetHarnessOptions = {}): Promise<FleetHarness> {
  const count = options.replicas ?? 3;
  const nats = options.nats === false ? undefined : await startNatsServer([], { monitor: options.natsMonitor === true });
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-fleet-'));
  const everythingPort = await freePort();
  const grpcPort = await freePort();
  const cpHttp = await freePort();
  writeFileSync(join(dir, 'tutorial.yaml'), TUTORIAL_YAML);
  const fetcherPort = await freePort();
  const modernPort = await freePort();
  writeFileSync(
    join(dir, 'local-endpoints.yaml'),
    endpointSlice('mcp-server-everything', '127.0.0.1', everythingPort) +
      (options.fetcher ? endpointSlice('mcp-website-fetcher', '127.0.0.1', fetcherPort) : '') +
      (options.modern ? endpointSlice('mcp-modern-demo', '127.0.0.1', modernPort) : ''),
  );
  if (options.modern) writeFileSync(join(dir, 'modern-demo.yaml'), `---\n${federatedService('mcp-modern-demo', 3701)}`);
  const quiet = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'warn', ...options.env };
  const everything = startNode('everything', [EVERYTHING, 'streamableHttp'], { PORT: String(everythingPort) });
  const fetcher = options.fetcher ? startNode('fetcher', [FETCHER], { PORT: String(fetcherPort), HOST: '127.0.0.1' }) : undefined;
  const modern = options.modern ? startNode('modern-demo', [MODERN_DEMO], { PORT: String(modernPort), HOST: '127.0.0.1' }) : undefined;
  const controlPlane = startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpcPort), '--http-port', String(cpHttp)], quiet);
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    replicas.push({ id: `proxy-${i}`, port, httpPort: await freePort(), url: `http://127.0.0.1:${port}/mcp`, process: undefined });
  }
  const spawnReplica = (replica: Replica): Managed =>
    startNode(
      replica.id,
      [
        CLI,
        'proxy',
        '--control-plane',
        `127.0.0.1:${grpcPort}`,
        '--port',
        String(replica.port),
        '--http-port',
        String(replica.httpPort),
        '--replica-id',
        replica.id,
        ...(nats ? ['--nats', nats.url] : []),
        ...(options.proxyArgs ?? []),
      ],
      quiet,
    );
  let balancer: Balancer | undefined;
  const harness: FleetHarness = {
    dir,
    nats,
    everything,
    everythingUrl: `http://127.0.0.1:${everythingPort}/mcp`,
    controlPlane,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    replicas,
    get balancer(): Balancer {
      if (!balancer) throw new Error('the fleet has no balancer yet');
      return balancer;
    },
    get mcpUrl(): string {
      return `${harness.balancer.url}/mcp`;
    },
    async start(i) {
      const replica = replicas[i] as Replica;
      replica.process = spawnReplica(replica);
      // Generous: CI runs two test files at once on two cores.
      await waitForHttpOk(`http://127.0.0.1:${replica.httpPort}/readyz`, 45_000, replica.process);
    },
    async kill(i) {
      const replica = replicas[i] as Replica;
      await replica.process?.stop('SIGKILL');
      replica.process = undefined;
    },
    async drain(i, timeoutMs = 30_000) {
      const replica = replicas[i] as Replica;
      const child = replica.process?.child;
      replica.process = undefined;
      if (!child || child.exitCode !== null) return child?.exitCode ?? null;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async stop() {
      await balancer?.close();
      await Promise.all(replicas.map((r) => r.process?.stop('SIGKILL')));
      await Promise.all([controlPlane.stop(), everything.stop(), fetcher?.stop(), modern?.stop()]);
      await nats?.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await everything.waitFor(/listening on port/, 45_000);
    await fetcher?.waitFor(/listening on/, 30_000);
    await modern?.waitFor(/listening on/, 30_000);
    await waitForHttpOk(`http://127.0.0.1:${cpHttp}/readyz`, 45_000, controlPlane);
    await Promise.all(replicas.map((_, i) => harness.start(i)));
    balancer = await startBalancer({ backends: replicas.map((r) => ({ url: `http://127.0.0.1:${r.port}`, readyUrl: `http://127.0.0.1:${r.httpPort}/readyz` })) });
  } catch (error) {
    await harness.stop();
    throw error;
  }
  return harness;
}
