// Upstream credentials (issue 7, acceptance 1): an MCPBackend names a Secret key with
// spec.upstreamAuth; every request to its targets carries it, and its value appears in no admin
// answer (grpcurl), no log line of the control plane or the proxy (at debug level), and no metric.
// A rotated Secret reaches the proxies as a new version; a missing one leaves the target unavailable
// (never called without its credential) and says so in the backend's status.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEchoUpstream } from './bench/fixtures/echo-upstream.ts';
import { CLI, freePort, startNode, until, waitForHttpOk, type Managed } from './support/processes.ts';
import { gatewayAndRoute } from './support/manifests.ts';
import { ensureTool } from './support/tools.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TOKEN = 'Bearer s3cr3t-upstream-token-5f1d2c';
const ROTATED = 'Bearer r0tated-upstream-token-9a8b7c';

function manifests(port: number, token: string | undefined): string {
  const secret = token === undefined
    ? ''
    : `---
apiVersion: v1
kind: Secret
metadata:
  name: upstream-token
  namespace: team
stringData:
  token: "${token}"
`;
  return `${gatewayAndRoute({ namespace: 'team', gateway: 'gw', route: 'route', backend: 'secured' })}---
apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata:
  name: secured
  namespace: team
spec:
  upstreamAuth:
    secretRef:
      name: upstream-token
      key: token
  targets:
  - static:
      name: echo
      host: 127.0.0.1
      port: ${port}
${secret}`;
}

let upstream: Server;
let port: number;
const seen: string[] = [];
let dir: string;
const processes: Managed[] = [];

test.before(async () => {
  upstream = createEchoUpstream({ onRequest: (headers) => seen.push(String(headers.authorization ?? '')) });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  port = (upstream.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), 'mcpmux-creds-'));
});

test.after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await new Promise((resolve) => upstream.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('the credential reaches the upstream on every request and nowhere else; rotation and absence are handled', async () => {
  writeFileSync(join(dir, 'config.yaml'), manifests(port, TOKEN));
  const [grpc, cpHttp, proxyPort, proxyHttp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const debug = { MCPMUX_LOG_LEVEL: 'debug' };
  const cp = startNode('control-plane', [CLI, 'control-plane', '--dir', dir, '--grpc-port', String(grpc), '--http-port', String(cpHttp)], debug);
  processes.push(cp);
  await waitForHttpOk(`http://127.0.0.1:${cpHttp}/readyz`);
  const proxy = startNode('proxy', [CLI, 'proxy', '--control-plane', `127.0.0.1:${grpc}`, '--port', String(proxyPort), '--http-port', String(proxyHttp)], debug);
  processes.push(proxy);
  await waitForHttpOk(`http://127.0.0.1:${proxyHttp}/readyz`);

  const client = new Client({ name: 'creds', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`)));
  try {
    const result = await client.callTool({ name: 'echo_echo', arguments: { message: 'with a credential' } });
    assert.match(JSON.stringify(result.content), /with a credential/);
    assert.ok(seen.length >= 2, 'initialize and the call reached the upstream');
    assert.ok(!seen.some((value) => value !== TOKEN), `every upstream request carried the credential: ${JSON.stringify([...new Set(seen)])}`);

    // Nowhere else: admin answers (grpcurl), logs of both processes, metrics of both.
    const grpcurl = await ensureTool('grpcurl');
    const answers: string[] = [];
    for (const [method, body] of [['GetSnapshot', '{}'], ['ListEvents', '{"from_seq": 1}'], ['ListVersions', '{}'], ['ListProxies', '{}']] as const) {
      const { stdout } = await run(grpcurl, ['-plaintext', '-d', body, `127.0.0.1:${grpc}`, `mcpmux.v1.AdminService/${method}`]);
      answers.push(stdout);
    }
    assert.match(answers[0]!, /"authSecret": "upstream-auth\/team\/secured"/, 'the target names its credential');
    // (grpcurl escapes < and > in JSON strings.)
    assert.match(answers[0]!, /"value": "(<|\\u003c)redacted(>|\\u003e)"/, 'the snapshot shows the credential redacted');
    const metrics = await Promise.all([cpHttp, proxyHttp].map(async (p) => (await fetch(`http://127.0.0.1:${p}/metrics`)).text()));
    const secretPart = TOKEN.split(' ')[1]!;
    for (const [where, text] of [['admin answers', answers.join('\n')], ['control plane log', cp.output()], ['proxy log', proxy.output()], ['metrics', metrics.join('\n')]] as const) {
      assert.not.ok(text.includes(secretPart), `the credential appears in the ${where}`);
    }
    assert.ok(proxy.output().length > 0 && cp.output().length > 0, 'both processes logged');

    // Rotation: the Secret changes, proxies get a new version, the next upstream session uses it.
    writeFileSync(join(dir, 'config.yaml'), manifests(port, ROTATED));
    await until(async () => {
      const fresh = new Client({ name: 'creds-rotated', version: '1.0.0' });
      await fresh.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`)));
      await fresh.close();
      return seen.at(-1) === ROTATED;
    }, 'the rotated credential at the upstream', 10_000);

    // No Secret: the target is unavailable rather than called without its credential.
    writeFileSync(join(dir, 'config.yaml'), manifests(port, undefined));
    await until(async () => {
      const fresh = new Client({ name: 'creds-missing', version: '1.0.0' });
      await fresh.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`)));
      const tools = (await fresh.listTools()).tools;
      await fresh.close();
      return tools.length === 0;
    }, 'the target gone unavailable', 10_000);
    const before = seen.length;
    const fresh = new Client({ name: 'creds-missing-2', version: '1.0.0' });
    await fresh.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${proxyPort}/mcp`)));
    await fresh.listTools();
    await fresh.close();
    assert.is(seen.length, before, 'no request reached the upstream without its credential');
    await until(() => /SecretNotFound|upstream-token \(spec\.upstreamAuth\) not found/.test(cp.output()), 'the control plane reporting the missing Secret', 5000);
  } finally {
    await client.close();
  }
});

test.run();
