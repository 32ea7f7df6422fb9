import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import descriptorModule from 'protobufjs/ext/descriptor/index.js';
import { PROTO_FILES, PROTO_ROOT } from '../../shared/proto/load.ts';

// protobufjs merges every package into one synthetic file ("mcpmux_v1.proto", "google_protobuf.proto")
// and leaves each file's `dependency` list empty, so grpcurl cannot resolve the well-known types
// that admin.proto imports. We fill in the dependencies from the type references before handing
// the descriptors to @grpc/reflection. Field names keep their proto (snake_case) spelling here.

interface FieldDescriptor { name?: string; typeName?: string; jsonName?: string }
interface MessageDescriptor {
  name?: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean };
}
interface MethodDescriptor { inputType?: string; outputType?: string }
interface FileDescriptor {
  name?: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageDescriptor[];
  service?: { method?: MethodDescriptor[] }[];
}
interface FileDescriptorCodec {
  decode(bytes: Uint8Array): FileDescriptor;
  encode(file: FileDescriptor): { finish(): Uint8Array };
}

const FileDescriptorProto = (descriptorModule as unknown as { FileDescriptorProto: FileDescriptorCodec }).FileDescriptorProto;

function referencedTypes(file: FileDescriptor): string[] {
  const names: string[] = [];
  const visit = (message: MessageDescriptor): void => {
    for (const field of message.field ?? []) if (field.typeName) names.push(field.typeName);
    for (const nested of message.nestedType ?? []) visit(nested);
  };
  for (const message of file.messageType ?? []) visit(message);
  for (const service of file.service ?? []) {
    for (const method of service.method ?? []) names.push(method.inputType ?? '', method.outputType ?? '');
  }
  return names.filter(Boolean);
}

/** protoc names a map field's entry type "<CamelField>Entry"; protobufjs uses "<CamelField>", which Go's protoreflect (grpcurl) rejects. */
function renameMapEntries(message: MessageDescriptor): void {
  // protoc also records each field's JSON name; without it grpcurl prints snake_case.
  for (const field of message.field ?? []) {
    if (field.name && !field.jsonName) field.jsonName = field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  }
  for (const nested of message.nestedType ?? []) {
    renameMapEntries(nested);
    if (!nested.options?.mapEntry || !nested.name || nested.name.endsWith('Entry')) continue;
    const oldName = nested.name;
    nested.name = `${oldName}Entry`;
    for (const field of message.field ?? []) if (field.typeName === oldName) field.typeName = nested.name;
  }
}

/** The package definition with each synthetic file declaring the files it references. */
export function reflectionDefinition(): protoLoader.PackageDefinition {
  const definition = protoLoader.loadSync(PROTO_FILES, { keepCase: true, includeDirs: [PROTO_ROOT] });
  const files = new Map<string, FileDescriptor>();
  for (const entry of Object.values(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    for (const bytes of protos ?? []) {
      const file = FileDescriptorProto.decode(bytes);
      if (file.name && !files.has(file.name)) files.set(file.name, file);
    }
  }
  const fileOfPackage = new Map([...files.values()].map((f) => [f.package ?? '', f.name ?? '']));
  const patched: Buffer[] = [];
  for (const file of files.values()) {
    const deps = new Set(file.dependency ?? []);
    for (const type of referencedTypes(file)) {
      // protobufjs writes names without the leading dot ("google.protobuf.Timestamp").
      const qualified = type.startsWith('.') ? type.slice(1) : type;
      const pkg = [...fileOfPackage.keys()].find((p) => p && qualified.startsWith(`${p}.`));
      const dep = pkg === undefined ? undefined : fileOfPackage.get(pkg);
      if (dep && dep !== file.name) deps.add(dep);
    }
    file.dependency = [...deps].sort();
    for (const message of file.messageType ?? []) renameMapEntries(message);
    patched.push(Buffer.from(FileDescriptorProto.encode(file).finish()));
  }
  for (const entry of Object.values(definition)) {
    if ('fileDescriptorProtos' in entry) (entry as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos = patched;
  }
  return definition;
}

/** Adds grpc.reflection.v1 and v1alpha to a server, so plain `grpcurl list/describe` works. */
export function addReflection(server: grpc.Server): void {
  new ReflectionService(reflectionDefinition()).addToServer(server);
}
