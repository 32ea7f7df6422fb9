import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKEND, simpleSnapshot } from '../testing/snapshots.ts';
import { matchRoute } from './match.ts';
import { compileRoutingTable } from './table.ts';

const snapshot = simpleSnapshot({ version: 'v', targets: { a: 'http://127.0.0.1:1/mcp' } });
snapshot.routes = [
  { name: 'mcp', listeners: ['http'], pathPrefix: '/mcp', backend: BACKEND, hostnames: [] },
  { name: 'team', listeners: ['http'], pathPrefix: '/mcp/team/', backend: BACKEND, hostnames: [] },
];
const table = compileRoutingTable(snapshot);

const cases: Array<[string, string | undefined, string | undefined]> = [
  ['/mcp', 'mcp', 'mcp'],
  ['/mcp/', 'mcp', 'mcp'],
  ['/mcp/message', 'mcp', 'legacy-message'],
  ['/mcp/team', 'team', 'mcp'],
  ['/mcp/team/', 'team', 'mcp'],
  ['/mcp/team/message', 'team', 'legacy-message'],
  ['/mcp/other', 'mcp', undefined],
  ['/mcpx', undefined, undefined],
  ['/', undefined, undefined],
  // two routes: no /sse alias
  ['/sse', undefined, undefined],
];

for (const [path, route, endpoint] of cases) {
  test(`${path} → ${route ?? 'no route'} ${endpoint ?? ''}`, () => {
    const match = matchRoute(table, path);
    assert.is(match?.route.name, route);
    assert.is(match?.endpoint, endpoint);
  });
}

test('a root prefix catches everything else', () => {
  const s = simpleSnapshot({ version: 'v', targets: { a: 'http://127.0.0.1:1/mcp' }, pathPrefix: '/' });
  const t = compileRoutingTable(s);
  assert.is(matchRoute(t, '/')?.endpoint, 'mcp');
  assert.is(matchRoute(t, '/message')?.endpoint, 'legacy-message');
  assert.is(matchRoute(t, '/x')?.endpoint, undefined);
});

test('/sse is an alias of the only route, and of no route when there are two', () => {
  const one = compileRoutingTable(simpleSnapshot({ version: 'v', targets: { a: 'http://127.0.0.1:1/mcp' } }));
  assert.is(matchRoute(one, '/sse')?.route.pathPrefix, '/mcp');
  assert.is(matchRoute(one, '/sse')?.endpoint, 'mcp');
  assert.is(matchRoute(one, '/sse/')?.endpoint, 'mcp');
  assert.is(matchRoute(one, '/sse/message'), undefined);
  assert.is(matchRoute(table, '/sse'), undefined);
  const root = compileRoutingTable(simpleSnapshot({ version: 'v', targets: { a: 'http://127.0.0.1:1/mcp' }, pathPrefix: '/' }));
  assert.is(matchRoute(root, '/sse')?.endpoint, 'mcp');
});

test.run();
