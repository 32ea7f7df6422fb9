// What a ProxyServer is made with (proxy.ts builds these from flags and the snapshot's settings),
// and the defaults of every limit and timeout a production gateway needs set.
import type { Implementation } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../shared/log.ts';
import { MCPMUX_VERSION } from '../shared/version.ts';
import type { EventStore } from './downstream/event-store.ts';
import type { Fleet } from './fleet/fleet.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { RequestStateKeys } from './modern/request-state.ts';
import type { SessionRouter } from './workers/session-routing.ts';

export interface ProxyServerOptions {
  /** Address to bind, e.g. 127.0.0.1 (loopback outside a cluster) or 0.0.0.0. */
  address: string;
  /**
   * Port to bind when `listenerPorts` is not given: the Gateway's lowest listener port is served
   * there. 0 picks a free one (read it back from `port` after start()).
   */
  port: number;
  /**
   * Gateway listener port → port to bind, one bound port per entry (0 picks a free one: read it
   * back from portOf()). Listeners on ports not mapped are not served by this proxy (said in the
   * log when a table is applied).
   */
  listenerPorts?: ReadonlyMap<number, number>;
  logger: Logger;
  /** Per upstream request, when the target sets none. Default 60 s. */
  requestTimeoutMs?: number;
  /** Per upstream initialize handshake, when the target sets none. Default 10 s. */
  initializeTimeoutMs?: number;
  /** A downstream session unused this long is closed with its upstream sessions. Default 30 min. */
  sessionIdleTtlMs?: number;
  /** After a target's handshake failed, a session waits this long before trying it again. Default 5 s. */
  targetRetryMs?: number;
  /** Largest accepted request body. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Deepest JSON nesting accepted in a client message. Default 64. */
  maxJsonDepth?: number;
  /** Requests one session may have in flight at once. Default 64. */
  maxInFlightPerSession?: number;
  /** Sessions one authenticated principal may hold (0: no limit). Default 100. */
  maxSessionsPerPrincipal?: number;
  /** Sessions this replica holds at once, all callers together (0: no limit). Default 10,000. */
  maxSessions?: number;
  /** Sessions anonymous callers from one client address (an IPv6 /64) may hold (0: no limit). Default 100. */
  maxAnonymousSessionsPerAddress?: number;
  /** A session not initialized this long after it was opened (legacy SSE: its GET) is closed. Default 30 s. */
  sessionInitializeTimeoutMs?: number;
  /** A client that leaves this much unread on one stream is cut off (it may resume). Default 8 MiB. */
  slowClientBufferBytes?: number;
  /** Told each time a limit refuses something (the proxy counts them in a metric). */
  onLimit?: (limit: string) => void;
  /**
   * Idle keep-alive connections to upstreams are closed after this long, unless the upstream's
   * Keep-Alive header says sooner. Default 4 s: under the 5 s Node servers close idle sockets at,
   * for the many that send no hint (the MCP SDK sets its own Connection header, so Node adds no
   * Keep-Alive: timeout). Reusing a socket the server is closing resets a POST nobody may retry.
   */
  upstreamKeepAliveMs?: number;
  /** What clients see as our serverInfo (a backend may set its own). Default {name: 'mcpmux', version: <package version>}. */
  serverInfo?: Implementation;
  /**
   * Origins allowed to call (exact `scheme://host[:port]`, or `*`); a request with another Origin
   * gets 403. Default: localhost origins (`http(s)://localhost|127.0.0.1|[::1]`, any port).
   */
  allowedOrigins?: string[];
  /**
   * Host names clients may address us by (port ignored, `*` for any); another Host gets 403.
   * Default: localhost names on a loopback bind, any on another bind.
   */
  allowedHosts?: string[];
  /** Where resumable SSE events are kept for Last-Event-ID. Default: in memory, 256 events / 512 KiB per session. */
  eventStore?: EventStore;
  /** Comment lines on idle SSE streams. Default 15 s. */
  sseKeepAliveMs?: number;
  /** A legacy SSE session whose stream dropped waits this long for the client to resume it. Default 30 s. */
  legacyResumeGraceMs?: number;
  /** Share sessions with the other replicas over NATS (proxy/fleet); without it sessions are this replica's alone. */
  fleet?: Fleet;
  /** Where requests and upstream calls are counted (proxy.ts registers them on /metrics). */
  metrics?: ProxyMetrics;
  /** The keys of this proxy's requestState tokens (MRTR). Default: a random key of its own (retries must come back to this replica). */
  requestStateKeys?: RequestStateKeys;
  /** How long a call to a 2025 upstream waits for a 2026-07-28 client's input (its retry). Default 60 s. */
  heldCallMs?: number;
  /** This replica's id, named in held calls' requestState tokens. Default: the fleet's, else a random one. */
  replicaId?: string;
  /**
   * How long a 2025 upstream's list is served from the list cache when the upstream does not
   * declare listChanged for it. Default 0: such lists are always asked (those with listChanged are
   * cached until their list_changed; 2026-07-28 ones for their own ttlMs).
   */
  listCacheTtlMs?: number;
  /** A worker of `mcpmux proxy --workers N` without NATS: requests on another worker's session are passed to it. */
  sessionRouter?: SessionRouter;
}

export const PROXY_DEFAULTS = {
  requestTimeoutMs: 60_000,
  initializeTimeoutMs: 10_000,
  sessionIdleTtlMs: 30 * 60_000,
  targetRetryMs: 5_000,
  maxBodyBytes: 4 * 1024 * 1024,
  maxJsonDepth: 64,
  maxSessionsPerPrincipal: 100,
  maxSessions: 10_000,
  maxAnonymousSessionsPerAddress: 100,
  sessionInitializeTimeoutMs: 30_000,
  maxInFlightPerSession: 64,
  slowClientBufferBytes: 8 * 1024 * 1024,
  upstreamKeepAliveMs: 4_000,
  sseKeepAliveMs: 15_000,
  legacyResumeGraceMs: 30_000,
};

export type ResolvedProxyOptions = ProxyServerOptions & typeof PROXY_DEFAULTS & { serverInfo: Implementation };

/** Options with every default filled in (an option given as undefined keeps its default). */
export function resolveProxyOptions(options: ProxyServerOptions): ResolvedProxyOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...PROXY_DEFAULTS, serverInfo: { name: 'mcpmux', version: MCPMUX_VERSION }, ...defined } as ResolvedProxyOptions;
}
