import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endpointUrl } from './target-url.ts';

test('names under .localhost are the loopback address (RFC 6761); other names and IPs are kept', () => {
  const origin = (address: string) => {
    const built = endpointUrl('http', address, 3001, '/mcp');
    if ('error' in built) throw new Error(built.error);
    return new URL(built.ok.url).host;
  };
  assert.is(origin('mcp-server-everything.localhost'), '127.0.0.1:3001');
  assert.is(origin('A.B.LOCALHOST'), '127.0.0.1:3001');
  assert.is(origin('localhost'), 'localhost:3001');
  assert.is(origin('mcp.localhost.example.com'), 'mcp.localhost.example.com:3001');
  assert.is(origin('10.0.0.7'), '10.0.0.7:3001');
});

test('bad addresses, ports and paths are refused with the reason', () => {
  assert.match(JSON.stringify(endpointUrl('http', 'bad host', 80, '/mcp')), /not a host name or IP address/);
  assert.match(JSON.stringify(endpointUrl('http', 'h', 70000, '/mcp')), /not in 1-65535/);
  assert.match(JSON.stringify(endpointUrl('ftp', 'h', 80, '/mcp')), /not http or https/);
});

test.run();
