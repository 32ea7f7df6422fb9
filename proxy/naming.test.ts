// What a backend's config does to what clients see, through a real ProxyServer and SDK clients:
// prefix modes always / conditional / never, tool include/exclude globs, serverInfo and
// instructions. One route per backend configuration, all in one table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Backend, Snapshot } from '../shared/config/types.ts';
import { createLogger } from '../shared/log.ts';
import { Cleanup } from '../shared/testing/processes.ts';
import { startRecordingServer, type RecordingServer } from '../shared/testing/upstreams.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { connectClient, EVERYTHING, firstText, startUpstreams, type Upstreams } from './testing/fixture.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
let up: Upstreams;
let rec: RecordingServer;
let proxy: ProxyServer;

/** One snapshot serving each spec on its own prefix, with its own backend. */
function multiSnapshot(specs: Array<{ prefix: string; targets: Record<string, string>; backend: Partial<Backend> }>): Snapshot {
  const parts = specs.map((spec, i) =>
    simpleSnapshot({ version: 'x', targets: spec.targets, pathPrefix: spec.prefix, backend: { name: `ns/b${i}`, ...spec.backend } }),
  );
  const first = parts[0] as Snapshot;
  return {
    ...first,
    version: 'naming',
    routes: parts.flatMap((p, i) => p.routes.map((r) => ({ ...r, name: `route-${i}` }))),
    backends: parts.flatMap((p) => p.backends),
    targets: parts.flatMap((p) => p.targets),
  };
}

test.before(async () => {
  up = await startUpstreams(cleanup);
  rec = await startRecordingServer({ name: 'rec' });
  cleanup.add(() => rec.close());
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  const both = { [EVERYTHING]: up.everything.url, rec: rec.url };
  proxy.apply(
    compileRoutingTable(
      multiSnapshot([
        { prefix: '/always', targets: both, backend: { prefixMode: 'PREFIX_MODE_UNSPECIFIED' } },
        { prefix: '/conditional-one', targets: { rec: rec.url }, backend: { prefixMode: 'PREFIX_MODE_CONDITIONAL' } },
        { prefix: '/conditional-two', targets: both, backend: { prefixMode: 'PREFIX_MODE_CONDITIONAL' } },
        { prefix: '/never', targets: both, backend: { prefixMode: 'PREFIX_MODE_NEVER' } },
        {
          prefix: '/filtered',
          targets: both,
          backend: { toolInclude: ['rec_*', `${EVERYTHING}_get-*`], toolExclude: ['*_slow', '*_get-env'], serverInfo: { name: 'team-gateway', version: '2.1.0' }, instructions: 'Use the rec tools.' },
        },
      ]),
    ),
  );
});

test.after(() => cleanup.run());

async function client(prefix: string): Promise<Client> {
  return connectClient(`http://127.0.0.1:${proxy.port}${prefix}`, cleanup, prefix);
}

async function names(c: Client): Promise<string[]> {
  const all: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await c.listTools(cursor === undefined ? {} : { cursor });
    all.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return all;
}

async function refused(call: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  try {
    await call;
    assert.unreachable('expected an error');
  } catch (error) {
    assert.instance(error, McpError);
    assert.is((error as McpError).code, code);
    assert.match((error as Error).message, message);
  }
}

test('always (and UNSPECIFIED): every name carries its target', async () => {
  const c = await client('/always');
  const all = await names(c);
  assert.ok(all.includes('rec_echo') && all.includes(`${EVERYTHING}_echo`));
  assert.ok(all.every((n) => n.startsWith('rec_') || n.startsWith(`${EVERYTHING}_`)));
});

test('conditional: no prefix with one target, prefixes with two', async () => {
  const one = await client('/conditional-one');
  assert.equal((await names(one)).sort(), ['ask', 'echo', 'log', 'slow']);
  assert.is(firstText(await one.callTool({ name: 'echo', arguments: { text: 'plain' } })), 'rec: plain');
  const two = await client('/conditional-two');
  assert.ok((await names(two)).includes('rec_echo'));
  assert.is(firstText(await two.callTool({ name: 'rec_echo', arguments: { text: 'prefixed' } })), 'rec: prefixed');
});

test('never: names as targets have them; a shared name is left out and calling it names both targets', async () => {
  const c = await client('/never');
  const all = await names(c);
  // server-everything and rec both have `echo`: left out; the rest is there once, unprefixed.
  assert.not.ok(all.includes('echo'), all.join(', '));
  assert.ok(all.includes('slow') && all.includes('get-sum') && all.includes('trigger-long-running-operation'), all.join(', '));
  assert.is(new Set(all).size, all.length);
  assert.is(firstText(await c.callTool({ name: 'slow', arguments: { ms: 1 } })), 'rec: slept 1 ms');
  assert.match(firstText(await c.callTool({ name: 'get-sum', arguments: { a: 2, b: 2 } })), /4/);
  await refused(c.callTool({ name: 'echo', arguments: { text: 'x' } }), -32602, new RegExp(`echo is offered by several targets \\(${EVERYTHING}, rec\\)`));
  await refused(c.callTool({ name: 'no-such-tool', arguments: {} }), -32602, /Unknown tool: no-such-tool/);
  // Resources keep their own URIs and still route (server-everything is the only one with any).
  const { resources } = await c.listResources();
  const doc = resources.find((r) => r.uri === 'demo://resource/static/document/architecture.md');
  assert.ok(doc);
  assert.is((await c.readResource({ uri: doc!.uri })).contents[0]!.uri, doc!.uri);
  assert.match(((await c.readResource({ uri: 'demo://resource/dynamic/text/3' })).contents[0] as { text: string }).text, /Resource 3/);
});

test('never: a call without a list first still finds its target', async () => {
  const c = await client('/never');
  assert.is(firstText(await c.callTool({ name: 'slow', arguments: { ms: 1 } })), 'rec: slept 1 ms');
});

test('tool filter: include and exclude globs over the names clients see; filtered tools are not callable', async () => {
  const c = await client('/filtered');
  assert.equal((await names(c)).sort(), [`${EVERYTHING}_get-annotated-message`, `${EVERYTHING}_get-resource-links`, `${EVERYTHING}_get-resource-reference`, `${EVERYTHING}_get-structured-content`, `${EVERYTHING}_get-sum`, `${EVERYTHING}_get-tiny-image`, 'rec_ask', 'rec_echo', 'rec_log'].sort());
  assert.is(firstText(await c.callTool({ name: 'rec_echo', arguments: { text: 'in' } })), 'rec: in');
  await refused(c.callTool({ name: 'rec_slow', arguments: { ms: 1 } }), -32602, /Unknown tool: rec_slow \(backend ns\/b4 does not expose it/);
  await refused(c.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'x' } }), -32602, /tool filter leaves it out/);
  await refused(c.callTool({ name: `${EVERYTHING}_get-env`, arguments: {} }), -32602, /tool filter leaves it out/);
});

test('serverInfo and instructions: configured ones win; otherwise ours and the targets\' own, each under its name', async () => {
  const configured = await client('/filtered');
  assert.equal(configured.getServerVersion(), { name: 'team-gateway', version: '2.1.0' });
  assert.is(configured.getInstructions(), 'Use the rec tools.');
  const merged = await client('/always');
  assert.is(merged.getServerVersion()?.name, 'mcpmux');
  const instructions = merged.getInstructions() ?? '';
  assert.match(instructions, new RegExp(`^## ${EVERYTHING}\\n`));
  assert.match(instructions, /\n\n## rec\nInstructions of rec\.$/);
});

test.run();
