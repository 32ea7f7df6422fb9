import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCa, splitPem } from '../../shared/pki/x509.ts';
import { mergeBundles } from './certificate-renewal.ts';

test('bundles merge: each CA once, first-seen order, whatever the line endings', async () => {
  const [a, b] = [await createCa('a', 3600_000), await createCa('b', 3600_000)];
  const merged = mergeBundles(a.cert + b.cert, b.cert.replace(/\n/g, '\r\n'), a.cert);
  assert.equal(splitPem(merged), [...splitPem(a.cert), ...splitPem(b.cert)]);
  assert.is(mergeBundles('no certificate here'), '');
});

test.run();
