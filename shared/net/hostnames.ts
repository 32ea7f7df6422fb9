// Gateway API hostnames, shared by the control plane (which listeners a route attaches to, and the
// hostnames it serves there) and the proxy (which listener and route a request's Host or SNI
// selects). A hostname is a name ("mcp.example.com") or a wildcard ("*.example.com", matching any
// name that ends in ".example.com", with one label or more before it, but not "example.com").
// Everything is compared lowercase.

/** `Host: [::1]:8080` → `[::1]`; `Host: Example.com.` → `example.com`: port and trailing dot dropped, lowercase. */
export function requestHostname(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(':');
  const name = colon === -1 ? lower : lower.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

export function isWildcard(pattern: string): boolean {
  return pattern.startsWith('*.');
}

/** Whether `pattern` (a name or a wildcard, lowercase) matches the concrete name `name` (lowercase). */
export function hostnameMatches(pattern: string, name: string): boolean {
  if (!isWildcard(pattern)) return pattern === name;
  // "*.example.com" → ".example.com": the name must end in it with at least one character before.
  const suffix = pattern.slice(1);
  return name.length > suffix.length && name.endsWith(suffix);
}

/** Gateway API hostname intersection: equal, or a wildcard covering the other (or both wildcards nesting). */
export function hostnamesIntersect(a: string, b: string): boolean {
  return intersectHostnames(a, b) !== undefined;
}

/**
 * The hostnames both patterns match, as one pattern: the more specific of the two when one covers
 * the other (`*.example.com` ∩ `mcp.example.com` is `mcp.example.com`; `*.example.com` ∩
 * `*.a.example.com` is `*.a.example.com`), undefined when they share no name.
 */
export function intersectHostnames(a: string, b: string): string | undefined {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return x;
  if (isWildcard(x) && covers(x, y)) return y;
  if (isWildcard(y) && covers(y, x)) return x;
  return undefined;
}

/** Whether the wildcard `wild` matches every name `other` matches (`other` a name or a wildcard). */
function covers(wild: string, other: string): boolean {
  return hostnameMatches(wild, isWildcard(other) ? `x${other.slice(1)}` : other) && (!isWildcard(other) || other.length > wild.length);
}

/**
 * How specific a matching pattern is, higher first, as Gateway API orders them: an exact name over
 * any wildcard, a wildcard with more labels after the `*` over one with fewer (`*.a.example.com`
 * over `*.example.com`), and any pattern over none (undefined: a listener or route without
 * hostnames). Between exact names and between wildcards of as many labels, the longer wins (the
 * route rule: more characters in the matching hostname).
 */
export function hostnameSpecificity(pattern: string | undefined): number {
  if (pattern === undefined) return 0;
  if (!isWildcard(pattern)) return 3_000_000 + pattern.length;
  let labels = 0;
  for (let i = 1; i < pattern.length; i++) if (pattern.charCodeAt(i) === 46 /* . */) labels++;
  return 1_000_000 + labels * 1_000 + pattern.length;
}

/** The most specific of `patterns` that matches `name`, or undefined when none does. */
export function bestMatch(patterns: readonly string[], name: string): string | undefined {
  let best: string | undefined;
  for (const pattern of patterns) {
    if (hostnameMatches(pattern, name) && (best === undefined || hostnameSpecificity(pattern) > hostnameSpecificity(best))) best = pattern;
  }
  return best;
}

/** A Gateway API hostname: lowercase DNS labels, optionally a leading `*.`; no IP address, no port. */
export const HOSTNAME_PATTERN = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `value` is a hostname Gateway API accepts (and so one the proxy can match). */
export function isValidHostname(value: string): boolean {
  return value.length <= 253 && HOSTNAME_PATTERN.test(value) && !/^[0-9.]+$/.test(value);
}
