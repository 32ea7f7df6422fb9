// A real nats-server with JetStream for tests (installed from its Go module, cached: tools.ts), on
// a free loopback port with its store in a temp folder; stopped and cleaned up by stop().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, type Managed } from '../../shared/testing/processes.ts';
import { ensureTool } from './tools.ts';

export interface NatsServer {
  url: string;
  port: number;
  /** The monitoring endpoint (`/varz`, `/connz`), when started with `{ monitor: true }`. */
  monitorUrl: string | undefined;
  process: Managed;
  /** Stops the server (the store folder is kept for restart()). */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
}

/** `args` are added to the server's command line (e.g. ['--user', 'a', '--pass', 'b']). */
export async function startNatsServer(args: readonly string[] = [], options: { monitor?: boolean } = {}): Promise<NatsServer> {
  const binary = await ensureTool('nats-server');
  const port = await freePort();
  const monitorPort = options.monitor ? await freePort() : undefined;
  if (monitorPort !== undefined) args = [...args, '-m', String(monitorPort)];
  const store = mkdtempSync(join(tmpdir(), 'mcpmux-nats-'));
  const spawn = async (): Promise<Managed> => {
    const child = startProcess('nats-server', binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, ...args]);
    await child.waitFor(/Server is ready/, 15_000);
    return child;
  };
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: monitorPort === undefined ? undefined : `http://127.0.0.1:${monitorPort}`,
    process: await spawn(),
    async stop() {
      await server.process.stop();
    },
    async restart() {
      await server.process.stop();
      server.process = await spawn();
    },
    async destroy() {
      await server.process.stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
  return server;
}
