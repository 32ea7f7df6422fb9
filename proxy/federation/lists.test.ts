import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCursor } from './cursor.ts';
import { exposeItems, mergePages } from './lists.ts';
import { compileToolFilter } from './tool-filter.ts';

test('tools are prefixed and merged in target order; no cursor when every target is done', () => {
  const result = mergePages('tools', true, [
    { target: 'a', items: [{ name: 'echo' }, { name: 'get-sum' }], nextCursor: undefined },
    { target: 'b', items: [{ name: 'fetch' }], nextCursor: undefined },
  ]);
  assert.equal(result, { tools: [{ name: 'a_echo' }, { name: 'a_get-sum' }, { name: 'b_fetch' }] });
});

test('every upstream nextCursor is kept in the composite cursor', () => {
  const result = mergePages('tools', true, [
    { target: 'a', items: [{ name: 'x' }], nextCursor: 'a-2' },
    { target: 'b', items: [{ name: 'y' }], nextCursor: undefined },
    { target: 'c', items: [], nextCursor: 'c-7' },
  ]);
  assert.equal(decodeCursor('tools', result.nextCursor as string), [['a', 'a-2'], ['c', 'c-7']]);
});

test('prompts are renamed, resources and templates wrapped, malformed items dropped', () => {
  assert.equal(exposeItems('prompts', true, { target: 't', items: [{ name: 'p' }, { nope: 1 }, null], nextCursor: undefined }), [{ name: 't_p' }]);
  assert.equal(exposeItems('resources', true, { target: 't', items: [{ uri: 'demo://r', name: 'r' }, { name: 'no uri' }], nextCursor: undefined }), [
    { uri: 't+demo://r', name: 'r' },
  ]);
  assert.equal(exposeItems('resourceTemplates', true, { target: 't', items: [{ uriTemplate: 'demo://{id}', name: 'tpl' }], nextCursor: undefined }), [
    { uriTemplate: 't+demo://{id}', name: 'tpl' },
  ]);
});

test('conditional mode with one target leaves names alone', () => {
  assert.equal(mergePages('tools', false, [{ target: 'a', items: [{ name: 'echo' }], nextCursor: undefined }]), { tools: [{ name: 'echo' }] });
});

test('the tool filter applies to the names clients see; cursors survive a page filtered empty', () => {
  const result = mergePages(
    'tools',
    true,
    [
      { target: 'a', items: [{ name: 'echo' }, { name: 'get-env' }], nextCursor: undefined },
      { target: 'b', items: [{ name: 'secret' }], nextCursor: 'b-2' },
    ],
    compileToolFilter(['a_*', 'b_*'], ['*_get-env', 'b_secret']),
  );
  assert.equal(result.tools, [{ name: 'a_echo' }]);
  assert.equal(decodeCursor('tools', result.nextCursor as string), [['b', 'b-2']]);
});

test('tasks are wrapped with their target', () => {
  assert.equal(exposeItems('tasks', false, { target: 't', items: [{ taskId: '1', status: 'working' }], nextCursor: undefined }), [{ taskId: 't:1', status: 'working' }]);
});

test.run();
