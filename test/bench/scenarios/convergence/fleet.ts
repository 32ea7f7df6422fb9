// A fleet of discovery clients for the convergence benchmark: N real gRPC streams, each on its own
// HTTP/2 connection (as N proxies would have), each ACKing every snapshot it receives the way
// proxy/config/client.ts does (echo the nonce with the new version; NACK when the snapshot's
// version does not match version_info). ACK send times are what the benchmark measures.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../../../shared/proto/load.ts';
import type { DiscoveryRequest } from '../../../../shared/proto/messages.ts';

const METHOD = '/mcpmux.v1.DiscoveryService/StreamSnapshots';

/** What a client needs from a response to ACK it. */
interface Received {
  versionInfo: string;
  nonce: string;
  /** The snapshot's own version field; '' when the response carries no snapshot. */
  snapshotVersion: string;
}

/**
 * How clients read responses. `light` reads version_info, nonce and the snapshot's version without
 * building the snapshot object: 1000 real proxies decode in parallel on their own machines, while
 * here they would share one core and the bench would mostly time its own decoding. `full` decodes
 * like the proxy does (proto-loader), for comparison.
 */
export type DecodeMode = 'light' | 'full';

export interface Fleet {
  readonly size: number;
  /** Resolves with the ACK send time (performance.now()) of the last client once every client has ACKed a version other than `previous`. */
  converged(previous: string, timeoutMs: number): Promise<{ version: string; firstAckAt: number; lastAckAt: number }>;
  /** The version every client has ACKed, or '' when they disagree. */
  commonVersion(): string;
  close(): void;
}

interface Member {
  client: grpc.Client;
  stream: grpc.ClientDuplexStream<DiscoveryRequest, Received>;
  acked: string;
  ackedAt: number;
}

/** Opens `size` discovery streams to `address` and resolves once every one has ACKed a first snapshot. */
export async function connectFleet(address: string, size: number, options: { decode?: DecodeMode; idPrefix?: string; timeoutMs?: number } = {}): Promise<Fleet> {
  const definition = serviceDefinition('DiscoveryService').StreamSnapshots!;
  const serialize = definition.requestSerialize as (value: DiscoveryRequest) => Buffer;
  const deserialize = options.decode === 'full' ? fullDecode(definition.responseDeserialize as (bytes: Buffer) => unknown) : lightDecode;
  const members: Member[] = [];
  // Version → how many clients have ACKed it, and when the first and last did.
  const tally = new Map<string, { count: number; first: number; last: number }>();
  let waiter: { previous: string; resolve: (version: string) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;

  const onAck = (member: Member, version: string, at: number): void => {
    member.acked = version;
    member.ackedAt = at;
    const entry = tally.get(version) ?? { count: 0, first: at, last: at };
    entry.count++;
    entry.last = at;
    tally.set(version, entry);
    if (waiter && version !== waiter.previous && entry.count === size) waiter.resolve(version);
  };

  for (let i = 0; i < size; i++) {
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      // One connection per client, as separate proxies have; grpc-js would otherwise share one.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 100,
      // Client-side bookkeeping a proxy pays on its own CPU; here it would be the bench's cost, not
      // the control plane's: no retry buffering (a discovery stream is never retried) and no channelz.
      'grpc.enable_retries': 0,
      'grpc.enable_channelz': 0,
    });
    const stream = client.makeBidiStreamRequest<DiscoveryRequest, Received>(METHOD, serialize, deserialize);
    const member: Member = { client, stream, acked: '', ackedAt: 0 };
    members.push(member);
    const nodeId = `${options.idPrefix ?? 'bench'}-${String(i).padStart(4, '0')}`;
    stream.write({ node: { id: nodeId, metadata: { role: 'convergence-bench' } }, group: '', versionInfo: '', responseNonce: '', errorDetail: null });
    stream.on('data', (response: Received) => {
      if (response.snapshotVersion !== response.versionInfo) {
        const message = `snapshot version ${response.snapshotVersion} does not match version_info ${response.versionInfo}`;
        stream.write({ node: { id: nodeId, metadata: {} }, group: '', versionInfo: member.acked, responseNonce: response.nonce, errorDetail: { code: 'MCPMUX_CONFIG_INVALID', message } });
        failure ??= new Error(`discovery client ${nodeId} NACKed: ${message}`);
        waiter?.reject(failure);
        return;
      }
      stream.write({ node: { id: nodeId, metadata: {} }, group: '', versionInfo: response.versionInfo, responseNonce: response.nonce, errorDetail: null });
      onAck(member, response.versionInfo, performance.now());
    });
    stream.on('error', (error: grpc.ServiceError) => {
      if (error.code === grpc.status.CANCELLED) return;
      failure ??= new Error(`discovery client ${nodeId}: ${error.details || error.message}`);
      waiter?.reject(failure);
    });
  }

  const fleet: Fleet = {
    size,
    converged(previous, timeoutMs) {
      return new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const finish = (): void => {
          clearTimeout(timer);
          waiter = undefined;
        };
        const done = (version: string): void => {
          finish();
          const entry = tally.get(version)!;
          // Only this change's ACKs count from here on.
          tally.clear();
          resolve({ version, firstAckAt: entry.first, lastAckAt: entry.last });
        };
        const timer = setTimeout(() => {
          finish();
          const counts = [...tally].map(([v, e]) => `${v}×${e.count}`).join(', ');
          reject(new Error(`not every client ACKed a new version within ${timeoutMs} ms (ACKs: ${counts || 'none'})`));
        }, timeoutMs);
        waiter = { previous, resolve: done, reject: (error) => (finish(), reject(error)) };
        for (const [version, entry] of tally) if (version !== previous && entry.count === size) return done(version);
      });
    },
    commonVersion() {
      const first = members[0]?.acked ?? '';
      return members.every((m) => m.acked === first) ? first : '';
    },
    close() {
      for (const member of members) {
        member.stream.cancel();
        member.client.close();
      }
    },
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (fleet.commonVersion() === '' || members.some((m) => m.acked === '')) {
    if (failure) {
      fleet.close();
      throw failure;
    }
    if (Date.now() > deadline) {
      fleet.close();
      throw new Error(`only ${members.filter((m) => m.acked).length} of ${size} discovery clients ACKed a first snapshot in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  tally.clear();
  return fleet;
}

function fullDecode(deserialize: (bytes: Buffer) => unknown): (bytes: Buffer) => Received {
  return (bytes) => {
    const response = deserialize(bytes) as { versionInfo: string; nonce: string; snapshot: { version: string } | null };
    return { versionInfo: response.versionInfo, nonce: response.nonce, snapshotVersion: response.snapshot?.version ?? '' };
  };
}

/** Reads fields 1 and 2 of DiscoveryResponse and field 1 (version) of its snapshot (field 3). */
function lightDecode(bytes: Buffer): Received {
  const out: Received = { versionInfo: '', nonce: '', snapshotVersion: '' };
  forEachField(bytes, (field, start, end) => {
    if (field === 1) out.versionInfo = bytes.toString('utf8', start, end);
    else if (field === 2) out.nonce = bytes.toString('utf8', start, end);
    else if (field === 3) {
      const snapshot = bytes.subarray(start, end);
      forEachField(snapshot, (inner, s, e) => {
        if (inner !== 1) return false;
        out.snapshotVersion = snapshot.toString('utf8', s, e);
        return true; // the version is all a client checks; stop reading
      });
    }
  });
  return out;
}

/** Calls `visit` for each length-delimited field of a protobuf message (skipping the others) until it returns true. */
function forEachField(bytes: Buffer, visit: (field: number, start: number, end: number) => boolean | void): void {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[pos++];
      if (byte === undefined) throw new Error('truncated protobuf message');
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = varint();
      if (visit(Math.floor(tag / 8), pos, pos + length)) return;
      pos += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}
