import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Listener, Route, Snapshot } from '../../shared/config/types.ts';
import { BACKEND, simpleSnapshot, target } from '../testing/snapshots.ts';
import { listenerIndex, routeFor, routeView, selectListener } from './hosts.ts';
import { matchRoute } from './match.ts';
import { compileRoutingTable } from './table.ts';

const listener = (name: string, port: number, hostnames: string[] = []): Listener => ({ name, port, protocol: 'HTTP', hostnames, certificateSecrets: [] });
const route = (name: string, listeners: string[], pathPrefix: string, hostnames: string[] = [], backend = BACKEND): Route => ({ name, listeners, pathPrefix, backend, hostnames });

function snapshot(listeners: Listener[], routes: Route[]): Snapshot {
  const s = simpleSnapshot({ version: 'v', targets: { a: 'http://127.0.0.1:1/mcp' } });
  s.backends.push({ ...s.backends[0]!, name: 'ns/other', targets: ['b'] });
  s.targets.push(target('ns/other', 'b', 'http://127.0.0.1:2/mcp'));
  return { ...s, listeners, routes };
}

test('a Host picks the most specific listener of its port: exact, then the longer wildcard, then one without hostnames; none takes it: none', () => {
  const table = compileRoutingTable(
    snapshot([listener('any', 80), listener('wild', 80, ['*.example.test']), listener('deeper', 80, ['*.a.example.test']), listener('exact', 80, ['mcp.a.example.test']), listener('other-port', 81, ['mcp.a.example.test'])], []),
  );
  const port = listenerIndex(table).ports.get(80)!;
  const pick = (host: string | undefined): string | undefined => selectListener(port, host)?.name;
  assert.is(pick('mcp.a.example.test'), 'exact');
  assert.is(pick('x.a.example.test'), 'deeper');
  assert.is(pick('x.example.test'), 'wild');
  assert.is(pick('example.test'), 'any');
  assert.is(pick(undefined), 'any', 'no SNI: the listener without hostnames');
  const named = listenerIndex(compileRoutingTable(snapshot([listener('exact', 443, ['mcp.example.test'])], []))).ports.get(443)!;
  assert.is(selectListener(named, 'other.example.test'), undefined, 'no listener takes it');
  assert.is(selectListener(named, undefined), undefined, 'no SNI, no listener without hostnames');
});

test('a listener serves its own routes only (listener isolation); the /sse alias is per listener', () => {
  const table = compileRoutingTable(
    snapshot([listener('http', 80), listener('https', 443, ['mcp.example.test'])], [route('plain', ['http'], '/mcp'), route('secure', ['https'], '/mcp', [], 'ns/other'), route('both', ['http', 'https'], '/shared')]),
  );
  const index = listenerIndex(table);
  const on = (name: string, path: string): string | undefined => matchRoute(routeView(index.listeners.get(name)!, 'mcp.example.test'), path)?.route.name;
  assert.is(on('http', '/mcp'), 'plain');
  assert.is(on('https', '/mcp'), 'secure');
  assert.is(on('https', '/shared'), 'both');
  const alone = listenerIndex(compileRoutingTable(snapshot([listener('http', 80), listener('https', 443)], [route('a', ['http'], '/mcp'), route('b', ['https'], '/other')])));
  assert.is(alone.listeners.get('https')!.view.sseAlias?.name, 'b', 'one route on the listener: /sse serves it');
});

test('on a listener, routes whose hostnames take the Host: the most specific hostname first, then the longest prefix, then snapshot order', () => {
  const table = compileRoutingTable(
    snapshot([listener('any', 80)], [
      route('wild', ['any'], '/mcp', ['*.example.test']),
      route('exact', ['any'], '/mcp', ['mcp.example.test'], 'ns/other'),
      route('no-hostnames', ['any'], '/mcp'),
      route('deep', ['any'], '/mcp/deep', ['*.example.test']),
      route('elsewhere', ['any'], '/x', ['other.org']),
    ]),
  );
  const served = listenerIndex(table).listeners.get('any')!;
  const names = (host: string): string[] => routeView(served, host).routes.map((r) => r.name);
  assert.equal(names('mcp.example.test'), ['exact', 'deep', 'wild', 'no-hostnames']);
  assert.equal(names('x.example.test'), ['deep', 'wild', 'no-hostnames']);
  assert.equal(names('other.org'), ['elsewhere', 'no-hostnames']);
  assert.equal(names('unknown.net'), ['no-hostnames']);
  assert.is(matchRoute(routeView(served, 'mcp.example.test'), '/mcp')?.route.backend.name, 'ns/other');
  assert.is(routeView(served, 'mcp.example.test'), routeView(served, 'mcp.example.test'), 'a Host\'s view is made once');
});

test('a session follows its route across tables: by name while it serves its prefix, else the one route at the prefix, else none', () => {
  const one = compileRoutingTable(snapshot([listener('http', 80)], [route('ns/r/0/0', ['http'], '/mcp')]));
  assert.is(routeFor(one, 'ns/r/0/0', '/mcp')?.name, 'ns/r/0/0');
  assert.is(routeFor(one, undefined, '/mcp')?.name, 'ns/r/0/0', 'a record from an older replica names no route');
  const renamed = compileRoutingTable(snapshot([listener('http', 80)], [route('ns/r/1/0', ['http'], '/mcp')]));
  assert.is(routeFor(renamed, 'ns/r/0/0', '/mcp')?.name, 'ns/r/1/0', 'renamed: the route at its prefix');
  const split = compileRoutingTable(snapshot([listener('http', 80), listener('https', 443)], [route('a', ['http'], '/mcp'), route('b', ['https'], '/mcp', [], 'ns/other')]));
  assert.is(routeFor(split, 'b', '/mcp')?.name, 'b');
  assert.is(routeFor(split, 'gone', '/mcp'), undefined, 'two backends at its prefix: none is guessed');
  assert.is(routeFor(split, 'a', '/other'), undefined, 'its name now serves another prefix');
});

test.run();
