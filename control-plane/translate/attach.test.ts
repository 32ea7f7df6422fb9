import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { effectiveHostnames, hostnamesIntersect } from './attach.ts';

test('hostnamesIntersect follows Gateway API wildcard rules', () => {
  const table: Array<[string, string, boolean]> = [
    ['mcp.example.com', 'mcp.example.com', true],
    ['MCP.example.com', 'mcp.EXAMPLE.com', true],
    ['*.example.com', 'mcp.example.com', true],
    ['mcp.example.com', '*.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', '*.a.example.com', true],
    ['*.example.com', 'mcp.example.org', false],
    ['mcp.example.com', 'api.example.com', false],
    ['*.example.com', 'badexample.com', false],
  ];
  for (const [a, b, expected] of table) assert.is(hostnamesIntersect(a, b), expected, `${a} ∩ ${b}`);
});

test('the hostnames a route serves on a listener: the intersections, the listener\'s, the route\'s, or any', () => {
  assert.equal(effectiveHostnames([], []), ['']);
  assert.equal(effectiveHostnames(['*.example.com'], []), ['*.example.com']);
  assert.equal(effectiveHostnames([], ['a.example.com', 'b.org', 'a.example.com']), ['a.example.com', 'b.org']);
  assert.equal(effectiveHostnames(['*.example.com'], ['a.example.com', 'b.org', '*.x.example.com']), ['a.example.com', '*.x.example.com']);
  assert.equal(effectiveHostnames(['a.example.com'], ['*.example.com']), ['a.example.com']);
  assert.equal(effectiveHostnames(['a.example.com'], ['b.example.com']), []);
});

test.run();
