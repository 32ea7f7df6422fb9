import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../../shared/errors.ts';
import { MAX_TOKEN_CHARS, RequestStateCodec, argumentsDigest, deriveGatewayKey, randomStateKey, type RequestStateBinding } from './request-state.ts';

const K1 = new Uint8Array(32).fill(1);
const K2 = new Uint8Array(32).fill(2);
const K3 = new Uint8Array(32).fill(3);
const BINDING: RequestStateBinding = { target: 'weather', method: 'tools/call', name: 'forecast', principal: 'alice' };

function refusedFor(run: () => unknown, reason: string, message?: string): void {
  try {
    run();
    assert.unreachable('opened');
  } catch (error) {
    if (!(error instanceof McpmuxError)) throw error;
    assert.is(error.code, 'MCPMUX_INVALID_REQUEST_STATE');
    assert.is(error.jsonRpcCode, -32602);
    assert.equal(error.data, { reason });
    if (message) assert.match(error.message, message);
  }
}

test('round trip: the upstream state, verbatim, and the hold', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const token = codec.seal(BINDING, { upstream: 'opaque "state" ü', hold: { replica: 'pod-a', id: 'h1' } });
  assert.ok(token.startsWith('mxs1.'), token);
  assert.ok(/^mxs1\.[A-Za-z0-9_-]+$/.test(token), token);
  assert.equal(codec.open(token, { ...BINDING }), { upstream: 'opaque "state" ü', hold: { replica: 'pod-a', id: 'h1' } });
  assert.equal(codec.open(codec.seal(BINDING, { upstream: undefined }), BINDING), { upstream: undefined });
  assert.equal(codec.open(codec.seal({ ...BINDING, principal: undefined }, { upstream: '' }), { ...BINDING, principal: undefined }), { upstream: '' });
});

test('two seals of the same state differ (random nonce), and neither shows the state', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const a = codec.seal(BINDING, { upstream: 'secret-upstream-state' });
  const b = codec.seal(BINDING, { upstream: 'secret-upstream-state' });
  assert.is.not(a, b);
  for (const token of [a, b]) {
    const bytes = Buffer.from(token.slice(5), 'base64url').toString('latin1');
    assert.not.ok(bytes.includes('secret') || bytes.includes('forecast') || bytes.includes('alice'));
  }
});

test('every single-byte change is refused as altered', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const token = codec.seal(BINDING, { upstream: 'u' });
  const bytes = Buffer.from(token.slice(5), 'base64url');
  for (let i = 0; i < bytes.length; i++) {
    const changed = Buffer.from(bytes);
    changed[i] = changed[i]! ^ 0x01;
    refusedFor(() => codec.open(`mxs1.${changed.toString('base64url')}`, BINDING), 'altered');
  }
});

test('the conformance tamper: state + "-TAMPERED"', () => {
  const codec = new RequestStateCodec({ current: K1 });
  refusedFor(() => codec.open(`${codec.seal(BINDING, { upstream: 'u' })}-TAMPERED`, BINDING), 'altered', 'not issued by this gateway, or was altered');
});

test('non-canonical spellings of the same bytes are refused', () => {
  const codec = new RequestStateCodec({ current: K1 });
  // Find a token whose last character carries spare bits, and set them.
  for (let i = 0; i < 50; i++) {
    const token = codec.seal(BINDING, { upstream: 'x'.repeat(i) });
    const body = token.slice(5);
    if (body.length % 4 === 0) continue;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(body.at(-1)!);
    const sibling = alphabet[last ^ 1]!;
    const variant = `mxs1.${body.slice(0, -1)}${sibling}`;
    if (Buffer.from(variant.slice(5), 'base64url').equals(Buffer.from(body, 'base64url'))) {
      refusedFor(() => codec.open(variant, BINDING), 'altered');
      return;
    }
  }
  assert.unreachable('no token with spare bits found');
});

test('expired (injected clock): open until the TTL, refused after', () => {
  let now = 1_000_000;
  const codec = new RequestStateCodec({ current: K1 }, { ttlMs: 60_000, now: () => now });
  const token = codec.seal(BINDING, { upstream: 'u' });
  now += 59_999;
  assert.equal(codec.open(token, BINDING), { upstream: 'u' });
  now += 1;
  refusedFor(() => codec.open(token, BINDING), 'expired', 'expired');
});

test('default TTL is ten minutes', () => {
  let now = 0;
  const codec = new RequestStateCodec({ current: K1 }, { now: () => now });
  const token = codec.seal(BINDING, { upstream: undefined });
  now = 10 * 60 * 1000 - 1;
  codec.open(token, BINDING);
  now += 1;
  refusedFor(() => codec.open(token, BINDING), 'expired');
});

const others: Array<[string, Partial<RequestStateBinding>, string]> = [
  ['another target', { target: 'other' }, 'target'],
  ['another method', { method: 'prompts/get' }, 'method'],
  ['another tool', { name: 'delete_everything' }, 'name'],
  ['another principal', { principal: 'mallory' }, 'principal'],
  ['no principal (anonymous replay)', { principal: undefined }, 'principal'],
  ['arguments bound but not expected', { argsDigest: argumentsDigest({ a: 1 }) }, 'arguments'],
];
for (const [what, change, reason] of others) {
  test(`bound: refused for ${what}`, () => {
    const codec = new RequestStateCodec({ current: K1 });
    const token = codec.seal(BINDING, { upstream: 'u' });
    refusedFor(() => codec.open(token, { ...BINDING, ...change }), reason);
  });
}

test('the principal is checked before the target (9.3 order)', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const token = codec.seal(BINDING, { upstream: 'u' });
  refusedFor(() => codec.open(token, { ...BINDING, principal: 'mallory', target: 'other' }), 'principal');
});

test('argument digests: key order does not matter, values do', () => {
  assert.is(argumentsDigest({ a: 1, b: { c: [1, 2], d: 'x' } }), argumentsDigest({ b: { d: 'x', c: [1, 2] }, a: 1 }));
  assert.is.not(argumentsDigest({ a: 1 }), argumentsDigest({ a: 2 }));
  assert.is.not(argumentsDigest({ a: [1, 2] }), argumentsDigest({ a: [2, 1] }));
  assert.is(argumentsDigest(undefined), argumentsDigest(null));
  const codec = new RequestStateCodec({ current: K1 });
  const bound = { ...BINDING, argsDigest: argumentsDigest({ city: 'Paris' }) };
  const token = codec.seal(bound, { upstream: 'u' });
  assert.equal(codec.open(token, { ...BINDING, argsDigest: argumentsDigest({ city: 'Paris' }) }), { upstream: 'u' });
  refusedFor(() => codec.open(token, { ...BINDING, argsDigest: argumentsDigest({ city: 'Lyon' }) }), 'arguments');
});

test('rotation: the previous key opens after one rotation, not after a second', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const old = codec.seal(BINDING, { upstream: 'k1' });
  codec.setKeys({ current: K2 });
  assert.equal(codec.open(old, BINDING), { upstream: 'k1' });
  const newer = codec.seal(BINDING, { upstream: 'k2' });
  assert.equal(codec.open(newer, BINDING), { upstream: 'k2' });
  codec.setKeys({ current: K2 }); // the same key again (a control-plane resend) changes nothing
  assert.equal(codec.open(old, BINDING), { upstream: 'k1' });
  codec.setKeys({ current: K3 });
  refusedFor(() => codec.open(old, BINDING), 'altered');
  assert.equal(codec.open(newer, BINDING), { upstream: 'k2' });
});

test('rotation with an explicit previous key, and another gateway\'s key', () => {
  const codec = new RequestStateCodec({ current: K2, previous: K1 });
  assert.equal(codec.open(new RequestStateCodec({ current: K1 }).seal(BINDING, { upstream: 'a' }), BINDING), { upstream: 'a' });
  codec.setKeys({ current: K3, previous: K1 });
  assert.equal(codec.open(new RequestStateCodec({ current: K1 }).seal(BINDING, { upstream: 'b' }), BINDING), { upstream: 'b' });
  refusedFor(() => codec.open(new RequestStateCodec({ current: K2 }).seal(BINDING, { upstream: 'c' }), BINDING), 'altered');
});

const garbage: unknown[] = [
  '', 'mxs1.', 'mxs1', 'mxs1.AAAA', 'mxs1.!!!!', `mxs1.${'A'.repeat(100)}`, 'mxs2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', ' mxs1.abc', 'null', '{}',
  `mxs1.${'A'.repeat(MAX_TOKEN_CHARS)}`, '\u0000', 'mxs1.\ud800', undefined, null, 42, {}, [], Symbol('x'),
];
test('garbage: every input is refused as altered, with McpmuxError only', () => {
  const codec = new RequestStateCodec({ current: K1 });
  for (const input of garbage) refusedFor(() => codec.open(input as string, BINDING), 'altered');
});

test('random strings and mutated tokens: McpmuxError only, never opened', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const token = codec.seal(BINDING, { upstream: 'state' });
  const mutated = fc.record({ at: fc.nat({ max: token.length }), cut: fc.nat({ max: 4 }), insert: fc.string({ maxLength: 4 }) })
    .map(({ at, cut, insert }) => token.slice(0, at) + insert + token.slice(at + cut))
    .filter((t) => t !== token);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 60 }).map((s) => `mxs1.${s}`), mutated), (input) => {
      refusedFor(() => codec.open(input, BINDING), 'altered');
    }),
    { numRuns: 3000 },
  );
});

test('an upstream state too large to carry is refused at seal time, as an upstream fault', () => {
  const codec = new RequestStateCodec({ current: K1 });
  try {
    codec.seal(BINDING, { upstream: 'x'.repeat(MAX_TOKEN_CHARS) });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, McpmuxError);
    assert.is((error as McpmuxError).code, 'MCPMUX_UPSTREAM_PROTOCOL');
  }
  const big = codec.seal(BINDING, { upstream: 'x'.repeat(40_000) });
  assert.ok(big.length <= MAX_TOKEN_CHARS);
  assert.is(codec.open(big, BINDING).upstream!.length, 40_000);
});

test('keys: 32 bytes only; derived keys differ per gateway and are stable', () => {
  assert.throws(() => new RequestStateCodec({ current: new Uint8Array(16) }), (e: unknown) => e instanceof McpmuxError && e.code === 'MCPMUX_CONFIG_INVALID');
  assert.throws(() => new RequestStateCodec({ current: K1, previous: new Uint8Array(31) }), (e: unknown) => e instanceof McpmuxError && e.code === 'MCPMUX_CONFIG_INVALID');
  assert.throws(() => new RequestStateCodec({ current: K1 }, { ttlMs: 0 }), (e: unknown) => e instanceof McpmuxError);
  const master = new Uint8Array(32).fill(9);
  const a = deriveGatewayKey(master, 'ns/gw-a');
  assert.is(a.length, 32);
  assert.equal(a, deriveGatewayKey(master, 'ns/gw-a'));
  assert.not.equal(a, deriveGatewayKey(master, 'ns/gw-b'));
  assert.not.equal(a, deriveGatewayKey(new Uint8Array(32).fill(8), 'ns/gw-a'));
  assert.throws(() => deriveGatewayKey(new Uint8Array(8), 'ns/gw'), (e: unknown) => e instanceof McpmuxError);
  assert.throws(() => deriveGatewayKey(master, ''), (e: unknown) => e instanceof McpmuxError);
  // A token of one gateway does not open at another (per-gateway keys).
  const token = new RequestStateCodec({ current: a }).seal(BINDING, { upstream: 'u' });
  refusedFor(() => new RequestStateCodec({ current: deriveGatewayKey(master, 'ns/gw-b') }).open(token, BINDING), 'altered');
  const r1 = randomStateKey();
  assert.is(r1.length, 32);
  assert.not.equal(r1, randomStateKey());
});

test('cost of seal + open (printed)', () => {
  const codec = new RequestStateCodec({ current: K1 });
  const state = { upstream: 'x'.repeat(200), hold: { replica: 'pod-a', id: '0123456789abcdef' } };
  for (let i = 0; i < 2000; i++) codec.open(codec.seal(BINDING, state), BINDING);
  const n = 20_000;
  let started = performance.now();
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) tokens.push(codec.seal(BINDING, state));
  const sealUs = ((performance.now() - started) * 1000) / n;
  started = performance.now();
  for (const token of tokens) codec.open(token, BINDING);
  const openUs = ((performance.now() - started) * 1000) / n;
  console.log(`    requestState: seal ${sealUs.toFixed(1)} µs, open ${openUs.toFixed(1)} µs, token ${tokens[0]!.length} chars (200-char upstream state)`);
  assert.ok(sealUs + openUs < 1000, `${sealUs + openUs} µs`);
});

test.run();
