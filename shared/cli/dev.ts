import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { flag, type Command } from './command.ts';
import { humanizeLogLine } from './log-lines.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('./mcpmux.ts', import.meta.url));
const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const FETCHER = fileURLToPath(new URL('../../deploy/examples/website-fetcher/server.ts', import.meta.url));
const MODERN_DEMO = fileURLToPath(new URL('../../deploy/examples/modern-demo/server.ts', import.meta.url));

interface ChildSpec {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Started once this URL answers 200 (the proxy waits for the control plane to be ready). */
  after?: string;
}

/**
 * `npm start`: the whole tutorial on one machine, each part a process of its own as in a cluster:
 * the control plane on the files source, one proxy, and the two demo upstreams the tutorial's
 * EndpointSlices point at (server-everything on :3001, the website fetcher on :8081), and the
 * demo that speaks only MCP 2026-07-28 (:3701, deploy/examples/tutorial/modern-demo.yaml).
 */
export const devCommand: Command = {
  name: 'dev',
  summary: 'Run the tutorial locally: control plane (files source) + proxy + the demo MCP servers. Ctrl-C stops everything.',
  usage: 'mcpmux dev [--dir deploy/examples/tutorial] [--port 8080]',
  description:
    'Edit a file in --dir while it runs and new sessions see the change. Point an MCP client at http://127.0.0.1:PORT/mcp.\n' +
    'The demo upstreams listen where deploy/examples/tutorial/local-endpoints.yaml and modern-demo.yaml say: 127.0.0.1:3001,\n' +
      '127.0.0.1:8081 and (2026-07-28 only) 127.0.0.1:3701.',
  examples: ['npm start', 'mcpmux dev --port 9090', 'mcpmux dev --dir my-manifests --no-upstreams'],
  flags: [
    { name: 'dir', type: 'string', default: 'deploy/examples/tutorial', description: 'folder of Kubernetes YAML to watch' },
    { name: 'port', type: 'number', default: 8080, description: 'proxy port for MCP clients' },
    { name: 'grpc-port', type: 'number', default: 18000, description: 'control plane gRPC port (discovery, admin, grpcurl)' },
    { name: 'control-plane-http-port', type: 'number', default: 15001, description: 'control plane /healthz, /readyz, /metrics' },
    { name: 'proxy-http-port', type: 'number', default: 15000, description: 'proxy /healthz, /readyz, /metrics' },
    { name: 'upstreams', type: 'boolean', default: true, description: 'start the demo upstreams (--no-upstreams to skip)' },
    { name: 'everything-port', type: 'number', default: 3001, description: 'port of the demo server-everything' },
    { name: 'fetcher-port', type: 'number', default: 8081, description: 'port of the demo website fetcher' },
    { name: 'modern-demo-port', type: 'number', default: 3701, description: 'port of the demo server that speaks only MCP 2026-07-28' },
    { name: 'json-logs', type: 'boolean', default: false, description: 'print the components\' JSON log lines as they are' },
  ],
  async run(flags) {
    const grpcPort = flag.number(flags, 'grpc-port');
    const port = flag.number(flags, 'port');
    const proxyHttpPort = flag.number(flags, 'proxy-http-port');
    const specs: ChildSpec[] = [];
    if (flag.boolean(flags, 'upstreams')) {
      specs.push({ name: 'everything', args: [EVERYTHING, 'streamableHttp'], env: { PORT: String(flag.number(flags, 'everything-port')) } });
      specs.push({ name: 'fetcher', args: [FETCHER], env: { PORT: String(flag.number(flags, 'fetcher-port')), HOST: '127.0.0.1' } });
      specs.push({ name: 'modern-demo', args: [MODERN_DEMO], env: { PORT: String(flag.number(flags, 'modern-demo-port')), HOST: '127.0.0.1' } });
    }
    specs.push({
      name: 'control-plane',
      args: [CLI, 'control-plane', '--dir', flag.string(flags, 'dir'), '--grpc-port', String(grpcPort), '--http-port', String(flag.number(flags, 'control-plane-http-port'))],
    });
    specs.push({
      name: 'proxy',
      // Local development: the folder's stdio targets may run their commands here.
      args: [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpcPort}`, '--port', String(port), '--http-port', String(proxyHttpPort), '--allow-stdio'],
      after: `http://127.0.0.1:${flag.number(flags, 'control-plane-http-port')}/readyz`,
    });
    return supervise(specs, { readyUrl: `http://127.0.0.1:${proxyHttpPort}/readyz`, mcpUrl: `http://127.0.0.1:${port}/mcp` }, !flag.boolean(flags, 'json-logs'));
  },
};

async function supervise(specs: ChildSpec[], urls: { readyUrl: string; mcpUrl: string }, humanize: boolean): Promise<number> {
  const width = Math.max(...specs.map((s) => s.name.length));
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let exitCode = 0;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const child of children.values()) child.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, 5000);
    force.unref();
    if (children.size === 0) resolveDone(exitCode);
  };

  const launch = (spec: ChildSpec): void => {
    if (stopping) return;
    const child = spawn(process.execPath, spec.args, { cwd: ROOT, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(spec.name, child);
    const prefix = `[${spec.name.padEnd(width)}] `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${humanize ? humanizeLogLine(line) : line}\n`));
    }
    child.on('exit', (code, signal) => {
      children.delete(spec.name);
      if (!stopping) {
        process.stdout.write(`${prefix}exited (${signal ?? `code ${code}`}); stopping everything\n`);
        stopAll(1);
      }
      if (children.size === 0) resolveDone(exitCode);
    });
  };
  for (const spec of specs) {
    if (!spec.after) {
      launch(spec);
      continue;
    }
    const after = spec.after;
    void waitUntilOk(after, () => stopping).then((ok) => {
      if (ok) return launch(spec);
      if (!stopping) process.stdout.write(`[dev] ${after} not ready after 60 s; stopping everything\n`);
      stopAll(1);
    });
  }
  const onSignal = (): void => stopAll(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  void announceWhenReady(urls, () => stopping);
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}

async function announceWhenReady(urls: { readyUrl: string; mcpUrl: string }, stopped: () => boolean): Promise<void> {
  if (await waitUntilOk(urls.readyUrl, stopped)) {
    process.stdout.write(`\nmcpmux is ready: point your MCP client at ${urls.mcpUrl}  (Ctrl-C stops everything)\n\n`);
  } else if (!stopped()) {
    process.stdout.write(`\nthe proxy is not ready after 60 s; see the logs above (${urls.readyUrl})\n`);
  }
}

/** Polls `url` until it answers 200 (true), or until stopped or 60 s have passed (false). */
async function waitUntilOk(url: string, stopped: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (!stopped() && Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return true;
    } catch {
      // Not listening yet: keep polling until the deadline.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
