// Certificates for tests, made with the openssl CLI in a temp folder (removed at once): a
// self-signed EC P-256 certificate for a DNS name (and its wildcard, when asked), and its key.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  cert: string;
  key: string;
  /** SHA-256 fingerprint as node:tls reports it (peer certificate's fingerprint256). */
  fingerprint: string;
}

export function testCertificate(name: string, ...altNames: string[]): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-cert-'));
  try {
    const san = [name, ...altNames].map((n) => `DNS:${n}`).join(',');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`],
      { cwd: dir, stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'tls.crt'), 'utf8');
    return { cert, key: readFileSync(join(dir, 'tls.key'), 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
