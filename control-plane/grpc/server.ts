import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../shared/proto/load.ts';
import { addReflection } from './reflection.ts';
import { hostPort } from '../../shared/net/address.ts';

/** One gRPC port for discovery, admin and reflection (so plain grpcurl works). */
export async function startGrpcServer(options: {
  address: string;
  port: number;
  discovery: { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation };
  admin: grpc.UntypedServiceImplementation;
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
    server.bindAsync(`${hostPort(options.address, options.port)}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
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
