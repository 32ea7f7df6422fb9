// The client pages (docs/clients/*.md, issue 9 item 7): every fenced block is a configuration a
// client reads, marked `client=… transport=… form=tutorial|current`, or a `check=` block. On the
// tutorial stack each one is connected to exactly the way it says (streamable HTTP, legacy SSE, or
// streamable HTTP first with SSE as the fallback, as Cursor/VS Code/Windsurf/OpenCode 1 do), lists
// the tools, sees mcp-server-everything-3001_echo and calls it. Blocks that carry a header run after
// the route is guarded with an API key, with their placeholders in the client's own syntax. Every
// page has both forms and a "Checked against" line, and the test runs as many blocks as the pages
// have, so a block without a marker fails.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT, until } from './support/processes.ts';
import { startStack, TUTORIAL_YAML, type Stack } from './support/stack.ts';

const PAGES = join(ROOT, 'docs/clients');
const DOC_URL = 'http://localhost:8080/mcp';
const ECHO = 'mcp-server-everything-3001_echo';
const API_KEY = 'client-docs-key-5c1e0a';
/** Page of each client; the page's blocks must all name it. */
const CLIENTS = {
  cursor: 'cursor.md',
  vscode: 'vscode.md',
  'claude-code': 'claude-code.md',
  windsurf: 'windsurf.md',
  opencode: 'opencode.md',
  'mcp-inspector': 'mcp-inspector.md',
} as const;
type ClientId = keyof typeof CLIENTS;
type Transport = 'http' | 'sse' | 'auto';

/** Secrets a page may read, by the name it uses (environment variables, VS Code input ids). */
const SECRETS: Record<string, string> = {
  MCPMUX_API_KEY: API_KEY,
  MCPMUX_TOKEN: API_KEY, // an API key is accepted as a bearer token too
  'mcpmux-api-key': API_KEY,
  'mcpmux-token': API_KEY,
};

interface Block {
  page: string;
  line: number;
  lang: string;
  attrs: Record<string, string>;
  body: string;
}

/** What a block tells its client to do. */
interface Connection {
  url: string;
  transport: Transport;
  headers: Record<string, string>;
  /** The Inspector CLI's --method and its arguments; other blocks list tools. */
  method?: { name: string; tool?: string; args: Record<string, unknown> };
}

const blockId = (b: Block): string => `${b.page}:${b.line}`;

function fail(message: string): never {
  assert.unreachable(message);
  throw new Error(message);
}

function fencedBlocks(page: string): Block[] {
  const lines = readFileSync(join(PAGES, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    assert.ok(i < lines.length, `${page}:${start + 1}: unclosed code block`);
    const attrs = Object.fromEntries([...(open[2] ?? '').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    blocks.push({ page, line: start + 1, lang: open[1] ?? '', attrs, body: body.join('\n') });
  }
  return blocks;
}

const pages = readdirSync(PAGES).filter((f) => f.endsWith('.md')).sort();
const blocks = pages.flatMap(fencedBlocks);
const clientBlocks = blocks.filter((b) => b.attrs.client !== undefined);
const checked = new Set<string>();

// ---- reading a block as its client does -------------------------------------------------------

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The single server entry of a map of servers. */
function onlyServer(map: unknown, where: string): Json {
  assert.ok(isObject(map), `${where}: no server map`);
  const entries = Object.values(map);
  assert.is(entries.length, 1, `${where}: one server per block`);
  const entry = entries[0];
  assert.ok(isObject(entry), `${where}: server entry is not an object`);
  return entry;
}

/** Header values with the secrets a placeholder names filled in; `syntax` is the client's own. */
function expandHeaders(headers: unknown, syntax: RegExp, where: string): Record<string, string> {
  if (headers === undefined) return {};
  assert.ok(isObject(headers), `${where}: headers is not an object`);
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    assert.type(raw, 'string', `${where}: header ${name}`);
    const value = (raw as string).replace(syntax, (_, secret: string) => {
      assert.ok(SECRETS[secret] !== undefined, `${where}: header ${name} reads an unknown secret ${secret}`);
      return SECRETS[secret] as string;
    });
    // Anything still looking like a placeholder is a syntax this client does not expand.
    assert.not.match(value, /\$|\{env:|\{input:/, `${where}: header ${name} keeps a placeholder the client would send as is: ${value}`);
    out[name] = value;
  }
  return out;
}

const CURSOR_ENV = /\$\{env:([A-Za-z_][\w-]*)\}/g;
const VSCODE_INPUT = /\$\{input:([\w-]+)\}/g;
const CLAUDE_ENV = /\$\{([A-Za-z_]\w*)(?::-[^}]*)?\}/g;
const OPENCODE_ENV = /(?<!\$)\{env:([A-Za-z_]\w*)\}/g;
const SHELL_VAR = /\$\{?([A-Za-z_]\w*)\}?/g;

function jsonConnection(client: ClientId, doc: Json, where: string): Connection {
  const url = (entry: Json, key = 'url'): string => {
    assert.type(entry[key], 'string', `${where}: ${key}`);
    return entry[key] as string;
  };
  switch (client) {
    case 'cursor': {
      const entry = onlyServer(doc.mcpServers, where);
      return { url: url(entry), transport: 'auto', headers: expandHeaders(entry.headers, CURSOR_ENV, where) };
    }
    case 'windsurf': {
      const entry = onlyServer(doc.mcpServers, where);
      return { url: url(entry, entry.serverUrl !== undefined ? 'serverUrl' : 'url'), transport: 'auto', headers: expandHeaders(entry.headers, CURSOR_ENV, where) };
    }
    case 'vscode': {
      const legacy = doc['github.copilot.chat.mcp.servers'];
      if (legacy !== undefined) return { url: url(onlyServer(legacy, where)), transport: 'auto', headers: {} };
      const entry = onlyServer(doc.servers, where);
      const inputs = Array.isArray(doc.inputs) ? doc.inputs.filter(isObject) : [];
      for (const [, id] of JSON.stringify(entry.headers ?? {}).matchAll(VSCODE_INPUT)) {
        const input = inputs.find((i) => i.id === id);
        assert.ok(input && input.type === 'promptString' && input.password === true, `${where}: \${input:${id}} needs a password promptString input`);
      }
      // "VS Code first tries the HTTP Stream transport and falls back to SSE": type http is auto.
      const transport: Transport = entry.type === 'http' ? 'auto' : entry.type === 'sse' ? 'sse' : fail(`${where}: type ${String(entry.type)}`);
      return { url: url(entry), transport, headers: expandHeaders(entry.headers, VSCODE_INPUT, where) };
    }
    case 'claude-code': {
      const entry = onlyServer(doc.mcpServers, where);
      assert.ok(entry.type === 'http' || entry.type === 'sse', `${where}: type ${String(entry.type)}`);
      return { url: url(entry), transport: entry.type, headers: expandHeaders(entry.headers, CLAUDE_ENV, where) };
    }
    case 'opencode': {
      assert.ok(isObject(doc.mcp), `${where}: no mcp section`);
      if (isObject(doc.mcp.servers)) {
        // OpenCode 2 (mcp.servers, type remote: streamable HTTP); the tutorial's type "sse" here.
        const entry = onlyServer(doc.mcp.servers, where);
        const transport: Transport = entry.type === 'remote' ? 'http' : entry.type === 'sse' ? 'sse' : fail(`${where}: type ${String(entry.type)}`);
        return { url: url(entry), transport, headers: expandHeaders(entry.headers, OPENCODE_ENV, where) };
      }
      // OpenCode 1 (servers directly under mcp): StreamableHTTP, then SSE (src/mcp/index.ts).
      const entry = onlyServer(doc.mcp, where);
      assert.is(entry.type, 'remote', `${where}: type`);
      return { url: url(entry), transport: 'auto', headers: expandHeaders(entry.headers, OPENCODE_ENV, where) };
    }
    case 'mcp-inspector':
      return fail(`${where}: no JSON form for the Inspector`);
  }
}

/** Shell words, quotes removed (no expansion: a `$NAME` stays for expandHeaders). */
function shellWords(text: string): string[] {
  const line = text.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  assert.is(line.length, 1, `one command per block: ${text}`);
  return [...(line[0] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** `--flag value` pairs and positionals; `booleans` take no value. */
function options(words: string[], booleans: string[], where: string): { flags: Map<string, string[]>; positionals: string[] } {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (!word.startsWith('-')) positionals.push(word);
    else if (booleans.includes(word)) flags.set(word, ['']);
    else {
      assert.ok(i + 1 < words.length, `${where}: ${word} needs a value`);
      flags.set(word, [...(flags.get(word) ?? []), words[++i] ?? '']);
    }
  }
  return { flags, positionals };
}

function headerFlags(values: string[], where: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const h of values) {
    const colon = h.indexOf(':');
    assert.ok(colon > 0, `${where}: header "${h}" is not "Name: Value"`);
    raw[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  return expandHeaders(raw, SHELL_VAR, where);
}

function transportFlag(value: string | undefined, where: string): 'http' | 'sse' {
  assert.ok(value === 'http' || value === 'sse', `${where}: --transport ${String(value)}`);
  return value;
}

function shellConnection(client: ClientId, words: string[], where: string): Connection {
  if (client === 'claude-code') {
    assert.equal(words.slice(0, 3), ['claude', 'mcp', 'add'], `${where}: a claude mcp add command`);
    const { flags, positionals } = options(words.slice(3), [], where);
    for (const flag of flags.keys()) assert.ok(['--transport', '--header', '--scope'].includes(flag), `${where}: unexpected ${flag}`);
    assert.is(positionals.length, 2, `${where}: a name and a URL`);
    return { url: positionals[1] ?? '', transport: transportFlag(flags.get('--transport')?.[0], where), headers: headerFlags(flags.get('--header') ?? [], where) };
  }
  assert.is(client, 'mcp-inspector', `${where}: no command form for ${client}`);
  assert.equal(words.slice(0, 2), ['npx', '@modelcontextprotocol/inspector'], `${where}: an Inspector command`);
  const { flags, positionals } = options(words.slice(2), ['--cli'], where);
  for (const flag of flags.keys()) assert.ok(['--cli', '--transport', '--server-url', '--header', '--method', '--tool-name', '--tool-arg'].includes(flag), `${where}: unexpected ${flag}`);
  const urls = [...positionals, ...(flags.get('--server-url') ?? [])];
  assert.is(urls.length, 1, `${where}: one server URL`);
  const cli = flags.has('--cli');
  const method = flags.get('--method')?.[0];
  assert.is(method !== undefined, cli, `${where}: --method goes with --cli`);
  const args = Object.fromEntries((flags.get('--tool-arg') ?? []).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  return {
    url: urls[0] ?? '',
    transport: transportFlag(flags.get('--transport')?.[0], where),
    headers: headerFlags(flags.get('--header') ?? [], where),
    ...(method ? { method: { name: method, ...(flags.has('--tool-name') ? { tool: flags.get('--tool-name')?.[0] } : {}), args } } : {}),
  };
}

/** The Inspector UI steps: "Transport: Streamable HTTP, URL http://…, Tools -> List Tools". */
function uiConnection(body: string, where: string): Connection {
  const transport = /Transport:\s*(Streamable HTTP|SSE)/.exec(body)?.[1];
  const url = /URL\s+(https?:\/\/[^\s,]+)/.exec(body)?.[1];
  assert.ok(transport && url, `${where}: transport and URL`);
  return { url, transport: transport === 'SSE' ? 'sse' : 'http', headers: {} };
}

function readConnection(block: Block): Connection {
  const where = blockId(block);
  const client = block.attrs.client as ClientId;
  let connection: Connection;
  if (block.lang === 'json') connection = jsonConnection(client, JSON.parse(block.body) as Json, where);
  else if (block.lang === 'sh') connection = shellConnection(client, shellWords(block.body), where);
  else if (block.lang === 'text' && client === 'mcp-inspector') connection = uiConnection(block.body, where);
  else return fail(`${where}: cannot read a ${block.lang} block for ${client}`);
  assert.is(connection.url, DOC_URL, `${where}: the gateway's URL`);
  assert.is(block.attrs.transport, connection.transport, `${where}: transport= says what the configuration implies`);
  return connection;
}

// ---- talking to the gateway as the block says ---------------------------------------------------

async function toolNames(client: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  return names;
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content.map((c) => (isObject(c) && typeof c.text === 'string' ? c.text : '')).join('');
}

/** Connects as the block says, lists tools, calls echo (and the Inspector's --method); returns the transport that worked. */
async function exercise(block: Block, connection: Connection): Promise<'http' | 'sse'> {
  const url = new URL(stack.mcpUrl);
  const requestInit = { headers: connection.headers };
  const attempts: Array<'http' | 'sse'> = connection.transport === 'auto' ? ['http', 'sse'] : [connection.transport];
  const failures: string[] = [];
  for (const kind of attempts) {
    const client = new Client({ name: `docs-${block.attrs.client}`, version: '1.0.0' });
    const transport = kind === 'http' ? new StreamableHTTPClientTransport(url, { requestInit }) : new SSEClientTransport(url, { requestInit });
    try {
      await client.connect(transport);
    } catch (error) {
      failures.push(`${kind}: ${(error as Error).message}`);
      await client.close().catch(() => undefined);
      continue;
    }
    try {
      assert.ok((await toolNames(client)).includes(ECHO), `${blockId(block)}: ${ECHO} listed over ${kind}`);
      const message = `hello from ${blockId(block)}`;
      assert.match(text(await client.callTool({ name: ECHO, arguments: { message } })), message);
      if (connection.method?.name === 'tools/call') {
        const result = await client.callTool({ name: connection.method.tool ?? '', arguments: connection.method.args });
        assert.not.ok(result.isError, `${blockId(block)}: tools/call ${connection.method.tool}: ${text(result)}`);
      } else if (connection.method) assert.is(connection.method.name, 'tools/list', `${blockId(block)}: a method the test knows`);
      return kind;
    } finally {
      await client.close();
    }
  }
  throw new Error(`${blockId(block)}: no transport connected (${failures.join('; ')})`);
}

// The Inspector is not a dependency (node_modules/@modelcontextprotocol/ holds sdk,
// server-everything and conformance), so its --cli blocks are spoken with the SDK above: the same
// URL, transport, headers and method. Should it ever be installed, its own CLI runs them instead
// (node on its bin, not npx, which would need the network).
const INSPECTOR_DIR = join(ROOT, 'node_modules/@modelcontextprotocol/inspector');

function inspectorBin(): string | undefined {
  if (!existsSync(join(INSPECTOR_DIR, 'package.json'))) return undefined;
  const pkg = JSON.parse(readFileSync(join(INSPECTOR_DIR, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin?.['mcp-inspector'] ?? Object.values(pkg.bin ?? {})[0]);
  return bin ? join(INSPECTOR_DIR, bin) : undefined;
}

async function runInspectorCli(bin: string, block: Block, connection: Connection): Promise<void> {
  const secret = (_: string, name: string): string => SECRETS[name] ?? fail(`${blockId(block)}: unknown secret ${name}`);
  const args = shellWords(block.body)
    .slice(2)
    .map((word) => (word === DOC_URL ? stack.mcpUrl : word.replace(SHELL_VAR, secret)));
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args], { timeout: 30_000 });
  assert.match(stdout, connection.method?.name === 'tools/call' ? 'Echo: ' : ECHO, `${blockId(block)}: the Inspector CLI's output`);
}

async function runBlocks(which: Block[]): Promise<void> {
  for (const block of which) {
    const connection = readConnection(block);
    const bin = connection.method ? inspectorBin() : undefined;
    if (bin) {
      await runInspectorCli(bin, block, connection);
      checked.add(blockId(block));
      continue;
    }
    const used = await exercise(block, connection);
    // A fallback client's first try, streamable HTTP, must already succeed on /mcp.
    assert.is(used, connection.transport === 'sse' ? 'sse' : 'http', `${blockId(block)}: transport used`);
    checked.add(blockId(block));
  }
}

const hasHeaders = (block: Block): boolean => Object.keys(readConnection(block).headers).length > 0;

// ---- the stack ----------------------------------------------------------------------------------

let stack: Stack;

test.before(async () => {
  stack = await startStack();
});

test.after(async () => {
  await stack?.stop();
});

// ---- the pages themselves -----------------------------------------------------------------------

test('every client has a page with both forms, a checked-against line, and only marked blocks', () => {
  for (const [client, page] of Object.entries(CLIENTS)) {
    assert.ok(pages.includes(page), `docs/clients/${page} exists`);
    const own = blocks.filter((b) => b.page === page);
    for (const b of own) assert.is(b.attrs.client, client, `${blockId(b)}: marked client=${client}`);
    for (const form of ['tutorial', 'current']) assert.ok(own.some((b) => b.attrs.form === form), `${page}: a form=${form} block`);
    for (const b of own) assert.ok(['tutorial', 'current'].includes(b.attrs.form ?? ''), `${blockId(b)}: form=`);
    assert.match(readFileSync(join(PAGES, page), 'utf8'), /^Checked against https?:\/\/\S+ on 2026-11-25/m, `${page}: checked-against line`);
  }
  for (const b of blocks) assert.ok(b.attrs.client !== undefined || b.attrs.check !== undefined, `${blockId(b)}: marked with client= or check=`);
  const claude = blocks.filter((b) => b.attrs.client === 'claude-code');
  assert.ok(claude.some((b) => b.attrs.form === 'tutorial' && b.attrs.transport === 'sse'), 'Claude Code: the tutorial\'s --transport sse');
  assert.ok(claude.some((b) => b.attrs.form === 'current' && b.attrs.transport === 'http'), 'Claude Code: --transport http');
});

test('the tutorial blocks are the configurations README.md gives, verbatim', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const b of blocks.filter((b) => b.attrs.form === 'tutorial' && b.lang !== 'text')) {
    assert.ok(readme.includes(b.body.trim()), `${blockId(b)} is in README.md's "Connect your client"`);
  }
});

// ---- against the gateway ------------------------------------------------------------------------

test('the legacy handshake the index shows: GET /mcp opens a stream whose first event names /mcp/message', async () => {
  const block = blocks.find((b) => b.attrs.check === 'legacy-handshake');
  assert.ok(block, 'the index has the legacy-handshake block');
  const words = shellWords(block.body);
  assert.is(words[0], 'curl');
  const accept = words[words.indexOf('-H') + 1] ?? '';
  assert.is(words.at(-1), DOC_URL);
  const expected = block.body.split('\n').filter((l) => l.startsWith('# ')).map((l) => l.slice(2));
  const pattern = new RegExp(`^${expected.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('<session id>', '[\\w-]+')).join('\\n')}$`, 'm');
  const abort = new AbortController();
  const response = await fetch(stack.mcpUrl, { headers: { [accept.slice(0, accept.indexOf(':'))]: accept.slice(accept.indexOf(':') + 1).trim() }, signal: abort.signal });
  assert.is(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while (!/\n\n/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  abort.abort();
  assert.match(seen.replace(/^id: .*\n/m, ''), pattern, `the stream starts with the documented endpoint event:\n${seen}`);
  checked.add(blockId(block));
});

test('every block without a header connects as it says, lists the tools and calls echo', async () => {
  await runBlocks(clientBlocks.filter((b) => !hasHeaders(b)));
});

test('every block with a header works once the route is guarded, and nothing works without one', async () => {
  // Point the tutorial's route at an MCPBackend over the same Services that wants an API key.
  const route = TUTORIAL_YAML.replace(
    '- name: mcp-federated\n      group: agentgateway.dev\n      kind: AgentgatewayBackend',
    '- name: guarded-federation\n      group: mcpmux.dev\n      kind: MCPBackend',
  );
  assert.is.not(route, TUTORIAL_YAML, 'the route\'s backendRef was replaced');
  stack.writeFile(
    'guard.yaml',
    `apiVersion: mcpmux.dev/v1alpha1
kind: MCPBackend
metadata: {name: guarded-federation, namespace: agentgateway-system}
spec:
  authentication:
    apiKeys: {secretRef: {name: client-docs-keys}}
  targets:
  - selector:
      matchLabels: {mcp-federation: "true"}
---
apiVersion: v1
kind: Secret
metadata: {name: client-docs-keys, namespace: agentgateway-system}
stringData:
  docs-reader: ${API_KEY}
`,
  );
  stack.writeFile('tutorial.yaml', route);
  const initialize = (headers: Record<string, string>): Promise<Response> =>
    fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'docs', version: '1' } } }),
    });
  await until(async () => (await initialize({})).status === 401, 'the route to be guarded', 10_000);
  assert.is((await fetch(stack.mcpUrl, { headers: { accept: 'text/event-stream' } })).status, 401, 'a legacy GET without a key is refused too');
  assert.is((await initialize({ 'x-api-key': 'not-the-key' })).status, 401, 'a wrong key is refused');

  const guarded = clientBlocks.filter(hasHeaders);
  assert.ok(guarded.length >= 6, `pages show headers (${guarded.length} blocks)`);
  await runBlocks(guarded);
});

test('the test ran every block on the pages', () => {
  const unchecked = blocks.map(blockId).filter((id) => !checked.has(id));
  assert.equal(unchecked, [], 'blocks no test ran');
  assert.is(checked.size, blocks.length);
});

test.run();
