// Fuzz target for the control plane's CA (issue 16 §1), next to targets.ts:
//  - pki: what a caller controls before it is trusted, a CSR (mutated PEM, garbage, another key's
//    signature), into the check that takes its public key; and what an operator may write into the
//    CA Secret (each key mutated, missing or swapped) into its parsing. Neither may throw anything
//    but a usage error, and what they accept must be usable: a CSR's key gets a certificate that
//    verifies against the CA; a parsed Secret's bundle holds only CA certificates.
import * as fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { McpmuxError } from '../../shared/errors.ts';
import { createCa, createCsr, csrPublicKey, issueCertificate, newKeyPair, splitPem } from '../../shared/pki/x509.ts';
import { caSecretData, parseCaSecret } from '../../control-plane/pki/ca-secret.ts';
import type { FuzzRun, TargetResult } from './targets.ts';

/** A text with one random edit: cut, a character changed, doubled, blanks, or something else entirely. */
function mutated(text: string, others: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(text) },
    fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat({ max: Math.max(0, text.length - 1) }), fc.string({ minLength: 1, maxLength: 1 })).map(([at, ch]) => text.slice(0, at) + ch + text.slice(at + 1)),
    fc.constant(text + text),
    fc.constant(`\n ${text}\n`),
    fc.constantFrom(...others, '', 'garbage'),
    fc.string({ maxLength: 80 }),
  );
}

export async function pkiTarget(run: FuzzRun): Promise<TargetResult> {
  const started = performance.now();
  const ca = await createCa('fuzz CA', 3600_000);
  const other = await createCa('other CA', 3600_000);
  const pair = await newKeyPair();
  const csr = await createCsr(pair, 'proxy');
  const otherCsr = await createCsr(await newKeyPair(), 'other');
  // A CSR whose body is one key's and whose signature another's: the PEM of otherCsr with this CSR's first half.
  const spliced = csr.slice(0, Math.floor(csr.length / 2)) + otherCsr.slice(Math.floor(otherCsr.length / 2));
  let issued = 0;
  let parsed = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        { weight: 3, arbitrary: mutated(csr, [otherCsr, spliced, ca.cert]).map((pem) => ({ kind: 'csr' as const, pem })) },
        {
          weight: 2,
          arbitrary: fc
            .record({ cert: mutated(ca.cert, [other.cert, '']), key: mutated(ca.key, [other.key, '']), previous: fc.option(mutated(other.cert, [ca.key]), { nil: undefined }) })
            .map((secret) => ({ kind: 'secret' as const, ...secret })),
        },
      ),
      async (input) => {
        if (input.kind === 'csr') {
          let publicKey;
          try {
            publicKey = await csrPublicKey(input.pem);
          } catch (error) {
            if (!(error instanceof McpmuxError)) throw new Error(`a CSR was refused with ${String(error)}, not a usage error`);
            return;
          }
          const cert = await issueCertificate({ ca, publicKey, commonName: 'proxy', names: { uris: ['mcpmux:gateway:ns/gw'] }, validityMs: 60_000, usage: 'client' });
          if (!new X509Certificate(cert).verify(new X509Certificate(ca.cert).publicKey)) throw new Error('an accepted CSR got a certificate that does not verify');
          issued++;
          return;
        }
        const data = caSecretData({ signing: { cert: input.cert, key: input.key }, previous: input.previous });
        const state = parseCaSecret({ data });
        if ('error' in state) return;
        for (const pem of splitPem(state.bundle)) if (!new X509Certificate(pem).ca) throw new Error('a parsed CA Secret trusts a certificate that is not a CA');
        parsed++;
      },
    ),
    { seed: run.seed, numRuns: run.cases },
  );
  // Both valid paths are taken, not only refusals.
  if (run.cases >= 100 && (issued === 0 || parsed === 0)) throw new Error(`valid paths not reached: ${issued} certificates issued, ${parsed} Secrets parsed`);
  return { name: 'CSRs and CA Secrets → csrPublicKey, parseCaSecret', cases: run.cases, ms: Math.round(performance.now() - started) };
}
