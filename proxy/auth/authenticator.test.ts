import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Authenticator } from './authenticator.ts';

const ISSUER = 'https://idp.example';
let signing: CryptoKey;
let other: CryptoKey;
let auth: Authenticator;

test.before(async () => {
  const pair = await generateKeyPair('ES256');
  signing = pair.privateKey;
  other = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
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

test('a JWKS that is not a key set is refused when the policy is compiled (a NACK)', () => {
  assert.throws(() => new Authenticator({ jwt: [{ issuer: ISSUER, audiences: [], jwksUri: '', jwksJson: '{"nokeys":1}' }], apiKeys: [] }), /no keys list/);
  assert.throws(() => new Authenticator({ jwt: [], apiKeys: [{ principal: 'x', sha256: 'short' }] }), /64 hex digits/);
});

test.run();
