// How a replica reaches NATS: `--nats` URLs may carry credentials (`nats://user:password@host` or
// `nats://token@host`, as NATS tools accept them), a `.creds` file (NATS JWT + NKey) and a CA for
// TLS (`tls://host` or a server that requires it). The session records hold upstream session ids:
// anyone who can read the buckets can use those sessions, so a production NATS needs both.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from 'nats';
import { McpmuxError, errorMessage } from '../errors.ts';

export interface NatsAccess {
  /** nats://[user:password@|token@]host:port, comma-separated for several. */
  servers: string;
  /** A NATS credentials file (JWT and NKey seed). */
  credsFile?: string | undefined;
  /** PEM CA the NATS server's certificate chains to (turns TLS on). */
  caFile?: string | undefined;
}

/** Connection options for nats.js, with credentials lifted out of the URLs (it does not read them there). */
export function natsConnectionOptions(access: NatsAccess, name: string): ConnectionOptions {
  const servers: string[] = [];
  const options: ConnectionOptions = { name, maxReconnectAttempts: -1, reconnectTimeWait: 250 };
  for (const raw of access.servers.split(',').map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(raw.includes('://') ? raw : `nats://${raw}`);
    } catch {
      throw new McpmuxError('MCPMUX_USAGE', `--nats: ${JSON.stringify(raw)} is not a NATS URL (nats://host:4222)`);
    }
    if (url.username !== '' && url.password !== '') {
      options.user = decodeURIComponent(url.username);
      options.pass = decodeURIComponent(url.password);
    } else if (url.username !== '') {
      options.token = decodeURIComponent(url.username);
    }
    servers.push(`${url.protocol}//${url.host}`);
    if (url.protocol === 'tls:') options.tls = { ...options.tls };
  }
  if (servers.length === 0) throw new McpmuxError('MCPMUX_USAGE', '--nats: no server given');
  options.servers = servers;
  if (access.credsFile) {
    try {
      options.authenticator = credsAuthenticator(readFileSync(access.credsFile));
    } catch (error) {
      throw new McpmuxError('MCPMUX_USAGE', `--nats-creds ${access.credsFile}: ${errorMessage(error)}`);
    }
  }
  if (access.caFile) options.tls = { ...options.tls, caFile: access.caFile };
  return options;
}
