import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeObject } from '../sources/source.ts';
import type { McpPort, McpService } from './cluster-index.ts';
import { serviceEndpoints } from './endpoints.ts';

function service(annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}): McpService {
  const object: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'ns', annotations }, spec };
  return { namespace: 'ns', name: 'svc', object, labels: {}, annotations, ports: [] };
}
const port = (over: Partial<McpPort> = {}): McpPort => ({ name: '', port: 80, targetPort: 8000, protocol: 'PROTOCOL_STREAMABLE_HTTP', key: 'Service/ns/svc:80', targetName: 'svc-80', ...over });
function slice(name: string, ports: unknown[], endpoints: unknown[]): KubeObject {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, namespace: 'ns' }, ports, endpoints };
}
const dial = (r: ReturnType<typeof serviceEndpoints>): string[] => r.endpoints.map((e) => `${e.address}:${e.port}${e.ready ? '' : '!'}`);

test('slice ports match the Service port by name; an unnamed side takes a single-port slice', () => {
  const table: Array<[McpPort, unknown[], string[]]> = [
    [port(), [{ port: 8081 }], ['10.0.0.1:8081']],
    [port(), [{ name: '', port: 8081 }], ['10.0.0.1:8081']],
    [port({ name: 'mcp' }), [{ name: 'mcp', port: 3000 }, { name: 'metrics', port: 9090 }], ['10.0.0.1:3000']],
    [port({ name: 'mcp' }), [{ port: 3000 }], ['10.0.0.1:3000']],
    [port({ name: 'mcp' }), [{ name: 'other', port: 3000 }], []],
    [port(), [{ name: 'a', port: 1 }, { name: 'b', port: 2 }], []],
  ];
  for (const [p, ports, expected] of table) {
    const result = serviceEndpoints(service(), p, [slice('s', ports, [{ addresses: ['10.0.0.1'] }])]);
    assert.equal(dial(result), expected, JSON.stringify(ports));
  }
});

test('addresses across slices are merged, sorted, ready unless conditions.ready is false', () => {
  const result = serviceEndpoints(service(), port(), [
    slice('b', [{ port: 8000 }], [{ addresses: ['10.0.0.2'], conditions: { ready: false } }, { addresses: ['10.0.0.9'] }]),
    slice('a', [{ port: 8000 }], [{ addresses: ['10.0.0.2'], conditions: { ready: true } }, { addresses: ['10.0.0.1'], conditions: { ready: false } }]),
  ]);
  assert.equal(dial(result), ['10.0.0.1:8000!', '10.0.0.2:8000', '10.0.0.9:8000']);
});

test('no slice: the cluster DNS name on the Service port; ExternalName: the external name', () => {
  assert.equal(dial(serviceEndpoints(service(), port(), undefined)), ['svc.ns.svc:80']);
  assert.equal(dial(serviceEndpoints(service({}, { type: 'ExternalName', externalName: 'x.example.com' }), port(), undefined)), ['x.example.com:80']);
  // Slices that exist but list nothing mean no endpoint, not the DNS fallback.
  assert.equal(dial(serviceEndpoints(service(), port(), [slice('s', [{ port: 8000 }], [])])), []);
});

test('mcpmux.dev/url wins over slices and sets address, port, path and scheme', () => {
  const slices = [slice('s', [{ port: 8000 }], [{ addresses: ['10.0.0.1'] }])];
  const table: Array<[Record<string, string>, string[], string, string]> = [
    [{ 'mcpmux.dev/url': 'http://127.0.0.1:3001/mcp' }, ['127.0.0.1:3001'], '/mcp', 'http'],
    [{ 'mcpmux.dev/url': 'https://tools.example.com' }, ['tools.example.com:443'], '/mcp', 'https'],
    [{ 'mcpmux.dev/url': 'http://[::1]:9000/x?y=1' }, ['::1:9000'], '/x?y=1', 'http'],
    [{ 'mcpmux.dev/url': 'http://h', 'mcpmux.dev/path': 'custom' }, ['h:80'], '/custom', 'http'],
    [{ 'mcpmux.dev/path': '/sse' }, ['10.0.0.1:8000'], '/sse', 'http'],
  ];
  for (const [annotations, endpoints, path, scheme] of table) {
    const result = serviceEndpoints(service(annotations), port(), slices);
    assert.equal([dial(result), result.path, result.scheme, result.problem], [endpoints, path, scheme, undefined], JSON.stringify(annotations));
  }
});

test('a broken mcpmux.dev/url is ignored, with the reason', () => {
  const result = serviceEndpoints(service({ 'mcpmux.dev/url': 'not a url' }), port(), undefined);
  assert.equal(dial(result), ['svc.ns.svc:80']);
  assert.match(result.problem ?? '', /mcpmux.dev\/url ignored: "not a url" is not a URL/);
});

test.run();
