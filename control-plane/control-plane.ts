// The control plane: source → event log → reducer → (debounced) translator → snapshot cache →
// discovery streams. Configuration flows one way; nothing here touches an MCP message.
//
// A start is a sequence of named phases (startup-phases.ts), each a method below, in order:
//   replaying  #openHistory   the event log file is replayed, or the shared history (NATS) opened
//   syncing    #sync          the source lists what is there now; changes become events
//   building   #firstBuild    the first snapshots (or, with a shared history, its builds caught up)
//   electing   #elect         the first election round, and the control plane CA when it has one
//   starting   #serve         the gRPC server binds (discovery, admin, certificates)
//   serving                   proxies are served; /readyz says ready
// /readyz names the phase until then. What each phase builds on (the event log, the builder, the
// cluster roles) is a field set by an earlier phase, never a flag read out of order.
import type * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { startHealthServer } from '../shared/ops/health-server.ts';
import { isLoopbackAddress } from '../shared/net/address.ts';
import { AdminServer, MEMORY_HISTORY } from './admin/server.ts';
import { startClusterRoles, type ClusterRoles } from './cluster-roles.ts';
import type { FleetProxies } from './discovery/fleet-proxies.ts';
import { ProxyRegistry } from './discovery/proxies.ts';
import { DiscoveryServer } from './discovery/server.ts';
import { JsonlEventLog } from './events/jsonl-log.ts';
import { MemoryEventLog, type EventLog } from './events/log.ts';
import type { ReplicatedHistory } from './events/replicated-history.ts';
import { changedIn, missingFrom, replayLog } from './events/replay.ts';
import { openSharedHistory, type SharedHistory } from './events/shared-history.ts';
import { startGrpcServer, stopGrpcServer } from './grpc/server.ts';
import { ControlPlaneMetrics } from './metrics.ts';
import type { ControlPlaneOptions, RunningControlPlane } from './options.ts';
import type { CertificateAuthority } from './pki/authority.ts';
import { DEFAULT_CA_SECRET } from './pki/names.ts';
import { randomMasterKey, readMasterKeyFile, RequestStateKeyring, watchMasterKeyFile } from './request-state/keys.ts';
import { SecretRefsWatch } from './secret-refs-watch.ts';
import { SnapshotBuilder } from './snapshot-builder.ts';
import { SnapshotCache } from './snapshots/cache.ts';
import { Debouncer } from './snapshots/debounce.ts';
import { objectId, type SourceChange } from './sources/source.ts';
import { StartupPhases } from './startup-phases.ts';
import { emptyState, reduceAll, type ClusterState } from './state/reducer.ts';
import { Kinds } from './translate/kinds.ts';
import { TranslateCache, type TranslateOptions } from './translate/translate.ts';

export type { ClusterOptions, ControlPlaneOptions, PkiOptions, RunningControlPlane } from './options.ts';

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const controlPlane = new ControlPlane(options);
  try {
    await controlPlane.start();
  } catch (error) {
    await controlPlane.close({ failedStart: true });
    throw error;
  }
  return controlPlane.running();
}

type PkiModules = [typeof import('./pki/authority.ts'), typeof import('./pki/ca-secret.ts'), typeof import('./pki/certificate-service.ts')];

class ControlPlane {
  readonly #options: ControlPlaneOptions;
  readonly #logger: Logger;
  readonly #phases: StartupPhases;
  readonly #metrics = new ControlPlaneMetrics();
  readonly #cache = new SnapshotCache();
  readonly #proxies: ProxyRegistry;
  readonly #translateOptions: TranslateOptions;
  /** What the translator keeps from one run to the next (translate/translate-cache.ts), for this control plane's life. */
  readonly #translateCache = new TranslateCache();
  /** Plaintext discovery needs no client certificate (no tls, no pki). */
  readonly #secure: boolean;
  readonly #secretRefs: SecretRefsWatch;
  readonly #debouncer: Debouncer;
  // Set by #openHistory (replaying):
  #events: EventLog | undefined;
  #shared: SharedHistory | undefined;
  /** With a shared history: its replicated log (history.log is #events), and every replica's proxies. */
  #history: ReplicatedHistory | undefined;
  #fleet: FleetProxies | undefined;
  #builder: SnapshotBuilder | undefined;
  /** With a shared history: read to its end (started in #sync, awaited in #firstBuild). */
  #caughtUp: Promise<void> | undefined;
  /**
   * After a replay, until the source is synced: the objects its initial state has shown. Its
   * batches until then become what changed while the control plane was down; what it never showed
   * was deleted meanwhile.
   */
  #initialSeen: Set<string> | undefined;
  // Set by #startRoles (replaying):
  readonly #requestStateKeys = new RequestStateKeyring();
  #stopKeyFile: (() => void) | undefined;
  #pkiModules: PkiModules | undefined;
  #authority: CertificateAuthority | undefined;
  #cluster: ClusterRoles | undefined;
  // Set by #startServers and #serve:
  #discovery: DiscoveryServer | undefined;
  #admin: AdminServer | undefined;
  #health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  #grpc: { server: grpc.Server; port: number } | undefined;

  constructor(options: ControlPlaneOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#phases = new StartupPhases(options.logger);
    this.#proxies = new ProxyRegistry({ disconnectedTtlMs: options.disconnectedProxyTtlMs, onChange: (nodeId) => this.#fleet?.changed(nodeId) });
    this.#secure = options.tls !== undefined || options.pki !== undefined;
    // Plaintext discovery off loopback can be read by anything on the network between: credentials
    // stay out of snapshots unless the operator said otherwise.
    const withholdCredentials = !this.#secure && !isLoopbackAddress(options.address) && options.insecureDiscovery !== true;
    if (withholdCredentials) {
      this.#logger.warn({ address: options.address }, 'discovery is plaintext on a non-loopback address: targets with upstream credentials are left out of snapshots (use mTLS, the default in a cluster, or --insecure-discovery to send them anyway)');
    } else if (!this.#secure && !isLoopbackAddress(options.address)) {
      this.#logger.warn({ address: options.address }, '--insecure-discovery: upstream credentials go to proxies in plaintext; anyone who can reach the gRPC port can read them');
    }
    // stdio targets run commands on the proxies: a folder on this machine may ask for that, a cluster may not.
    this.#translateOptions = { gatewayClasses: options.gatewayClasses, allowStdio: options.source.name === 'files', withholdCredentials };
    this.#secretRefs = new SecretRefsWatch(options.source, options.gatewayClasses);
    this.#debouncer = new Debouncer(() => this.#builder?.rebuild(), options.debounce ?? { quietMs: 50, maxDelayMs: 1000 });
  }

  async start(): Promise<void> {
    const replayed = await this.#openHistory();
    await this.#startRoles();
    this.#builder = new SnapshotBuilder({
      cache: this.#cache,
      events: this.#events!,
      history: this.#history,
      cluster: this.#cluster,
      translateOptions: this.#translateOptions,
      translateCache: this.#translateCache,
      metrics: this.#metrics,
      phases: this.#phases,
      logger: this.#logger,
      state: replayed,
    });
    await this.#startServers();
    await this.#sync();
    await this.#firstBuild();
    await this.#elect();
    await this.#serve();
  }

  /** replaying: the event log this replica appends to, read back where it persists; gives the state replayed. */
  async #openHistory(): Promise<ClusterState> {
    const options = this.#options;
    let state: ClusterState = emptyState();
    if (options.sharedHistory) {
      if (!options.cluster) throw new Error('the shared history (--event-log nats) needs the kubernetes source: only a leader writes it');
      if (options.eventLogPath) throw new Error('name one event log: a file or nats');
      this.#shared = await openSharedHistory(
        options.sharedHistory,
        { identity: options.cluster.identity, source: options.source.name, retention: options.eventLogRetention, proxies: this.#proxies, logger: this.#logger },
        {
          onEvents: () => {
            this.#metrics.lastSeq.set(this.#history!.log.lastSeq);
            this.#watchSecrets();
            if (this.#history?.leading) this.#debouncer.trigger();
          },
          onBuild: (build, catchingUp) => this.#builder!.applyBuild(build, catchingUp),
          onTakeover: () => this.#debouncer.trigger(),
          // Only the leader times convergence (it made the version): an ACK on any replica may be the last.
          onProxyUpdate: (proxy) => this.#acked(proxy.group, proxy.ackedVersion),
        },
      );
      ({ history: this.#history, fleet: this.#fleet } = this.#shared);
      this.#events = this.#history.log;
    } else if (options.eventLogPath) {
      const log = JsonlEventLog.open({ path: options.eventLogPath, retention: options.eventLogRetention, logger: this.#logger });
      this.#events = log;
      const started = performance.now();
      const replay = replayLog(log, this.#cache, this.#translateOptions, this.#logger, this.#translateCache);
      state = replay.state;
      if (log.lastSeq > 0) this.#initialSeen = new Set();
      this.#logger.info({ path: log.path, lastSeq: log.lastSeq, versions: replay.restored, ms: Math.round(performance.now() - started) }, 'event log replayed');
    } else {
      this.#events = new MemoryEventLog({ retention: options.eventLogRetention });
    }
    return state;
  }

  /** The requestState master keys, the control plane's CA, and the leader's jobs in a cluster. */
  async #startRoles(): Promise<void> {
    const options = this.#options;
    const logger = this.#logger;
    // The requestState master keys (docs/security.md): never in a snapshot, an event, an admin answer or a log.
    const keyring = this.#requestStateKeys;
    if (options.requestStateKeyFile) {
      const file = options.requestStateKeyFile;
      keyring.set(readMasterKeyFile(file));
      this.#stopKeyFile = watchMasterKeyFile(file, (keys) => {
        if (keyring.set(keys)) logger.info({ file, previous: keys.previous !== undefined }, 'requestState master keys changed (rotation): pushing new keys to proxies');
      }, logger);
      logger.info({ file }, 'requestState master keys from --request-state-key-file');
    } else if (!options.cluster) {
      keyring.set({ current: randomMasterKey() });
      logger.info('requestState master key: a random one, in memory (proxies of this control plane share its keys until it restarts; --request-state-key-file keeps them)');
    }
    if (options.pki && !options.cluster) throw new Error('the control plane CA (pki) needs the kubernetes source');
    // The X.509 code loads only for a control plane with its own CA.
    const pki = options.pki
      ? (this.#pkiModules = await Promise.all([import('./pki/authority.ts'), import('./pki/ca-secret.ts'), import('./pki/certificate-service.ts')]))
      : undefined;
    if (options.pki && pki) this.#authority = new pki[0].CertificateAuthority({ names: options.pki.names, proxyCertificateTtlMs: options.pki.proxyCertificateTtlMs, logger });
    const authority = this.#authority;
    if (options.cluster) {
      this.#cluster = startClusterRoles(
        options.cluster,
        options.gatewayClasses,
        logger,
        options.requestStateKeyFile ? undefined : keyring,
        authority && pki ? { authority, secretName: options.pki?.secretName ?? DEFAULT_CA_SECRET, kind: pki[1].CONTROL_PLANE_CA } : undefined,
        (leading) => this.#history?.setLeading(leading),
      );
    }
  }

  /** The discovery service (served from `starting`), the admin service, and the health port (from now: /readyz says why not yet). */
  async #startServers(): Promise<void> {
    const options = this.#options;
    const cache = this.#cache;
    const { pushesOf, acksOf, nacksOf } = this.#metrics;
    this.#discovery = new DiscoveryServer({
      cache,
      proxies: this.#proxies,
      logger: this.#logger,
      checkIdentity: this.#secure,
      requestStateKeys: this.#requestStateKeys,
      callbacks: {
        onPush: (_node, group) => pushesOf(group).inc(),
        onAck: (_node, group, version) => {
          acksOf(group).inc();
          this.#acked(group, version);
        },
        onNack: (node, group, version, error) => {
          nacksOf(group).inc();
          const [namespace = '', name = ''] = group.split('/');
          void this.#cluster?.statusWriter?.recordNack(this.#builder!.state.get(Kinds.Gateway, namespace, name), node, version, error);
        },
      },
    });
    this.#admin = new AdminServer({ cache, events: this.#events!, proxies: { list: () => (this.#fleet ?? this.#proxies).list() }, history: () => this.#historyDescription(), logger: this.#logger });
    const phases = this.#phases;
    this.#health = await startHealthServer({
      address: options.address,
      port: options.httpPort,
      ready: () => {
        if (!phases.reached('building')) return { ready: false, reason: `${phases.phase}: source ${options.source.name} not synced` };
        if (!phases.reached('electing')) return { ready: false, reason: 'building: the first snapshots' };
        const election = this.#cluster?.elector.problem;
        if (election) return { ready: false, reason: election };
        if (this.#authority && this.#authority.bundle === undefined) return { ready: false, reason: `waiting for the control plane CA (Secret ${options.cluster?.leaseNamespace}/${options.pki?.secretName ?? DEFAULT_CA_SECRET}, made by the leader)` };
        return phases.reached('serving') ? { ready: true } : { ready: false, reason: `${phases.phase}: gRPC server starting` };
      },
      metrics: this.#metrics.registry,
    });
  }

  /**
   * syncing: the source lists what is there now. The shared history is read meanwhile (both take a
   * while with 10k objects); the builds read meanwhile are kept untranslated, and only the last is
   * served, once both are done (#firstBuild).
   */
  async #sync(): Promise<void> {
    const { source } = this.#options;
    const builder = this.#builder!;
    const history = this.#history;
    this.#phases.enter('syncing');
    const caughtUp = history?.start();
    caughtUp?.catch(() => undefined); // awaited in #firstBuild; a failure then stops the start
    this.#caughtUp = caughtUp;
    await source.start((batch) => {
      if (history) {
        // The source feeds this replica's view; the history (the leader's appends) feeds its state.
        history.sourceBatch(batch);
        this.#watchSecrets();
        return;
      }
      const initialSeen = this.#initialSeen;
      if (this.#phases.reached('building') || !initialSeen) return this.#take(batch);
      for (const change of batch) initialSeen.add(objectId(change.object));
      const { changes, refreshed } = changedIn(builder.state, batch);
      // A replayed Secret has no values (the log keeps none): the one read replaces it, a delete
      // then an upsert of the same version in one fold, with no event (it did not change).
      if (refreshed.length > 0) builder.state = reduceAll(builder.state, refreshed.flatMap((object) => [{ type: 'delete' as const, object }, { type: 'upsert' as const, object }]));
      this.#take(changes);
    });
    if (this.#initialSeen) {
      const seen = this.#initialSeen;
      this.#initialSeen = undefined;
      this.#take(missingFrom(builder.state, seen));
    }
  }

  /** A batch of changes from the source: appended to the event log, folded into the state, rebuilt (debounced) once building. */
  #take(changes: SourceChange[]): void {
    const events = this.#events!;
    const builder = this.#builder!;
    const appended = events.append(this.#options.source.name, changes);
    // One copy per touched kind per batch: a 10k-object initial list stays cheap.
    builder.state = reduceAll(builder.state, appended);
    this.#metrics.lastSeq.set(events.lastSeq);
    this.#watchSecrets();
    if (this.#phases.reached('building')) this.#debouncer.trigger();
  }

  /** building: the first snapshots. With a shared history they are its builds, served as they came; once read to its end, the last one. */
  async #firstBuild(): Promise<void> {
    const history = this.#history;
    if (history) {
      history.sourceSynced();
      // The election comes after: a new leader writes only once it has read everything.
      await this.#caughtUp;
      await this.#fleet?.start();
      await this.#builder!.serveCaughtUp();
      this.#phases.enter('electing'); // synced, and built: the history's builds were served as they came
    } else {
      this.#phases.enter('building');
      this.#builder!.rebuild(); // serving it moves on to electing
    }
  }

  /**
   * electing: the first election round before serving. A Lease that cannot be created (its
   * namespace does not exist, RBAC) stops the start here, saying so, rather than a replica that
   * reports ready and never leads (no status, nothing provisioned).
   */
  async #elect(): Promise<void> {
    await this.#cluster?.elector.start();
    if (this.#authority) {
      this.#logger.info('waiting for the control plane CA (its Secret is made by the leader on first start)');
      await this.#authority.ready();
    }
  }

  /** starting → serving: the gRPC server binds. */
  async #serve(): Promise<void> {
    const options = this.#options;
    const authority = this.#authority;
    this.#phases.enter('starting');
    this.#grpc = await startGrpcServer({
      address: options.address,
      port: options.grpcPort,
      discovery: this.#discovery!.service(),
      admin: this.#admin!.handlers(),
      tls: options.tls,
      ...(authority && options.cluster && this.#pkiModules
        ? { live: authority.serving, certificates: this.#pkiModules[2].certificateServiceHandlers({ authority, client: options.cluster.client, logger: this.#logger, serves: (gateway) => this.#cache.get(gateway) !== undefined }) }
        : {}),
    });
    this.#phases.enter('serving');
    this.#logger.info({ grpc: `${options.address}:${this.#grpc.port}`, http: `${options.address}:${this.#health!.port}`, source: options.source.name, discovery: options.pki ? 'mTLS (control plane CA)' : options.tls ? 'mTLS (files)' : 'plaintext', history: this.#historyDescription(), sinceProcessStartMs: Math.round(performance.now()) }, 'control plane ready');
  }

  running(): RunningControlPlane {
    return {
      grpcPort: this.#grpc!.port,
      httpPort: this.#health!.port,
      cache: this.#cache,
      events: this.#events!,
      proxies: this.#proxies,
      ...(this.#history ? { history: this.#history } : {}),
      leading: () => this.#cluster?.elector.leading ?? false,
      close: () => this.close({ failedStart: false }),
    };
  }

  /** Stops what was started, in reverse. After a failed start the start's error is the one reported, not the source's on stopping. */
  async close({ failedStart }: { failedStart: boolean }): Promise<void> {
    this.#debouncer.cancel();
    this.#authority?.stop();
    this.#stopKeyFile?.();
    await this.#cluster?.stop();
    if (this.#phases.reached('syncing')) {
      if (failedStart) await this.#options.source.stop().catch((error: unknown) => this.#logger.debug({ error: errorMessage(error) }, 'stopping the source after a failed start'));
      else await this.#options.source.stop();
    }
    this.#discovery?.closeAll();
    if (this.#grpc) await stopGrpcServer(this.#grpc.server);
    await this.#health?.close();
    if (this.#events instanceof JsonlEventLog) this.#events.close();
    await this.#shared?.close();
  }

  /** The Secrets to read and watch: with a shared history, those its state names too (this replica builds with values it reads itself). */
  #watchSecrets(): void {
    const history = this.#history;
    this.#secretRefs.update(history ? [history.sourceView, history.state] : [this.#builder!.state]);
  }

  #acked(group: string, version: string): void {
    this.#metrics.acked(group, version, this.#fleet ?? this.#proxies);
  }

  /** Where the history lives, as `mcpmux proxies` and the ready log line say. */
  #historyDescription(): string {
    const history = this.#history;
    return history ? `nats stream ${history.streamName} (shared by every replica)` : this.#options.eventLogPath ? `file ${this.#options.eventLogPath}` : MEMORY_HISTORY;
  }
}
