// The processes a scenario measures: echo upstreams, and mcpmux itself (a control plane on a
// generated folder of YAML plus one proxy), each a real process on a free loopback port, started
// through the same CLI users run.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNode, startProcess, waitForHttpOk, type Managed } from '../../../shared/testing/processes.ts';

const CLI = fileURLToPath(new URL('../../../shared/cli/mcpmux.ts', import.meta.url));
const ECHO = fileURLToPath(new URL('../fixtures/echo-upstream.ts', import.meta.url));
const QUIET = { MCPMUX_LOG_LEVEL: process.env.MCPMUX_BENCH_LOG_LEVEL ?? 'warn' };
// MCPMUX_BENCH_PROFILE=DIR writes CPU profiles of the proxy and of the bare forwarder there, sampled
// every 100 µs (open them in Chrome DevTools or speedscope, or read them with profile-summary.ts).
const PROFILE_ENV: Record<string, string> = process.env.MCPMUX_BENCH_PROFILE
  ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-interval=100 --cpu-prof-dir=${process.env.MCPMUX_BENCH_PROFILE}` }
  : process.env.MCPMUX_BENCH_PERF_MAP
    ? { NODE_OPTIONS: '--perf-basic-prof' } // JIT symbols in /tmp/perf-PID.map, for `perf record -p PID`
    : {};
const PROXY_ENV: Record<string, string> = { ...QUIET, ...PROFILE_ENV };

export interface EchoProcess {
  url: string;
  process: Managed;
}

export interface EchoOptions {
  tools?: number;
  pageSize?: number;
  stateful?: boolean;
  /** Speak only MCP 2026-07-28 (stateless). */
  modern?: boolean;
  name?: string;
}

export async function startEcho(options: EchoOptions = {}): Promise<EchoProcess> {
  const { urls, process } = await startEchoServers(1, options);
  return { url: urls[0] as string, process };
}

/** `count` echo servers on their own ports, served by one process. */
export async function startEchoServers(count: number, options: EchoOptions = {}): Promise<{ urls: string[]; process: Managed }> {
  const args = [ECHO, '--count', String(count), '--tools', String(options.tools ?? 1), '--page-size', String(options.pageSize ?? 0)];
  if (options.stateful) args.push('--stateful');
  if (options.modern) args.push('--modern');
  const process = startNode(options.name ?? 'echo', args);
  const pattern = new RegExp(`(?:[\\s\\S]*?listening on http://\\S+\\n){${count}}`);
  await process.waitFor(pattern);
  const urls = [...process.output().matchAll(/listening on (http:\/\/\S+)/g)].map((m) => String(m[1]));
  return { urls, process };
}

export interface BackendTarget {
  name: string;
  url: string;
}

export interface McpmuxProcesses {
  mcpUrl: string;
  /** The proxy's health port: /readyz, /metrics. */
  proxyHttpUrl: string;
  grpcAddress: string;
  controlPlane: Managed;
  proxy: Managed;
  /** Rewrites the backend's targets; the control plane picks the change up and pushes it. */
  writeTargets(targets: readonly BackendTarget[], prefixMode?: 'always' | 'conditional' | 'never'): void;
  stop(): Promise<void>;
}

function gatewayYaml(): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench, namespace: bench}
spec: {gatewayClassName: mcpmux, listeners: [{name: http, port: 80, protocol: HTTP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mcp, namespace: bench}
spec:
  parentRefs: [{name: bench}]
  rules: [{matches: [{path: {type: PathPrefix, value: /mcp}}], backendRefs: [{group: mcpmux.dev, kind: MCPBackend, name: echo}]}]
`;
}

function backendYaml(targets: readonly BackendTarget[], prefixMode: string): string {
  const lines = targets.map((target) => {
    const url = new URL(target.url);
    return `  - static: {name: ${target.name}, host: ${url.hostname}, port: ${url.port}, path: ${url.pathname}}`;
  });
  return `apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: echo, namespace: bench}
spec:
  prefixMode: ${prefixMode}
  targets:
${lines.join('\n')}
`;
}

export interface ControlPlaneProcess {
  grpcAddress: string;
  process: Managed;
  /** Rewrites the backend's targets; the control plane picks the change up and pushes it. */
  writeTargets(targets: readonly BackendTarget[], prefixMode?: 'always' | 'conditional' | 'never'): void;
  stop(): Promise<void>;
}

/** A control plane watching a generated folder: one Gateway, one route at /mcp, one MCPBackend. */
export async function startControlPlane(targets: readonly BackendTarget[], options: { prefixMode?: 'always' | 'conditional' | 'never' } = {}): Promise<ControlPlaneProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-bench-'));
  writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml());
  const writeTargets = (list: readonly BackendTarget[], prefixMode = options.prefixMode ?? 'always'): void => {
    // Write-then-rename, so the watcher never reads a half-written file.
    writeFileSync(join(dir, '.backend.tmp'), backendYaml(list, prefixMode));
    renameSync(join(dir, '.backend.tmp'), join(dir, 'backend.yaml'));
  };
  writeTargets(targets);
  const [grpc, http] = [await freePort(), await freePort()];
  const process = startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpc), '--http-port', String(http)], QUIET);
  const stop = async (): Promise<void> => {
    await process.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttpOk(`http://127.0.0.1:${http}/readyz`, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { grpcAddress: `127.0.0.1:${grpc}`, process, writeTargets, stop };
}

export interface McpmuxOptions {
  prefixMode?: 'always' | 'conditional' | 'never';
  /** mcpmux proxy --workers (default: the flag's default, 1). */
  workers?: number;
  /** More proxy flags. */
  proxyArgs?: readonly string[];
  /** Pins the proxy (and its workers) to these CPUs with taskset, e.g. `1` or `0,1`. */
  proxyCpus?: string;
  /** More environment for the proxy (e.g. a log level). */
  proxyEnv?: Record<string, string>;
}

/** A control plane and one proxy (the CLI's) serving `targets` as one MCPBackend at /mcp. */
export async function startMcpmux(targets: readonly BackendTarget[], options: McpmuxOptions = {}): Promise<McpmuxProcesses> {
  const controlPlane = await startControlPlane(targets, options);
  const [port, proxyHttp] = [await freePort(), await freePort()];
  const args = [CLI, 'proxy', '--control-plane', controlPlane.grpcAddress, '--port', String(port), '--http-port', String(proxyHttp), '--replica-id', 'bench-proxy'];
  if (options.workers !== undefined) args.push('--workers', String(options.workers));
  args.push(...(options.proxyArgs ?? []));
  const env = { ...PROXY_ENV, ...options.proxyEnv };
  // taskset execs node in its own process: the pid is the proxy's.
  const proxy = options.proxyCpus ? startProcess('proxy', 'taskset', ['-c', options.proxyCpus, process.execPath, ...args], env) : startNode('proxy', args, env);
  const stop = async (): Promise<void> => {
    await proxy.stop();
    await controlPlane.stop();
  };
  try {
    await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { mcpUrl: `http://127.0.0.1:${port}/mcp`, proxyHttpUrl: `http://127.0.0.1:${proxyHttp}`, grpcAddress: controlPlane.grpcAddress, controlPlane: controlPlane.process, proxy, writeTargets: controlPlane.writeTargets, stop };
}

const FORWARDER = fileURLToPath(new URL('../fixtures/bare-forwarder.ts', import.meta.url));

/** The bare forwarder (fixtures/bare-forwarder.ts) in front of `upstreamUrl`: the floor of a Node hop. */
export async function startForwarder(upstreamUrl: string): Promise<EchoProcess> {
  const process = startNode('forwarder', [FORWARDER, '--upstream', upstreamUrl], PROFILE_ENV);
  const match = await process.waitFor(/listening on (http:\/\/\S+)/);
  return { url: String(match[1]), process };
}
