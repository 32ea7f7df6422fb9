import * as grpc from '@grpc/grpc-js';
import type { Snapshot } from '../../shared/config/types.ts';
import type { Logger } from '../../shared/log.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../../shared/proto/messages.ts';
import type { Span } from '@opentelemetry/api';
import type { SnapshotCache } from '../snapshots/cache.ts';
import { endPush, startPush } from '../snapshots/tracing.ts';
import { SnapshotEncoder, discoveryServiceDefinition, keysResponse } from './encode.ts';
import type { ProxyRegistry, ProxyStream } from './proxies.ts';
import { certificateAllowsGroup, GATEWAY_URI_PREFIX } from '../../shared/net/tls.ts';
import { requestStateKeyDelivery } from '../request-state/delivery.ts';
import { sameKeys, type GroupKeys, type RequestStateKeySource } from '../request-state/keys.ts';

/** Hooks for metrics and status; the stream loop itself only keeps protocol books. */
export interface DiscoveryCallbacks {
  onPush?(nodeId: string, group: string, version: string): void;
  onAck?(nodeId: string, group: string, version: string): void;
  onNack?(nodeId: string, group: string, version: string, error: string): void;
}

export type DiscoveryStream = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/**
 * The xDS-style stream loop: one response in flight per stream; a request that echoes the
 * in-flight nonce is an ACK (or a NACK when it carries error_detail); any other nonce is stale and
 * ignored; a NACKed version is never re-sent until the group's version changes.
 *
 * With a key source, the group's requestState keys ride on the stream's first response and on the
 * next response after they change: with the snapshot when one is due, else alone (the version the
 * proxy serves, no snapshot; ACKed like any response, never counted as a push or an ACK of a
 * version). Only over mTLS or loopback (request-state/delivery.ts); elsewhere never, said once per
 * stream. The keys are no part of the snapshot, its version, the proxy registry or any log line.
 */
export class DiscoveryServer {
  readonly #cache: SnapshotCache;
  readonly #proxies: ProxyRegistry;
  readonly #logger: Logger;
  readonly #callbacks: DiscoveryCallbacks;
  readonly #streams = new Set<DiscoveryStream>();
  /** Each version's snapshot is encoded once, whatever the number of streams it goes to. */
  readonly #encoder = new SnapshotEncoder();

  readonly #checkIdentity: boolean;
  readonly #keys: RequestStateKeySource | undefined;

  /**
   * `checkIdentity`: with mTLS, a proxy may subscribe only to gateways its certificate names (shared/net/tls.ts).
   * `requestStateKeys`: where each group's requestState keys come from; none are sent without it.
   */
  constructor(options: {
    cache: SnapshotCache;
    proxies: ProxyRegistry;
    logger: Logger;
    callbacks?: DiscoveryCallbacks;
    checkIdentity?: boolean;
    requestStateKeys?: RequestStateKeySource | undefined;
  }) {
    this.#cache = options.cache;
    this.#proxies = options.proxies;
    this.#logger = options.logger;
    this.#callbacks = options.callbacks ?? {};
    this.#checkIdentity = options.checkIdentity === true;
    this.#keys = options.requestStateKeys;
  }

  /**
   * What grpc.Server#addService takes: the service definition, whose serializer reuses each
   * version's encoded snapshot across streams (see encode.ts), and the handler.
   */
  service(): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
    return {
      definition: discoveryServiceDefinition(),
      implementation: { StreamSnapshots: (stream: DiscoveryStream) => this.#serve(stream) },
    };
  }

  /** Ends every open stream (shutdown); proxies reconnect elsewhere or keep their snapshot. */
  closeAll(): void {
    for (const stream of this.#streams) stream.end();
  }

  #serve(stream: DiscoveryStream): void {
    this.#streams.add(stream);
    // Headers now, so a proxy that is already current (nothing to push) still learns it is connected.
    stream.sendMetadata(new grpc.Metadata());
    let nodeId = '';
    /** This stream's hold on the proxy's record: a newer stream of the same node id takes it over. */
    let proxy: ProxyStream | undefined;
    let group = '';
    let acked = '';
    let nacked = '';
    let nonceCounter = 0;
    /** `keysOnly`: a response that carried requestState keys and no snapshot. `span`: its push's, with tracing on. */
    let inFlight: { nonce: string; version: string; keysOnly: boolean; span?: Span | undefined } | undefined;
    let unsubscribe: (() => void) | undefined;
    let unsubscribeKeys: (() => void) | undefined;
    let closed = false;
    /** The keys this stream was sent last, and whether newer ones wait for the next response. */
    let keysSent: GroupKeys | undefined;
    let keysPending = false;

    const pushIfNeeded = (): void => {
      if (closed || inFlight || !group) return;
      const snapshot: Snapshot | undefined = this.#cache.get(group);
      const due = snapshot !== undefined && snapshot.version !== acked && snapshot.version !== nacked;
      const keys = keysPending ? this.#keys?.keysFor(group) : undefined;
      if (!due && !keys) return;
      const nonce = String(++nonceCounter);
      if (keys) {
        keysPending = false;
        keysSent = keys;
      }
      if (!due) {
        inFlight = { nonce, version: acked, keysOnly: true };
        stream.write(keysResponse(acked, nonce, keys!));
        return;
      }
      inFlight = { nonce, version: snapshot.version, keysOnly: false, span: startPush(nodeId, group, snapshot.version) };
      stream.write(this.#encoder.response(snapshot, nonce, keys));
      if (proxy) this.#proxies.update(proxy, { sentVersion: snapshot.version });
      this.#callbacks.onPush?.(nodeId, group, snapshot.version);
    };

    /** Whether this stream may carry keys, decided once; the reason it may not is logged once. */
    const watchKeys = (): void => {
      const source = this.#keys;
      if (!source) return;
      const delivery = requestStateKeyDelivery(stream.getPeer(), stream.getAuthContext());
      if (!delivery.send) {
        this.#logger.warn(
          { nodeId, group, reason: delivery.reason },
          "requestState keys not sent to this proxy: it keeps a random key of its own, so a 2026-07-28 client's retry must come back to the replica that answered it",
        );
        return;
      }
      const refresh = (): void => {
        const keys = source.keysFor(group);
        if (keys && !sameKeys(keys, keysSent)) keysPending = true;
      };
      refresh();
      unsubscribeKeys = source.subscribe(() => {
        refresh();
        pushIfNeeded();
      });
    };

    const resolveGroup = (requested: string): string | undefined => {
      if (requested) return requested;
      const groups = this.#cache.groups();
      if (groups.length > 1) {
        throw new Error(`several gateways exist (${groups.join(', ')}); start the proxy with --gateway NAMESPACE/NAME`);
      }
      return groups[0];
    };

    const onFirstRequest = (request: DiscoveryRequest): void => {
      nodeId = request.node?.id ?? '';
      if (!nodeId) throw new Error('the first discovery request must carry node.id');
      acked = request.versionInfo;
      const requested = request.group;
      const held = (proxy = this.#proxies.connect(nodeId, requested, request.node?.metadata ?? {}, acked));
      const bind = (): boolean => {
        const resolved = resolveGroup(requested);
        if (!resolved) return false;
        // With mTLS, a proxy serves only the gateways its certificate names.
        if (this.#checkIdentity) {
          const certificate = stream.getAuthContext()?.sslPeerCertificate;
          if (!certificateAllowsGroup(certificate, resolved)) {
            throw new GroupDenied(`the client certificate (${certificate?.subject?.CN ?? 'no CN'}) names no ${GATEWAY_URI_PREFIX}${resolved} URI SAN`);
          }
        }
        group = resolved;
        this.#proxies.update(held, { group });
        watchKeys();
        unsubscribe = this.#cache.subscribe(group, (snapshot) => {
          if (snapshot && snapshot.version !== nacked) nacked = '';
          pushIfNeeded();
        });
        this.#logger.info({ nodeId, group, version: acked || undefined }, 'proxy connected');
        pushIfNeeded();
        return true;
      };
      if (!bind()) {
        // No gateway yet: wait until the first group appears.
        this.#logger.info({ nodeId }, 'proxy connected; waiting for a gateway to exist');
        const stop = this.#cache.subscribeAll(() => {
          try {
            if (bind()) stop();
          } catch (error) {
            stop();
            fail(error);
          }
        });
        unsubscribe = stop;
      }
    };

    const onRequest = (request: DiscoveryRequest): void => {
      if (!nodeId) return onFirstRequest(request);
      // A proxy reports facts that changed (its upstreams' eras) in its node metadata, on any request.
      const metadata = request.node?.metadata;
      if (metadata && Object.keys(metadata).length > 0 && proxy) this.#proxies.update(proxy, { metadata: { ...this.#proxies.get(nodeId)?.metadata, ...metadata } });
      if (!inFlight || request.responseNonce !== inFlight.nonce) {
        this.#logger.debug({ nodeId, nonce: request.responseNonce }, 'stale nonce ignored');
        return;
      }
      const answered = inFlight;
      inFlight = undefined;
      if (answered.keysOnly) {
        // Not a version: nothing to record or count. A proxy that predates the keys NACKs a
        // response without a snapshot; it keeps its own key, and the keys are not sent again.
        if (request.errorDetail) this.#logger.debug({ nodeId, group, error: request.errorDetail.message }, 'proxy did not take the requestState keys');
        pushIfNeeded();
        return;
      }
      endPush(answered.span, request.errorDetail ? 'nack' : 'ack');
      if (request.errorDetail) {
        nacked = answered.version;
        const error = `${request.errorDetail.code}: ${request.errorDetail.message}`;
        if (proxy) this.#proxies.update(proxy, { lastNackVersion: answered.version, lastNackError: error, ackedVersion: request.versionInfo });
        this.#logger.warn({ nodeId, group, version: answered.version, error }, 'proxy NACKed snapshot');
        this.#callbacks.onNack?.(nodeId, group, answered.version, error);
      } else {
        acked = request.versionInfo;
        if (proxy) this.#proxies.update(proxy, { ackedVersion: acked });
        this.#callbacks.onAck?.(nodeId, group, acked);
      }
      pushIfNeeded();
    };

    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      endPush(inFlight?.span, 'closed');
      unsubscribe?.();
      unsubscribeKeys?.();
      this.#streams.delete(stream);
      if (proxy) {
        // Only if this stream still holds the record: a proxy that already reconnected stays connected.
        if (this.#proxies.disconnect(proxy)) this.#logger.info({ nodeId, group }, 'proxy disconnected');
        else this.#logger.info({ nodeId, group }, 'an older stream of the proxy ended; it is connected on a newer one');
      }
    };

    const fail = (error: unknown): void => {
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.warn({ nodeId, error: message }, 'discovery stream rejected');
      cleanup();
      // grpc-js turns an 'error' on a server stream into the call's status and ends it.
      const code = error instanceof GroupDenied ? grpc.status.PERMISSION_DENIED : grpc.status.FAILED_PRECONDITION;
      stream.emit('error', Object.assign(new Error(message), { code, details: message }));
    };

    stream.on('data', (request: DiscoveryRequest) => {
      try {
        onRequest(request);
      } catch (error) {
        fail(error);
      }
    });
    stream.on('end', () => {
      cleanup();
      stream.end();
    });
    stream.on('error', cleanup);
    stream.on('close', cleanup);
    stream.on('cancelled', cleanup);
  }
}

/** A proxy whose certificate does not name the gateway it asked for. */
class GroupDenied extends Error {}
