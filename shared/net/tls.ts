// mTLS between proxies and the control plane (optional; plaintext stays the local default): the
// files both sides load, and how a proxy's certificate says which gateway it serves.
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { McpmuxError } from '../errors.ts';

export interface TlsFiles {
  /** PEM CA bundle: the control plane checks client certificates with it; a proxy, the server's. */
  ca: string;
  cert: string;
  key: string;
}

export interface TlsMaterial {
  ca: Buffer;
  /** A server always has one; a client without one is refused by a control plane that asks for it. */
  cert?: Buffer;
  key?: Buffer;
}

/** The three files read, or one usage error naming the flag that is missing or unreadable. */
export function loadTls(files: Partial<TlsFiles>, flags: { ca: string; cert: string; key: string }): TlsMaterial | undefined {
  const given = [files.ca, files.cert, files.key].filter((f) => f !== undefined && f !== '');
  if (given.length === 0) return undefined;
  const read = (path: string | undefined, flag: string): Buffer => {
    if (!path) throw new McpmuxError('MCPMUX_USAGE', `mTLS needs ${flags.ca}, ${flags.cert} and ${flags.key} together; ${flag} is missing`);
    try {
      return readFileSync(path);
    } catch (error) {
      throw new McpmuxError('MCPMUX_USAGE', `cannot read ${flag} ${path}: ${(error as Error).message}`);
    }
  };
  return { ca: read(files.ca, flags.ca), cert: read(files.cert, flags.cert), key: read(files.key, flags.key) };
}

/** The URI SAN of an admin client certificate: the admin API answers it; discovery does not. */
export const ADMIN_URI = 'mcpmux:admin';

/** Whether a verified peer certificate carries this URI SAN. */
export function certificateHasUri(certificate: PeerCertificate | undefined, uri: string): boolean {
  return (certificate?.subjectaltname ?? '').split(/,\s*/).includes(`URI:${uri}`);
}

/** The URI SAN prefix naming the gateways a proxy certificate may serve. */
export const GATEWAY_URI_PREFIX = 'mcpmux:gateway:';

/**
 * Whether a proxy's certificate lets it serve `group` ("namespace/name"): one of its URI SANs is
 * mcpmux:gateway:<namespace>/<name>, or mcpmux:gateway:* for any.
 */
export function certificateAllowsGroup(certificate: PeerCertificate | undefined, group: string): boolean {
  return certificateHasUri(certificate, `${GATEWAY_URI_PREFIX}*`) || certificateHasUri(certificate, `${GATEWAY_URI_PREFIX}${group}`);
}
