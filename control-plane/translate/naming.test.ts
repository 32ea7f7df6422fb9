import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assignNames, qualifiedServiceTargetName, sanitizeName, serviceTargetName, type ServicePortRef } from './naming.ts';

const ref = (over: Partial<ServicePortRef>): ServicePortRef => ({ namespace: 'ns', service: 'svc', portName: '', port: 80, ...over });

test('serviceTargetName follows the tutorial: annotation, else port name, else Service port number', () => {
  const table: Array<[Partial<ServicePortRef>, string]> = [
    [{ service: 'mcp-server-everything', port: 3001 }, 'mcp-server-everything-3001'],
    [{ service: 'mcp-website-fetcher', port: 80 }, 'mcp-website-fetcher-80'],
    [{ service: 'search', portName: 'mcp', port: 9000 }, 'search-mcp'],
    [{ service: 'search', portName: 'mcp', annotation: 'Search Engine' }, 'search-engine'],
    [{ service: 'search', annotation: '   ' }, 'search-80'],
  ];
  for (const [input, expected] of table) assert.is(serviceTargetName(ref(input)), expected, JSON.stringify(input));
});

test('sanitizeName keeps names DNS-label-like, never with "_"', () => {
  const table: Array<[string, string]> = [
    ['My_Server', 'my-server'],
    ['a..b', 'a-b'],
    ['--edge--', 'edge'],
    ['UPPER-123', 'upper-123'],
    ['tools_v2_beta', 'tools-v2-beta'],
    ['___', 'target'],
    ['', 'target'],
  ];
  for (const [input, expected] of table) assert.is(sanitizeName(input), expected, input);
});

test('qualifiedServiceTargetName is <namespace>-<service>-<port>', () => {
  assert.is(qualifiedServiceTargetName(ref({ namespace: 'team-a', service: 'tools' })), 'team-a-tools-80');
  assert.is(qualifiedServiceTargetName(ref({ namespace: 'team-a', service: 'tools', portName: 'mcp' })), 'team-a-tools-mcp');
});

test('assignNames: both sides of a shared name are qualified, whatever the input order', () => {
  const a = { key: 'Service/team-a/tools:80', name: 'tools-80', qualified: 'team-a-tools-80' };
  const b = { key: 'Service/team-b/tools:80', name: 'tools-80', qualified: 'team-b-tools-80' };
  const c = { key: 'Service/team-a/search:80', name: 'search-80', qualified: 'team-a-search-80' };
  for (const order of [[a, b, c], [c, b, a]]) {
    const result = assignNames(order);
    assert.equal(Object.fromEntries(result.names), {
      'Service/team-a/tools:80': 'team-a-tools-80',
      'Service/team-b/tools:80': 'team-b-tools-80',
      'Service/team-a/search:80': 'search-80',
    });
    assert.equal(result.renamed.map((r) => r.to), ['team-a-tools-80', 'team-b-tools-80']);
    assert.equal(result.dropped, []);
  }
});

test('assignNames: a name a user chose (no fallback) keeps it; a Service target sharing it is qualified', () => {
  const result = assignNames([
    { key: 'static/0000/docs', name: 'docs' },
    { key: 'Service/ns/docs:80', name: 'docs', qualified: 'ns-docs-80' },
  ]);
  assert.is(result.names.get('static/0000/docs'), 'docs');
  assert.is(result.names.get('Service/ns/docs:80'), 'ns-docs-80');
});

test('assignNames: what still collides goes to the smallest key, the rest are dropped', () => {
  const result = assignNames([
    { key: 'static/0001/x', name: 'x' },
    { key: 'static/0000/x', name: 'x' },
    // A qualified name that lands on a plain one never evicts it.
    { key: 'Service/a/b:1', name: 'y', qualified: 'x' },
    { key: 'Service/c/d:1', name: 'y', qualified: 'z' },
  ]);
  assert.is(result.names.get('static/0000/x'), 'x');
  assert.is(result.names.get('Service/c/d:1'), 'z');
  assert.equal(result.dropped.map((d) => d.key).sort(), ['Service/a/b:1', 'static/0001/x']);
});

test.run();
