// The headers of a POST to a 2026-07-28 endpoint: its credential, content negotiation, our version,
// Mcp-Method and Mcp-Name (encoded for a header when it needs to be).
import { modernRequestHeaders } from '../modern/envelope.ts';
import { MODERN_PROTOCOL_VERSION } from '../modern/wire.ts';
import type { EndpointUrl } from '../routing/table.ts';
import { postHeaders } from './exchange.ts';

export function modernPostHeaders(endpoint: EndpointUrl, method: string, name: string | undefined): Record<string, string> {
  return { ...postHeaders(undefined, MODERN_PROTOCOL_VERSION, endpoint.headers), ...modernRequestHeaders(method, MODERN_PROTOCOL_VERSION, name) };
}
