// Where a starting control plane is, as one named phase instead of flags whose meaning depends on
// the order they were set in. Phases only move forward; each move is logged with how long the
// phase before it took, and /readyz names the phase while it is not ready.
//
//   replaying  the event log (a file) or the shared history (NATS) is read back
//   syncing    the source lists what is there now (and the Secrets its objects name)
//   building   the first snapshots are translated
//   electing   the first election round (and, with its own CA, the CA Secret) before serving
//   starting   the gRPC server binds
//   serving    proxies are served; ready (unless the election or the CA has a problem later)
import type { Logger } from '../shared/log.ts';

export const STARTUP_PHASES = ['replaying', 'syncing', 'building', 'electing', 'starting', 'serving'] as const;
export type StartupPhase = (typeof STARTUP_PHASES)[number];

export class StartupPhases {
  readonly #logger: Logger;
  #phase: StartupPhase = 'replaying';
  #since = performance.now();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get phase(): StartupPhase {
    return this.#phase;
  }

  /** Whether the start has come to `phase` (or past it). */
  reached(phase: StartupPhase): boolean {
    return STARTUP_PHASES.indexOf(this.#phase) >= STARTUP_PHASES.indexOf(phase);
  }

  /** Moves to `next` if it is ahead (never back: a later rebuild does not reopen "building"). */
  enter(next: StartupPhase): void {
    if (this.reached(next)) return;
    const now = performance.now();
    this.#logger.info({ from: this.#phase, to: next, ms: Math.round(now - this.#since) }, `start: ${next}`);
    this.#phase = next;
    this.#since = now;
  }
}
