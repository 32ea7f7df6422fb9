import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostnamesIntersect } from './attach.ts';

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

test.run();
