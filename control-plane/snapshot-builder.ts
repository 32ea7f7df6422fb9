// From cluster state to served snapshots: translates, records which event made which version, and
// serves the result (snapshot cache → proxies, statuses → the status writer and provisioner,
// problems → the log). Three ways in:
//   build()          a single replica (or a file/memory history): translate now, serve now
//   rebuildShared()  the leader with a shared history: translate in the writer's turn; the build
//                    record goes to the stream and is served when it comes back (applyBuild)
//   applyBuild()     every replica with a shared history: serve the versions a build record names
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { ClusterRoles } from './cluster-roles.ts';
import type { BuildRecord, EventLog } from './events/log.ts';
import type { ReplicatedHistory } from './events/replicated-history.ts';
import type { ControlPlaneMetrics } from './metrics.ts';
import { ProblemLog } from './problem-log.ts';
import type { SnapshotCache } from './snapshots/cache.ts';
import { traceBuild } from './snapshots/tracing.ts';
import type { StartupPhases } from './startup-phases.ts';
import type { ClusterState } from './state/reducer.ts';
import { translate, type TranslateCache, type TranslateOptions, type TranslateResult } from './translate/translate.ts';

export interface SnapshotBuilderOptions {
  cache: SnapshotCache;
  events: EventLog;
  history: ReplicatedHistory | undefined;
  cluster: ClusterRoles | undefined;
  translateOptions: TranslateOptions;
  /** The control plane's one translator cache: every translation here goes through it. */
  translateCache: TranslateCache;
  metrics: ControlPlaneMetrics;
  phases: StartupPhases;
  logger: Logger;
  /** The state to start from (after a replay of the event log file). */
  state: ClusterState;
}

export class SnapshotBuilder {
  /** The state the served snapshots were translated from (with a shared history, the history's). */
  state: ClusterState;
  readonly #o: SnapshotBuilderOptions;
  readonly #problems: ProblemLog;
  /** The leader's translation for the build record it is appending: applied when the record comes back. */
  #ownBuild: { seq: number; result: TranslateResult; state: ClusterState; started: number } | undefined;
  /** While catching up with a shared history: its last build, served once caught up (serveCaughtUp). */
  #lastCaughtUpBuild: { build: BuildRecord; state: ClusterState } | undefined;

  constructor(options: SnapshotBuilderOptions) {
    this.#o = options;
    this.state = options.state;
    this.#problems = new ProblemLog(options.logger);
  }

  /** A debounced rebuild: the leader's turn with a shared history, else build at once. */
  rebuild(): void {
    const { history, events } = this.#o;
    if (history) return this.#rebuildShared(history);
    traceBuild({ 'mcpmux.event_log.seq': events.lastSeq }, () => this.#build());
  }

  #build(): void {
    const started = performance.now();
    const { events, logger, translateOptions, translateCache } = this.#o;
    try {
      const result = translate(this.state, translateOptions, translateCache);
      const versions = this.#newVersions(result.snapshots);
      this.#serve(result, this.state, events.lastSeq, started, true);
      if (Object.keys(versions).length > 0) events.recordBuild({ seq: events.lastSeq, time: Date.now(), versions });
    } catch (error) {
      // The translator is pure and total; reaching this is a bug. Keep the last good snapshots.
      logger.error({ error: errorMessage(error) }, 'translation failed; keeping the last snapshots');
    }
  }

  /**
   * The leader's build with a shared history: translated in the writer's turn; new versions go to
   * the stream as a build record, served when it comes back (applyBuild), as on every replica.
   * Statuses of a build that made no new version are served at once (only the leader writes them).
   */
  #rebuildShared(shared: ReplicatedHistory): void {
    shared.requestBuild((seq) => traceBuild({ 'mcpmux.event_log.seq': seq }, () => {
      const started = performance.now();
      try {
        const { state: from } = shared.buildState();
        const result = translate(from, this.#o.translateOptions, this.#o.translateCache);
        const versions = this.#newVersions(result.snapshots);
        if (Object.keys(versions).length === 0) {
          this.#serve(result, from, seq, started, false);
          return undefined;
        }
        this.#ownBuild = { seq, result, state: from, started };
        return versions;
      } catch (error) {
        this.#o.logger.error({ error: errorMessage(error) }, 'translation failed; keeping the last snapshots');
        return undefined;
      }
    }));
  }

  /**
   * A build record of the shared history: every replica serves the versions it names, from the same
   * state. While a replica catches up, past builds go into the history untranslated: each version's
   * snapshot is made from the state it was built from when an admin call first asks for it, and only
   * the last one is served (serveCaughtUp). A replica joining after 10k events translates once, not per build.
   */
  applyBuild(build: BuildRecord, catchingUp: boolean): void {
    const { cache, logger, translateOptions, translateCache } = this.#o;
    const history = this.#o.history!;
    if (catchingUp) {
      const at = history.state;
      let made: TranslateResult | undefined;
      const translated = (): TranslateResult => (made ??= translate(history.buildState(at).state, translateOptions, translateCache));
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
      this.#lastCaughtUpBuild = { build, state: at };
      return;
    }
    const started = performance.now();
    const own = this.#ownBuild?.seq === build.seq ? this.#ownBuild : undefined;
    this.#ownBuild = undefined;
    try {
      const from = own?.state ?? history.buildState().state;
      const result = own?.result ?? translate(from, translateOptions, translateCache);
      for (const [group, version] of Object.entries(build.versions)) {
        const made = result.snapshots.find((s) => s.group === group)?.version ?? '';
        if (made !== version) logger.warn({ group, recorded: version, built: made, seq: build.seq }, 'a build record rebuilds differently here (another mcpmux version, or other Secret values): serving what this replica built');
      }
      this.#serve(result, from, build.seq, own?.started ?? started, own !== undefined, build.time);
    } catch (error) {
      logger.error({ error: errorMessage(error), seq: build.seq }, 'translation failed; keeping the last snapshots');
    }
  }

  /** Once caught up with a shared history: the last build read meanwhile is translated and served. */
  async serveCaughtUp(): Promise<void> {
    const history = this.#o.history;
    if (!history || !this.#lastCaughtUpBuild) return;
    const { build, state: at } = this.#lastCaughtUpBuild;
    this.#lastCaughtUpBuild = undefined;
    await history.secretsReady();
    const from = history.buildState(at).state;
    this.#serve(translate(from, this.#o.translateOptions, this.#o.translateCache), from, build.seq, performance.now(), false, build.time);
  }

  /**
   * Which event made which version: the versions new to the history (not a restart rebuilding the
   * version it served last); a group that disappeared maps to "".
   */
  #newVersions(snapshots: TranslateResult['snapshots']): Record<string, string> {
    const { cache } = this.#o;
    const versions: Record<string, string> = {};
    for (const snapshot of snapshots) if (cache.versions(snapshot.group)[0]?.version !== snapshot.version) versions[snapshot.group] = snapshot.version;
    for (const group of cache.groups()) if (!snapshots.some((s) => s.group === group)) versions[group] = '';
    return versions;
  }

  /** Serves a translation: the cache (and so the proxies), statuses, logs. `timeConvergence`: this replica made it, and times its convergence. */
  #serve(result: TranslateResult, from: ClusterState, eventSeq: number, started: number, timeConvergence: boolean, builtAtMs?: number): void {
    const { cache, metrics, phases, cluster, logger, translateOptions } = this.#o;
    const { snapshots, statuses } = result;
    this.state = from;
    const changed = cache.setAll(snapshots, eventSeq, builtAtMs);
    // A version superseded before its proxies caught up is never observed: the newer one is.
    for (const group of changed) metrics.built(group, timeConvergence ? cache.get(group)?.version : undefined, started);
    metrics.builds.inc();
    if (phases.phase === 'building') phases.enter('electing'); // the first build after the sync (not one while it lists)
    this.#problems.report(statuses);
    cluster?.update(statuses, from);
    if (changed.length > 0) {
      logger.info({ changed: changed.map((g) => `${g}@${cache.get(g)?.version ?? 'deleted'}`), ms: Math.round(performance.now() - started) }, 'snapshots rebuilt');
    }
    if (snapshots.length === 0) logger.warn({ gatewayClasses: translateOptions.gatewayClasses }, 'no Gateway of a class we serve: proxies will wait');
  }
}
