import type * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { startHealthServer } from '../shared/ops/health-server.ts';
import type { TlsMaterial } from '../shared/net/tls.ts';
import { AdminServer, MEMORY_HISTORY } from './admin/server.ts';
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
import { translate, TranslateCache } from './translate/translate.ts';
import { isLoopbackAddress } from '../shared/net/address.ts';
import type { CertificateAuthority } from './pki/authority.ts';
import type { CaState } from './pki/ca-secret.ts';
import { DEFAULT_CA_SECRET } from './pki/names.ts';
import { LeaderCreatedSecret, type SecretKind } from './kube/leader-created-secret.ts';
import type { ReplicatedHistory } from './events/replicated-history.ts';
import type { FleetProxies } from './discovery/fleet-proxies.ts';
import { openSharedHistory, type SharedHistory, type SharedHistoryOptions } from './events/shared-history.ts';
import type { BuildRecord } from './events/log.ts';
import type { TranslateResult } from './translate/translate.ts';
import { StartupPhases } from './startup-phases.ts';

export interface ControlPlaneOptions {
  source: Source;
  gatewayClasses: string[];
  address: string;
  grpcPort: number;
  httpPort: number;
  eventLogRetention: number;
  /** A JSONL file the event log is kept in and read back from on start (history survives restarts); in memory when absent. */
  eventLogPath?: string;
  /**
   * The history on a NATS JetStream stream shared by every replica (events/replicated-history.ts):
   * the leader appends, every replica builds the same versions from it. Needs `cluster`.
   */
  sharedHistory?: SharedHistoryOptions;
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
  /** How long a disconnected proxy stays listed (default DISCONNECTED_PROXY_TTL_MS, 10 min). */
  disconnectedProxyTtlMs?: number;
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
  /** With --event-log nats: the shared history (its base, its anomalies). */
  history?: ReplicatedHistory;
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
    if (pending?.version !== version || !(fleet ?? proxies).converged(group, version)) return;
    builtAt.delete(group);
    convergence.observe({ group }, (performance.now() - pending.started) / 1000);
  };

  const cache = new SnapshotCache();
  /** With a shared history: every replica's proxies (discovery/fleet-proxies.ts). */
  let fleet: FleetProxies | undefined;
  const proxies = new ProxyRegistry({ disconnectedTtlMs: options.disconnectedProxyTtlMs, onChange: (nodeId) => fleet?.changed(nodeId) });
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
  const translateOptions = { gatewayClasses: options.gatewayClasses, allowStdio: options.source.name === 'files', withholdCredentials }, translateCache = new TranslateCache();
  const phases = new StartupPhases(logger); // replaying → syncing → building → electing → starting → serving
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
  let history: ReplicatedHistory | undefined;
  let shared: SharedHistory | undefined;
  /** The leader's translation for the build record it is appending: applied when the record comes back. */
  let ownBuild: { seq: number; result: TranslateResult; state: ClusterState; started: number } | undefined;
  if (options.sharedHistory) {
    if (!options.cluster) throw new Error('the shared history (--event-log nats) needs the kubernetes source: only a leader writes it');
    if (options.eventLogPath) throw new Error('name one event log: a file or nats');
    shared = await openSharedHistory(
      options.sharedHistory,
      { identity: options.cluster.identity, source: options.source.name, retention: options.eventLogRetention, proxies, logger },
      {
        onEvents: () => {
          lastSeq.set(events.lastSeq);
          watchSecrets();
          if (history?.leading) debouncer.trigger();
        },
        onBuild: (build, catchingUp) => applyBuild(build, catchingUp),
        onTakeover: () => debouncer.trigger(),
        // Only the leader times convergence (it made the version): an ACK on any replica may be the last.
        onProxyUpdate: (proxy) => converged(proxy.group, proxy.ackedVersion),
      },
    );
    ({ history, fleet } = shared);
    events = history.log;
  } else if (options.eventLogPath) {
    const log = JsonlEventLog.open({ path: options.eventLogPath, retention: options.eventLogRetention, logger });
    const started = performance.now();
    const replay = replayLog(log, cache, translateOptions, logger, translateCache);
    state = replay.state;
    if (log.lastSeq > 0) initialSeen = new Set();
    events = log;
    logger.info({ path: log.path, lastSeq: log.lastSeq, versions: replay.restored, ms: Math.round(performance.now() - started) }, 'event log replayed');
  } else {
    events = new MemoryEventLog({ retention: options.eventLogRetention });
  }
  /** Where the history lives, as `mcpmux proxies` and the ready log line say. */
  const historyDescription = (): string =>
    history ? `nats stream ${history.streamName} (shared by every replica)` : options.eventLogPath ? `file ${options.eventLogPath}` : MEMORY_HISTORY;
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
  // The X.509 code loads only for a control plane with its own CA.
  const pkiModules = options.pki
    ? await Promise.all([import('./pki/authority.ts'), import('./pki/ca-secret.ts'), import('./pki/certificate-service.ts')])
    : undefined;
  const authority = options.pki && pkiModules ? new pkiModules[0].CertificateAuthority({ names: options.pki.names, proxyCertificateTtlMs: options.pki.proxyCertificateTtlMs, logger }) : undefined;
  const cluster = options.cluster
    ? startClusterRoles(options.cluster, options.gatewayClasses, logger, options.requestStateKeyFile ? undefined : requestStateKeys, authority && pkiModules ? { authority, secretName: options.pki?.secretName ?? DEFAULT_CA_SECRET, kind: pkiModules[1].CONTROL_PLANE_CA } : undefined, (leading) => history?.setLeading(leading))
    : undefined;
  /**
   * The Secrets the state references now: a cluster source reads them before it counts as synced
   * (their values are part of the first snapshot), and watches them from then on. With a shared
   * history, those its state names too (this replica builds with values it reads itself).
   */
  const watchSecrets = (): void => {
    if (!options.source.setSecretRefs) return;
    const refOptions = { gatewayClasses: options.gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME };
    const refs = new Map<string, { namespace: string; name: string }>();
    for (const from of history ? [history.sourceView, history.state] : [state]) {
      for (const ref of referencedSecrets(from, refOptions)) refs.set(`${ref.namespace}/${ref.name}`, ref);
    }
    const key = [...refs.keys()].sort().join('\n');
    if (key === secretRefsKey) return;
    secretRefsKey = key;
    options.source.setSecretRefs([...refs.values()]);
  };

  /**
   * Which event made which version: the versions new to the history (not a restart rebuilding the
   * version it served last); a group that disappeared maps to "".
   */
  const newVersions = (snapshots: TranslateResult['snapshots']): Record<string, string> => {
    const versions: Record<string, string> = {};
    for (const snapshot of snapshots) if (cache.versions(snapshot.group)[0]?.version !== snapshot.version) versions[snapshot.group] = snapshot.version;
    for (const group of cache.groups()) if (!snapshots.some((s) => s.group === group)) versions[group] = '';
    return versions;
  };
  /** Serves a translation: the cache (and so the proxies), statuses, logs. `leader`: this replica made it, and times its convergence. */
  const serve = (result: TranslateResult, from: ClusterState, eventSeq: number, started: number, timeConvergence: boolean, builtAtMs?: number): void => {
    const { snapshots, statuses } = result;
    state = from;
    const changed = cache.setAll(snapshots, eventSeq, builtAtMs);
    for (const group of changed) {
      const version = cache.get(group)?.version;
      // A version superseded before its proxies caught up is never observed: the newer one is.
      if (version === undefined || !timeConvergence) builtAt.delete(group);
      else builtAt.set(group, { version, started });
    }
    builds.inc();
    if (phases.phase === 'building') phases.enter('electing'); // the first build after the sync (not one while it lists)
    reportProblems(statuses);
    cluster?.update(statuses, from);
    if (changed.length > 0) {
      logger.info({ changed: changed.map((g) => `${g}@${cache.get(g)?.version ?? 'deleted'}`), ms: Math.round(performance.now() - started) }, 'snapshots rebuilt');
    }
    if (snapshots.length === 0) logger.warn({ gatewayClasses: options.gatewayClasses }, 'no Gateway of a class we serve: proxies will wait');
  };
  const rebuild = (): void => {
    if (history) return rebuildShared(history);
    traceBuild({ 'mcpmux.event_log.seq': events.lastSeq }, build);
  };
  const build = (): void => {
    const started = performance.now();
    try {
      const result = translate(state, translateOptions, translateCache);
      const versions = newVersions(result.snapshots);
      serve(result, state, events.lastSeq, started, true);
      if (Object.keys(versions).length > 0) events.recordBuild({ seq: events.lastSeq, time: Date.now(), versions });
    } catch (error) {
      // The translator is pure and total; reaching this is a bug. Keep the last good snapshots.
      logger.error({ error: errorMessage(error) }, 'translation failed; keeping the last snapshots');
    }
  };
  /**
   * The leader's build with a shared history: translated in the writer's turn; new versions go to
   * the stream as a build record, served when it comes back (applyBuild), as on every replica.
   * Statuses of a build that made no new version are served at once (only the leader writes them).
   */
  const rebuildShared = (shared: ReplicatedHistory): void => {
    shared.requestBuild((seq) => traceBuild({ 'mcpmux.event_log.seq': seq }, () => {
      const started = performance.now();
      try {
        const { state: from } = shared.buildState();
        const result = translate(from, translateOptions, translateCache);
        const versions = newVersions(result.snapshots);
        if (Object.keys(versions).length === 0) {
          serve(result, from, seq, started, false);
          return undefined;
        }
        ownBuild = { seq, result, state: from, started };
        return versions;
      } catch (error) {
        logger.error({ error: errorMessage(error) }, 'translation failed; keeping the last snapshots');
        return undefined;
      }
    }));
  };
  /**
   * A build record of the shared history: every replica serves the versions it names, from the same
   * state. While a replica catches up, past builds go into the history untranslated: each version's
   * snapshot is made from the state it was built from when an admin call first asks for it, and only
   * the last one is served (caughtUp). A replica joining after 10k events translates once, not per build.
   */
  let lastCaughtUpBuild: { build: BuildRecord; state: ClusterState } | undefined;
  const applyBuild = (build: BuildRecord, catchingUp: boolean): void => {
    if (catchingUp) {
      const at = history!.state;
      let made: TranslateResult | undefined;
      const translated = (): TranslateResult => (made ??= translate(history!.buildState(at).state, translateOptions, translateCache));
      for (const [group, version] of Object.entries(build.versions)) {
        if (!version) continue;
        cache.restore({
          group,
          version,
          builtAt: build.time,
          eventSeq: build.seq,
          get snapshot() {
            const snapshot = translated().snapshots.find((s) => s.group === group);
            if (snapshot?.version !== version) logger.warn({ group, recorded: version, built: snapshot?.version ?? 'none', seq: build.seq }, 'a past build rebuilds differently here (another mcpmux version, or Secret values that changed since): showing what this replica builds');
            // The history's state at that build has no such group: a bug (the admin call says INTERNAL and logs it).
            if (!snapshot) throw new Error(`version ${version} of ${group} (event ${build.seq}) cannot be rebuilt: the state there has no such group`);
            return snapshot;
          },
        });
      }
      lastCaughtUpBuild = { build, state: at };
      return;
    }
    const started = performance.now();
    const own = ownBuild?.seq === build.seq ? ownBuild : undefined;
    ownBuild = undefined;
    try {
      const from = own?.state ?? history!.buildState().state;
      const result = own?.result ?? translate(from, translateOptions, translateCache);
      for (const [group, version] of Object.entries(build.versions)) {
        const made = result.snapshots.find((s) => s.group === group)?.version ?? '';
        if (made !== version) logger.warn({ group, recorded: version, built: made, seq: build.seq }, 'a build record rebuilds differently here (another mcpmux version, or other Secret values): serving what this replica built');
      }
      serve(result, from, build.seq, own?.started ?? started, own !== undefined, build.time);
    } catch (error) {
      logger.error({ error: errorMessage(error), seq: build.seq }, 'translation failed; keeping the last snapshots');
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
  const admin = new AdminServer({ cache, events, proxies: { list: () => (fleet ?? proxies).list() }, history: historyDescription, logger });

  const health = await startHealthServer({
    address: options.address,
    port: options.httpPort,
    ready: () => {
      if (!phases.reached('building')) return { ready: false, reason: `${phases.phase}: source ${options.source.name} not synced` };
      if (!phases.reached('electing')) return { ready: false, reason: 'building: the first snapshots' };
      const election = cluster?.elector.problem;
      if (election) return { ready: false, reason: election };
      if (authority && authority.bundle === undefined) return { ready: false, reason: `waiting for the control plane CA (Secret ${options.cluster?.leaseNamespace}/${options.pki?.secretName ?? DEFAULT_CA_SECRET}, made by the leader)` };
      return phases.reached('serving') ? { ready: true } : { ready: false, reason: `${phases.phase}: gRPC server starting` };
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
      watchSecrets();
      if (phases.reached('building')) debouncer.trigger();
    };
    // The shared history is read while the source lists (both take a while with 10k objects); the
    // builds read meanwhile are kept untranslated, and only the last is served, once both are done.
    phases.enter('syncing');
    const caughtUp = history?.start();
    caughtUp?.catch(() => undefined); // awaited below; a failure then stops the start
    await options.source.start((batch) => {
      if (history) {
        // The source feeds this replica's view; the history (the leader's appends) feeds its state.
        history.sourceBatch(batch);
        watchSecrets();
        return;
      }
      if (phases.reached('building') || !initialSeen) return take(batch);
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
    if (history) {
      history.sourceSynced();
      // Read the shared history to its end: its builds are served as they come, so the versions
      // this replica serves and lists are the leader's. The election comes after: a new leader
      // writes only once it has read everything.
      await caughtUp;
      await fleet?.start();
      if (lastCaughtUpBuild) {
        const { build, state: at } = lastCaughtUpBuild;
        lastCaughtUpBuild = undefined;
        await history.secretsReady();
        const from = history.buildState(at).state;
        serve(translate(from, translateOptions, translateCache), from, build.seq, performance.now(), false, build.time);
      }
      phases.enter('electing'); // synced, and built: the history's builds were served as they came
    } else {
      phases.enter('building');
      rebuild();
    }
    // The first election round before serving: a Lease that cannot be created (its namespace does
    // not exist, RBAC) stops the start here, saying so, rather than a replica that reports ready and
    // never leads (no status, nothing provisioned).
    await cluster?.elector.start();
    if (authority) {
      logger.info('waiting for the control plane CA (its Secret is made by the leader on first start)');
      await authority.ready();
    }
    phases.enter('starting');
    const started = await startGrpcServer({
      address: options.address,
      port: options.grpcPort,
      discovery: discovery.service(),
      admin: admin.handlers(),
      tls: options.tls,
      ...(authority && options.cluster
        ? { live: authority.serving, certificates: pkiModules![2].certificateServiceHandlers({ authority, client: options.cluster.client, logger, serves: (gateway) => cache.get(gateway) !== undefined }) }
        : {}),
    });
    grpcServer = started.server;
    phases.enter('serving');
    logger.info({ grpc: `${options.address}:${started.port}`, http: `${options.address}:${health.port}`, source: options.source.name, discovery: options.pki ? 'mTLS (control plane CA)' : options.tls ? 'mTLS (files)' : 'plaintext', history: historyDescription(), sinceProcessStartMs: Math.round(performance.now()) }, 'control plane ready');
    return {
      grpcPort: started.port,
      httpPort: health.port,
      cache,
      events,
      proxies,
      ...(history ? { history } : {}),
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
        await shared?.close();
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
    await shared?.close();
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
  pki: { authority: CertificateAuthority; secretName: string; kind: SecretKind<CaState> } | undefined,
  onLeading: (leading: boolean) => void,
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
        kind: pki.kind,
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
    onLeading(leading);
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

