// The stdio upstream against server-everything's own `stdio` transport (and a small fixture for the
// edge cases: cancellations, exits, a process that ignores SIGTERM), alone and federated through a
// ProxyServer next to a streamable HTTP target.
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { CreateMessageRequestSchema, type Progress, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { StdioCommand } from '../../shared/config/types.ts';
import { McpmuxError } from '../../shared/errors.ts';
import { Cleanup, until } from '../../shared/testing/processes.ts';
import { startRecordingServer, type RecordingServer } from '../../shared/testing/upstreams.ts';
import { compileRoutingTable } from '../routing/table.ts';
import { stdioEndpoint } from '../routing/target-url.ts';
import { ProxyServer } from '../server.ts';
import { BACKEND, simpleSnapshot, stdioTarget } from '../testing/snapshots.ts';
import { relatedId, type UpstreamMessage } from './connection.ts';
import { StdioUpstream, type StdioUpstreamOptions } from './stdio.ts';

const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../testing/stdio-fixture.ts', import.meta.url));
const everything: StdioCommand = { command: process.execPath, args: [EVERYTHING, 'stdio'], env: {}, cwd: '' };
const fixture = (args: string[] = [], more: Partial<StdioCommand> = {}): StdioCommand => ({ command: process.execPath, args: [FIXTURE, ...args], env: {}, cwd: '', ...more });

// Every log line, to check what the upstream says about its process (stderr at debug, by target).
const logs: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env.MCPMUX_LOG_LEVEL) process.stderr.write(chunk);
      done();
    },
  }),
);
const cleanup = new Cleanup();
const INIT = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } };
const T = { timeoutMs: 10_000 };
let rec: RecordingServer;

function upstream(command: StdioCommand, options: Partial<StdioUpstreamOptions> = {}): StdioUpstream {
  const s = new StdioUpstream({ target: 'local', endpoint: stdioEndpoint(command), logger, command, ...options });
  cleanup.add(() => s.close());
  return s;
}

function text(response: unknown): string {
  return ((response as { result: { content: Array<{ text: string }> } }).result.content[0] as { text: string }).text;
}

function call(name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): { method: string; params: unknown } {
  return { method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<McpmuxError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, McpmuxError);
    return error as McpmuxError;
  }
  throw new Error('expected a rejection');
}

const stderrOf = (target: string): string[] => logs.filter((l) => l.target === target && typeof l.stderr === 'string').map((l) => l.stderr as string);

test.before(async () => {
  rec = await startRecordingServer({ name: 'rec' });
  cleanup.add(() => rec.close());
});
test.after(() => cleanup.run());

test('server-everything on stdio: initialize, list, call echo; progress tagged with the one request in flight; stderr logged at debug by target', async () => {
  const seen: Array<[UpstreamMessage, RequestId | undefined]> = [];
  const s = upstream(everything, { onMessage: (m, r) => seen.push([m, relatedId(r)]) });
  const init = await s.initialize(INIT, T);
  assert.is(init.serverInfo.name, 'mcp-servers/everything');
  assert.is(s.initializeResult, init);
  assert.ok(s.pid !== undefined && running(s.pid));
  const list = await s.request({ method: 'tools/list' }, T);
  assert.ok(JSON.stringify(list).includes('"get-sum"'));
  assert.is(text(await s.request(call('echo', { message: 'hello' }), T)), 'Echo: hello');
  const long = await s.request(call('trigger-long-running-operation', { duration: 0.2, steps: 2 }, { progressToken: 5 }), { ...T, relatedTo: 'client-1' });
  assert.match(text(long), /completed/);
  const progress = seen.filter(([m]) => m.method === 'notifications/progress');
  assert.equal(progress.map(([m, r]) => [(m.params as { progress: number }).progress, (m.params as { progressToken: unknown }).progressToken, r]), [[1, 5, 'client-1'], [2, 5, 'client-1']]);
  await until(() => stderrOf('local').some((line) => /STDIO/.test(line)), 'server-everything stderr in the debug log');
  assert.ok(logs.some((l) => l.target === 'local' && l.msg === 'upstream stderr' && l.level === 20), 'stderr lines are debug');
});

test('a timeout rejects with MCPMUX_UPSTREAM_TIMEOUT, the process hears notifications/cancelled, and the session goes on', async () => {
  const s = upstream(fixture(), { target: 'fx-timeout' });
  await s.initialize(INIT, T);
  const error = await rejection(s.request(call('hang'), { timeoutMs: 200 }));
  assert.is(error.code, 'MCPMUX_UPSTREAM_TIMEOUT');
  assert.match(error.message, /target fx-timeout did not answer within 200 ms/);
  await until(() => stderrOf('fx-timeout').includes('cancelled 2'), 'the cancellation reached the process (id 2: initialize was 1)');
  assert.match(text(await s.request(call('env'), T)), /"cwd"/);
});

test('an aborted request rejects with the abort reason and is cancelled upstream', async () => {
  const s = upstream(fixture(), { target: 'fx-abort' });
  await s.initialize(INIT, T);
  const abort = new AbortController();
  const pending = s.request(call('hang'), { ...T, signal: abort.signal });
  setTimeout(() => abort.abort(new McpmuxError('MCPMUX_REQUEST_CANCELLED', 'the client cancelled')), 50);
  const error = await rejection(pending);
  assert.is(error.code, 'MCPMUX_REQUEST_CANCELLED');
  await until(() => stderrOf('fx-abort').includes('cancelled 2'), 'the cancellation reached the process');
});

test('the process killed behind our back: pending requests fail naming the target and signal; the next request starts a new process', async () => {
  let reinitialized = 0;
  const s = upstream(everything, { target: 'killed', onReinitialized: () => void reinitialized++ });
  await s.initialize(INIT, T);
  const first = s.pid!;
  const pending = s.request(call('trigger-long-running-operation', { duration: 5, steps: 1 }), T);
  await new Promise((r) => setTimeout(r, 100));
  process.kill(first, 'SIGKILL');
  const error = await rejection(pending);
  assert.is(error.code, 'MCPMUX_TARGET_UNAVAILABLE');
  assert.match(error.message, /^the process of target killed was killed by SIGKILL/);
  assert.is(text(await s.request(call('echo', { message: 'again' }), T)), 'Echo: again');
  assert.ok(s.pid !== undefined && s.pid !== first, 'a new process');
  assert.is(reinitialized, 1);
  assert.ok(logs.some((l) => l.target === 'killed' && l.msg === 'upstream process ended; the next request starts a new one'));
});

test('a process that exits fails what it had not answered with its exit code and last stderr line; right after, the next request starts a new one', async () => {
  const s = upstream(fixture(), { target: 'fx-exit' });
  await s.initialize(INIT, T);
  const first = s.pid;
  const error = await rejection(s.request(call('exit', { code: 3 }), T));
  assert.is(error.code, 'MCPMUX_TARGET_UNAVAILABLE');
  assert.is(error.message, 'the process of target fx-exit exited with code 3 (last stderr line: exiting on request)');
  // No pause: the exit is known before stdout has drained, and the request goes to a new process.
  assert.match(text(await s.request(call('env'), T)), /"cwd"/);
  assert.ok(s.pid !== first);
});

test('close stops the process (stdin closed, SIGTERM) and resolves once it is gone; later requests fail', async () => {
  const s = upstream(everything, { target: 'closing' });
  await s.initialize(INIT, T);
  const pid = s.pid!;
  assert.ok(running(pid));
  await s.close();
  assert.not.ok(running(pid), 'the process is gone when close resolves');
  assert.ok(s.closed);
  assert.is(s.pid, undefined);
  const error = await rejection(s.request(call('echo', { message: 'x' }), T));
  assert.match(error.message, /the session with target closing was closed/);
  await s.close();
});

test('close while the process starts: initialize fails with the close, and nothing is left running', async () => {
  const s = upstream(everything, { target: 'early' });
  const init = rejection(s.initialize(INIT, T));
  await until(() => logs.some((l) => l.target === 'early' && l.msg === 'upstream process started'), 'the process started');
  const pid = logs.find((l) => l.target === 'early' && l.msg === 'upstream process started')!.pid as number;
  await s.close();
  assert.match((await init).message, /was closed/);
  assert.not.ok(running(pid));
});

test('a process that ignores SIGTERM gets SIGKILL after killAfterMs', async () => {
  const s = upstream(fixture(['--ignore-sigterm']), { target: 'stubborn', killAfterMs: 300 });
  await s.initialize(INIT, T);
  const pid = s.pid!;
  const started = Date.now();
  await s.close();
  const took = Date.now() - started;
  assert.ok(took >= 280, `closed after ${took} ms`);
  assert.not.ok(running(pid));
  assert.ok(stderrOf('stubborn').includes('ignoring SIGTERM'));
  assert.ok(logs.some((l) => l.target === 'stubborn' && l.msg === 'upstream process ignored SIGTERM; killing it'));
});

test('env and cwd reach the process; a stdout line that is not JSON-RPC is logged and skipped', async () => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'mcpmux-stdio-')));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  const s = upstream(fixture([], { env: { FIXTURE_VALUE: 'from the snapshot' }, cwd: dir }), { target: 'fx-env' });
  await s.initialize(INIT, T);
  assert.equal(JSON.parse(text(await s.request(call('env'), T))), { cwd: dir, value: 'from the snapshot' });
  assert.is(text(await s.request(call('noise'), T)), 'after the noise');
  assert.ok(logs.some((l) => l.target === 'fx-env' && l.line === 'this line is not JSON-RPC'));
});

test('a command that cannot start: initialize fails saying what and why', async () => {
  const s = upstream({ command: 'mcpmux-no-such-command', args: ['stdio'], env: {}, cwd: '' }, { target: 'missing' });
  const error = await rejection(s.initialize(INIT, T));
  assert.is(error.code, 'MCPMUX_TARGET_UNAVAILABLE');
  assert.match(error.message, /^target missing could not run mcpmux-no-such-command stdio: spawn mcpmux-no-such-command ENOENT \(not found on the proxy's PATH\)$/);
  const inDir = upstream(fixture([], { cwd: '/nonexistent-mcpmux-dir' }), { target: 'no-dir' });
  assert.match((await rejection(inDir.initialize(INIT, T))).message, /or the working directory \/nonexistent-mcpmux-dir does not exist/);
});

test('federated: a stdio target next to a streamable HTTP one, through the proxy; progress and sampling relayed; a changed command moves the session', async () => {
  const snapshot = simpleSnapshot({ version: 'v1', targets: { rec: rec.url } });
  snapshot.targets.push(stdioTarget(BACKEND, 'local', process.execPath, [EVERYTHING, 'stdio']));
  snapshot.backends[0]!.targets = ['local', 'rec'];
  const proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(compileRoutingTable(snapshot, { allowStdio: true }));
  const client = new Client({ name: 'c', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, () => ({ role: 'assistant', content: { type: 'text', text: 'from the client' }, model: 'm' }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxy.port}/mcp`)));
  cleanup.add(() => client.close());

  const names = (await client.listTools()).tools.map((t) => t.name);
  assert.ok(names.includes('local_echo') && names.includes('local_get-sum') && names.includes('rec_echo'), names.join(', '));
  const echo = await client.callTool({ name: 'local_echo', arguments: { message: 'via stdio' } });
  assert.is((echo.content as Array<{ text: string }>)[0]!.text, 'Echo: via stdio');
  const viaHttp = await client.callTool({ name: 'rec_echo', arguments: { text: 'via http' } });
  assert.is((viaHttp.content as Array<{ text: string }>)[0]!.text, 'rec: via http');
  const progress: Progress[] = [];
  await client.callTool({ name: 'local_trigger-long-running-operation', arguments: { duration: 0.2, steps: 2 } }, undefined, { onprogress: (p) => progress.push(p) });
  assert.equal(progress.map((p) => p.progress), [1, 2]);
  await until(async () => (await client.listTools()).tools.some((t) => t.name === 'local_trigger-sampling-request'), 'conditional tools registered');
  const sampled = await client.callTool({ name: 'local_trigger-sampling-request', arguments: { prompt: 'p' } });
  assert.match(JSON.stringify(sampled.content), /from the client/);

  // The same target with another environment is another command: the session moves to a new process.
  const started = (): number => logs.filter((l) => l.target === 'local' && l.msg === 'upstream process started').length;
  const before = started();
  const changed = simpleSnapshot({ version: 'v2', targets: { rec: rec.url } });
  changed.targets.push(stdioTarget(BACKEND, 'local', process.execPath, [EVERYTHING, 'stdio'], { env: { MCPMUX_TEST: '2' } }));
  changed.backends[0]!.targets = ['local', 'rec'];
  proxy.apply(compileRoutingTable(changed, { allowStdio: true }));
  const again = await client.callTool({ name: 'local_echo', arguments: { message: 'new process' } });
  assert.is((again.content as Array<{ text: string }>)[0]!.text, 'Echo: new process');
  assert.is(started(), before + 1);
});

test.run();
