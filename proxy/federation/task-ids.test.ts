import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RELATED_TASK_META, unwrapTaskId, wrapTaskId, wrapTaskIds } from './task-ids.ts';

const ids: Array<[string, string]> = [
  ['mcp-server-everything-3001', '6f1c-4a'],
  ['t', 'a:b:c'], // a `:` in the upstream id survives: the first `:` is ours
  ['t', 'x'],
];
for (const [target, id] of ids) {
  test(`task id ${id} of ${target} round-trips`, () => assert.equal(unwrapTaskId(wrapTaskId(target, id)), { target, taskId: id }));
}

test('ids that are not ours do not unwrap', () => {
  for (const bad of ['', 'nocolon', ':x', 'x:']) assert.is(unwrapTaskId(bad), undefined, bad);
});

test('wrapTaskIds: a created task, a Task, the related-task meta; other fields untouched; no copy when nothing to do', () => {
  assert.equal(wrapTaskIds('t', { task: { taskId: '1', status: 'working' } }), { task: { taskId: 't:1', status: 'working' } });
  assert.equal(wrapTaskIds('t', { taskId: '2', status: 'completed' }), { taskId: 't:2', status: 'completed' });
  assert.equal(wrapTaskIds('t', { content: [], _meta: { [RELATED_TASK_META]: { taskId: '3' }, other: 1 } }), {
    content: [],
    _meta: { [RELATED_TASK_META]: { taskId: 't:3' }, other: 1 },
  });
  const plain = { content: [{ type: 'text', text: 'taskId' }] };
  assert.is(wrapTaskIds('t', plain), plain);
  assert.is(wrapTaskIds('t', undefined), undefined);
});

test.run();
