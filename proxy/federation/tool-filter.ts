// A backend's tool filter: include and exclude globs over the names clients see (after prefixing).
// `*` matches any run of characters (`_` included), `?` exactly one; everything else is literal.
// An empty include list includes everything; exclude wins over include. A filtered tool is neither
// listed nor callable.

export interface ToolFilter {
  /** `target`: the target serving the tool, when the caller knows it. */
  allows(exposedName: string, target?: string): boolean;
}

/** Both filters (either may be absent). */
export function bothFilters(a: ToolFilter | undefined, b: ToolFilter | undefined): ToolFilter | undefined {
  if (!a || !b) return a ?? b;
  return { allows: (name, target) => a.allows(name, target) && b.allows(name, target) };
}

/** One glob as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const c of glob) {
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** The filter of a backend; undefined when it filters nothing. */
export function compileToolFilter(include: readonly string[], exclude: readonly string[]): ToolFilter | undefined {
  const includes = include.filter((g) => g !== '').map(globToRegExp);
  const excludes = exclude.filter((g) => g !== '').map(globToRegExp);
  if (includes.length === 0 && excludes.length === 0) return undefined;
  return {
    allows(name: string): boolean {
      if (excludes.some((re) => re.test(name))) return false;
      return includes.length === 0 || includes.some((re) => re.test(name));
    },
  };
}
