// The proxy end to end, in-process: a hand-built snapshot pointing at real upstreams (server-
// everything, the website fetcher, a paging fixture, a target that is down), driven by the SDK's
// Client over streamable HTTP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createLogger } from '../shared/log.ts';
import { compileRoutingTable } from './routing/table.ts';
import { ProxyServer } from './server.ts';
import { connectClient, DOWN, EVERYTHING, FETCHER, firstText, PAGED, startUpstreams, type Upstreams } from './testing/fixture.ts';
import { MCPMUX_VERSION } from '../shared/version.ts';
import { Cleanup } from '../shared/testing/processes.ts';
import { simpleSnapshot } from './testing/snapshots.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const cleanup = new Cleanup();
let up: Upstreams;
let proxy: ProxyServer;
let url: string;
let client: Client;

function tableV1() {
  return compileRoutingTable(
    simpleSnapshot({
      version: 'v1',
      targets: { [EVERYTHING]: up.everything.url, [FETCHER]: up.fetcher.url, [PAGED]: up.paged.url, [DOWN]: up.downUrl },
    }),
  );
}

async function allTools(c: Client): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await c.listTools(cursor === undefined ? {} : { cursor });
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  return { names, pages };
}

test.before(async () => {
  up = await startUpstreams(cleanup);
  proxy = new ProxyServer({ address: '127.0.0.1', port: 0, logger });
  await proxy.start();
  cleanup.add(() => proxy.close());
  proxy.apply(tableV1());
  url = `http://127.0.0.1:${proxy.port}/mcp`;
  client = await connectClient(url, cleanup);
});

test.after(() => cleanup.run());

test('initialize: our serverInfo, the union of capabilities, the version applied', () => {
  assert.equal(client.getServerVersion(), { name: 'mcpmux', version: MCPMUX_VERSION });
  const caps = client.getServerCapabilities()!;
  assert.ok(caps.tools && caps.prompts && caps.resources && caps.logging && caps.completions);
  assert.is(caps.resources!.subscribe, true);
  assert.is(proxy.version, 'v1');
});

test('tools/list: prefixed tools of every live target, across pages, none twice; the down target left out', async () => {
  const { names, pages } = await allTools(client);
  for (const name of [`${EVERYTHING}_echo`, `${EVERYTHING}_get-sum`, `${EVERYTHING}_trigger-long-running-operation`, `${FETCHER}_fetch`]) {
    assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  }
  // 5 paged tools, 2 per upstream page: 3 federated pages, not one nextCursor dropped
  assert.equal(names.filter((n) => n.startsWith(`${PAGED}_`)), [1, 2, 3, 4, 5].map((i) => `${PAGED}_tool-${i}`));
  assert.is(pages, 3);
  assert.is(new Set(names).size, names.length, 'no duplicates');
  assert.not.ok(names.some((n) => n.startsWith(`${DOWN}_`)));
});

test('tools/call routes to the owning target with the unprefixed name', async () => {
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'hi' } })), 'Echo: hi');
  assert.match(firstText(await client.callTool({ name: `${EVERYTHING}_get-sum`, arguments: { a: 2, b: 3 } })), /The sum of 2 and 3 is 5/);
  assert.is(firstText(await client.callTool({ name: `${PAGED}_tool-4`, arguments: {} })), 'called tool-4');
});

test('the fetcher fetches a loopback website through the proxy', async () => {
  const result = await client.callTool({ name: `${FETCHER}_fetch`, arguments: { url: up.website.url } });
  assert.is(firstText(result), 'hello from the website');
});

test('prompts: listed across pages with prefixes, and got through', async () => {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listPrompts(cursor === undefined ? {} : { cursor });
    names.push(...page.prompts.map((p) => p.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  assert.ok(names.includes(`${EVERYTHING}_simple-prompt`));
  assert.equal(names.filter((n) => n.startsWith(`${PAGED}_`)), [`${PAGED}_prompt-1`, `${PAGED}_prompt-2`, `${PAGED}_prompt-3`]);
  const prompt = await client.getPrompt({ name: `${EVERYTHING}_simple-prompt` });
  assert.is((prompt.messages[0]!.content as { text: string }).text, 'This is a simple prompt without arguments.');
});

test('resources: listed with wrapped URIs, read back through them', async () => {
  const { resources } = await client.listResources();
  const doc = resources.find((r) => r.uri === `${EVERYTHING}+demo://resource/static/document/architecture.md`);
  assert.ok(doc, resources.map((r) => r.uri).join(', '));
  const read = await client.readResource({ uri: doc!.uri });
  assert.is(read.contents[0]!.uri, doc!.uri);
  assert.ok(((read.contents[0] as { text?: string }).text ?? '').length > 0);
});

test('resource templates: wrapped, and an expansion reads through', async () => {
  const { resourceTemplates } = await client.listResourceTemplates();
  const template = resourceTemplates.find((t) => t.uriTemplate === `${EVERYTHING}+demo://resource/dynamic/text/{resourceId}`);
  assert.ok(template, resourceTemplates.map((t) => t.uriTemplate).join(', '));
  const read = await client.readResource({ uri: `${EVERYTHING}+demo://resource/dynamic/text/7` });
  assert.match((read.contents[0] as { text: string }).text, /^Resource 7: /);
});

test('resource links in tool results are wrapped and can be followed', async () => {
  const result = await client.callTool({ name: `${EVERYTHING}_get-resource-links`, arguments: { count: 1 } });
  const link = (result.content as Array<{ type: string; uri?: string }>).find((c) => c.type === 'resource_link');
  assert.ok(link?.uri?.startsWith(`${EVERYTHING}+demo://`), JSON.stringify(result.content));
  const read = await client.readResource({ uri: link!.uri! });
  assert.is(read.contents[0]!.uri, link!.uri);
});

test('completion/complete routes by the prompt ref', async () => {
  const completion = await client.complete({
    ref: { type: 'ref/prompt', name: `${EVERYTHING}_completable-prompt` },
    argument: { name: 'department', value: 'E' },
  });
  assert.equal(completion.completion.values, ['Engineering']);
});

test('ping is answered; logging/setLevel fans out', async () => {
  assert.equal(await client.ping(), {});
  assert.equal(await client.setLoggingLevel('warning'), {});
});

test('unknown tool: -32602 naming it; the session goes on', async () => {
  // A name no target owns is ours to refuse.
  for (const name of ['nosuchtarget_echo', 'noprefix', `${DOWN}x_echo`]) {
    try {
      await client.callTool({ name, arguments: {} });
      assert.unreachable(name);
    } catch (error) {
      assert.instance(error, McpError, String(error));
      assert.is((error as McpError).code, -32602);
      assert.match((error as Error).message, name);
    }
  }
  // A name of a live target that it does not know: the target's own answer comes through.
  const upstreamAnswer = await client.callTool({ name: `${EVERYTHING}_nope`, arguments: {} });
  assert.is(upstreamAnswer.isError, true);
  assert.match(firstText(upstreamAnswer), /nope/);
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'ok' } })), 'Echo: ok');
});

test('apply() mid-session: removed targets error clearly, new ones work, in-flight calls finish', async () => {
  const other = await connectClient(url, cleanup, 'second');
  // In flight across the swap, on a target the new table removes.
  const long = other.callTool({ name: `${EVERYTHING}_trigger-long-running-operation`, arguments: { duration: 0.5, steps: 1 } });
  await new Promise((r) => setTimeout(r, 100));
  proxy.apply(
    compileRoutingTable(
      simpleSnapshot({ version: 'v2', targets: { [FETCHER]: up.fetcher.url, 'fetcher-two': up.fetcher.url } }),
    ),
  );
  assert.is(proxy.version, 'v2');
  assert.match(firstText(await long), /Long running operation completed/);

  const { names } = await allTools(client);
  assert.equal(names.sort(), ['fetcher-two_fetch', `${FETCHER}_fetch`]);
  try {
    await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'x' } });
    assert.unreachable();
  } catch (error) {
    assert.is((error as McpError).code, -32602);
    assert.match((error as Error).message, new RegExp(`target ${EVERYTHING} is not part of backend`));
  }
  assert.is(firstText(await client.callTool({ name: 'fetcher-two_fetch', arguments: { url: up.website.url } })), 'hello from the website');

  // And back: the removed target returns, reconnected on first use.
  proxy.apply(tableV1());
  assert.is(firstText(await client.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'back' } })), 'Echo: back');
  assert.is(firstText(await other.callTool({ name: `${EVERYTHING}_echo`, arguments: { message: 'back too' } })), 'Echo: back too');
});

test('conditional mode with one target: names and URIs are left alone', async () => {
  const snapshot = simpleSnapshot({ version: 'v3', targets: { [EVERYTHING]: up.everything.url }, pathPrefix: '/solo', backend: { name: 'ns/solo', prefixMode: 'PREFIX_MODE_CONDITIONAL' } });
  snapshot.routes.push(...simpleSnapshot({ version: 'x', targets: {} }).routes.map((r) => ({ ...r, name: 'main', backend: snapshot.backends[0]!.name })));
  proxy.apply(compileRoutingTable(snapshot));
  const solo = await connectClient(`http://127.0.0.1:${proxy.port}/solo`, cleanup, 'solo');
  const { tools } = await solo.listTools();
  assert.ok(tools.some((t) => t.name === 'echo'));
  assert.is(firstText(await solo.callTool({ name: 'echo', arguments: { message: 'solo' } })), 'Echo: solo');
  const { resources } = await solo.listResources();
  assert.ok(resources.some((r) => r.uri === 'demo://resource/static/document/architecture.md'));
  proxy.apply(tableV1());
});

test.run();
