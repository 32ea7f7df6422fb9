// Test helpers shared by every test: free loopback ports, child processes that die with the test
// process (even when it fails or crashes), polling for readiness, and one cleanup list per file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A port free right now on 127.0.0.1 (for servers that cannot report the port they bound), picked
 * below the kernel's ephemeral range: a port the kernel hands out (listen(0)) is also what it gives
 * the local end of outgoing connections, so between this answer and the server's bind a client
 * socket could take it (EADDRINUSE, seen in CI). Ports below the range are only ever taken by a
 * bind; two callers racing for one still see EADDRINUSE here and move on.
 */
export async function freePort(): Promise<number> {
  const [low, high] = FREE_PORT_RANGE;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await bindable(port)) return port;
  }
  return kernelPort();
}

/** Below Linux's default ephemeral range (32768-60999) and above the well-known and registered ports most services use. */
const FREE_PORT_RANGE = [20_000, 32_000] as const;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Managed {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the match once the output matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<Managed>();
process.on('exit', () => {
  for (const managed of running) managed.child.kill('SIGKILL');
});

/** Starts `node args...` with its output captured; killed when the test process exits. */
export function startNode(name: string, args: readonly string[], env: Record<string, string> = {}, cwd?: string): Managed {
  return startProcess(name, process.execPath, args, env, cwd);
}

/** Starts `command args...` with its output captured; killed when the test process exits. */
export function startProcess(name: string, command: string, args: readonly string[], env: Record<string, string> = {}, cwd?: string): Managed {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    if (process.env.MCPMUX_TEST_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString()}`);
    for (const check of waiters) check();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // A command that cannot start (ENOENT) says so in the output that waitFor's errors show.
  child.on('error', (error) => (output += `\n[${name}] ${error.message}\n`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const managed: Managed = {
    name,
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output);
          if (!match) return;
          cleanup();
          resolve(match);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms; output so far:\n${output}`));
        }, timeoutMs);
        const onExit = (code: number | null): void => {
          cleanup();
          reject(new Error(`${name} exited (${code}) before printing ${pattern}; output:\n${output}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
        if (gone()) onExit(child.exitCode);
      });
    },
    async stop(signal = 'SIGTERM') {
      running.delete(managed);
      if (gone() || child.pid === undefined) return child.exitCode;
      child.kill(signal);
      // Graceful shutdowns (uvicorn waits for open connections) get 3 s; a test does not wait longer.
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(managed);
  return managed;
}

/** Starts `node args...` and resolves once its output matches `ready` (killed if it never does). */
export async function spawnNode(
  args: readonly string[],
  options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number; name?: string },
): Promise<{ process: Managed; match: RegExpMatchArray }> {
  const managed = startNode(options.name ?? String(args[0]), args, options.env);
  try {
    return { process: managed, match: await managed.waitFor(options.ready, options.timeoutMs) };
  } catch (error) {
    await managed.stop('SIGKILL');
    throw error;
  }
}

/**
 * Polls an HTTP URL until it answers 200. With the process that serves it: a process that exits
 * first ends the wait at once, and either failure carries what the process printed (a test's
 * processes are quiet, and "fetch failed" alone does not say why a server never came up).
 */
export async function waitForHttpOk(url: string, timeoutMs = 15_000, server?: Managed): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  const printed = (): string => (server ? `; ${server.name} printed:\n${server.output().slice(-4000)}` : '');
  while (Date.now() < deadline) {
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) {
      throw new Error(`${server.name} exited (${server.child.exitCode ?? server.child.signalCode}) before ${url} was OK${printed()}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = `HTTP ${response.status}: ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not OK within ${timeoutMs} ms (${last})${printed()}`);
}

/** Polls until `condition` holds. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Things to undo at the end of a test file, last added first. */
export class Cleanup {
  readonly #steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        console.error('cleanup step failed:', error);
      }
    }
  }
}
