// Who is calling a guarded route: a Bearer JWT verified with `jose` against its issuer's keys, or
// an API key (Bearer or X-API-Key) compared by its sha256 against the policy's, in constant time.
// The answer is a principal id, which owns the sessions it opens (downstream/options.ts).
//
// JWKS by URI are fetched by jose's remote key set: cached, refetched when a token names a key id it
// does not know (key rotation), at most every 30 s. Sets are kept across snapshots by URI, so a new
// config version does not refetch them.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Authentication } from '../../shared/config/types.ts';

export interface Principal {
  /** Stable and unique: "jwt:<issuer>#<sub>" or "api-key:<name>". Sessions are bound to it. */
  id: string;
  /** The JWT's sub, or the API key's name. */
  subject: string;
  /** The JWT's claims (none for API keys), for authorization rules. */
  claims: JWTPayload;
}

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; error: 'invalid_request' | 'invalid_token'; message: string };

interface Provider {
  issuer: string;
  audiences: string[];
  keys: JWTVerifyGetKey;
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

export interface AuthenticatorOptions {
  /** After fetching a JWKS, how long before an unknown key id may fetch it again. Default 30 s. */
  jwksCooldownMs?: number;
}

function remoteKeySet(uri: string, cooldownMs: number): JWTVerifyGetKey {
  const key = `${cooldownMs} ${uri}`;
  let set = remoteKeySets.get(key);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { cooldownDuration: cooldownMs, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
    remoteKeySets.set(key, set);
  }
  return set;
}

/** How long a token may be past its exp (or before its nbf): clocks of two machines differ. */
const CLOCK_TOLERANCE_S = 30;

export class Authenticator {
  readonly #providers: Provider[];
  readonly #apiKeys: Array<{ principal: string; hash: Buffer }>;
  /** The issuers, for the protected-resource metadata's authorization_servers. */
  readonly issuers: string[];

  /** Throws on a policy the proxy cannot use (a bad JWKS document): the snapshot is NACKed. */
  constructor(authentication: Authentication, options: AuthenticatorOptions = {}) {
    const cooldownMs = options.jwksCooldownMs ?? 30_000;
    this.#providers = authentication.jwt.map((p) => ({
      issuer: p.issuer,
      audiences: p.audiences,
      keys: p.jwksJson ? createLocalJWKSet(parseJwks(p.jwksJson, p.issuer)) : remoteKeySet(p.jwksUri, cooldownMs),
    }));
    this.#apiKeys = authentication.apiKeys.map((k) => {
      if (!/^[0-9a-f]{64}$/.test(k.sha256)) throw new Error(`API key of ${k.principal}: sha256 is not 64 hex digits`);
      return { principal: k.principal, hash: Buffer.from(k.sha256, 'hex') };
    });
    this.issuers = [...new Set(this.#providers.map((p) => p.issuer))];
  }

  async authenticate(authorization: string | undefined, apiKeyHeader: string | undefined): Promise<AuthOutcome> {
    let credential = apiKeyHeader?.trim();
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) return { ok: false, error: 'invalid_request', message: 'Authorization must be "Bearer <token>"' };
      credential = match[1];
    }
    if (!credential) return { ok: false, error: 'invalid_request', message: 'this endpoint needs a Bearer token or an API key' };
    if (credential.split('.').length === 3 && this.#providers.length > 0) return this.#jwt(credential);
    return this.#apiKey(credential);
  }

  async #jwt(token: string): Promise<AuthOutcome> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return { ok: false, error: 'invalid_token', message: 'the token is not a JWT' };
    }
    const provider = this.#providers.find((p) => p.issuer === issuer);
    if (!provider) return { ok: false, error: 'invalid_token', message: `tokens of issuer ${issuer ?? '(none)'} are not accepted here` };
    // aud is always checked: a provider naming no audience accepts no token (the control plane never
    // sends one; an older one might), rather than a token minted for any other service of the issuer.
    if (provider.audiences.length === 0) return { ok: false, error: 'invalid_token', message: `tokens of issuer ${provider.issuer} are refused here: no audience is configured for it` };
    try {
      const { payload } = await jwtVerify(token, provider.keys, {
        issuer: provider.issuer,
        audience: provider.audiences,
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const subject = payload.sub ?? '';
      if (!subject) return { ok: false, error: 'invalid_token', message: 'the token has no sub claim' };
      return { ok: true, principal: { id: `jwt:${provider.issuer}#${subject}`, subject, claims: payload } };
    } catch (error) {
      return { ok: false, error: 'invalid_token', message: tokenProblem(error) };
    }
  }

  #apiKey(key: string): AuthOutcome {
    const hash = createHash('sha256').update(key).digest();
    // Every key is compared, in constant time: no timing tells which one came close.
    let found: string | undefined;
    for (const candidate of this.#apiKeys) if (timingSafeEqual(candidate.hash, hash) && found === undefined) found = candidate.principal;
    if (found === undefined) return { ok: false, error: 'invalid_token', message: 'the credential is not valid here' };
    return { ok: true, principal: { id: `api-key:${found}`, subject: found, claims: {} } };
  }
}

function parseJwks(text: string, issuer: string): { keys: JsonWebKeyLike[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the JWKS of ${issuer} is not JSON`);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`the JWKS of ${issuer} has no keys list`);
  return { keys: keys as JsonWebKeyLike[] };
}

type JsonWebKeyLike = Parameters<typeof createLocalJWKSet>[0]['keys'][number];

/** What a client may be told about a token that failed: enough to act on, nothing about our keys. */
function tokenProblem(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted (${error.reason})`;
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) return 'the token\'s signature does not verify';
  if (error instanceof errors.JOSEError) return `the token is not valid (${error.code})`;
  return 'the token could not be verified';
}
