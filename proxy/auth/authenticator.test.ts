import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Authenticator } from './authenticator.ts';

const ISSUER = 'https://idp.example';
let signing: CryptoKey;
let other: CryptoKey;
let auth: Authenticator;
let publicJwks: string;

test.before(async () => {
  const pair = await generateKeyPair('ES256');
  signing = pair.privateKey;
  other = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  publicJwks = JSON.stringify({ keys: [jwk] });
  auth = new Authenticator({
    jwt: [{ issuer: ISSUER, audiences: ['mcpmux'], jwksUri: '', jwksJson: JSON.stringify({ keys: [jwk] }) }],
    apiKeys: [{ principal: 'ci-bot', sha256: createHash('sha256').update('key-123').digest('hex') }],
  });
});

function token(claims: { sub?: string; iss?: string; aud?: string; exp?: number | string }, key: CryptoKey = signing): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt().setIssuer(claims.iss ?? ISSUER).setAudience(claims.aud ?? 'mcpmux');
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  jwt.setExpirationTime(claims.exp ?? '5m');
  return jwt.sign(key);
}

test('a valid JWT is its issuer and subject; an API key is its name', async () => {
  const jwt = await auth.authenticate(`Bearer ${await token({ sub: 'alice' })}`, undefined);
  assert.equal(jwt.ok && jwt.principal.id, `jwt:${ISSUER}#alice`);
  const key = await auth.authenticate('Bearer key-123', undefined);
  assert.equal(key.ok && key.principal.id, 'api-key:ci-bot');
  const header = await auth.authenticate(undefined, 'key-123');
  assert.equal(header.ok && header.principal.id, 'api-key:ci-bot');
});

test('expired, wrongly signed, wrong audience or issuer, no sub, unknown key, malformed: refused with a reason', async () => {
  const cases: Array<[string | undefined, RegExp]> = [
    [`Bearer ${await token({ sub: 'a', exp: Math.floor(Date.now() / 1000) - 3600 })}`, /expired/],
    [`Bearer ${await token({ sub: 'a' }, other)}`, /signature/],
    [`Bearer ${await token({ sub: 'a', aud: 'someone-else' })}`, /aud/],
    [`Bearer ${await token({ sub: 'a', iss: 'https://evil.example' })}`, /issuer https:\/\/evil\.example/],
    [`Bearer ${await token({})}`, /no sub/],
    ['Bearer wrong-key', /not valid here/],
    ['Basic dXNlcjpwYXNz', /Bearer/],
    [undefined, /needs a Bearer token or an API key/],
  ];
  for (const [authorization, reason] of cases) {
    const outcome = await auth.authenticate(authorization, undefined);
    assert.is(outcome.ok, false, String(authorization));
    if (!outcome.ok) assert.match(outcome.message, reason);
  }
});

test('a provider that names no audience accepts no token: aud is always checked (no token minted for another service gets in)', async () => {
  // The translator and the CRD refuse such a provider (docs/security.md); a snapshot that has one
  // anyway (an older control plane) must not turn it into "any audience".
  const unscoped = new Authenticator({ jwt: [{ issuer: ISSUER, audiences: [], jwksUri: '', jwksJson: publicJwks }], apiKeys: [] });
  for (const aud of ['mcpmux', 'https://other-service.example/api']) {
    const outcome = await unscoped.authenticate(`Bearer ${await token({ sub: 'a', aud })}`, undefined);
    assert.is(outcome.ok, false, `aud ${aud} accepted by a provider with no audiences`);
    if (!outcome.ok) {
      assert.is(outcome.error, 'invalid_token');
      assert.match(outcome.message, /no audience/);
    }
  }
});

test('a JWKS that is not a key set is refused when the policy is compiled (a NACK)', () => {
  assert.throws(() => new Authenticator({ jwt: [{ issuer: ISSUER, audiences: [], jwksUri: '', jwksJson: '{"nokeys":1}' }], apiKeys: [] }), /no keys list/);
  assert.throws(() => new Authenticator({ jwt: [], apiKeys: [{ principal: 'x', sha256: 'short' }] }), /64 hex digits/);
});

test('a JWKS by URI is fetched once, cached, and fetched again when a token names a new key (rotation)', async () => {
  const first = await generateKeyPair('ES256');
  const second = await generateKeyPair('ES256');
  const jwk = async (key: CryptoKey, kid: string) => ({ ...(await exportJWK(key)), kid, alg: 'ES256' });
  let served = { keys: [await jwk(first.publicKey, 'k1')] };
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const remote = new Authenticator({ jwt: [{ issuer: ISSUER, audiences: ['mcpmux'], jwksUri: uri, jwksJson: '' }], apiKeys: [] }, { jwksCooldownMs: 0 });
    const sign = (key: CryptoKey, kid: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISSUER).setAudience('mcpmux').setSubject('s').setExpirationTime('5m').sign(key);
    assert.is((await remote.authenticate(`Bearer ${await sign(first.privateKey, 'k1')}`, undefined)).ok, true);
    assert.is((await remote.authenticate(`Bearer ${await sign(first.privateKey, 'k1')}`, undefined)).ok, true);
    assert.is(fetches, 1, 'cached');
    served = { keys: [await jwk(first.publicKey, 'k1'), await jwk(second.publicKey, 'k2')] };
    assert.is((await remote.authenticate(`Bearer ${await sign(second.privateKey, 'k2')}`, undefined)).ok, true, 'the rotated key');
    assert.is(fetches, 2, 'fetched again for the unknown key id');
  } finally {
    server.close();
  }
});

test.run();
