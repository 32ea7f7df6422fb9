import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readSelector, selectorMatches, type LabelSelector } from './selectors.ts';

const labels = { app: 'tools', tier: 'backend', 'mcp-federation': 'true' };

function selector(value: unknown): LabelSelector {
  const read = readSelector(value);
  if (typeof read === 'string') throw new Error(read);
  return read;
}

test('selectorMatches: matchLabels and every matchExpressions operator', () => {
  const table: Array<[unknown, boolean]> = [
    [{}, true],
    [{ matchLabels: { 'mcp-federation': 'true' } }, true],
    [{ matchLabels: { 'mcp-federation': 'false' } }, false],
    [{ matchLabels: { app: 'tools', tier: 'frontend' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'db'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] }, false],
    [{ matchExpressions: [{ key: 'missing', operator: 'In', values: ['x'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] }, false],
    [{ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'missing', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'missing', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    [{ matchLabels: { app: 'tools' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] }, false],
  ];
  for (const [input, expected] of table) assert.is(selectorMatches(selector(input), labels), expected, JSON.stringify(input));
});

test('readSelector reports what is wrong', () => {
  const table: Array<[unknown, RegExp]> = [
    ['app=tools', /must be a mapping/],
    [{ matchExpressions: [{ operator: 'In', values: ['x'] }] }, /no key/],
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }, /operator must be one of/],
    [{ matchExpressions: [{ key: 'a', operator: 'In' }] }, /needs values/],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, /takes no values/],
  ];
  for (const [input, expected] of table) {
    const read = readSelector(input);
    assert.type(read, 'string', JSON.stringify(input));
    assert.match(read as string, expected);
  }
});

test('a non-string matchLabels value is an error, never a wider selector', () => {
  // YAML `enabled: true` is a boolean; dropping it would select every Service.
  assert.match(String(readSelector({ matchLabels: { enabled: true } })), /quote values/);
  assert.match(String(readSelector({ matchLabels: ['a'] })), /must map strings/);
});

test.run();
