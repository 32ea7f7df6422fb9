// Whether a discovery stream may carry requestState keys: only when nobody between the control
// plane and the proxy can read them. That is a stream over mTLS (the proxy presented a client
// certificate the server verified against its CA) or one whose peer is on this machine's
// loopback. A plaintext stream from anywhere else gets none: its proxy keeps a random key of its
// own, and a 2026-07-28 client's retry must come back to the replica that answered it.
import { isIP } from 'node:net';
import { isLoopbackAddress } from '../../shared/net/address.ts';

/** What grpc-js says of a server call's transport (ServerDuplexStream#getAuthContext). */
export interface PeerAuth {
  transportSecurityType?: string | undefined;
  sslPeerCertificate?: unknown;
}

export type KeyDelivery = { send: true; via: 'mtls' | 'loopback' } | { send: false; reason: string };

/**
 * The decision for one stream, from its peer (ServerDuplexStream#getPeer: "address:port") and its
 * auth context (grpc-js reports a peer certificate only when the TLS handshake verified it).
 */
export function requestStateKeyDelivery(peer: string, auth: PeerAuth | null | undefined): KeyDelivery {
  if (auth?.transportSecurityType === 'ssl' && auth.sslPeerCertificate != null) return { send: true, via: 'mtls' };
  const address = peerAddress(peer);
  if (address !== undefined && isLoopbackAddress(address)) return { send: true, via: 'loopback' };
  return {
    send: false,
    reason: auth?.transportSecurityType === 'ssl'
      ? `the stream from ${peer} is TLS without a verified client certificate, and not on loopback`
      : `the stream from ${peer} is plaintext and not on loopback (use mTLS: --tls-ca, --tls-cert, --tls-key)`,
  };
}

/** The IP address of a gRPC peer string ("1.2.3.4:5", "::1:5", "[::1]:5", or a bare address); undefined when it names none. */
export function peerAddress(peer: string): string | undefined {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(peer);
  if (bracketed) return isIP(bracketed[1]!) ? bracketed[1] : undefined;
  // grpc-js appends ":port" for every TCP peer, so the text before the last colon is tried first
  // ("::1:5000" is also a valid IPv6 literal, but not what grpc-js means by it).
  const withPort = /^(.*):\d+$/.exec(peer);
  if (withPort && isIP(withPort[1]!)) return withPort[1];
  return isIP(peer) ? peer : undefined;
}
