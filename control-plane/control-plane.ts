import type * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { startHealthServer } from '../shared/ops/health-server.ts';
import type { TlsMaterial } from '../shared/net/tls.ts';
import { AdminServer } from './admin/server.ts';
import { ProxyRegistry } from './discovery/proxies.ts';
import { DiscoveryServer } from './discovery/server.ts';
import { JsonlEventLog } from './events/jsonl-log.ts';
import { MemoryEventLog, type EventLog } from './events/log.ts';
import { changedIn, missingFrom, replayLog } from './events/replay.ts';
import { startGrpcServer, stopGrpcServer } from './grpc/server.ts';
import type { KubeClient } from './kube/client.ts';
import { LeaderElector } from './kube/leader.ts';
import { Provisioner } from './kube/provisioner.ts';
import type { ProxySettings } from './kube/proxy-settings.ts';
import { StatusWriter } from './kube/status-writer.ts';
import { DEFAULT_REQUEST_STATE_SECRET, RequestStateSecret } from './kube/request-state-secret.ts';
import { randomMasterKey, readMasterKeyFile, RequestStateKeyring, watchMasterKeyFile } from './request-state/keys.ts';
import { SnapshotCache } from './snapshots/cache.ts';
import { Debouncer } from './snapshots/debounce.ts';
import { traceBuild } from './snapshots/tracing.ts';
import { objectId, type Source, type SourceChange } from './sources/source.ts';
import { emptyState, reduceAll, type ClusterState } from './state/reducer.ts';
import { Kinds, MCPMUX_CONTROLLER_NAME } from './translate/kinds.ts';
import { isProblem, type ObjectStatus } from './translate/status.ts';
import { referencedSecrets } from './translate/secret-refs.ts';
import { translate } from './translate/translate.ts';
import { isLoopbackAddress } from '../shared/net/address.ts';
import { CertificateAuthority } from './pki/authority.ts';
import { CONTROL_PLANE_CA, DEFAULT_CA_SECRET } from './pki/ca-secret.ts';
import { certificateServiceHandlers } from './pki/certificate-service.ts';
import { LeaderCreatedSecret } from './kube/leader-created-secret.ts';

export interface ControlPlaneOptions {
  source: Source;
  gatewayClasses: string[];
  address: string;
  grpcPort: number;
  httpPort: number;
  eventLogRetention: number;
  /** A JSONL file the event log is kept in and read back from on start (history survives restarts); in memory when absent. */
  eventLogPath?: string;
  logger: Logger;
  /**
   * Rebuild coalescing (snapshots/debounce.ts): an isolated change rebuilds at once; changes within
   * quietMs of a rebuild wait for quietMs of quiet, at most maxDelayMs. Default 50 ms / 1 s.
   */
  debounce?: { quietMs: number; maxDelayMs: number; leading?: boolean };
  /** With the kubernetes source: leader election, status writing and proxy provisioning. */
  cluster?: ClusterOptions;
  /** mTLS on the gRPC port from files: proxies (and grpcurl) need a client certificate from this CA. */
  tls?: TlsMaterial;
  /**
   * mTLS from the control plane's own CA (needs `cluster`): the CA lives in a Secret the leader
   * creates; proxies get certificates for their pods' ServiceAccount tokens (pki/).
   */
  pki?: PkiOptions;
  /**
   * Serve credential-bearing targets over plaintext discovery on a non-loopback address. Without
   * it such a control plane leaves them out of every snapshot (their backends say why).
   */
  insecureDiscovery?: boolean;
  /**
   * The requestState master key file (--request-state-key-file: current, then optionally previous),
   * watched for rotations. Without it: the cluster's Secret (ClusterOptions.requestStateSecret) with
   * the kubernetes source, else a random key kept in memory.
   */
  requestStateKeyFile?: string | undefined;
}

export interface ClusterOptions {
  client: KubeClient;
  /** This replica's name (pod name): the lease holder identity and the Events' reporting instance. */
  identity: string;
  /** Where the leader Lease lives, and its name. */
  leaseNamespace: string;
  leaseName: string;
  /** Lease timings (default 15 s / 10 s / 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Write Accepted/ResolvedRefs/Programmed conditions (default true). */
  writeStatus?: boolean;
  /** Provision a proxy Deployment and Service per Gateway; off when absent. */
  provision?: ProxySettings;
  /** Watched namespaces (empty: all), where the provisioner looks for what it made. */
  namespaces: readonly string[];
  /**
   * The Secret, in leaseNamespace (the control plane's own), holding the requestState master keys:
   * the leader creates it, every replica reads and watches it. Default mcpmux-request-state.
   */
  requestStateSecret?: string;
}

export interface PkiOptions {
  /** The CA's Secret in the control plane's namespace (ClusterOptions.leaseNamespace). Default mcpmux-ca. */
  secretName?: string;
  /** DNS names and IPs of the gRPC serving certificate: the Service's names, and localhost for port-forwards. */
  names: readonly string[];
  /** Lifetime of proxy certificates (default 1 h); proxies renew at two thirds of it. */
  proxyCertificateTtlMs?: number;
}

export interface RunningControlPlane {
  grpcPort: number;
  httpPort: number;
  cache: SnapshotCache;
  events: EventLog;
  proxies: ProxyRegistry;
  /** With a cluster: whether this replica holds the leader lease. */
  leading(): boolean;
  close(): Promise<void>;
}

/**
 * The control plane's one loop: source → event log → reducer → (debounced) translator → snapshot
 * cache → discovery streams. Configuration flows one way; nothing here touches an MCP message.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const { logger } = options;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const builds = new Counter({ name: 'mcpmux_snapshot_builds_total', help: 'Snapshot rebuilds (translator runs)', registers: [metrics] });
  const pushes = new Counter({ name: 'mcpmux_discovery_pushes_total', help: 'Snapshots sent to proxies', labelNames: ['group'], registers: [metrics] });
  const acks = new Counter({ name: 'mcpmux_discovery_acks_total', help: 'Snapshot ACKs from proxies', labelNames: ['group'], registers: [metrics] });
  const nacks = new Counter({ name: 'mcpmux_discovery_nacks_total', help: 'Snapshot NACKs from proxies', labelNames: ['group'], registers: [metrics] });
  // Every push and ACK counts, N per version: each group's labelled child is looked up once.
  const perGroup = (counter: Counter<'group'>): ((group: string) => Counter.Internal) => {
    const children = new Map<string, Counter.Internal>();
    return (group) => {
      let child = children.get(group);
      if (!child) children.set(group, (child = counter.labels({ group })));
      return child;
    };
  };
  const [pushesOf, acksOf, nacksOf] = [perGroup(pushes), perGroup(acks), perGroup(nacks)];
  const lastSeq = new Gauge({ name: 'mcpmux_event_log_last_seq', help: 'Sequence number of the newest event', registers: [metrics] });
  const convergence = new Histogram({
    name: 'mcpmux_convergence_seconds',
    help: 'From a snapshot version built to the moment every connected proxy of its Gateway ACKed it',
    labelNames: ['group'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });
  /**
   * Per group, the version not yet ACKed by all its connected proxies and when it was built
   * (performance.now()). An ACK asks the registry's per-group counts whether it was the last one:
   * O(1), whatever the fleet's size (never a pass over every proxy per ACK).
   */
  const builtAt = new Map<string, { version: string; started: number }>();
  const converged = (group: string, version: string): void => {
    const pending = builtAt.get(group);
    if (pending?.version !== version || !proxies.converged(group, version)) return;
    builtAt.delete(group);
    convergence.observe({ group }, (performance.now() - pending.started) / 1000);
  };

  const cache = new SnapshotCache();
  const proxies = new ProxyRegistry();
  // stdio targets run commands on the proxies: a folder on this machine may ask for that, a cluster may not.
  const secure = options.tls !== undefined || options.pki !== undefined;
  // Plaintext discovery off loopback can be read by anything on the network between: credentials
  // stay out of snapshots unless the operator said otherwise.
  const withholdCredentials = !secure && !isLoopbackAddress(options.address) && options.insecureDiscovery !== true;
  if (withholdCredentials) {
    logger.warn({ address: options.address }, 'discovery is plaintext on a non-loopback address: targets with upstream credentials are left out of snapshots (use mTLS, the default in a cluster, or --insecure-discovery to send them anyway)');
  } else if (!secure && !isLoopbackAddress(options.address)) {
    logger.warn({ address: options.address }, '--insecure-discovery: upstream credentials go to proxies in plaintext; anyone who can reach the gRPC port can read them');
  }
  const translateOptions = { gatewayClasses: options.gatewayClasses, allowStdio: options.source.name === 'files', withholdCredentials };
  let state: ClusterState = emptyState();
  let events: EventLog;
  /**
   * After a replay, until the source is synced: the objects its initial state has shown. Its
   * batches until then become what changed while the control plane was down; what it never showed
   * was deleted meanwhile.
   */
  let initialSeen: Set<string> | undefined;
  /** The Secrets last handed to the source to watch, as text. */
  let secretRefsKey = '';
  if (options.eventLogPath) {
    const log = JsonlEventLog.open({ path: options.eventLogPath, retention: options.eventLogRetention, logger });
    const started = performance.now();
    const replay = replayLog(log, cache, translateOptions, logger);
    state = replay.state;
    if (log.lastSeq > 0) initialSeen = new Set();
    events = log;
    logger.info({ path: log.path, lastSeq: log.lastSeq, versions: replay.restored, ms: Math.round(performance.now() - started) }, 'event log replayed');
  } else {
    events = new MemoryEventLog({ retention: options.eventLogRetention });
  }
  // The requestState master keys (docs/security.md): never in a snapshot, an event, an admin answer or a log.
  const requestStateKeys = new RequestStateKeyring();
  let stopKeyFile: (() => void) | undefined;
  if (options.requestStateKeyFile) {
    const file = options.requestStateKeyFile;
    requestStateKeys.set(readMasterKeyFile(file));
    stopKeyFile = watchMasterKeyFile(file, (keys) => {
      if (requestStateKeys.set(keys)) logger.info({ file, previous: keys.previous !== undefined }, 'requestState master keys changed (rotation): pushing new keys to proxies');
    }, logger);
    logger.info({ file }, 'requestState master keys from --request-state-key-file');
  } else if (!options.cluster) {
    requestStateKeys.set({ current: randomMasterKey() });
    logger.info('requestState master key: a random one, in memory (proxies of this control plane share its keys until it restarts; --request-state-key-file keeps them)');
  }
  if (options.pki && !options.cluster) throw new Error('the control plane CA (pki) needs the kubernetes source');
  const authority = options.pki ? new CertificateAuthority({ names: options.pki.names, proxyCertificateTtlMs: options.pki.proxyCertificateTtlMs, logger }) : undefined;
  const cluster = options.cluster
    ? startClusterRoles(options.cluster, options.gatewayClasses, logger, options.requestStateKeyFile ? undefined : requestStateKeys, authority ? { authority, secretName: options.pki?.secretName ?? DEFAULT_CA_SECRET } : undefined)
    : undefined;
  let synced = false;
  let built = false;
  let serving = false;

  const rebuild = (): void => traceBuild({ 'mcpmux.event_log.seq': events.lastSeq }, build);
  const build = (): void => {
    const started = performance.now();
    try {
      const { snapshots, statuses } = translate(state, translateOptions);
      // Which event made which version: recorded for versions new to the history (not for a
      // restart rebuilding the version it served last).
      const versions: Record<string, string> = {};
      for (const snapshot of snapshots) if (cache.versions(snapshot.group)[0]?.version !== snapshot.version) versions[snapshot.group] = snapshot.version;
      for (const group of cache.groups()) if (!snapshots.some((s) => s.group === group)) versions[group] = '';
      const changed = cache.setAll(snapshots, events.lastSeq);
      for (const group of changed) {
        const version = cache.get(group)?.version;
        // A version superseded before its proxies caught up is never observed: the newer one is.
        if (version === undefined) builtAt.delete(group);
        else builtAt.set(group, { version, started });
      }
      if (Object.keys(versions).length > 0) events.recordBuild({ seq: events.lastSeq, time: Date.now(), versions });
      builds.inc();
      built = true;
      reportProblems(statuses);
      cluster?.update(statuses, state);
      if (changed.length > 0) {
        logger.info({ changed: changed.map((g) => `${g}@${cache.get(g)?.version ?? 'deleted'}`), ms: Math.round(performance.now() - started) }, 'snapshots rebuilt');
      }
      if (snapshots.length === 0) logger.warn({ gatewayClasses: options.gatewayClasses }, 'no Gateway of a class we serve: proxies will wait');
    } catch (error) {
      // The translator is pure and total; reaching this is a bug. Keep the last good snapshots.
      logger.error({ error: errorMessage(error) }, 'translation failed; keeping the last snapshots');
    }
  };
  // Each problem is logged once when it appears (and once when it clears), not on every rebuild.
  let reported = new Map<string, string>();
  const reportProblems = (statuses: readonly ObjectStatus[]): void => {
    const now = new Map<string, string>();
    const note = (where: string, c: { reason: string; message: string }): void => {
      now.set(where, `${c.reason}: ${c.message}`);
      if (reported.get(where) !== now.get(where)) logger.warn({ object: where, reason: c.reason }, c.message);
    };
    for (const status of statuses) {
      const object = `${status.kind} ${status.namespace ? `${status.namespace}/` : ''}${status.name}`;
      for (const c of status.conditions.filter(isProblem)) note(`${object} ${c.type}`, c);
      // A Gateway's listeners have conditions of their own (a missing certificate on one of them
      // leaves the Gateway Programmed): without a status writer (the files source) the log is where they show.
      for (const listener of status.listeners ?? []) for (const c of listener.conditions.filter(isProblem)) note(`${object} listener ${listener.name} ${c.type}`, c);
    }
    for (const where of reported.keys()) if (!now.has(where)) logger.info({ object: where }, 'problem resolved');
    reported = now;
  };
  const debouncer = new Debouncer(rebuild, options.debounce ?? { quietMs: 50, maxDelayMs: 1000 });

  const discovery = new DiscoveryServer({
    cache,
    proxies,
    logger,
    checkIdentity: secure,
    requestStateKeys,
    callbacks: {
      onPush: (_node, group) => pushesOf(group).inc(),
      onAck: (_node, group, version) => {
        acksOf(group).inc();
        converged(group, version);
      },
      onNack: (node, group, version, error) => {
        nacksOf(group).inc();
        const [namespace = '', name = ''] = group.split('/');
        void cluster?.statusWriter?.recordNack(state.get(Kinds.Gateway, namespace, name), node, version, error);
      },
    },
  });
  const admin = new AdminServer({ cache, events, proxies });

  const health = await startHealthServer({
    address: options.address,
    port: options.httpPort,
    ready: () => {
      if (!synced) return { ready: false, reason: `source ${options.source.name} not synced` };
      if (!built) return { ready: false, reason: 'building first snapshots' };
      const election = cluster?.elector.problem;
      if (election) return { ready: false, reason: election };
      if (authority && authority.bundle === undefined) return { ready: false, reason: `waiting for the control plane CA (Secret ${options.cluster?.leaseNamespace}/${options.pki?.secretName ?? DEFAULT_CA_SECRET}, made by the leader)` };
      return serving ? { ready: true } : { ready: false, reason: 'gRPC server starting' };
    },
    metrics,
  });
  let grpcServer: grpc.Server | undefined;
  try {
    const take = (changes: SourceChange[]): void => {
      const appended = events.append(options.source.name, changes);
      // One copy per touched kind per batch: a 10k-object initial list stays cheap.
      state = reduceAll(state, appended);
      lastSeq.set(events.lastSeq);
      // The Secrets the state references now: a cluster source reads them before it counts as
      // synced (their values are part of the first snapshot), and watches them from then on.
      if (options.source.setSecretRefs) {
        const refs = referencedSecrets(state, { gatewayClasses: options.gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME });
        const key = refs.map((r) => `${r.namespace}/${r.name}`).join('\n');
        if (key !== secretRefsKey) {
          secretRefsKey = key;
          options.source.setSecretRefs(refs);
        }
      }
      if (synced) debouncer.trigger();
    };
    await options.source.start((batch) => {
      if (synced || !initialSeen) return take(batch);
      for (const change of batch) initialSeen.add(objectId(change.object));
      const { changes, refreshed } = changedIn(state, batch);
      // A replayed Secret has no values (the log keeps none): the one read replaces it, a delete
      // then an upsert of the same version in one fold, with no event (it did not change).
      if (refreshed.length > 0) state = reduceAll(state, refreshed.flatMap((object) => [{ type: 'delete' as const, object }, { type: 'upsert' as const, object }]));
      take(changes);
    });
    if (initialSeen) {
      take(missingFrom(state, initialSeen));
      initialSeen = undefined;
    }
    synced = true;
    rebuild();
    // The first election round before serving: a Lease that cannot be created (its namespace does
    // not exist, RBAC) stops the start here, saying so, rather than a replica that reports ready and
    // never leads (no status, nothing provisioned).
    await cluster?.elector.start();
    if (authority) {
      logger.info('waiting for the control plane CA (its Secret is made by the leader on first start)');
      await authority.ready();
    }
    const started = await startGrpcServer({
      address: options.address,
      port: options.grpcPort,
      discovery: discovery.service(),
      admin: admin.handlers(),
      tls: options.tls,
      ...(authority && options.cluster
        ? { live: authority.serving, certificates: certificateServiceHandlers({ authority, client: options.cluster.client, logger, serves: (gateway) => cache.get(gateway) !== undefined }) }
        : {}),
    });
    grpcServer = started.server;
    serving = true;
    logger.info({ grpc: `${options.address}:${started.port}`, http: `${options.address}:${health.port}`, source: options.source.name, discovery: options.pki ? 'mTLS (control plane CA)' : options.tls ? 'mTLS (files)' : 'plaintext' }, 'control plane ready');
    return {
      grpcPort: started.port,
      httpPort: health.port,
      cache,
      events,
      proxies,
      leading: () => cluster?.elector.leading ?? false,
      close: async () => {
        debouncer.cancel();
        authority?.stop();
        stopKeyFile?.();
        await cluster?.stop();
        await options.source.stop();
        discovery.closeAll();
        if (grpcServer) await stopGrpcServer(grpcServer);
        await health.close();
        if (events instanceof JsonlEventLog) events.close();
      },
    };
  } catch (error) {
    debouncer.cancel();
    authority?.stop();
    stopKeyFile?.();
    if (grpcServer) await stopGrpcServer(grpcServer);
    await cluster?.stop();
    await options.source.stop().catch(() => undefined);
    await health.close();
    if (events instanceof JsonlEventLog) events.close();
    throw error;
  }
}

/**
 * The leader's jobs in a cluster: status and provisioning follow the lease; so does creating the
 * requestState keys' Secret, which every replica reads (into `keyring`, when given).
 */
function startClusterRoles(
  options: ClusterOptions,
  gatewayClasses: readonly string[],
  logger: Logger,
  keyring: RequestStateKeyring | undefined,
  pki: { authority: CertificateAuthority; secretName: string } | undefined,
) {
  const elector = new LeaderElector({
    client: options.client,
    namespace: options.leaseNamespace,
    name: options.leaseName,
    identity: options.identity,
    leaseDurationMs: options.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs,
    logger,
  });
  const statusWriter = options.writeStatus === false
    ? undefined
    : new StatusWriter({ client: options.client, logger, controllerName: MCPMUX_CONTROLLER_NAME, instance: options.identity });
  const provisioner = options.provision
    ? new Provisioner({ client: options.client, logger, settings: options.provision, gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME, namespaces: options.namespaces })
    : undefined;
  const keySecret = keyring
    ? new RequestStateSecret({
        client: options.client,
        namespace: options.leaseNamespace,
        name: options.requestStateSecret ?? DEFAULT_REQUEST_STATE_SECRET,
        logger,
        onKeys: (keys) => keyring.set(keys),
      })
    : undefined;
  keySecret?.start();
  const caSecret = pki
    ? new LeaderCreatedSecret({
        client: options.client,
        namespace: options.leaseNamespace,
        name: pki.secretName,
        logger,
        kind: CONTROL_PLANE_CA,
        onValue: (ca) => {
          void pki.authority.setCa(ca);
          provisioner?.setCaBundle(ca.bundle);
        },
      })
    : undefined;
  caSecret?.start();
  elector.on('change', (leading) => {
    statusWriter?.setEnabled(leading);
    provisioner?.setEnabled(leading);
    keySecret?.setLeading(leading);
    caSecret?.setLeading(leading);
  });
  return {
    elector,
    statusWriter,
    provisioner,
    update(statuses: readonly ObjectStatus[], state: ClusterState): void {
      statusWriter?.update(statuses, state);
      provisioner?.update(state);
    },
    async stop(): Promise<void> {
      statusWriter?.stop();
      await elector.stop();
      await keySecret?.stop();
      await caSecret?.stop();
    },
  };
}
