// One MCP client session with a local command (a stdio target; the files source only, for local
// development): the proxy runs the command as a child process and speaks MCP over its stdin and
// stdout, one JSON-RPC message per line (the MCP stdio transport). Its stderr is logged at debug,
// named by target. One process per upstream session: started by initialize, ended by close (stdin
// closed and SIGTERM, SIGKILL 2 s later). A process that exits fails the requests it had not
// answered, naming its exit code; the next request starts a new process and initializes it again,
// reported like any re-initialization. Correlation, timeouts, cancellation and the relay of the
// upstream's own messages are the RpcChannel's, as for legacy SSE upstreams.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { InitializeRequestParams, InitializeResult } from '@modelcontextprotocol/sdk/types.js';
import { describeStdioCommand } from '../../shared/config/stdio.ts';
import type { StdioCommand } from '../../shared/config/types.ts';
import { McpmuxError, errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { EndpointUrl } from '../routing/table.ts';
import {
  InFlight,
  initializeResultOf,
  type OutgoingResponse,
  type RequestOptions,
  type UpstreamConnection,
  type UpstreamOptions,
  type UpstreamResponse,
} from './connection.ts';
import { RpcChannel } from './rpc-channel.ts';

/** No HTTP here: the dispatcher and the GET stream option do not apply. */
export interface StdioUpstreamOptions extends Omit<UpstreamOptions, 'dispatcher' | 'listen'> {
  /** What to run (the compiled target's `stdio`). */
  command: Readonly<StdioCommand>;
  /** How long a process has between SIGTERM and SIGKILL. Default 2 s. */
  killAfterMs?: number;
}

/** Between SIGTERM and SIGKILL. */
export const STDIO_KILL_AFTER_MS = 2_000;
/** After its exit, how long a process's stdout may take to deliver what it wrote before the exit. */
const DRAIN_AFTER_EXIT_MS = 500;
/** A line of stdout longer than this is not a message we will hold in memory: the process is stopped. */
const MAX_MESSAGE_CHARS = 64 * 1024 * 1024;
/** stderr lines are logged (and quoted in errors) up to this length. */
const MAX_STDERR_LINE = 4 * 1024;

/** Process groups let us stop what the command started too (npx, uvx and shell scripts run children). */
const GROUPS = process.platform !== 'win32';

interface Child {
  process: ChildProcess;
  channel: RpcChannel;
  /** Resolves once the process is gone and its channel ended. */
  exited: Promise<void>;
  /** Why the process is no more ("… exited with code 1"), as soon as it exits or fails to start. */
  exit: string | undefined;
  /** Set once it is gone and what it wrote before is read: its channel has ended. */
  gone: boolean;
  /** The last line the process wrote to stderr, quoted when it exits. */
  lastStderr: string;
}

export class StdioUpstream implements UpstreamConnection {
  readonly target: string;
  readonly endpoint: EndpointUrl;
  readonly #options: StdioUpstreamOptions;
  readonly #logger: Logger;
  readonly #closed = new AbortController();
  readonly #inFlight = new InFlight(() => void this.close());
  /** Every process started and not gone yet: close stops them all, the starting one included. */
  readonly #children = new Set<Child>();
  /** The initialized process requests go to; undefined when there is none. */
  #child: Child | undefined;
  #starting: Promise<Child> | undefined;
  #initParams: InitializeRequestParams | undefined;
  #initResult: InitializeResult | undefined;
  #initTimeoutMs = 10_000;
  #handshakes = 0;

  constructor(options: StdioUpstreamOptions) {
    this.target = options.target;
    this.endpoint = options.endpoint;
    this.#options = options;
    this.#logger = options.logger;
  }

  get initializeResult(): InitializeResult | undefined {
    return this.#initResult;
  }

  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /** Notifications come on the one channel of a handshake (stdout, the SSE stream): a new handshake may have missed some. */
  listWatch(): string | undefined {
    return this.closed || !this.#options.onMessage || this.#handshakes === 0 ? undefined : String(this.#handshakes);
  }

  /** The process id of the process serving this session; undefined when none runs. */
  get pid(): number | undefined {
    const child = this.#child;
    return child && live(child) ? child.process.pid : undefined;
  }

  /** Starts the process, then initialize and notifications/initialized. */
  async initialize(params: InitializeRequestParams, options: RequestOptions): Promise<InitializeResult> {
    this.#initParams = params;
    this.#initTimeoutMs = options.timeoutMs;
    await this.#live(options);
    return this.#initResult as InitializeResult;
  }

  request(message: { method: string; params?: unknown }, options: RequestOptions): Promise<UpstreamResponse> {
    return this.#inFlight.track(async () => {
      const child = await this.#live({ timeoutMs: this.#initTimeoutMs, signal: options.signal });
      return await child.channel.request(message.method, message.params, options);
    });
  }

  async notify(method: string, params: unknown, options: RequestOptions): Promise<void> {
    // A notification is about the process it was meant for: no new process for it.
    await this.#child?.channel.notify(method, params, options.timeoutMs);
  }

  async respond(message: OutgoingResponse): Promise<void> {
    await this.#child?.channel.respond(message);
  }

  closeWhenIdle(): void {
    this.#inFlight.closeWhenIdle();
  }

  /** Fails pending requests and stops the process; resolves once it is gone. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) this.#closed.abort(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `the session with target ${this.target} was closed`));
    await Promise.all([...this.#children].map((child) => this.#stop(child, this.#closed.signal.reason as Error)));
  }

  /** The initialized process, starting one when there is none (one at a time). */
  #live(options: RequestOptions): Promise<Child> {
    if (this.closed) return Promise.reject(this.#closed.signal.reason as Error);
    if (this.#child && live(this.#child)) return Promise.resolve(this.#child);
    this.#starting ??= this.#handshake(options).finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #handshake(options: RequestOptions): Promise<Child> {
    const child = this.#spawn();
    try {
      const response = await child.channel.request('initialize', this.#initParams, { timeoutMs: options.timeoutMs });
      this.#initResult = initializeResultOf(this.target, response);
      await child.channel.notify('notifications/initialized', undefined, options.timeoutMs);
      if (this.closed) throw this.#closed.signal.reason as Error;
    } catch (error) {
      void this.#stop(child, error instanceof Error ? error : new Error(String(error)));
      throw this.closed ? (this.#closed.signal.reason as Error) : error;
    }
    this.#child = child;
    if (this.#handshakes++ > 0) this.#options.onReinitialized?.();
    return child;
  }

  #spawn(): Child {
    const { command, args, env, cwd } = this.#options.command;
    const described = describeStdioCommand(this.#options.command);
    let proc: ChildProcess;
    try {
      proc = spawn(command, args, {
        cwd: cwd === '' ? undefined : cwd,
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: GROUPS,
        windowsHide: true,
      });
    } catch (error) {
      // Arguments spawn refuses outright (a NUL byte, say); a missing command fails later, below.
      throw new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', `target ${this.target} could not run ${described}: ${errorMessage(error)}`, { cause: error });
    }
    let markExited!: () => void;
    const child: Child = {
      process: proc,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
      exit: undefined,
      gone: false,
      lastStderr: '',
      channel: new RpcChannel({ target: this.target, logger: this.#logger, onMessage: this.#options.onMessage, send: (body, ms) => this.#write(child, body, ms) }),
    };
    this.#children.add(child);
    const gone = (): void => {
      if (child.gone) return;
      child.gone = true;
      this.#children.delete(child);
      if (this.#child === child) this.#child = undefined;
      const stopping = child.channel.ended; // we stopped it: the channel already ended with our reason
      child.channel.end(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', exitMessage(child) ?? `the process of target ${this.target} is gone`));
      if (!stopping && !this.closed) this.#logger.warn({ target: this.target, why: exitMessage(child) }, 'upstream process ended; the next request starts a new one');
      markExited();
    };

    // A command that cannot start (not found, cwd missing) reports an error and never exits.
    proc.on('error', (error: NodeJS.ErrnoException) => {
      if (proc.pid !== undefined) {
        this.#logger.debug({ target: this.target, err: error.message }, 'upstream process error');
        return;
      }
      const hint = error.code === 'ENOENT' ? ` (not found on the proxy's PATH${cwd ? `, or the working directory ${cwd} does not exist` : ''})` : '';
      child.exit = `target ${this.target} could not run ${described}: ${error.message}${hint}`;
      gone();
    });
    // What it wrote just before exiting still counts: wait for stdout to close, but not for a
    // grandchild that holds it open.
    proc.once('exit', (code, sig) => {
      child.exit = `the process of target ${this.target} ${sig ? `was killed by ${sig}` : `exited with code ${String(code)}`}`;
      const timer = setTimeout(gone, DRAIN_AFTER_EXIT_MS);
      proc.once('close', () => {
        clearTimeout(timer);
        gone();
      });
    });
    proc.stdin?.on('error', (error) => this.#logger.debug({ target: this.target, err: error.message }, 'upstream stdin error'));
    readLines(proc.stdout!, MAX_MESSAGE_CHARS, (line) => this.#receive(child, line), () => {
      this.#logger.warn({ target: this.target, limit: MAX_MESSAGE_CHARS }, 'upstream wrote a message too long to hold; stopping it');
      void this.#stop(child, new McpmuxError('MCPMUX_UPSTREAM_PROTOCOL', `target ${this.target} wrote a message longer than ${MAX_MESSAGE_CHARS} characters`));
    });
    readLines(proc.stderr!, MAX_STDERR_LINE, (line) => {
      child.lastStderr = line.length > 200 ? `${line.slice(0, 200)}…` : line;
      this.#logger.debug({ target: this.target, stderr: line }, 'upstream stderr');
    });
    this.#logger.debug({ target: this.target, pid: proc.pid, command: described }, 'upstream process started');
    return child;
  }

  #receive(child: Child, line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // The stdio transport reserves stdout for messages; a server that prints there is broken, not fatal.
      this.#logger.warn({ target: this.target, line: line.slice(0, 200) }, 'upstream wrote a line to stdout that is not JSON-RPC; ignored');
      return;
    }
    child.channel.receive(parsed);
  }

  /** One message, one line on the process's stdin; resolves once it is handed to the pipe. */
  #write(child: Child, body: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stdin = child.process.stdin;
      if (child.exit !== undefined || child.gone || !stdin?.writable) {
        reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', exitMessage(child) ?? `the process of target ${this.target} is not running`));
        return;
      }
      const timer = setTimeout(
        () => reject(new McpmuxError('MCPMUX_UPSTREAM_TIMEOUT', `target ${this.target} did not read its stdin within ${timeoutMs} ms`)),
        timeoutMs,
      );
      // JSON.stringify never writes a raw newline, so one message is one line.
      stdin.write(`${body}\n`, (error) => {
        clearTimeout(timer);
        if (!error) return resolve();
        // A closed pipe almost always means the process exited: say so once that is known.
        const settle = (): void =>
          reject(new McpmuxError('MCPMUX_TARGET_UNAVAILABLE', exitMessage(child) ?? `target ${this.target} stopped reading its stdin: ${error.message}`, { cause: error }));
        if (child.exit !== undefined) settle();
        else void Promise.race([child.exited, new Promise((r) => setTimeout(r, DRAIN_AFTER_EXIT_MS))]).then(settle);
      });
    });
  }

  /**
   * Ends the process: requests still waiting fail with `reason`, stdin is closed (the stdio
   * transport's polite request to exit), SIGTERM goes to its process group, SIGKILL follows if it is
   * still there after killAfterMs. Resolves once it is gone.
   */
  #stop(child: Child, reason: Error): Promise<void> {
    if (child.gone) return child.exited;
    child.channel.end(reason);
    if (this.#child === child) this.#child = undefined;
    child.process.stdin?.end();
    signal(child, 'SIGTERM');
    const timer = setTimeout(() => {
      this.#logger.warn({ target: this.target, pid: child.process.pid }, 'upstream process ignored SIGTERM; killing it');
      signal(child, 'SIGKILL');
    }, this.#options.killAfterMs ?? STDIO_KILL_AFTER_MS);
    return child.exited.finally(() => clearTimeout(timer));
  }
}

/** Why the process is no more, with the last thing it said on stderr; undefined while it runs. */
function exitMessage(child: Child): string | undefined {
  if (child.exit === undefined) return undefined;
  return child.lastStderr ? `${child.exit} (last stderr line: ${child.lastStderr})` : child.exit;
}

/** Whether requests can go to this process: it runs, and nobody stopped it. */
function live(child: Child): boolean {
  return child.exit === undefined && !child.channel.ended;
}

/** Sends `sig` to the child's process group (what it started too), or to the child alone. */
function signal(child: Child, sig: NodeJS.Signals): void {
  const pid = child.process.pid;
  if (pid === undefined || child.gone) return;
  if (GROUPS) {
    try {
      process.kill(-pid, sig);
      return;
    } catch {
      // no such group any more: the process itself may still be there
    }
  }
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill(sig);
}

/**
 * Calls `onLine` for each non-empty line of `stream` (`\n` or `\r\n`). A line growing past `limit`
 * characters is cut there: `onOverflow` decides what that means (default: hand over the part read).
 */
function readLines(stream: Readable, limit: number, onLine: (line: string) => void, onOverflow?: () => void): void {
  let partial = '';
  let skipping = false;
  const emit = (line: string): void => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.trim() !== '') onLine(trimmed);
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', start)) {
      if (!skipping) emit(partial + chunk.slice(start, newline));
      partial = '';
      skipping = false;
      start = newline + 1;
    }
    if (skipping) return;
    partial += chunk.slice(start);
    if (partial.length > limit) {
      const cut = partial.slice(0, limit);
      partial = '';
      skipping = true; // the rest of this line
      if (onOverflow) onOverflow();
      else emit(cut);
    }
  });
  stream.on('end', () => {
    if (!skipping && partial !== '') emit(partial);
    partial = '';
  });
  stream.on('error', () => undefined); // the exit handler reports what went wrong
}
