// What an MCP client is told when it must authenticate (MCP authorization spec, RFC 9728, RFC 6750):
// a 401 whose WWW-Authenticate names the protected resource's metadata URL, and that metadata,
// served at /.well-known/oauth-protected-resource<route path> (the path-suffixed form), listing the
// authorization servers (the JWT issuers the route accepts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpmuxError } from '../../shared/errors.ts';
import { sendError, sendJson } from '../downstream/respond.ts';
import type { TLSSocket } from 'node:tls';
import type { CompiledRoute, RouteView } from '../routing/table.ts';
import type { AuthOutcome } from './authenticator.ts';

export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The origin the client used: the Host it sent (the guard checked it), https on an HTTPS listener or behind a TLS proxy. */
function origin(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  const secure = (req.socket as Partial<TLSSocket>).encrypted === true || proto === 'https';
  return `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
}

function metadataUrl(req: IncomingMessage, route: CompiledRoute): string {
  return `${origin(req)}${RESOURCE_METADATA_PATH}${route.pathPrefix === '/' ? '' : route.pathPrefix}`;
}

/** 401 with the challenge; `invalid_token` details only when a credential was presented. */
export function sendUnauthorized(req: IncomingMessage, res: ServerResponse, route: CompiledRoute, outcome: Extract<AuthOutcome, { ok: false }>): void {
  const quoted = (text: string): string => text.replace(/["\\]/g, '');
  let challenge = `Bearer resource_metadata="${metadataUrl(req, route)}"`;
  if (outcome.error === 'invalid_token') challenge += `, error="invalid_token", error_description="${quoted(outcome.message)}"`;
  sendError(res, new McpmuxError('MCPMUX_UNAUTHORIZED', `Unauthorized: ${outcome.message}`), null, { 'www-authenticate': challenge });
}

/** GET /.well-known/oauth-protected-resource[/<route path>]: the metadata of a guarded route. */
export function serveResourceMetadata(req: IncomingMessage, res: ServerResponse, table: RouteView, pathname: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, new McpmuxError('MCPMUX_METHOD_NOT_ALLOWED', 'resource metadata is read with GET'), null, { allow: 'GET, HEAD' });
    return;
  }
  const suffix = pathname.slice(RESOURCE_METADATA_PATH.length).replace(/\/+$/, '');
  const guarded = table.routes.filter((r) => r.backend.authenticator !== undefined);
  // The bare path names the only guarded route, when there is one.
  const route = suffix === '' ? (guarded.length === 1 ? guarded[0] : guarded.find((r) => r.pathPrefix === '/')) : guarded.find((r) => r.pathPrefix === suffix);
  if (!route) {
    sendError(res, new McpmuxError('MCPMUX_ROUTE_NOT_FOUND', `No protected MCP endpoint at ${suffix || '/'}`));
    return;
  }
  sendJson(
    res,
    200,
    {
      resource: `${origin(req)}${route.pathPrefix}`,
      authorization_servers: route.backend.authenticator!.issuers,
      bearer_methods_supported: ['header'],
      resource_name: route.backend.serverInfo?.name ?? 'mcpmux',
    },
    { 'cache-control': 'max-age=60', 'access-control-allow-origin': '*' },
  );
}
