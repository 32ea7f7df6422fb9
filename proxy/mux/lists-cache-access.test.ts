// Authorization after the list cache: two principals share one cached list (the upstream is not
// told who asks), and each sees only what its rules allow. listFederated with a hand-built request
// context and an upstream connection that counts its requests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { InitializeResult } from '@modelcontextprotocol/sdk/types.js';
import type { AccessRule } from '../../shared/config/types.ts';
import { createLogger } from '../../shared/log.ts';
import { AccessPolicy } from '../auth/access.ts';
import type { Principal } from '../auth/authenticator.ts';
import { compileRoutingTable, type CompiledBackend, type CompiledTarget } from '../routing/table.ts';
import { simpleSnapshot } from '../testing/snapshots.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';
import type { UpstreamResponse } from '../upstream/session.ts';
import type { RequestContext } from './context.ts';
import { ListCache } from './list-cache.ts';
import { completeOwners, listFederated } from './lists.ts';
import { NameIndex } from './name-index.ts';
import { ProgressRoutes } from './correlation.ts';

const logger = createLogger('test', { level: 'silent' });
const rule = (name: string, fields: Partial<AccessRule>): AccessRule => ({ name, effect: 'allow', subjects: [], groups: [], scopes: [], tools: [], targets: [], ...fields });
const ops: Principal = { id: 'jwt:i#carol', subject: 'carol', claims: { groups: ['ops'] } };
const dave: Principal = { id: 'jwt:i#dave', subject: 'dave', claims: {} };

/** An upstream that lists two tools, declares listChanged and always hears its notifications. */
function fakeUpstream(target: CompiledTarget, counter: { lists: number }): UpstreamConnection {
  const initializeResult: InitializeResult = { protocolVersion: '2025-11-25', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 'fake', version: '1' } };
  return {
    target: target.name,
    endpoint: target.endpoints[0]!,
    initializeResult,
    closed: false,
    listWatch: () => 'stream-1',
    initialize: async () => initializeResult,
    request: async (message): Promise<UpstreamResponse> => {
      if (message.method === 'tools/list') counter.lists++;
      return { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'admin', inputSchema: { type: 'object' } }] } };
    },
    notify: async () => undefined,
    respond: async () => undefined,
    closeWhenIdle: () => undefined,
    close: async () => undefined,
  };
}

test('two principals share one cached list; each sees only the tools its rules allow', async () => {
  const compiled = compileRoutingTable(simpleSnapshot({ version: 'v1', targets: { svc: 'http://127.0.0.1:9/mcp' } })).routes[0]!.backend;
  const backend: CompiledBackend = {
    ...compiled,
    access: new AccessPolicy({ rules: [rule('ops-all', { groups: ['ops'] }), rule('everyone-echo', { subjects: ['dave'], tools: ['svc_echo'] })] }),
  };
  const counter = { lists: 0 };
  const upstream = fakeUpstream(backend.targets[0]!, counter);
  const cache = new ListCache();
  const ctxFor = (principal: Principal): RequestContext => ({
    backend,
    access: backend.access?.for(principal),
    connections: { get: async () => upstream },
    logger,
    requestTimeoutMs: 1_000,
    signal: new AbortController().signal,
    requestId: 1,
    progressToken: undefined,
    progress: new ProgressRoutes(),
    names: new NameIndex(completeOwners),
    lists: { cache, clientCapabilities: () => '{}', principal: principal.id },
  });
  const names = (result: Record<string, unknown>) => (result.tools as Array<{ name: string }>).map((t) => t.name).sort();
  assert.equal(names(await listFederated(ctxFor(ops), 'tools/list', 'tools', undefined)), ['svc_admin', 'svc_echo']);
  assert.equal(names(await listFederated(ctxFor(dave), 'tools/list', 'tools', undefined)), ['svc_echo']);
  assert.equal(names(await listFederated(ctxFor(ops), 'tools/list', 'tools', undefined)), ['svc_admin', 'svc_echo'], 'the cached items were not renamed or filtered in place');
  assert.is(counter.lists, 1, 'one upstream tools/list for the three lists');
});

test.run();
