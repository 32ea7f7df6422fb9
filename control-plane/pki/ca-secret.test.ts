import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCa, issueCertificate, newKeyPair, splitPem } from '../../shared/pki/x509.ts';
import { caSecretData, CONTROL_PLANE_CA, parseCaSecret } from './ca-secret.ts';
import { rotated } from './cli.ts';
import { proxyServiceAccountName } from './identity.ts';

const DAY = 24 * 3600_000;
const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('a Secret the leader creates parses back to one signing CA, trusted alone', async () => {
  const state = parseCaSecret({ data: await CONTROL_PLANE_CA.create(undefined) });
  assert.ok(!('error' in state), JSON.stringify(state));
  if ('error' in state) return;
  assert.is(splitPem(state.bundle).length, 1);
  assert.is(state.next, undefined);
  assert.is(state.previous, undefined);
});

test('a Secret re-created after a deletion keeps the CA in use trusted (certificates out keep verifying)', async () => {
  const first = parseCaSecret({ data: await CONTROL_PLANE_CA.create(undefined) });
  if ('error' in first) throw new Error(first.error);
  const again = parseCaSecret({ data: await CONTROL_PLANE_CA.create(first) });
  if ('error' in again) throw new Error(again.error);
  assert.is(again.previous, first.signing.cert);
  assert.is.not(again.signing.cert, first.signing.cert);
  assert.is(splitPem(again.bundle).length, 2);
});

test('unusable Secrets say why, naming the key', async () => {
  const ca = await createCa('x', DAY);
  const { keys } = await newKeyPair();
  const leaf = await issueCertificate({ ca, publicKey: keys.publicKey, commonName: 'leaf', names: {}, validityMs: DAY, usage: 'client' });
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /no data\.ca\.crt and data\.ca\.key/],
    [{ 'ca.crt': b64(ca.cert) }, /data\.ca\.key is missing/],
    [{ 'ca.crt': b64('not a certificate'), 'ca.key': b64(ca.key) }, /data\.ca\.crt is not a PEM certificate/],
    [{ 'ca.crt': b64(leaf), 'ca.key': b64(ca.key) }, /data\.ca\.crt is not a CA certificate/],
    [{ 'ca.crt': b64(ca.cert), 'ca.key': b64(ca.key), 'next-ca.crt': b64(ca.cert) }, /data\.next-ca\.key is missing/],
    [{ 'ca.crt': b64(ca.cert), 'ca.key': b64(ca.key), 'previous-ca.crt': b64(leaf) }, /data\.previous-ca\.crt is not a CA certificate/],
  ];
  for (const [data, message] of cases) {
    const parsed = parseCaSecret({ data });
    assert.ok('error' in parsed, JSON.stringify(data));
    if ('error' in parsed) assert.match(parsed.error, message);
  }
});

test('rotation: stage adds a trusted CA, promote makes it sign and keeps the old trusted, retire drops the old; steps out of order are refused', async () => {
  const start = parseCaSecret({ data: await CONTROL_PLANE_CA.create(undefined) });
  if ('error' in start) throw new Error(start.error);
  assert.match(String(await rotated(start, 'promote')), /no CA is staged/);
  assert.match(String(await rotated(start, 'retire')), /nothing to retire/);

  const staged = await rotated(start, 'stage');
  if (typeof staged === 'string') throw new Error(staged);
  const afterStage = parseCaSecret({ data: caSecretData(staged) });
  if ('error' in afterStage) throw new Error(afterStage.error);
  assert.is(afterStage.signing.cert, start.signing.cert, 'the old CA still signs');
  assert.is(splitPem(afterStage.bundle).length, 2, 'both trusted');
  assert.match(String(await rotated(afterStage, 'stage')), /staged already/);

  const promoted = await rotated(afterStage, 'promote');
  if (typeof promoted === 'string') throw new Error(promoted);
  const afterPromote = parseCaSecret({ data: caSecretData(promoted) });
  if ('error' in afterPromote) throw new Error(afterPromote.error);
  assert.is(afterPromote.signing.cert, afterStage.next!.cert, 'the new CA signs');
  assert.is(afterPromote.previous, start.signing.cert);
  assert.is(splitPem(afterPromote.bundle).length, 2);
  assert.match(String(await rotated(afterPromote, 'stage')), /retire it first/);

  const retired = await rotated(afterPromote, 'retire');
  if (typeof retired === 'string') throw new Error(retired);
  const afterRetire = parseCaSecret({ data: caSecretData(retired) });
  if ('error' in afterRetire) throw new Error(afterRetire.error);
  assert.equal(splitPem(afterRetire.bundle), splitPem(afterStage.next!.cert), 'only the new CA is trusted');
  assert.ok(!CONTROL_PLANE_CA.same(afterRetire, afterPromote), 'a step is a change replicas take');
});

test('the proxies\' ServiceAccount name: per Gateway, a valid name however long the Gateway\'s', () => {
  assert.is(proxyServiceAccountName('mcp-gateway'), 'mcpmux-proxy-mcp-gateway');
  const long = proxyServiceAccountName('g'.repeat(253));
  assert.ok(long.length <= 253, `${long.length}`);
  assert.match(long, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  assert.is.not(long, proxyServiceAccountName(`${'g'.repeat(252)}h`), 'two long names stay apart');
});

test.run();
