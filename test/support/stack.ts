import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, EVERYTHING, FETCHER, ROOT, freePort, startNode, waitForHttpOk, type Managed } from './processes.ts';
import { ensurePythonVenv, FETCHER_READY, spawnPythonFetcher } from './python.ts';

/** The tutorial's manifests, unchanged. */
export const TUTORIAL_YAML = readFileSync(join(ROOT, 'deploy/examples/tutorial/tutorial.yaml'), 'utf8');

/** An EndpointSlice giving a Service of the tutorial a local address. */
export function endpointSlice(service: string, address: string, port: number, namespace = 'agentgateway-system', addressType: 'IPv4' | 'FQDN' = 'IPv4'): string {
  return `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${service}-local
  namespace: ${namespace}
  labels:
    kubernetes.io/service-name: ${service}
addressType: ${addressType}
endpoints:
- addresses: ["${address}"]
  conditions:
    ready: true
ports:
- port: ${port}
  protocol: TCP
`;
}

/** A Service of the tutorial's namespace with the federation label: one more target (no endpoints unless given). */
export function federatedService(name: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: agentgateway-system, labels: {mcp-federation: "true"}}
spec: {ports: [{protocol: TCP, port: ${port}, targetPort: ${port}, appProtocol: kgateway.dev/mcp}]}
`;
}

/** A control plane (the CLI's) serving a folder of manifests, on free ports; resolves once ready. */
export async function startFolderControlPlane(dir: string): Promise<{ process: Managed; grpcAddress: string }> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const process = startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpcPort), '--http-port', String(httpPort)]);
  await waitForHttpOk(`http://127.0.0.1:${httpPort}/readyz`);
  return { process, grpcAddress: `127.0.0.1:${grpcPort}` };
}

export interface Stack {
  dir: string;
  ports: { everything: number; fetcher: number; grpc: number; controlPlaneHttp: number; proxy: number; proxyHttp: number };
  mcpUrl: string;
  grpcAddress: string;
  everything: Managed;
  fetcher: Managed;
  controlPlane: Managed;
  proxy: Managed;
  startControlPlane(): Managed;
  /** Starts server-everything again on its port (after a test stopped `everything`); resolves once it listens. */
  startEverything(): Promise<Managed>;
  /** Starts the website fetcher again on its port (after a test stopped `fetcher`); resolves once it listens. */
  startFetcher(): Promise<Managed>;
  writeFile(name: string, text: string): void;
  removeFile(name: string): void;
  connect(name?: string): Promise<Client>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /**
   * Which website fetcher serves `mcp-website-fetcher`: `node`, the TypeScript stand-in in
   * deploy/examples/website-fetcher (default), or `python`, the tutorial's own FastMCP app.py
   * (test/support/python.ts; its venv is installed into the cache on first use).
   */
  fetcher?: 'node' | 'python';
}

/**
 * The tutorial on free loopback ports: server-everything, the website fetcher, a control plane on
 * a temp copy of the tutorial folder, and one proxy, each a real process started through the CLI.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const python = options.fetcher === 'python' ? await ensurePythonVenv() : undefined;
  const ports = {
    everything: await freePort(),
    fetcher: await freePort(),
    grpc: await freePort(),
    controlPlaneHttp: await freePort(),
    proxy: await freePort(),
    proxyHttp: await freePort(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-stack-'));
  writeFileSync(join(dir, 'tutorial.yaml'), TUTORIAL_YAML);
  writeFileSync(
    join(dir, 'local-endpoints.yaml'),
    endpointSlice('mcp-server-everything', '127.0.0.1', ports.everything) + endpointSlice('mcp-website-fetcher', '127.0.0.1', ports.fetcher),
  );
  const quiet = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_LOG_LEVEL ?? 'info' };
  const spawnEverything = (): Managed => startNode('everything', [EVERYTHING, 'streamableHttp'], { PORT: String(ports.everything) });
  const spawnFetcher = (): Managed =>
    python ? spawnPythonFetcher(python, ports.fetcher, 'fetcher') : startNode('fetcher', [FETCHER], { PORT: String(ports.fetcher), HOST: '127.0.0.1' });
  const everythingReady = /listening on port/;
  const fetcherReady = python ? FETCHER_READY : /listening on/;
  const everything = spawnEverything();
  const fetcher = spawnFetcher();
  const startControlPlane = (): Managed =>
    startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(ports.grpc), '--http-port', String(ports.controlPlaneHttp)], quiet);
  const stack: Stack = {
    dir,
    ports,
    mcpUrl: `http://127.0.0.1:${ports.proxy}/mcp`,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    everything,
    fetcher,
    controlPlane: startControlPlane(),
    proxy: startNode('proxy', [CLI, 'proxy', '--control-plane', `127.0.0.1:${ports.grpc}`, '--port', String(ports.proxy), '--http-port', String(ports.proxyHttp), '--replica-id', 'proxy-1'], quiet),
    startControlPlane() {
      stack.controlPlane = startControlPlane();
      return stack.controlPlane;
    },
    async startEverything() {
      stack.everything = spawnEverything();
      await stack.everything.waitFor(everythingReady);
      return stack.everything;
    },
    async startFetcher() {
      stack.fetcher = spawnFetcher();
      await stack.fetcher.waitFor(fetcherReady, 30_000);
      return stack.fetcher;
    },
    writeFile: (name, text) => writeFileSync(join(dir, name), text),
    removeFile: (name) => rmSync(join(dir, name), { force: true }),
    async connect(name = 'test-client') {
      const client = new Client({ name, version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl)));
      return client;
    },
    async stop() {
      await Promise.all([stack.proxy.stop(), stack.controlPlane.stop(), stack.everything.stop(), stack.fetcher.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all([everything.waitFor(everythingReady), fetcher.waitFor(fetcherReady, 30_000)]);
    await waitForHttpOk(`http://127.0.0.1:${ports.controlPlaneHttp}/readyz`);
    await waitForHttpOk(`http://127.0.0.1:${ports.proxyHttp}/readyz`);
  } catch (error) {
    // The error names a port; what each process said (and whether it is still running) says why.
    const report = [stack.everything, stack.fetcher, stack.controlPlane, stack.proxy].map(describeProcess).join('\n');
    await stack.stop();
    throw new Error(`the stack did not come up: ${(error as Error).message}\n${report}`, { cause: error });
  }
  return stack;
}

/** A process' state and the end of its output, for an error message. */
export function describeProcess(managed: Managed, chars = 3000): string {
  const { child } = managed;
  const state = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'still running';
  const output = managed.output().trim();
  return `--- ${managed.name} (pid ${child.pid}), ${state}; output:\n${output.length > chars ? `…${output.slice(-chars)}` : output || '(none)'}`;
}
