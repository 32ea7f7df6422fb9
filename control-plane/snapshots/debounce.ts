/**
 * Runs `action` once things go quiet: `quietMs` after the last trigger, but never later than
 * `maxDelayMs` after the first trigger of a burst, so constant churn still makes progress.
 */
export class Debouncer {
  readonly #action: () => void;
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  #quietTimer: NodeJS.Timeout | undefined;
  #maxTimer: NodeJS.Timeout | undefined;

  constructor(action: () => void, options: { quietMs: number; maxDelayMs: number }) {
    this.#action = action;
    this.#quietMs = options.quietMs;
    this.#maxDelayMs = options.maxDelayMs;
  }

  trigger(): void {
    clearTimeout(this.#quietTimer);
    this.#quietTimer = setTimeout(() => this.flush(), this.#quietMs);
    this.#maxTimer ??= setTimeout(() => this.flush(), this.#maxDelayMs);
  }

  /** Runs the pending action now, if any. */
  flush(): void {
    const pending = this.#quietTimer !== undefined || this.#maxTimer !== undefined;
    this.cancel();
    if (pending) this.#action();
  }

  cancel(): void {
    clearTimeout(this.#quietTimer);
    clearTimeout(this.#maxTimer);
    this.#quietTimer = undefined;
    this.#maxTimer = undefined;
  }
}
