// Resource URIs carry their target the way names do: `<target>+<upstream uri>` (the same for URI
// templates, so a client's expansion of a template keeps the prefix). Wrapping, rather than
// remembering per session which target listed which URI, keeps the mapping stateless: it survives
// a session moving to another replica, covers URIs never listed (template expansions, links in
// tool results), and round-trips exactly. Target names contain no `+`, so the FIRST `+` splits.
// The same decision as names: URIs are wrapped exactly when names are prefixed.

export const URI_SEPARATOR = '+';

export function wrapUri(prefixed: boolean, target: string, uri: string): string {
  return prefixed ? target + URI_SEPARATOR + uri : uri;
}

/**
 * The target and upstream URI behind a URI a client sent (unwrapped URIs belong to `onlyTarget`);
 * undefined if it cannot be one of ours.
 */
export function unwrapUri(
  prefixed: boolean,
  onlyTarget: string | undefined,
  exposed: string,
): { target: string; uri: string } | undefined {
  if (!prefixed) return onlyTarget === undefined ? undefined : { target: onlyTarget, uri: exposed };
  const at = exposed.indexOf(URI_SEPARATOR);
  if (at <= 0 || at === exposed.length - 1) return undefined;
  return { target: exposed.slice(0, at), uri: exposed.slice(at + 1) };
}

interface UriCarrier {
  type?: unknown;
  uri?: unknown;
  resource?: { uri?: unknown };
}

/**
 * Wraps the URIs inside content blocks (tool results, prompt messages): `resource_link` blocks and
 * embedded `resource` blocks, so a client that follows them reads through us. Mutates in place:
 * the blocks come from a freshly parsed upstream message nobody else holds.
 */
export function wrapContentUris(prefixed: boolean, target: string, blocks: unknown): void {
  if (!prefixed || !Array.isArray(blocks)) return;
  for (const block of blocks as UriCarrier[]) {
    if (block === null || typeof block !== 'object') continue;
    if (block.type === 'resource_link' && typeof block.uri === 'string') {
      block.uri = target + URI_SEPARATOR + block.uri;
    } else if (block.type === 'resource' && block.resource && typeof block.resource.uri === 'string') {
      block.resource.uri = target + URI_SEPARATOR + block.resource.uri;
    }
  }
}
