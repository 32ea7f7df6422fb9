// Requests that belong to one target: the name, URI or task id the client sent says which, the
// upstream gets its own name back, and URIs (and task ids) in the result are wrapped so the client
// can follow them. Tools the backend's filter excludes cannot be called.
import { McpmuxError } from '../../shared/errors.ts';
import { namesArePrefixed, resolveName } from '../federation/names.ts';
import { unwrapUri, wrapContentUris, wrapUri } from '../federation/resource-uris.ts';
import { unwrapTaskId, wrapTaskIds } from '../federation/task-ids.ts';
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamResponse } from '../upstream/session.ts';
import { forward, type RequestContext } from './context.ts';
import { mergedUnprefixed } from './lists.ts';

type Params = Record<string, unknown>;

interface Resolved {
  target: CompiledTarget;
  name: string;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

function prefixed(ctx: RequestContext): boolean {
  return namesArePrefixed(ctx.backend.prefixMode, ctx.backend.targets.length);
}

/** The target unprefixed names belong to: the only one, if there is exactly one. */
function onlyTarget(ctx: RequestContext): string | undefined {
  return ctx.backend.targets.length === 1 ? ctx.backend.targets[0]?.name : undefined;
}

function requireString(params: Params | undefined, key: string, method: string): string {
  const value = params?.[key];
  if (typeof value !== 'string') throw new McpmuxError('MCPMUX_INVALID_PARAMS', `${method}: params.${key} must be a string`);
  return value;
}

function unknown(kind: string, exposed: string, why = ''): McpmuxError {
  return new McpmuxError('MCPMUX_UNKNOWN_NAME', `Unknown ${kind}: ${exposed}${why}`);
}

/** Prefix mode never: the one target that offers `exposed`, or an error naming all of them. */
function soleOwner(ctx: RequestContext, kind: string, exposed: string, owners: readonly string[]): CompiledTarget {
  if (owners.length > 1) {
    throw new McpmuxError(
      'MCPMUX_AMBIGUOUS_NAME',
      `${kind} ${exposed} is offered by several targets (${owners.join(', ')}) and backend ${ctx.backend.name} does not prefix names (prefix mode never), so it cannot be routed`,
    );
  }
  const target = owners[0] === undefined ? undefined : ctx.backend.targetsByName.get(owners[0]);
  if (!target) throw unknown(kind, exposed);
  return target;
}

/**
 * The target and upstream name behind a tool or prompt name, or MCPMUX_UNKNOWN_NAME naming it.
 * A promise only when the backend merges unprefixed names (their owners may have to be listed);
 * otherwise the answer is at hand, and a request's path does not wait on a promise for it.
 */
function targetOfName(ctx: RequestContext, kind: 'tool' | 'prompt', exposed: string): Resolved | Promise<Resolved> {
  const filter = ctx.backend.toolFilter;
  if (kind === 'tool' && filter && !filter.allows(exposed)) {
    throw unknown(kind, exposed, ` (backend ${ctx.backend.name} does not expose it: its tool filter leaves it out)`);
  }
  if (mergedUnprefixed(ctx.backend, kind === 'tool' ? 'tools' : 'prompts')) {
    return ctx.names.owners(ctx, kind === 'tool' ? 'tools' : 'prompts', exposed).then((owners) => {
      const target = soleOwner(ctx, kind, exposed, owners);
      authorize(ctx, kind, exposed, target);
      return { target, name: exposed };
    });
  }
  const resolved = resolveName(prefixed(ctx), onlyTarget(ctx), exposed);
  const target = resolved && ctx.backend.targetsByName.get(resolved.target);
  if (!resolved || !target) throw unknown(kind, exposed, resolved ? ` (target ${resolved.target} is not part of backend ${ctx.backend.name})` : '');
  authorize(ctx, kind, exposed, target);
  return { target, name: resolved.name };
}

/**
 * Refuses, before anything reaches an upstream, what the caller's rules do not allow, naming the
 * rule; the refusal is logged with the principal and the rule.
 */
function authorize(ctx: RequestContext, kind: 'tool' | 'prompt' | 'resource', exposed: string, target: CompiledTarget): void {
  if (!ctx.access) return;
  const decision = kind === 'tool' ? ctx.access.tool(exposed, target.name) : ctx.access.target(target.name);
  if (decision.allowed) return;
  ctx.logger.warn({ principal: ctx.access.principal, kind, name: exposed, target: target.name, rule: decision.rule }, 'refused by authorization');
  throw new McpmuxError('MCPMUX_FORBIDDEN', `Forbidden: ${ctx.access.principal} may not use ${kind} ${exposed} (rule ${decision.rule})`);
}

async function targetOfUri(ctx: RequestContext, exposed: string): Promise<{ target: CompiledTarget; uri: string }> {
  if (mergedUnprefixed(ctx.backend, 'resources')) {
    const target = soleOwner(ctx, 'resource', exposed, await ctx.names.uriOwners(ctx, exposed));
    authorize(ctx, 'resource', exposed, target);
    return { target, uri: exposed };
  }
  const resolved = unwrapUri(prefixed(ctx), onlyTarget(ctx), exposed);
  const target = resolved && ctx.backend.targetsByName.get(resolved.target);
  if (!resolved || !target) throw unknown('resource', exposed, resolved ? ` (target ${resolved.target} is not part of backend ${ctx.backend.name})` : '');
  authorize(ctx, 'resource', exposed, target);
  return { target, uri: resolved.uri };
}

export async function callTool(ctx: RequestContext, params: Params | undefined): Promise<UpstreamResponse> {
  const found = targetOfName(ctx, 'tool', requireString(params, 'name', 'tools/call'));
  const { target, name } = isPromise(found) ? await found : found;
  const response = await forward(ctx, target, 'tools/call', { ...params, name });
  if (!('result' in response)) return response;
  wrapContentUris(prefixed(ctx), target.name, (response.result as Params).content);
  // A call made as a task (2025-11-25) answers with the task: its id must route back here.
  return { ...response, result: wrapTaskIds(target.name, response.result) as Params };
}

export async function getPrompt(ctx: RequestContext, params: Params | undefined): Promise<UpstreamResponse> {
  const { target, name } = await targetOfName(ctx, 'prompt', requireString(params, 'name', 'prompts/get'));
  const response = await forward(ctx, target, 'prompts/get', { ...params, name });
  if ('result' in response) {
    const messages = (response.result as Params).messages;
    if (Array.isArray(messages)) {
      wrapContentUris(prefixed(ctx), target.name, messages.map((m: Params | null) => m?.content));
    }
  }
  return response;
}

/** resources/read, resources/subscribe, resources/unsubscribe: routed by the URI's target. */
export async function forwardByUri(ctx: RequestContext, method: string, params: Params | undefined): Promise<UpstreamResponse> {
  const { target, uri } = await targetOfUri(ctx, requireString(params, 'uri', method));
  const response = await forward(ctx, target, method, { ...params, uri });
  if ('result' in response && method === 'resources/read') {
    const contents = (response.result as Params).contents;
    if (Array.isArray(contents)) {
      for (const content of contents as Array<Params | null>) {
        if (content && typeof content.uri === 'string') content.uri = wrapUri(prefixed(ctx), target.name, content.uri);
      }
    }
  }
  return response;
}

/** resources/subscribe and unsubscribe, routed by URI; says where they went, so the session can restore them. */
export async function subscription(
  ctx: RequestContext,
  method: 'resources/subscribe' | 'resources/unsubscribe',
  params: Params | undefined,
): Promise<{ response: UpstreamResponse; target: string; uri: string }> {
  const { target, uri } = await targetOfUri(ctx, requireString(params, 'uri', method));
  return { response: await forward(ctx, target, method, { ...params, uri }), target: target.name, uri };
}

/** completion/complete: routed by the prompt name or resource (template) URI of its ref. */
export async function complete(ctx: RequestContext, params: Params | undefined): Promise<UpstreamResponse> {
  const ref = params?.ref as Params | undefined;
  if (ref?.type === 'ref/prompt') {
    const { target, name } = await targetOfName(ctx, 'prompt', requireString(ref, 'name', 'completion/complete ref'));
    return forward(ctx, target, 'completion/complete', { ...params, ref: { ...ref, name } });
  }
  if (ref?.type === 'ref/resource') {
    const { target, uri } = await targetOfUri(ctx, requireString(ref, 'uri', 'completion/complete ref'));
    return forward(ctx, target, 'completion/complete', { ...params, ref: { ...ref, uri } });
  }
  throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'completion/complete: ref.type must be ref/prompt or ref/resource');
}

/** tasks/get, tasks/result, tasks/cancel (and the 2026-07-28 extension's tasks/update): routed by the target the task id carries. */
export async function forwardTask(ctx: RequestContext, method: string, params: Params | undefined): Promise<UpstreamResponse> {
  const exposed = requireString(params, 'taskId', method);
  const resolved = unwrapTaskId(exposed);
  const target = resolved && ctx.backend.targetsByName.get(resolved.target);
  if (!resolved || !target) {
    const why = resolved ? ` (target ${resolved.target} is not part of backend ${ctx.backend.name})` : '';
    throw new McpmuxError('MCPMUX_UNKNOWN_NAME', `Unknown task: ${exposed}${why}`);
  }
  const response = await forward(ctx, target, method, { ...params, taskId: resolved.taskId });
  if (!('result' in response)) return response;
  if (method === 'tasks/result') wrapContentUris(prefixed(ctx), target.name, (response.result as Params).content);
  // The tasks extension (2026-07-28) inlines a finished task's result in tasks/get.
  const inline = (response.result as Params).result;
  if (method === 'tasks/get' && inline !== null && typeof inline === 'object') wrapContentUris(prefixed(ctx), target.name, (inline as Params).content);
  return { ...response, result: wrapTaskIds(target.name, response.result) as Params };
}
