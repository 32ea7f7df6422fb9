// The proxy's data plane: one HTTP server, the routing table it currently serves (swapped
// atomically by apply()), the downstream sessions and the upstream connection pool.
//
// Locally the Gateway's listener port (80 in the tutorial) is served on the proxy's --port: for now
// the routes of ALL listeners of the snapshot are served on this one port. Per-listener ports come
// with the cluster issue.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Implementation } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError, errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { MCPMUX_VERSION } from '../shared/version.ts';
import { sendError } from './downstream/respond.ts';
import { StreamableHttpEndpoint } from './downstream/streamable-http.ts';
import { MuxSession } from './mux/session.ts';
import { matchRoute } from './routing/match.ts';
import type { RoutingTable } from './routing/table.ts';
import { SessionRegistry } from './sessions/registry.ts';
import { UpstreamPool } from './upstream/pool.ts';

export interface ProxyServerOptions {
  /** Address to bind, e.g. 127.0.0.1 (loopback outside a cluster) or 0.0.0.0. */
  address: string;
  /** Port to bind; 0 picks a free one (read it back from `port` after start()). */
  port: number;
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
  /** Idle keep-alive connections to upstreams are closed after this long. Default 30 s. */
  upstreamKeepAliveMs?: number;
  /** What clients see as our serverInfo. Default {name: 'mcpmux', version: <package version>}. */
  serverInfo?: Implementation;
}

const DEFAULTS = {
  requestTimeoutMs: 60_000,
  initializeTimeoutMs: 10_000,
  sessionIdleTtlMs: 30 * 60_000,
  targetRetryMs: 5_000,
  maxBodyBytes: 4 * 1024 * 1024,
  upstreamKeepAliveMs: 30_000,
};

type ResolvedOptions = ProxyServerOptions & typeof DEFAULTS & { serverInfo: Implementation };

export class ProxyServer {
  readonly #options: ResolvedOptions;
  readonly #logger: Logger;
  readonly #server: Server;
  readonly #pool: UpstreamPool;
  readonly #sessions: SessionRegistry;
  readonly #endpoint: StreamableHttpEndpoint;
  #table: RoutingTable | undefined;
  #port: number | undefined;

  constructor(options: ProxyServerOptions) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#options = { ...DEFAULTS, serverInfo: { name: 'mcpmux', version: MCPMUX_VERSION }, ...defined } as ResolvedOptions;
    this.#logger = options.logger;
    this.#pool = new UpstreamPool({ keepAliveTimeoutMs: this.#options.upstreamKeepAliveMs });
    this.#sessions = new SessionRegistry({ logger: this.#logger, idleTtlMs: this.#options.sessionIdleTtlMs });
    this.#endpoint = new StreamableHttpEndpoint({
      sessions: this.#sessions,
      logger: this.#logger,
      maxBodyBytes: this.#options.maxBodyBytes,
      createSession: (id, route) =>
        new MuxSession({
          id,
          routePrefix: route.pathPrefix,
          pool: this.#pool,
          logger: this.#logger,
          serverInfo: this.#options.serverInfo,
          requestTimeoutMs: this.#options.requestTimeoutMs,
          initializeTimeoutMs: this.#options.initializeTimeoutMs,
          targetRetryMs: this.#options.targetRetryMs,
        }),
    });
    this.#server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.#onRequest(req, res));
  }

  /** Binds the port. MCP requests get 503 until the first apply(). */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.address, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#sessions.start();
    this.#logger.debug({ address: this.#options.address, port: this.#port }, 'MCP port bound');
  }

  /** The bound port (after start()). */
  get port(): number {
    if (this.#port === undefined) throw new Error('ProxyServer.port read before start()');
    return this.#port;
  }

  /** The version of the applied table; undefined before the first apply(). */
  get version(): string | undefined {
    return this.#table?.version;
  }

  /**
   * Serves `table` from now on. Requests in flight finish on the table they started with; open
   * sessions keep working, losing the targets that left their backend (their upstream sessions
   * are closed) and meeting new ones on first use. No connection is dropped.
   */
  apply(table: RoutingTable): void {
    this.#table = table;
    for (const session of this.#sessions.values()) {
      session.retain(table.routes.find((r) => r.pathPrefix === session.routePrefix)?.backend);
    }
    this.#logger.info({ version: table.version, routes: table.routes.length }, 'routing table applied');
  }

  /** Stops listening, ends every session (DELETE upstream where there is a session id), closes the pool. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    await this.#sessions.closeAll();
    this.#server.closeAllConnections();
    await closed;
    await this.#pool.close();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Read once: the whole request runs on the table it started with.
    const table = this.#table;
    try {
      if (!table) {
        req.resume();
        sendError(res, new McpmuxError('MCPMUX_NO_SNAPSHOT', 'mcpmux has no configuration yet; retry shortly'), null, { 'retry-after': '1' });
        return;
      }
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const pathname = query === -1 ? url : url.slice(0, query);
      const match = matchRoute(table, pathname);
      if (!match || match.endpoint !== 'mcp') {
        req.resume();
        sendError(res, new McpmuxError('MCPMUX_ROUTE_NOT_FOUND', `No MCP endpoint at ${pathname}`));
        return;
      }
      this.#endpoint.handle(req, res, match.route);
    } catch (error) {
      this.#logger.error({ err: errorMessage(error) }, 'unexpected error routing request');
      sendError(res, new McpmuxError('MCPMUX_INTERNAL', `Internal error: ${errorMessage(error)}`));
    }
  }
}
