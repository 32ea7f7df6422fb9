/**
 * Coalesces triggers into runs of `action`, without putting a delay in front of every change.
 *
 * - An isolated trigger (nothing ran or waited in the last `quietMs`) runs on the next turn of the
 *   event loop: triggers of the same turn share that run, and nothing else waits. Most changes are
 *   isolated (one object edited, one endpoint moved), and a fixed quiet period in front of them is
 *   pure latency: 50 ms of it alone is half the convergence budget for 100 proxies (DESIGN.md,
 *   "Performance targets").
 * - A trigger within `quietMs` of a run, or while one is pending, is part of a burst: the run comes
 *   `quietMs` after the burst's last trigger, but never later than `maxDelayMs` after its first, so
 *   constant churn still makes progress while a flood of events costs a few runs, not one each.
 *
 * `leading: false` restores the plain trailing debounce (every run waits `quietMs` of quiet).
 */
export class Debouncer {
  readonly #action: () => void;
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #leading: boolean;
  readonly #now: () => number;
  #immediate: NodeJS.Immediate | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #maxTimer: NodeJS.Timeout | undefined;
  #lastRunAt = Number.NEGATIVE_INFINITY;

  constructor(action: () => void, options: { quietMs: number; maxDelayMs: number; leading?: boolean; now?: () => number }) {
    this.#action = action;
    this.#quietMs = options.quietMs;
    this.#maxDelayMs = options.maxDelayMs;
    this.#leading = options.leading ?? true;
    this.#now = options.now ?? performance.now.bind(performance);
  }

  trigger(): void {
    if (this.#immediate) return; // a run is already queued for this turn; it will see this change
    if (this.#leading && this.#quietTimer === undefined && this.#now() - this.#lastRunAt >= this.#quietMs) {
      this.#immediate = setImmediate(() => this.flush());
      return;
    }
    clearTimeout(this.#quietTimer);
    this.#quietTimer = setTimeout(() => this.flush(), this.#quietMs);
    this.#maxTimer ??= setTimeout(() => this.flush(), this.#maxDelayMs);
  }

  /** Runs the pending action now, if any. */
  flush(): void {
    const pending = this.#immediate !== undefined || this.#quietTimer !== undefined || this.#maxTimer !== undefined;
    this.cancel();
    if (!pending) return;
    try {
      this.#action();
    } finally {
      this.#lastRunAt = this.#now();
    }
  }

  cancel(): void {
    if (this.#immediate) clearImmediate(this.#immediate);
    clearTimeout(this.#quietTimer);
    clearTimeout(this.#maxTimer);
    this.#immediate = undefined;
    this.#quietTimer = undefined;
    this.#maxTimer = undefined;
  }
}
