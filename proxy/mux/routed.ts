// Requests that belong to one target: the name or URI the client sent says which, the upstream
// gets its own name back, and URIs in the result are wrapped so the client can follow them.
import { McpmuxError } from '../../shared/errors.ts';
import { namesArePrefixed, resolveName } from '../federation/names.ts';
import { unwrapUri, wrapContentUris, wrapUri } from '../federation/resource-uris.ts';
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamResponse } from '../upstream/session.ts';
import { forward, type RequestContext } from './context.ts';

type Params = Record<string, unknown>;

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

/** The target and upstream name behind a tool or prompt name, or MCPMUX_UNKNOWN_NAME naming it. */
function targetOfName(ctx: RequestContext, kind: 'tool' | 'prompt', exposed: string): { target: CompiledTarget; name: string } {
  const resolved = resolveName(prefixed(ctx), onlyTarget(ctx), exposed);
  const target = resolved && ctx.backend.targetsByName.get(resolved.target);
  if (!resolved || !target) {
    const why = resolved ? ` (target ${resolved.target} is not part of backend ${ctx.backend.name})` : '';
    throw new McpmuxError('MCPMUX_UNKNOWN_NAME', `Unknown ${kind}: ${exposed}${why}`);
  }
  if (kind === 'tool' && target.toolAllow && !target.toolAllow.has(resolved.name)) {
    throw new McpmuxError('MCPMUX_UNKNOWN_NAME', `Unknown tool: ${exposed}`);
  }
  return { target, name: resolved.name };
}

function targetOfUri(ctx: RequestContext, exposed: string): { target: CompiledTarget; uri: string } {
  const resolved = unwrapUri(prefixed(ctx), onlyTarget(ctx), exposed);
  const target = resolved && ctx.backend.targetsByName.get(resolved.target);
  if (!resolved || !target) {
    const why = resolved ? ` (target ${resolved.target} is not part of backend ${ctx.backend.name})` : '';
    throw new McpmuxError('MCPMUX_UNKNOWN_NAME', `Unknown resource: ${exposed}${why}`);
  }
  return { target, uri: resolved.uri };
}

export async function callTool(ctx: RequestContext, params: Params | undefined): Promise<UpstreamResponse> {
  const { target, name } = targetOfName(ctx, 'tool', requireString(params, 'name', 'tools/call'));
  const response = await forward(ctx, target, 'tools/call', { ...params, name });
  if ('result' in response) wrapContentUris(prefixed(ctx), target.name, (response.result as Params).content);
  return response;
}

export async function getPrompt(ctx: RequestContext, params: Params | undefined): Promise<UpstreamResponse> {
  const { target, name } = targetOfName(ctx, 'prompt', requireString(params, 'name', 'prompts/get'));
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
  const { target, uri } = targetOfUri(ctx, requireString(params, 'uri', method));
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

/** completion/complete: routed by the prompt name or resource (template) URI of its ref. */
export async function complete(ctx: RequestContext, params: Params | undefined): Promise<UpstreamResponse> {
  const ref = params?.ref as Params | undefined;
  if (ref?.type === 'ref/prompt') {
    const { target, name } = targetOfName(ctx, 'prompt', requireString(ref, 'name', 'completion/complete ref'));
    return forward(ctx, target, 'completion/complete', { ...params, ref: { ...ref, name } });
  }
  if (ref?.type === 'ref/resource') {
    const { target, uri } = targetOfUri(ctx, requireString(ref, 'uri', 'completion/complete ref'));
    return forward(ctx, target, 'completion/complete', { ...params, ref: { ...ref, uri } });
  }
  throw new McpmuxError('MCPMUX_INVALID_PARAMS', 'completion/complete: ref.type must be ref/prompt or ref/resource');
}
