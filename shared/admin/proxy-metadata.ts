// What a proxy reports about itself in its discovery node metadata, read back by `mcpmux proxies`.

/** The key prefix under which a proxy reports the MCP era each target was found to speak (`era.<target>`). */
export const ERA_METADATA_PREFIX = 'era.';

/** The eras in a proxy's metadata, as `target=modern, target=legacy` (sorted); '' when none. */
export function upstreamEras(metadata: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(metadata ?? {})
    .filter(([key]) => key.startsWith(ERA_METADATA_PREFIX))
    .map(([key, era]) => `${key.slice(ERA_METADATA_PREFIX.length)}=${era}`)
    .sort()
    .join(', ');
}
