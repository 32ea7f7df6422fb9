// One upstream dies and comes back while a client session stays open (issue 4, acceptance 4): the
// other target keeps answering, tools/list returns what is left (never an error for the whole
// list), and once the upstream is back on its port its tools return to that same session, no
// reconnect. The proxy retries a failed target after about 5 s, so the tests poll for up to 15 s.
// Written against behaviour (lists and calls), not against how the proxy does it.
// The upstreams are the tutorial's: server-everything (stateful: it hands out a session id) and the
// Python website fetcher (stateless).
import { startWebsite, type LocalServer } from '../shared/testing/upstreams.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startStack, type Stack } from './support/stack.ts';

const ECHO = 'mcp-server-everything-3001_echo';
const FETCH = 'mcp-website-fetcher-80_fetch';
const COMEBACK_MS = 15_000;

let stack: Stack;
let page: LocalServer;
let pageUrl = '';

test.before(async () => {
  stack = await startStack({ fetcher: 'python' });
  page = await startWebsite('<html>still fetching</html>');
  pageUrl = page.url;
});

test.after(async () => {
  await page?.close();
  await stack?.stop();
});

const text = (result: Awaited<ReturnType<Client['callTool']>>): string =>
  (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');
const toolNames = async (client: Client): Promise<string[]> => (await client.listTools()).tools.map((t) => t.name);
const sessionId = (client: Client): string | undefined => (client.transport as StreamableHTTPClientTransport | undefined)?.sessionId;
/** Whatever a call to a tool of a dead target gives: an error result or a JSON-RPC error, never a hang. */
const outcome = (call: Promise<Awaited<ReturnType<Client['callTool']>>>): Promise<string> =>
  call.then(
    (result) => (result.isError ? `error result: ${text(result)}` : `success: ${text(result)}`),
    (error: unknown) => `error: ${(error as Error).message}`,
  );

/** Polls tools/list on `client` until it has `name`; returns how long that took. */
async function waitForTool(client: Client, name: string): Promise<number> {
  const started = Date.now();
  let last: string[] | string = [];
  while (Date.now() - started < COMEBACK_MS) {
    try {
      last = await toolNames(client);
      if (last.includes(name)) return Date.now() - started;
    } catch (error) {
      last = `tools/list failed: ${(error as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not come back within ${COMEBACK_MS} ms; last tools/list: ${Array.isArray(last) ? last.join(', ') : last}`);
}

test('server-everything killed mid-session: the fetcher still answers, tools/list gives the rest; restarted, it comes back to the same session', async () => {
  const client = await stack.connect('survivor');
  try {
    const id = sessionId(client);
    assert.ok(id, 'the gateway gave the session an id');
    assert.ok((await toolNames(client)).includes(ECHO));
    assert.is(text(await client.callTool({ name: ECHO, arguments: { message: 'before' } })), 'Echo: before');

    await stack.everything.stop('SIGKILL');

    const fetched = await client.callTool({ name: FETCH, arguments: { url: pageUrl } });
    assert.is(text(fetched), '<html>still fetching</html>', 'the other target still answers');
    const during = await toolNames(client); // must not throw: one dead target never fails the list
    assert.ok(during.includes(FETCH), `the fetcher's tool is still listed: ${during.join(', ')}`);
    assert.not.ok(during.includes(ECHO), `the dead target's tools are not listed: ${during.join(', ')}`);
    const dead = await outcome(client.callTool({ name: ECHO, arguments: { message: 'nobody home' } }));
    assert.not.match(dead, /^success/, `a call to the dead target cannot succeed: ${dead}`);
    console.log(`  call to the dead target: ${dead.slice(0, 200)}`);
    assert.is(text(await client.callTool({ name: FETCH, arguments: { url: pageUrl } })), '<html>still fetching</html>', 'still fine after the failed call');

    const restarted = Date.now();
    await stack.startEverything();
    const listening = Date.now() - restarted;
    const back = await waitForTool(client, ECHO);
    console.log(`  server-everything listening ${listening} ms after the restart; its tools back on the session after ${back} ms more`);
    assert.is(text(await client.callTool({ name: ECHO, arguments: { message: 'after' } })), 'Echo: after', 'the restarted upstream answers');
    assert.is(text(await client.callTool({ name: FETCH, arguments: { url: pageUrl } })), '<html>still fetching</html>');
    assert.is(sessionId(client), id, 'same downstream session throughout');
  } finally {
    await client.close();
  }
});

test('the stateless Python fetcher killed mid-session: server-everything still answers; restarted, fetch comes back', async () => {
  const client = await stack.connect('survivor-2');
  try {
    const id = sessionId(client);
    assert.is(text(await client.callTool({ name: FETCH, arguments: { url: pageUrl } })), '<html>still fetching</html>');

    await stack.fetcher.stop('SIGKILL');

    assert.is(text(await client.callTool({ name: ECHO, arguments: { message: 'alone' } })), 'Echo: alone');
    const during = await toolNames(client);
    assert.ok(during.includes(ECHO), `server-everything's tools are still listed: ${during.join(', ')}`);
    assert.not.ok(during.includes(FETCH), `the dead fetcher's tool is not listed: ${during.join(', ')}`);
    const dead = await outcome(client.callTool({ name: FETCH, arguments: { url: pageUrl } }));
    assert.not.match(dead, /^success/, `a call to the dead target cannot succeed: ${dead}`);

    const restarted = Date.now();
    await stack.startFetcher();
    const listening = Date.now() - restarted;
    const back = await waitForTool(client, FETCH);
    console.log(`  python fetcher listening ${listening} ms after the restart; fetch back on the session after ${back} ms more`);
    assert.is(text(await client.callTool({ name: FETCH, arguments: { url: pageUrl } })), '<html>still fetching</html>');
    assert.is(sessionId(client), id, 'same downstream session throughout');
  } finally {
    await client.close();
  }
});

test('a session opened while an upstream is down starts with the rest and gains it when it returns', async () => {
  await stack.everything.stop('SIGKILL');
  const client = await stack.connect('late-comer');
  try {
    const names = await toolNames(client);
    assert.ok(names.includes(FETCH), `initialize and tools/list work with one target down: ${names.join(', ')}`);
    assert.not.ok(names.includes(ECHO));
    assert.is(text(await client.callTool({ name: FETCH, arguments: { url: pageUrl } })), '<html>still fetching</html>');
    await stack.startEverything();
    const back = await waitForTool(client, ECHO);
    console.log(`  server-everything's tools joined the late session ${back} ms after it listened again`);
    assert.is(text(await client.callTool({ name: ECHO, arguments: { message: 'joined late' } })), 'Echo: joined late');
  } finally {
    await client.close();
  }
});

test.run();
