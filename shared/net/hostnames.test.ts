import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bestMatch, hostnameMatches, hostnameSpecificity, intersectHostnames, isValidHostname, requestHostname } from './hostnames.ts';

test('a wildcard matches one label or more before its suffix, never the bare domain or a look-alike', () => {
  const table: Array<[string, string, boolean]> = [
    ['mcp.example.com', 'mcp.example.com', true],
    ['mcp.example.com', 'api.example.com', false],
    ['*.example.com', 'mcp.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['*.example.com', '.example.com', false],
    ['*', 'anything', false],
  ];
  for (const [pattern, name, expected] of table) assert.is(hostnameMatches(pattern, name), expected, `${pattern} ~ ${name}`);
});

test('the intersection of two hostnames is the more specific one, or none', () => {
  const table: Array<[string, string, string | undefined]> = [
    ['mcp.example.com', 'MCP.example.com', 'mcp.example.com'],
    ['*.example.com', 'mcp.example.com', 'mcp.example.com'],
    ['mcp.example.com', '*.example.com', 'mcp.example.com'],
    ['*.example.com', '*.a.example.com', '*.a.example.com'],
    ['*.a.example.com', '*.example.com', '*.a.example.com'],
    ['*.example.com', 'example.com', undefined],
    ['*.a.example.com', 'b.example.com', undefined],
    ['*.example.com', '*.example.org', undefined],
  ];
  for (const [a, b, expected] of table) assert.is(intersectHostnames(a, b), expected, `${a} ∩ ${b}`);
});

test('specificity: exact over any wildcard, more labels over fewer, anything over none', () => {
  const ordered = ['api.b.example.com', 'mcp.example.com', '*.b.example.com', '*.example.com', '*.com'];
  for (let i = 1; i < ordered.length; i++) assert.ok(hostnameSpecificity(ordered[i - 1]) > hostnameSpecificity(ordered[i]), `${ordered[i - 1]} over ${ordered[i]}`);
  assert.ok(hostnameSpecificity('*.com') > hostnameSpecificity(undefined));
  assert.is(bestMatch(['*.example.com', 'mcp.example.com', '*.mcp.example.com'], 'mcp.example.com'), 'mcp.example.com');
  assert.is(bestMatch(['*.example.com', '*.mcp.example.com'], 'x.mcp.example.com'), '*.mcp.example.com');
  assert.is(bestMatch(['*.example.com'], 'example.org'), undefined);
});

test('a request Host loses its port, brackets stay on IPv6 literals, a trailing dot goes, case folds', () => {
  assert.is(requestHostname('MCP.Example.test:8443'), 'mcp.example.test');
  assert.is(requestHostname('mcp.example.test.'), 'mcp.example.test');
  assert.is(requestHostname('[::1]:8080'), '[::1]');
  assert.is(requestHostname('127.0.0.1:80'), '127.0.0.1');
});

test('valid hostnames: DNS names and *. wildcards; not IPs, not a bare *, not uppercase or spaces', () => {
  for (const ok of ['mcp.example.com', '*.example.com', 'localhost', 'a-b.c']) assert.ok(isValidHostname(ok), ok);
  for (const bad of ['*', '127.0.0.1', 'MCP.example.com', 'a b', '*.', '-a.com', 'a..b', 'x'.repeat(254)]) assert.not.ok(isValidHostname(bad), bad);
});

test.run();
