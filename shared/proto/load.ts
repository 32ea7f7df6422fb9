import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

/** Folder holding mcpmux/v1/*.proto. */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

export const PROTO_FILES = ['mcpmux/v1/config.proto', 'mcpmux/v1/discovery.proto', 'mcpmux/v1/admin.proto', 'mcpmux/v1/certificates.proto'];

/**
 * Options shared by both sides, so a message decodes to the same shape on each. The generated types
 * (shared/proto/generated/) follow them: generate-types.ts turns them into the generator's flags, so
 * after a change here run `npm run proto:types` (generated.test.ts fails until then).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject } | undefined;

export function loadProtos(): { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject } {
  if (!cached) {
    const definition = protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
    cached = { definition, grpcObject: grpc.loadPackageDefinition(definition) };
  }
  return cached;
}

export type ServiceName = 'DiscoveryService' | 'AdminService' | 'CertificateService';

export function serviceDefinition(name: ServiceName): grpc.ServiceDefinition {
  const service = loadProtos().definition[`mcpmux.v1.${name}`];
  if (!service || !('StreamSnapshots' in service || 'GetSnapshot' in service || 'IssueCertificate' in service)) {
    throw new Error(`proto service mcpmux.v1.${name} not found in ${PROTO_ROOT}`);
  }
  return service as grpc.ServiceDefinition;
}

/** A client constructor for a service, for the proxy and the CLI. */
export function serviceClient(name: ServiceName): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(serviceDefinition(name), name);
}
