// One bound port of the proxy, serving one Gateway listener port: plain HTTP or HTTPS as the current
// routing table says that port speaks, decided per connection, so a snapshot that changes a port's
// protocol or certificates needs no rebind and no restart. A loopback bind serves both loopback
// families (127.0.0.1 and ::1) on the one port.
//
// The sockets are accepted by net servers of our own and handed to an HTTP server or an HTTPS
// server (which terminates TLS, choosing the certificate by SNI among the listeners of the port,
// hosts.ts) that never listen themselves: one port, two protocols. Node sets up its connection
// tracking (headers and request timeouts, closeIdleConnections, closeAllConnections) when a server
// emits 'listening', so both are told they listen once they are made.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from '../../shared/log.ts';
import { selectListener, type ListenerPort } from '../routing/hosts.ts';
import type { ListenerCertificates } from '../routing/tls-contexts.ts';

export interface PortBindingOptions {
  /** Address to bind (a loopback one serves both families). */
  address: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** The Gateway port served here; undefined: whichever is the lowest in the table. */
  gatewayPort: number | undefined;
  /** The listeners of the Gateway port served here, as the current table has them (undefined: none, or no table yet). */
  current: () => ListenerPort | undefined;
  onRequest: (req: IncomingMessage, res: ServerResponse, binding: PortBinding) => void;
  logger: Logger;
}

/** What a bind to `address` listens on: a loopback bind, both loopback families (the given one first). */
export function boundAddresses(address: string): string[] {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare === '127.0.0.1') return ['127.0.0.1', '::1'];
  if (bare === '::1') return ['::1', '127.0.0.1'];
  return [bare];
}

function listen(server: NetServer, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const KEEP_ALIVE_MS = 65_000;

export class PortBinding {
  readonly gatewayPort: number | undefined;
  readonly #options: PortBindingOptions;
  readonly #http: HttpServer;
  readonly #https: HttpsServer;
  readonly #listening: NetServer[] = [];
  /**
   * Every socket accepted and not closed yet. The servers track a connection once it is theirs (an
   * HTTPS one after its handshake): one still in its handshake is closed from here.
   */
  readonly #sockets = new Set<Socket>();
  #port: number | undefined;
  /** The certificates of the listener that answers handshakes without SNI (the port's listener without hostnames). */
  #fallback: ListenerCertificates | undefined;

  constructor(options: PortBindingOptions) {
    this.#options = options;
    this.gatewayPort = options.gatewayPort;
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => options.onRequest(req, res, this);
    this.#http = createHttpServer({ keepAliveTimeout: KEEP_ALIVE_MS }, onRequest);
    this.#https = createHttpsServer({ SNICallback: (servername, done) => done(null, this.#contextFor(servername)) }, onRequest);
    this.#https.keepAliveTimeout = KEEP_ALIVE_MS;
    // A handshake refused (no certificate for the name asked, or not TLS at all) is the client's business.
    this.#https.on('tlsClientError', (error, socket) => {
      options.logger.debug({ port: this.#port, err: error.message }, 'TLS handshake refused');
      socket.destroy();
    });
    for (const server of [this.#http, this.#https]) server.emit('listening');
  }

  /** The certificate of the listener an SNI names; undefined refuses the handshake (no listener takes that name, or it has no certificate). */
  #contextFor(servername: string): SecureContext | undefined {
    const port = this.#options.current();
    if (port?.protocol !== 'HTTPS') return undefined;
    return selectListener(port, servername.toLowerCase())?.tls?.context;
  }

  /** Binds the port (both loopback families on a loopback bind; without IPv6 on the machine, IPv4 alone, said in the log). */
  async start(): Promise<void> {
    const [primary, ...others] = boundAddresses(this.#options.address);
    // A free port picked for the first family may be taken in the other: then another one is picked.
    for (let attempt = 1; ; attempt++) {
      const first = this.#netServer();
      await listen(first, this.#options.port, primary!);
      this.#listening.push(first);
      const port = (first.address() as AddressInfo).port;
      try {
        for (const address of others) {
          const extra = await this.#listenAlso(address, port);
          if (extra) this.#listening.push(extra);
        }
        this.#port = port;
        return;
      } catch (error) {
        await this.stopListening();
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && this.#options.port === 0 && attempt < 5) continue;
        throw error;
      }
    }
  }

  #netServer(): NetServer {
    // What http.createServer sets on its own sockets (Nagle off).
    const server = new NetServer({ noDelay: true }, (socket) => this.#connection(socket));
    server.on('error', (error) => this.#options.logger.warn({ port: this.#port, err: error.message }, 'MCP listener error'));
    return server;
  }

  /** A connection goes to the HTTPS server when the port's listeners are HTTPS now, else to the HTTP server. */
  #connection(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    (this.#options.current()?.protocol === 'HTTPS' ? this.#https : this.#http).emit('connection', socket);
  }

  async #listenAlso(address: string, port: number): Promise<NetServer | undefined> {
    const extra = this.#netServer();
    try {
      await listen(extra, port, address);
      return extra;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' || code === 'EPROTONOSUPPORT') {
        this.#options.logger.warn({ address, port, code }, `${address} is not available on this machine: MCP is served on ${this.#options.address} only`);
        return undefined;
      }
      if (code === 'EADDRINUSE') (error as Error).message = `port ${port} is free on ${this.#options.address} but taken on ${address} (a loopback bind serves both): ${(error as Error).message}`;
      throw error;
    }
  }

  /**
   * A new table is served: handshakes without SNI get the certificate of the port's listener
   * without hostnames, if it has one (a rotated certificate from the next handshake on).
   */
  applied(): void {
    const port = this.#options.current();
    const fallback = port?.protocol === 'HTTPS' ? selectListener(port, undefined)?.tls : undefined;
    if (fallback === this.#fallback) return;
    this.#fallback = fallback;
    this.#https.setSecureContext(fallback ? { cert: [...fallback.certs], key: [...fallback.keys] } : {});
  }

  /** The bound port (after start()). */
  get port(): number {
    if (this.#port === undefined) throw new Error('PortBinding.port read before start()');
    return this.#port;
  }

  /** The addresses it listens on (after start()). */
  get addresses(): string[] {
    return this.#listening.flatMap((server) => {
      const bound = server.address();
      return bound && typeof bound === 'object' ? [bound.address] : [];
    });
  }

  /** Stops accepting connections (open ones stay). */
  async stopListening(): Promise<void> {
    const servers = this.#listening.splice(0).filter((server) => server.listening);
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  closeIdleConnections(): void {
    this.#http.closeIdleConnections();
    this.#https.closeIdleConnections();
  }

  /** Closes every connection (handshakes in progress too) and stops the servers' connection tracking. */
  closeAllConnections(): void {
    for (const server of [this.#http, this.#https]) {
      server.closeAllConnections();
      server.close();
    }
    for (const socket of this.#sockets) socket.destroy();
  }
}
