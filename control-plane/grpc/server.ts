import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../shared/proto/load.ts';
import { addReflection } from './reflection.ts';
import { hostPort } from '../../shared/net/address.ts';
import { ADMIN_URI, certificateHasUri, type TlsMaterial } from '../../shared/net/tls.ts';
import { liveServerCredentials, type LiveCertificates } from '../../shared/net/live-certificates.ts';

/** One gRPC port for discovery, admin and reflection (so plain grpcurl works). */
export async function startGrpcServer(options: {
  address: string;
  port: number;
  discovery: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation };
  admin: grpc.UntypedServiceImplementation;
  /** mTLS from files: the server's certificate and the CA client certificates must chain to (all required). */
  tls?: TlsMaterial;
  /** mTLS from the control plane's own CA (pki/): material that changes live; client certificates optional at the handshake. */
  live?: LiveCertificates;
  /** With `live`: the certificate service proxies get their certificates from. */
  certificates?: grpc.UntypedServiceImplementation;
}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    // Proxies keep one long-lived stream; keepalives detect a half-dead peer.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(options.discovery.definition, options.discovery.implementation);
  const secure = options.live !== undefined || (options.tls?.cert !== undefined && options.tls.key !== undefined);
  server.addService(serviceDefinition('AdminService'), secure ? adminOnly(options.admin) : options.admin);
  if (options.certificates) server.addService(serviceDefinition('CertificateService'), options.certificates);
  addReflection(server);
  const port = await new Promise<number>((resolve, reject) => {
    const credentials = options.live
      ? liveServerCredentials(options.live)
      : options.tls?.cert && options.tls.key
        ? grpc.ServerCredentials.createSsl(options.tls.ca, [{ private_key: options.tls.key, cert_chain: options.tls.cert }], true)
        : grpc.ServerCredentials.createInsecure();
    server.bindAsync(`${hostPort(options.address, options.port)}`, credentials, (error, bound) =>
      error ? reject(new Error(`cannot listen for gRPC on ${options.address}:${options.port}: ${error.message}`)) : resolve(bound),
    );
  });
  return { server, port };
}

export function stopGrpcServer(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Over mTLS the admin API answers only a verified client certificate with the URI SAN mcpmux:admin
 * (`mcpmux admin-cert` issues one): a proxy's certificate reads snapshots of its own Gateway over
 * discovery, not everyone's history.
 */
function adminOnly(implementation: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(implementation)) {
    guarded[method] = ((call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
      const certificate = call.getAuthContext()?.sslPeerCertificate;
      if (certificateHasUri(certificate, ADMIN_URI)) return (handler as (c: typeof call, cb?: grpc.sendUnaryData<unknown>) => void)(call, callback);
      const details = certificate
        ? `the client certificate (${certificate.subject?.CN ?? 'no CN'}) has no URI SAN ${ADMIN_URI}: the admin API needs an admin certificate (mcpmux admin-cert)`
        : `the admin API needs a client certificate with the URI SAN ${ADMIN_URI} (mcpmux admin-cert)`;
      const error = { code: certificate ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED, details };
      if (callback) callback(error);
      else (call as grpc.ServerWritableStream<unknown, unknown>).emit('error', Object.assign(new Error(details), error));
    }) as grpc.UntypedHandleCall;
  }
  return guarded;
}
