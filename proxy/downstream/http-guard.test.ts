import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostName, HttpGuard, isLoopbackAddress } from './http-guard.ts';

const hosts: Array<[string, string]> = [
  ['localhost:8080', 'localhost'],
  ['LOCALHOST', 'localhost'],
  ['[::1]:8080', '[::1]'],
  ['[::1]', '[::1]'],
  ['127.0.0.1', '127.0.0.1'],
  ['mcp.example.com:443', 'mcp.example.com'],
];
for (const [host, name] of hosts) test(`Host ${host} names ${name}`, () => assert.is(hostName(host), name));

test('loopback addresses', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackAddress(a), a);
  for (const a of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) assert.not.ok(isLoopbackAddress(a), a);
});

const origins: Array<[string, boolean]> = [
  ['http://localhost:6274', true],
  ['https://localhost', true],
  ['http://127.0.0.1:3000', true],
  ['http://[::1]:8080', true],
  ['http://localhost.evil.example', false],
  ['http://evil.example', false],
  ['null', false],
  ['file://localhost', false],
];
for (const [origin, allowed] of origins) {
  test(`default origins: ${origin} ${allowed ? 'allowed' : 'refused'}`, () => assert.is(new HttpGuard({ bindAddress: '127.0.0.1' }).originAllowed(origin), allowed));
}

test('configured origins replace the default; * allows any', () => {
  const guard = new HttpGuard({ bindAddress: '127.0.0.1', allowedOrigins: ['https://app.example.com/'] });
  assert.ok(guard.originAllowed('https://APP.example.com'));
  assert.not.ok(guard.originAllowed('http://localhost:1'));
  assert.ok(new HttpGuard({ bindAddress: '127.0.0.1', allowedOrigins: ['*'] }).originAllowed('https://anything.example'));
});

test('hosts: localhost names on a loopback bind, any on another, or the configured list', () => {
  const loopback = new HttpGuard({ bindAddress: '127.0.0.1' });
  assert.ok(loopback.hostAllowed('localhost:8080'));
  assert.ok(loopback.hostAllowed('[::1]:8080'));
  assert.not.ok(loopback.hostAllowed('rebind.example:8080'));
  assert.not.ok(loopback.hostAllowed(undefined));
  assert.ok(new HttpGuard({ bindAddress: '0.0.0.0' }).hostAllowed('mcp-gateway.agentgateway-system.svc'));
  const configured = new HttpGuard({ bindAddress: '0.0.0.0', allowedHosts: ['mcp.example.com'] });
  assert.ok(configured.hostAllowed('mcp.example.com:80'));
  assert.not.ok(configured.hostAllowed('other.example.com'));
  assert.ok(configured.hostsConfigured);
  assert.not.ok(loopback.hostsConfigured, 'the default list: listeners with hostnames are not held to it (server.ts)');
});

test('configured hosts take Gateway API wildcards: *.example.com is any name under it, not the bare domain', () => {
  const guard = new HttpGuard({ bindAddress: '0.0.0.0', allowedHosts: ['*.example.com', 'mcp.example.org'] });
  assert.ok(guard.hostAllowed('mcp.example.com:443'));
  assert.ok(guard.hostAllowed('a.b.example.com'));
  assert.not.ok(guard.hostAllowed('example.com'));
  assert.not.ok(guard.hostAllowed('evilexample.com'));
  assert.ok(guard.hostAllowed('MCP.example.org'));
});

test.run();
