import { createServer, type Server } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import { hostPort } from '../net/address.ts';

export interface HealthServerOptions {
  address: string;
  port: number;
  /** Live: the process is up and its event loop turns. */
  live?: () => boolean;
  /** Ready: it can do its job (a proxy has a snapshot; a control plane has synced and built). */
  ready: () => { ready: boolean; reason?: string };
  /** Prometheus text, or OpenMetrics (the proxy's, with tracing on: exemplars need it). */
  metrics: Registry<RegistryContentType>;
}

/** /healthz, /readyz and /metrics on a port of their own, apart from MCP traffic. */
export async function startHealthServer(options: HealthServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return (options.live?.() ?? true) ? send(200, 'ok\n') : send(503, 'not live\n');
      case '/readyz': {
        const { ready, reason } = options.ready();
        return ready ? send(200, 'ready\n') : send(503, `not ready: ${reason ?? 'starting'}\n`);
      }
      case '/metrics':
        options.metrics.metrics().then(
          (text) => send(200, text, options.metrics.contentType),
          (error: unknown) => send(500, `metrics failed: ${String(error)}\n`),
        );
        return;
      default:
        return send(404, 'not found: try /healthz, /readyz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot listen on ${hostPort(options.address, options.port)}: ${error.message}`)));
    server.listen(options.port, options.address, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
