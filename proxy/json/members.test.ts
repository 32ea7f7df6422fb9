import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { charactersValid, MAX_DEPTH, member, objectMembers, skipValue, valueText } from './members.ts';

/** A small deterministic generator of JSON values, with the awkward strings a scan can trip on. */
function randomValue(next: () => number, depth: number): unknown {
  const strings = ['', 'a', 'say "hi"', 'back\\slash', 'ends with \\', '\\"', '{[', ']}', 'ünï\u2028', 'tab\there', 'new\nline'];
  const pick = Math.floor(next() * (depth > 3 ? 4 : 7));
  switch (pick) {
    case 0:
      return strings[Math.floor(next() * strings.length)];
    case 1:
      return Math.floor(next() * 2000) - 1000 + (next() < 0.3 ? 0.25 : 0);
    case 2:
      return next() < 0.5;
    case 3:
      return null;
    case 4:
    case 5: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) object[strings[Math.floor(next() * strings.length)]!.replace(/\\/g, '') + i] = randomValue(next, depth + 1);
      return object;
    }
    default:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  }
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

test('members of serialised objects are the parsed object’s members, value for value (random, with and without whitespace)', () => {
  const next = seeded(7);
  for (let i = 0; i < 2000; i++) {
    const object: Record<string, unknown> = { first: randomValue(next, 0), second: randomValue(next, 0), third: randomValue(next, 1) };
    for (const text of [JSON.stringify(object), JSON.stringify(object, null, 2)]) {
      const span = objectMembers(text);
      assert.ok(span, text);
      assert.equal(
        span.members.map((m) => m.key),
        Object.keys(object),
      );
      for (const m of span.members) assert.equal(JSON.parse(valueText(text, m)), object[m.key], text);
      assert.is(span.end, text.length);
      assert.is(span.duplicateKeys, false);
    }
  }
});

test('duplicate keys are reported; keys with escapes, unclosed strings and mismatched brackets are not read', () => {
  const duplicated = objectMembers('{"name":"a","x":1,"name":"b"}');
  assert.is(duplicated?.duplicateKeys, true);
  assert.is(objectMembers('{"n\\u0061me":"a"}'), undefined);
  assert.is(objectMembers('{"a":"unclosed}'), undefined);
  assert.is(objectMembers('{"a":[1,2}'), undefined);
  assert.is(objectMembers('{"a":{"b":1]}'), undefined);
  assert.is(objectMembers('{"a":1,}'), undefined);
  assert.is(objectMembers('{"a" 1}'), undefined);
  assert.is(objectMembers('["a"]'), undefined);
  assert.is(objectMembers('{"a":}'), undefined);
  assert.is(objectMembers('{"a":1"b":2}'), undefined);
});

test('the grammar inside values is checked as a parser would: literals, numbers, commas and colons at any depth', () => {
  for (const bad of ['{"a":tru}', '{"a":01}', '{"a":1.}', '{"a":-}', '{"a":{"b" 1}}', '{"a":[1 2]}', '{"a":[1,]}', '{"a":{"b":1,}}', '{"a":nulll}', '{"a":+1}']) {
    assert.is(objectMembers(bad), undefined, bad);
    assert.throws(() => JSON.parse(bad), undefined, bad);
  }
  for (const good of ['{"a":-0.5e+10}', '{"a":[true,false,null,{}]}', '{"a":{"n\\u0061me":1}}', '{ "a" : [ 1 , { "b" : "c" } ] }']) assert.ok(objectMembers(good), good);
  const deep = `{"a":${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}}`;
  assert.is(objectMembers(deep), undefined, 'deeper than MAX_DEPTH is left to the parser');
});

test('charactersValid: raw control characters and invalid escapes are refused, valid escapes pass', () => {
  const valid = [String.raw`{"a":"x\\a \" \u00e9 \/ \n"}`, String.raw`{"a":"\\\\"}`, '{"a":1}'];
  for (const text of valid) {
    assert.ok(charactersValid(text), text);
    JSON.parse(text);
  }
  const invalid = [String.raw`{"a":"\a"}`, String.raw`{"a":"\u00g0"}`, String.raw`{"a":"\\\a"}`, '{"a":"tab\there"}', '{"a":1}\n'];
  for (const text of invalid) assert.is(charactersValid(text), false, text);
});

test('a string ending in escaped backslashes closes where a parser closes it', () => {
  const text = '{"a":"x\\\\","b":"y\\\\\\"z"}';
  const span = objectMembers(text);
  assert.ok(span);
  assert.equal(JSON.parse(valueText(text, member(span, 'a')!)), 'x\\');
  assert.equal(JSON.parse(valueText(text, member(span, 'b')!)), 'y\\"z');
  assert.is(skipValue('"\\"', 0), -1);
});

test('a member at an offset: an object nested in a larger text', () => {
  const text = '{"params":  {"name":"t","arguments":{"k":[1,{"v":"}"}]}} }';
  const outer = objectMembers(text)!;
  const params = member(outer, 'params')!;
  const inner = objectMembers(text, params.valueStart)!;
  assert.equal(
    inner.members.map((m) => m.key),
    ['name', 'arguments'],
  );
  assert.is(inner.end, params.valueEnd);
});

test.run();
