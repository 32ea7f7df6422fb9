// Encoding a snapshot once per version instead of once per stream.
//
// A DiscoveryResponse is `version_info = 1, nonce = 2, snapshot = 3`. Only the nonce differs between
// the streams a version goes to, and protobuf messages concatenate: the encoding of
// {version_info, nonce} followed by the encoding of {snapshot} is the encoding of all three (each
// field appears once). So the snapshot part is encoded once per version and every stream only
// encodes its few bytes of version and nonce; with 1000 proxies that is the difference between
// 1000 encodes of the snapshot per change and one.
import type * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import { serviceDefinition } from '../../shared/proto/load.ts';
import type { DiscoveryResponse } from '../../shared/proto/messages.ts';

/** Marks a response whose snapshot part is already encoded (field 3, tag included). */
export const ENCODED_SNAPSHOT: unique symbol = Symbol('mcpmux.discovery.encodedSnapshot');

/**
 * A response as the discovery loop writes it: a plain DiscoveryResponse (so proto-loader's own
 * serializer still encodes it correctly) that also carries its snapshot's encoding for ours.
 */
export type OutgoingResponse = DiscoveryResponse & { [ENCODED_SNAPSHOT]?: Buffer };

type Serialize = (value: unknown) => Buffer;

function discoveryMethod(): grpc.MethodDefinition<unknown, unknown> {
  const method = serviceDefinition('DiscoveryService').StreamSnapshots;
  if (!method) throw new Error('proto method mcpmux.v1.DiscoveryService/StreamSnapshots not found');
  return method;
}

/**
 * Encodes each group's current snapshot part of a DiscoveryResponse once. Only the current version
 * of a group is ever pushed, so one encoding per group is kept (not one per version in the cache's
 * history, which for large snapshots would hold megabytes per version).
 */
export class SnapshotEncoder {
  readonly #serialize: Serialize = discoveryMethod().responseSerialize as Serialize;
  readonly #current = new Map<string, { version: string; bytes: Buffer }>();

  /** The encoding of `{snapshot}` as a DiscoveryResponse: field 3 only. */
  encode(snapshot: Snapshot): Buffer {
    const cached = this.#current.get(snapshot.group);
    // The version is a hash of the content: the same version is the same bytes.
    if (cached?.version === snapshot.version) return cached.bytes;
    // No version_info or nonce keys at all: a present-but-empty string would be encoded too, and
    // a later field wins when messages concatenate.
    const bytes = this.#serialize({ snapshot });
    this.#current.set(snapshot.group, { version: snapshot.version, bytes });
    return bytes;
  }

  /** The response for one stream, carrying the shared encoding of its snapshot. */
  response(snapshot: Snapshot, nonce: string): OutgoingResponse {
    return { versionInfo: snapshot.version, nonce, snapshot, [ENCODED_SNAPSHOT]: this.encode(snapshot) };
  }
}

/**
 * The response serializer of StreamSnapshots: `version_info` and `nonce` encoded per stream, then
 * the snapshot bytes shared by every stream of that version. A response without them (written by
 * other code) is encoded whole, as before.
 */
export function discoveryResponseSerializer(): (value: OutgoingResponse) => Buffer {
  const serialize = discoveryMethod().responseSerialize as Serialize;
  return (value) => {
    const snapshot = value[ENCODED_SNAPSHOT];
    return snapshot ? encodeResponse(value.versionInfo, value.nonce, snapshot) : serialize(value);
  };
}

/** Fields 1 (version_info) and 2 (nonce) as length-delimited strings, then `snapshot`, in one buffer. */
function encodeResponse(versionInfo: string, nonce: string, snapshot: Buffer): Buffer {
  const versionLength = Buffer.byteLength(versionInfo);
  const nonceLength = Buffer.byteLength(nonce);
  const fieldSize = (length: number): number => (length === 0 ? 0 : 1 + varintSize(length) + length); // proto3 omits empty strings
  const out = Buffer.allocUnsafe(fieldSize(versionLength) + fieldSize(nonceLength) + snapshot.length);
  let pos = 0;
  const writeString = (tag: number, text: string, length: number): void => {
    if (length === 0) return;
    out[pos++] = tag;
    for (let rest = length; ; rest >>>= 7) {
      if (rest < 0x80) {
        out[pos++] = rest;
        break;
      }
      out[pos++] = (rest & 0x7f) | 0x80;
    }
    pos += out.write(text, pos, length, 'utf8');
  };
  writeString(0x0a, versionInfo, versionLength); // field 1, wire type 2
  writeString(0x12, nonce, nonceLength); // field 2, wire type 2
  snapshot.copy(out, pos);
  return out;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

/**
 * The DiscoveryService definition with the shared-encoding serializer on StreamSnapshots, for
 * grpc.Server#addService (proto-loader's own serializer would re-encode the whole snapshot for
 * every stream).
 */
export function discoveryServiceDefinition(): grpc.ServiceDefinition {
  const base = serviceDefinition('DiscoveryService');
  const method = discoveryMethod();
  return { ...base, StreamSnapshots: { ...method, responseSerialize: discoveryResponseSerializer() as (value: unknown) => Buffer } };
}
