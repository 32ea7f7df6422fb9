// DNS rebinding protection and CORS at the MCP port. A web page the user visits can make the
// browser send requests to a local MCP endpoint (Origin: the page) or, after a DNS rebinding, to a
// host name it controls that resolves to loopback (Host: that name). Both headers are checked
// before anything else; browser clients from allowed origins get the CORS headers they need.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpmuxError } from '../../shared/errors.ts';
import { isLoopbackAddress as isLoopback } from '../../shared/net/address.ts';
import { hostnameMatches, isWildcard } from '../../shared/net/hostnames.ts';

export interface HttpGuardOptions {
  /**
   * Origins allowed to call (exact `scheme://host[:port]`, or `*` for any). Default: localhost
   * origins, `http(s)://localhost|127.0.0.1|[::1]` on any port.
   */
  allowedOrigins?: readonly string[] | undefined;
  /**
   * Host names (without port; `*.example.com` wildcards allowed) clients may address us by.
   * Default: localhost names on a loopback bind, anything on another bind (a cluster's names are
   * configured, not guessed). Given, it holds on every listener; the default only on listeners
   * without hostnames (a listener's own hostnames are configured names too).
   */
  allowedHosts?: readonly string[] | undefined;
  /** The address the server binds: decides the default Host allow-list. */
  bindAddress: string;
}

const LOCALHOST_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const LOCALHOST_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = 'content-type, authorization, x-api-key, mcp-protocol-version, mcp-session-id, last-event-id, traceparent, tracestate';
// WWW-Authenticate too: a browser client reads the resource metadata URL from a 401.
const EXPOSE_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate';

/** Whether a bind address is loopback (127.0.0.0/8, ::1 with or without brackets, localhost). */
export function isLoopbackAddress(address: string): boolean {
  return isLoopback(address);
}

/** `Host: [::1]:8080` → `[::1]`; `Host: Example.com` → `example.com`. */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

export class HttpGuard {
  readonly #origins: ReadonlySet<string> | 'localhost' | 'any';
  readonly #hosts: ReadonlySet<string> | 'any';
  /** `*.example.com` entries of allowedHosts, as Gateway API wildcards (hostnames.ts). */
  readonly #wildcardHosts: readonly string[];
  /** Whether allowedHosts was given (else the Host allow-list is the bind address's default). */
  readonly hostsConfigured: boolean;

  constructor(options: HttpGuardOptions) {
    if (options.allowedOrigins === undefined) this.#origins = 'localhost';
    else if (options.allowedOrigins.includes('*')) this.#origins = 'any';
    else this.#origins = new Set(options.allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
    this.hostsConfigured = options.allowedHosts !== undefined;
    const hosts = (options.allowedHosts ?? []).map(hostName);
    this.#wildcardHosts = hosts.filter(isWildcard);
    if (options.allowedHosts !== undefined) {
      this.#hosts = options.allowedHosts.includes('*') ? 'any' : new Set(hosts.filter((h) => !isWildcard(h)));
    } else {
      this.#hosts = isLoopbackAddress(options.bindAddress) ? new Set(LOCALHOST_NAMES) : 'any';
    }
  }

  originAllowed(origin: string): boolean {
    if (this.#origins === 'any') return true;
    if (this.#origins === 'localhost') return LOCALHOST_ORIGIN.test(origin.toLowerCase());
    return this.#origins.has(origin.toLowerCase());
  }

  hostAllowed(host: string | undefined): boolean {
    if (this.#hosts === 'any') return true;
    if (host === undefined) return false;
    const name = hostName(host);
    return this.#hosts.has(name) || this.#wildcardHosts.some((pattern) => hostnameMatches(pattern, name));
  }

  /**
   * Refuses a request from a disallowed Host or Origin (McpmuxError, 403); for an allowed browser
   * origin, sets the CORS headers every answer needs. Returns the origin, if any. `checkHost`
   * false: the Host was matched already (a listener with hostnames took it), only the Origin is
   * checked.
   */
  check(req: IncomingMessage, res: ServerResponse, checkHost = true): string | undefined {
    if (checkHost && !this.hostAllowed(req.headers.host)) {
      throw new McpmuxError('MCPMUX_FORBIDDEN_HOST', `Forbidden: Host ${JSON.stringify(req.headers.host ?? '')} is not allowed`);
    }
    const origin = req.headers.origin;
    if (origin === undefined) return undefined;
    if (!this.originAllowed(origin)) throw new McpmuxError('MCPMUX_FORBIDDEN_ORIGIN', `Forbidden: Origin ${JSON.stringify(origin)} is not allowed`);
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
    res.setHeader('vary', 'Origin');
    return origin;
  }

  /** Answers an OPTIONS request (a CORS preflight when it carries an Origin; check() ran first). */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const headers: Record<string, string> = { allow: ALLOW_METHODS, 'content-length': '0' };
    if (req.headers.origin !== undefined) {
      headers['access-control-allow-methods'] = ALLOW_METHODS;
      headers['access-control-allow-headers'] = ALLOW_HEADERS;
      headers['access-control-max-age'] = '86400';
    }
    res.writeHead(204, headers);
    res.end();
  }
}
