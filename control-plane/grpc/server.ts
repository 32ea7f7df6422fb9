import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../shared/proto/load.ts';
import { addReflection } from './reflection.ts';
import { hostPort } from '../../shared/net/address.ts';
import type { TlsMaterial } from '../../shared/net/tls.ts';

/** One gRPC port for discovery, admin and reflection (so plain grpcurl works). */
export async function startGrpcServer(options: {
  address: string;
  port: number;
  discovery: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation };
  admin: grpc.UntypedServiceImplementation;
  /** mTLS: the server's certificate and the CA client certificates must chain to (all required). */
  tls?: TlsMaterial;
}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    // Proxies keep one long-lived stream; keepalives detect a half-dead peer.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(options.discovery.definition, options.discovery.implementation);
  server.addService(serviceDefinition('AdminService'), options.admin);
  addReflection(server);
  const port = await new Promise<number>((resolve, reject) => {
    const credentials = options.tls?.cert && options.tls.key
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
