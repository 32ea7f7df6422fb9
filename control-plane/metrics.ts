// The control plane's Prometheus metrics (served on its health port's /metrics), and the
// convergence clock: from a version built to the moment every connected proxy of its Gateway ACKed it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly builds: Counter;
  readonly lastSeq: Gauge;
  /** Every push and ACK counts, N per version: each group's labelled child is looked up once. */
  readonly pushesOf: (group: string) => Counter.Internal;
  readonly acksOf: (group: string) => Counter.Internal;
  readonly nacksOf: (group: string) => Counter.Internal;
  readonly #convergence: Histogram<'group'>;
  /**
   * Per group, the version not yet ACKed by all its connected proxies and when it was built
   * (performance.now()). An ACK asks the registry's per-group counts whether it was the last one:
   * O(1), whatever the fleet's size (never a pass over every proxy per ACK).
   */
  readonly #pending = new Map<string, { version: string; started: number }>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.builds = new Counter({ name: 'mcpmux_snapshot_builds_total', help: 'Snapshot rebuilds (translator runs)', registers });
    const perGroup = (counter: Counter<'group'>): ((group: string) => Counter.Internal) => {
      const children = new Map<string, Counter.Internal>();
      return (group) => {
        let child = children.get(group);
        if (!child) children.set(group, (child = counter.labels({ group })));
        return child;
      };
    };
    this.pushesOf = perGroup(new Counter({ name: 'mcpmux_discovery_pushes_total', help: 'Snapshots sent to proxies', labelNames: ['group'], registers }));
    this.acksOf = perGroup(new Counter({ name: 'mcpmux_discovery_acks_total', help: 'Snapshot ACKs from proxies', labelNames: ['group'], registers }));
    this.nacksOf = perGroup(new Counter({ name: 'mcpmux_discovery_nacks_total', help: 'Snapshot NACKs from proxies', labelNames: ['group'], registers }));
    this.lastSeq = new Gauge({ name: 'mcpmux_event_log_last_seq', help: 'Sequence number of the newest event', registers });
    this.#convergence = new Histogram({
      name: 'mcpmux_convergence_seconds',
      help: 'From a snapshot version built to the moment every connected proxy of its Gateway ACKed it',
      labelNames: ['group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** A group now serves `version` (undefined: deleted, or not timed here), built at `started`. */
  built(group: string, version: string | undefined, started: number): void {
    if (version === undefined) this.#pending.delete(group);
    else this.#pending.set(group, { version, started });
  }

  /** An ACK of `version`: observed once the registry (this replica's, or the fleet's) says it was the group's last proxy to ACK. */
  acked(group: string, version: string, registry: { converged(group: string, version: string): boolean }): void {
    const pending = this.#pending.get(group);
    if (pending?.version !== version || !registry.converged(group, version)) return;
    this.#pending.delete(group);
    this.#convergence.observe({ group }, (performance.now() - pending.started) / 1000);
  }
}
