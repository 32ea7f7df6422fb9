// Builds the URL of one upstream endpoint (`scheme://address:port/path`) and says why it cannot be
// built. Every endpoint of a snapshot goes through here, ready or not, so a bad address is caught
// when the snapshot is applied (a NACK) rather than when the endpoint becomes ready under traffic.
// A stdio target's one pseudo-endpoint is built here too.
import { createHash } from 'node:crypto';
import { describeStdioCommand } from '../../shared/config/stdio.ts';
import type { StdioCommand } from '../../shared/config/types.ts';
import { canonicalJson } from '../../shared/config/version.ts';

const SCHEMES = new Set(['http', 'https']);
// Host names and IPv4 (letters, digits, '-', '.'), or an IPv6 literal (hex digits, ':', '.', and a
// '%zone'). Anything else (spaces, '/', '@', brackets) would change the URL's meaning.
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
// A path is an absolute URL path: no whitespace, no query or fragment.
const PATH = /^\/[^\s?#]*$/;

export const DEFAULT_TARGET_PATH = '/mcp';
export const DEFAULT_TARGET_SCHEME = 'http';

/** One upstream endpoint, split the way undici wants it (origin for the pool, path per request). */
export interface EndpointUrl {
  /** `scheme://host:port/path`, as logged and compared. */
  url: string;
  /** `scheme://host:port`: the key of the keep-alive pool. */
  origin: string;
  path: string;
  /**
   * Headers every request to this endpoint carries: the target's upstream credential, if it has
   * one (lower-case name → value). Never logged; `url` is what logs show.
   */
  headers?: Readonly<Record<string, string>>;
}

/** The URL of one endpoint, or the reason there is none (a sentence fragment naming the bad part). */
const LOCALHOST_NAME = /\.localhost\.?$/i;

export function endpointUrl(
  scheme: string,
  address: string,
  port: number,
  path: string,
): { ok: EndpointUrl } | { error: string } {
  const s = scheme === '' ? DEFAULT_TARGET_SCHEME : scheme;
  if (!SCHEMES.has(s)) return { error: `scheme "${scheme}" is not http or https` };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `port ${port} is not in 1-65535` };
  const p = path === '' ? DEFAULT_TARGET_PATH : path;
  if (!PATH.test(p)) return { error: `path "${path}" is not an absolute URL path (starts with /, no spaces, no ? or #)` };
  let host: string;
  if (address.includes(':')) {
    if (!IPV6.test(address)) return { error: `address "${address}" is not a host name or IP address` };
    host = `[${address.replace('%', '%25')}]`;
  } else {
    if (!HOSTNAME.test(address)) return { error: `address "${address}" is not a host name or IP address` };
    // RFC 6761 §6.3: names under .localhost are the loopback address, whatever DNS says (curl and
    // browsers do the same). It lets an FQDN EndpointSlice, which may not hold a loopback IP,
    // point a Service at a process on the proxy's own machine.
    host = LOCALHOST_NAME.test(address) ? '127.0.0.1' : address;
  }
  const origin = `${s}://${host}:${port}`;
  // The WHATWG parser is the final word (it is what undici uses): it rejects, e.g., bad IPv6.
  try {
    new URL(origin + p);
  } catch {
    return { error: `address "${address}" does not make a valid URL (${origin}${p})` };
  }
  return { ok: { url: origin + p, origin, path: p } };
}

/**
 * The pseudo-endpoint of a stdio target: `stdio:<command line>#<hash>`, the hash covering command,
 * args, env and cwd. An upstream session is pinned to it like to a pod: when the command (or its
 * environment) changes, the URL changes and sessions move to the new command. Logging it shows the
 * command line and the names of its environment variables, never their values.
 */
export function stdioEndpoint(stdio: StdioCommand): EndpointUrl {
  const hash = createHash('sha256').update(canonicalJson(stdio)).digest('hex').slice(0, 12);
  return { url: `stdio:${describeStdioCommand(stdio)}#${hash}`, origin: 'stdio:', path: '' };
}
