import * as fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../../shared/errors.ts';
import { decodeHeaderValue, encodeHeaderValue, sameHeaderText, trimOws } from './header-value.ts';

const decoded: Array<[string, string]> = [
  ['=?base64?SGVsbG8=?=', 'Hello'],
  ['  =?base64?SGVsbG8=?=\t', 'Hello'],
  ['=?base64?5pel5pys6Kqe?=', '日本語'],
  ['=?base64??=', ''],
  ['=?base64?SGk=?=', 'Hi'],
  ['=?base64?SGV5?=', 'Hey'],
  ['  tool  ', 'tool'],
  ['\ttool\t', 'tool'],
  ['plain', 'plain'],
  ['tab\tinside', 'tab\tinside'],
  ['', ''],
  // Half sentinels, other case and overlap are literals.
  ['=?base64?SGVsbG8=', '=?base64?SGVsbG8='],
  ['SGVsbG8=?=', 'SGVsbG8=?='],
  ['=?BASE64?SGVsbG8=?=', '=?BASE64?SGVsbG8=?='],
  ['=?base64?=', '=?base64?='],
  ['=?base64?', '=?base64?'],
];
for (const [raw, value] of decoded) test(`decode ${JSON.stringify(raw)} → ${JSON.stringify(value)}`, () => assert.is(decodeHeaderValue(raw), value));

const refused: Array<[string, string]> = [
  ['=?base64?SGVsbG8?=', 'missing padding'],
  ['=?base64?SGVs!!!bG8=?=', 'characters outside the alphabet'],
  ['=?base64?SGVsbG8==?=', 'too much padding'],
  ['=?base64?SGVsbG9=?=', 'non-zero spare bits'],
  ['=?base64?SGVs bG8=?=', 'a space inside'],
  ['=?base64?SGVs_G8-?=', 'the base64url alphabet'],
  ['=?base64?S?=', 'a lone character'],
  ['=?base64?/w==?=', 'bytes that are not UTF-8'],
  ['=?base64?7aCA?=', 'an encoded surrogate (not UTF-8)'],
  ['caf\u00e9', 'a literal with obs-text (Latin-1 as Node reads it)'],
  ['日本語', 'a literal beyond Latin-1'],
  ['a\u0000b', 'a literal with a control character'],
  ['=?base64?\u00e9?=', 'non-ASCII inside the wrapper'],
];
for (const [raw, why] of refused) {
  test(`decode refuses ${JSON.stringify(raw)} (${why}) with -32020`, () => {
    try {
      decodeHeaderValue(raw, 'Mcp-Name');
      assert.unreachable('decoded');
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_HEADER_MISMATCH');
      assert.is((error as McpmuxError).jsonRpcCode, -32020);
      assert.is((error as McpmuxError).httpStatus, 400);
      assert.match((error as McpmuxError).message, 'Mcp-Name');
    }
  });
}

const encoded: Array<[string, string]> = [
  ['Hello', 'Hello'],
  ['us-west1', 'us-west1'],
  ['a b', 'a b'],
  ['', '=?base64??='],
  [' lead', '=?base64?IGxlYWQ=?='],
  ['trail ', '=?base64?dHJhaWwg?='],
  ['tab\there', '=?base64?dGFiCWhlcmU=?='],
  ['日本語', '=?base64?5pel5pys6Kqe?='],
  ['=?base64?x', '=?base64?PT9iYXNlNjQ/eA==?='],
  ['line\nbreak', '=?base64?bGluZQpicmVhaw==?='],
  ['\u007f', '=?base64?fw==?='],
];
for (const [value, header] of encoded) test(`encode ${JSON.stringify(value)} → ${header}`, () => assert.is(encodeHeaderValue(value), header));

test('every encoded value is a valid plain header value (printable ASCII, no edge space)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
      const header = encodeHeaderValue(value);
      assert.ok(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(header), header);
    }),
    { numRuns: 2000 },
  );
});

test('decode(encode(v)) = v for any well-formed string', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }), fc.constantFrom('=?base64?', '=?base64?a?=', ' ', '\t', '\ufeffBOM')), (value) => {
      assert.is(decodeHeaderValue(encodeHeaderValue(value)), value);
    }),
    { numRuns: 5000 },
  );
});

test('a safe value round-trips unchanged even with OWS added by a proxy', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 30 }), (value) => {
      fc.pre(!value.startsWith('=?base64?'));
      assert.is(encodeHeaderValue(value), value);
      assert.is(decodeHeaderValue(` ${encodeHeaderValue(value)}\t`), value);
    }),
    { numRuns: 2000 },
  );
});

test('decode either returns or throws McpmuxError, whatever the input', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 40 }).map((s) => `=?base64?${s}?=`)), (raw) => {
      try {
        assert.type(decodeHeaderValue(raw), 'string');
      } catch (error) {
        assert.instance(error, McpmuxError);
      }
    }),
    { numRuns: 5000 },
  );
});

test('lone surrogates travel as U+FFFD, and still name the body value', () => {
  const body = 'a\ud800b';
  const header = encodeHeaderValue(body);
  assert.is(decodeHeaderValue(header), 'a\ufffdb');
  assert.ok(sameHeaderText(decodeHeaderValue(header), body));
  assert.not.ok(sameHeaderText('a\ufffdc', body));
  assert.not.ok(sameHeaderText('a\ufffdb', 'a\ufffdc'));
});

test('trimOws trims spaces and tabs only', () => {
  assert.is(trimOws(' \t x y \t '), 'x y');
  assert.is(trimOws('\nx\n'), '\nx\n');
  assert.is(trimOws('   '), '');
});

test.run();
