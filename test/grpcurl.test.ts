// The admin API through a real grpcurl, with nothing but server reflection to go on.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, type Managed } from './support/processes.ts';
import { startFolderControlPlane } from './support/stack.ts';
import { ensureTool } from './support/tools.ts';

const run = promisify(execFile);
let grpcurl = '';
let controlPlane: Managed;
let address = '';

test.before(async () => {
  grpcurl = await ensureTool('grpcurl');
  ({ process: controlPlane, grpcAddress: address } = await startFolderControlPlane(`${ROOT}deploy/examples/tutorial`));
});

test.after(async () => {
  await controlPlane?.stop();
});

const call = async (...args: string[]): Promise<string> => (await run(grpcurl, ['-plaintext', ...args], { timeout: 20_000 })).stdout;

test('grpcurl list shows the admin and discovery services', async () => {
  const services = (await call(address, 'list')).trim().split('\n');
  for (const name of ['mcpmux.v1.AdminService', 'mcpmux.v1.DiscoveryService']) {
    assert.ok(services.includes(name), `${name} missing from ${services.join(', ')}`);
  }
});

test('grpcurl describe resolves imported well-known types', async () => {
  const described = await call(address, 'describe', 'mcpmux.v1.VersionInfo');
  assert.match(described, /\.google\.protobuf\.Timestamp built_at = 3;/);
  const event = await call(address, 'describe', 'mcpmux.v1.Event');
  assert.match(event, /\.google\.protobuf\.Struct object = 8;/);
});

test('GetSnapshot returns the tutorial snapshot as JSON', async () => {
  const snapshot = JSON.parse(await call(address, 'mcpmux.v1.AdminService/GetSnapshot')) as {
    version: string;
    group: string;
    targets: { name: string }[];
    routes: { pathPrefix: string }[];
  };
  assert.match(snapshot.version, /^[0-9a-f]{16}$/);
  assert.is(snapshot.group, 'agentgateway-system/mcp-gateway');
  assert.equal(snapshot.targets.map((t) => t.name).sort(), ['mcp-modern-demo-3701', 'mcp-server-everything-3001', 'mcp-website-fetcher-80']);
  assert.equal(snapshot.routes.map((r) => r.pathPrefix), ['/mcp']);
  const versions = JSON.parse(await call('-d', JSON.stringify({ group: snapshot.group }), address, 'mcpmux.v1.AdminService/ListVersions')) as { versions: { version: string }[] };
  assert.is(versions.versions[0]?.version, snapshot.version);
});

test('ListEvents returns the objects the files source read', async () => {
  const events = JSON.parse(await call('-d', '{"from_seq": 1}', address, 'mcpmux.v1.AdminService/ListEvents')) as {
    events: { seq: string; kind: string; name: string; type: string }[];
  };
  assert.ok(events.events.some((e) => e.kind === 'Gateway' && e.name === 'mcp-gateway' && e.type === 'upsert'));
  assert.is(events.events[0]?.seq, '1');
});

test('an unknown group is a clear NOT_FOUND', async () => {
  const failed = await run(grpcurl, ['-plaintext', '-d', '{"group":"nope/nope"}', address, 'mcpmux.v1.AdminService/GetSnapshot']).then(
    () => undefined,
    (e: { stderr: string }) => e.stderr,
  );
  assert.ok(failed, 'grpcurl should fail');
  assert.match(failed!, /NotFound/);
  assert.match(failed!, /nope\/nope/);
});

test('ListEvents pages with page_size (or limit) and next_page_token; a bad token is InvalidArgument saying what to send', async () => {
  const first = JSON.parse(await call('-d', '{"page_size": 3}', address, 'mcpmux.v1.AdminService/ListEvents')) as { events: { seq: string }[]; nextPageToken: string };
  assert.equal(first.events.map((e) => e.seq), ['1', '2', '3']);
  const second = JSON.parse(await call('-d', JSON.stringify({ page_size: 3, page_token: first.nextPageToken }), address, 'mcpmux.v1.AdminService/ListEvents')) as { events: { seq: string }[] };
  assert.equal(second.events.map((e) => e.seq), ['4', '5', '6']);
  const limited = JSON.parse(await call('-d', '{"from_seq": 5, "limit": 2}', address, 'mcpmux.v1.AdminService/ListEvents')) as { events: { seq: string }[] };
  assert.equal(limited.events.map((e) => e.seq), ['5', '6'], 'limit: the former name of page_size');
  const failed = await run(grpcurl, ['-plaintext', '-d', '{"page_token": "bogus!"}', address, 'mcpmux.v1.AdminService/ListProxies']).then(
    () => undefined,
    (e: { stderr: string }) => e.stderr,
  );
  assert.match(failed ?? '', /InvalidArgument/);
  assert.match(failed ?? '', /send the next_page_token of the previous ListProxies answer unchanged/);
  // No proxy here, but the answer says where the history lives.
  const proxies = JSON.parse(await call(address, 'mcpmux.v1.AdminService/ListProxies')) as { history: string };
  assert.is(proxies.history, 'memory (this replica only)');
});

test.run();
