import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FieldChange, ResourceChange } from '../proto/messages.ts';
import { diffText } from './diff-text.ts';

const change = (kind: string, name: string, what: string, fields: FieldChange[]): ResourceChange => ({ kind, name, change: what, before: null, after: null, fields });
const head = { fromVersion: 'aaaa', toVersion: 'bbbb', fromEventSeq: '3', toEventSeq: '7' };

test('grouped by kind (targets first), each resource with its fields, then a summary', () => {
  const text = diffText({
    ...head,
    changes: [
      change('backend', 'ns/b', 'changed', [{ path: 'targets[]', before: '', after: '"t2"' }]),
      change('target', 'ns/b/t1', 'changed', [{ path: 'endpoints[10.0.0.1:80].ready', before: 'true', after: 'false' }]),
      change('target', 'ns/b/t2', 'added', [{ path: 'name', before: '', after: '"t2"' }]),
      change('secret', 'ns/old', 'removed', [{ path: 'data', before: '{"k":"<redacted>"}', after: '' }]),
    ],
  });
  assert.is(
    text,
    [
      'aaaa (event 3) → bbbb (event 7)',
      '',
      'targets',
      '  changed  ns/b/t1',
      '    ~ endpoints[10.0.0.1:80].ready: - true  + false',
      '  added    ns/b/t2',
      '    + name: "t2"',
      'backends',
      '  changed  ns/b',
      '    + targets[]: "t2"',
      'secrets',
      '  removed  ns/old',
      '    - data: {"k":"<redacted>"}',
      '',
      'summary: 1 added, 2 changed, 1 removed (targets 2, backends 1, secrets 1); 4 fields',
      '',
    ].join('\n'),
  );
});

test('long values are cut, saying how long they were; a long change takes three lines', () => {
  const long = JSON.stringify('x'.repeat(200));
  const text = diffText({ ...head, changes: [change('backend', 'b', 'changed', [{ path: 'instructions', before: long, after: '"short"' }])] }, { maxValue: 20, width: 60 });
  assert.match(text, /    ~ instructions\n        - "xxxxxxxxxxxxxxxxxx… \(202 chars\)\n        \+ "short"\n/);
  assert.match(text, /; 1 field$/m);
});

test('no changes says so', () => {
  assert.is(diffText({ ...head, changes: [] }), 'aaaa (event 3) → bbbb (event 7)\n\nsummary: no changes\n');
});

test.run();
