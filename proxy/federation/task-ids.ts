// Task ids (2025-11-25 `tasks/*`) carry their target the way resource URIs do: `<target>:<id>`,
// so tasks/get, tasks/result and tasks/cancel route without any per-session memory (and from any
// replica). Target names never contain `:`, so the FIRST `:` splits. Task ids are always wrapped,
// whatever the prefix mode: clients treat them as opaque.

export const TASK_SEPARATOR = ':';

/** The meta key under which messages name the task they belong to. */
export const RELATED_TASK_META = 'io.modelcontextprotocol/related-task';

export function wrapTaskId(target: string, taskId: string): string {
  return target + TASK_SEPARATOR + taskId;
}

export function unwrapTaskId(exposed: string): { target: string; taskId: string } | undefined {
  const at = exposed.indexOf(TASK_SEPARATOR);
  if (at <= 0 || at === exposed.length - 1) return undefined;
  return { target: exposed.slice(0, at), taskId: exposed.slice(at + 1) };
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Wraps the task ids an upstream result or notification params carry: `task.taskId` (a created
 * task), a top-level `taskId` (a Task, a status notification) and the related-task meta. Returns
 * a copy when something changed; `value` itself otherwise.
 */
export function wrapTaskIds(target: string, value: unknown): unknown {
  if (!isObject(value)) return value;
  let out: Obj | undefined;
  const copy = (): Obj => (out ??= { ...value });
  if (typeof value.taskId === 'string') copy().taskId = wrapTaskId(target, value.taskId);
  if (isObject(value.task) && typeof value.task.taskId === 'string') copy().task = { ...value.task, taskId: wrapTaskId(target, value.task.taskId) };
  const meta = value._meta;
  if (isObject(meta) && isObject(meta[RELATED_TASK_META]) && typeof meta[RELATED_TASK_META].taskId === 'string') {
    const related = meta[RELATED_TASK_META] as Obj;
    copy()._meta = { ...meta, [RELATED_TASK_META]: { ...related, taskId: wrapTaskId(target, related.taskId as string) } };
  }
  return out ?? value;
}
