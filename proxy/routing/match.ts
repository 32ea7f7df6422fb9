// Which route serves a request path, and which of its endpoints. A route with prefix P serves the
// MCP endpoint at exactly P (and P/); P/message is the legacy SSE POST endpoint. `/sse` is an alias
// of P when the view has exactly one route (clients configured with the old `/sse` URL). The view
// is what the request's listener and Host may reach (hosts.ts), or a whole table.
import type { CompiledRoute, RouteView } from './table.ts';

export type RouteEndpoint = 'mcp' | 'legacy-message';

export interface RouteMatch {
  route: CompiledRoute;
  /** Undefined: the path is under the route's prefix but names nothing it serves. */
  endpoint: RouteEndpoint | undefined;
}

/** Longest prefix wins, on `/` boundaries (`/mcp` does not match `/mcpx`). `pathname` has no query. */
export function matchRoute(table: RouteView, pathname: string): RouteMatch | undefined {
  const match = matchPrefix(table, pathname);
  if (match?.endpoint === undefined && table.sseAlias && (pathname === '/sse' || pathname === '/sse/')) {
    return { route: table.sseAlias, endpoint: 'mcp' };
  }
  return match;
}

function matchPrefix(table: RouteView, pathname: string): RouteMatch | undefined {
  for (const route of table.routes) {
    const prefix = route.pathPrefix;
    let rest: string;
    if (prefix === '/') rest = pathname;
    else if (pathname === prefix) rest = '';
    else if (pathname.startsWith(prefix) && pathname.charCodeAt(prefix.length) === 47 /* / */) {
      rest = pathname.slice(prefix.length);
    } else continue;
    if (rest === '' || rest === '/') return { route, endpoint: 'mcp' };
    if (rest === '/message') return { route, endpoint: 'legacy-message' };
    // A deeper path may still belong to a shorter prefix's route only if this one does not own
    // it; longest prefix wins, so this route owns everything under it.
    return { route, endpoint: undefined };
  }
  return undefined;
}
