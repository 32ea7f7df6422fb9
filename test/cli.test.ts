// The mcpmux executable as a user meets it: help, version, exit codes, and `dev` (what `npm start`
// runs) started and stopped with Ctrl-C.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, ROOT, freePort, startNode } from './support/processes.ts';
import { TUTORIAL_YAML, endpointSlice } from './support/stack.ts';

const exec = promisify(execFile);
const mcpmux = (...args: string[]) =>
  exec(process.execPath, [CLI, ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

test('--help lists every subcommand; each subcommand has its own help', async () => {
  const top = await mcpmux('--help');
  assert.is(top.code, 0);
  for (const name of ['dev', 'control-plane', 'proxy', 'validate', 'snapshot', 'proxies']) assert.match(top.stdout, new RegExp(`\\n  ${name} `));
  for (const name of ['dev', 'control-plane', 'proxy', 'validate', 'snapshot', 'proxies']) {
    const help = await mcpmux(name, '--help');
    assert.is(help.code, 0, `${name} --help`);
    assert.match(help.stdout, new RegExp(`Usage: mcpmux ${name}`));
    assert.match(help.stdout, /Examples:/);
  }
  const proxyHelp = await mcpmux('proxy', '--help');
  assert.match(proxyHelp.stdout, /--port N\s+.*\(default 8080\)/);
  assert.match(proxyHelp.stdout, /env MCPMUX_PROXY_PORT/);
  assert.match(proxyHelp.stdout, /--listener-ports VALUE\s+GATEWAY_PORT=PORT,\.\.\./);
  assert.match(proxyHelp.stdout, /mcpmux proxy --listener-ports 80=8080,443=8443/);
});

test('--version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const result = await mcpmux('--version');
  assert.is(result.stdout.trim(), `mcpmux ${pkg.version}`);
});

test('usage errors exit 2 with a message that says what to do', async () => {
  const unknown = await mcpmux('frobnicate');
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badFlag = await mcpmux('proxy', '--port', 'eighty');
  assert.is(badFlag.code, 2);
  assert.match(badFlag.stderr, /--port must be a whole number, not "eighty" \(see mcpmux proxy --help\)/);
  const badPorts = await mcpmux('proxy', '--listener-ports', '80=8080,443');
  assert.is(badPorts.code, 2);
  assert.match(badPorts.stderr, /--listener-ports: "443" is not GATEWAY_PORT=PORT/);
  const badEnv = await exec(process.execPath, [CLI, 'proxy'], { cwd: ROOT, env: { ...process.env, MCPMUX_PROXY_PORT: 'x' } }).catch((e: { code: number; stderr: string }) => e);
  assert.is((badEnv as { code: number }).code, 2);
  assert.match((badEnv as { stderr: string }).stderr, /MCPMUX_PROXY_PORT must be a whole number/);
});

test('validate prints targets and tool prefixes, and exits 1 with file:line on bad input', async () => {
  const good = await mcpmux('validate', 'deploy/examples/tutorial');
  assert.is(good.code, 0);
  assert.match(good.stdout, /target mcp-server-everything-3001: http:\/\/127\.0\.0\.1:3001\/mcp/);
  assert.match(good.stdout, /tool prefixes: mcp-modern-demo-3701_, mcp-server-everything-3001_, mcp-website-fetcher-80_/);
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-validate-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n');
    const bad = await mcpmux('validate', dir);
    assert.is(bad.code, 1);
    assert.match(bad.stdout, /bad\.yaml:\d+: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('proxy --allowed-origins replaces the localhost default', async () => {
  const [port, httpPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  // No control plane on grpcPort: the Origin check comes before everything, so 403 vs 503 tells.
  const proxy = startNode('proxy', [CLI, 'proxy', '--port', String(port), '--http-port', String(httpPort), '--control-plane', `127.0.0.1:${grpcPort}`,
    '--allowed-origins', 'https://app.example.com']);
  try {
    await proxy.waitFor(/proxy listening/);
    const post = (origin: string) =>
      fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { origin, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    assert.is((await post('https://app.example.com')).status, 503, 'allowed origin passes the guard (no snapshot yet)');
    assert.is((await post('http://localhost:3000')).status, 403, 'localhost is no longer allowed once a list is given');
    assert.is((await post('https://evil.example.com')).status, 403);
  } finally {
    await proxy.stop();
  }
});

test('dev runs the whole tutorial, says where to connect, and Ctrl-C stops every process', async () => {
  const ports = { everything: await freePort(), fetcher: await freePort(), proxy: await freePort(), grpc: await freePort(), cpHttp: await freePort(), proxyHttp: await freePort() };
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-dev-'));
  writeFileSync(join(dir, 'tutorial.yaml'), TUTORIAL_YAML);
  writeFileSync(join(dir, 'local.yaml'), endpointSlice('mcp-server-everything', '127.0.0.1', ports.everything) + endpointSlice('mcp-website-fetcher', '127.0.0.1', ports.fetcher));
  // Its own process group, so that a signal to the group is what Ctrl-C in a terminal does.
  const dev = spawn(
    process.execPath,
    [CLI, 'dev', '--dir', dir, '--port', String(ports.proxy), '--grpc-port', String(ports.grpc), '--control-plane-http-port', String(ports.cpHttp),
      '--proxy-http-port', String(ports.proxyHttp), '--everything-port', String(ports.everything), '--fetcher-port', String(ports.fetcher)],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  dev.stdout.on('data', (c: Buffer) => (output += c.toString()));
  dev.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!/mcpmux is ready/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, new RegExp(`mcpmux is ready: point your MCP client at http://127\\.0\\.0\\.1:${ports.proxy}/mcp`));
    assert.match(output, /\[proxy\s*\] INFO /, 'logs are printed for people, not as JSON');
    assert.not.match(output, /not reachable yet/, 'the proxy starts once the control plane is ready');
    const client = new Client({ name: 'dev-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ports.proxy}/mcp`)));
    const echo = await client.callTool({ name: 'mcp-server-everything-3001_echo', arguments: { message: 'dev' } });
    assert.equal(echo.content, [{ type: 'text', text: 'Echo: dev' }]);
    await client.close();
    process.kill(-dev.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
    assert.is(code, 0, `dev exit code; output:\n${output}`);
    for (const port of [ports.proxy, ports.everything, ports.fetcher, ports.cpHttp]) {
      const refused = await fetch(`http://127.0.0.1:${port}/`).then(() => false, () => true);
      assert.ok(refused, `port ${port} still answers after Ctrl-C`);
    }
  } finally {
    if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
