// Without a status writer (the files source, `mcpmux dev`) the log is where an operator sees what is
// not served: a listener's own conditions too, not only the Gateway's (a missing certificate on an
// HTTPS listener leaves the Gateway Programmed, served on its other listeners). Logged once when it
// appears, once when it clears.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startControlPlane } from '../control-plane/control-plane.ts';
import { FilesSource } from '../control-plane/sources/files.ts';
import { testCertificate } from '../proxy/testing/certificates.ts';
import { until } from './support/processes.ts';

test('an HTTPS listener whose Secret is missing is logged (InvalidCertificateRef), and its fix too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-listener-log-'));
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  writeFileSync(join(dir, 'gateway.yaml'), `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: web}
spec:
  gatewayClassName: mcpmux
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: mcp.example.test
    tls: {certificateRefs: [{kind: Secret, name: tls}]}
`);
  const cp = await startControlPlane({ source: new FilesSource({ dir, logger }), gatewayClasses: ['mcpmux'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 100, logger });
  try {
    const problem = lines.find((l) => l.includes('listener https ResolvedRefs'));
    assert.ok(problem, lines.join('\n'));
    assert.match(problem!, /InvalidCertificateRef/);
    assert.match(problem!, /web\/tls/);
    const { cert, key } = testCertificate('mcp.example.test');
    writeFileSync(join(dir, 'secret.yaml'), `apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: web}
type: kubernetes.io/tls
stringData:
  tls.crt: ${JSON.stringify(cert)}
  tls.key: ${JSON.stringify(key)}
`);
    await until(() => lines.some((l) => l.includes('problem resolved') && l.includes('listener https ResolvedRefs')), 'the fix logged', 10_000);
  } finally {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
