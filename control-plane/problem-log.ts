// Problems the translator found (conditions that say something is wrong), logged once when they
// appear and once when they clear, not on every rebuild. Without a status writer (the files
// source) the log is where an operator sees them.
import type { Logger } from '../shared/log.ts';
import { isProblem, type ObjectStatus } from './translate/status.ts';

export class ProblemLog {
  readonly #logger: Logger;
  /** Where (object and condition) → what was logged for it. */
  #reported = new Map<string, string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  report(statuses: readonly ObjectStatus[]): void {
    const now = new Map<string, string>();
    const note = (where: string, c: { reason: string; message: string }): void => {
      now.set(where, `${c.reason}: ${c.message}`);
      if (this.#reported.get(where) !== now.get(where)) this.#logger.warn({ object: where, reason: c.reason }, c.message);
    };
    for (const status of statuses) {
      const object = `${status.kind} ${status.namespace ? `${status.namespace}/` : ''}${status.name}`;
      for (const c of status.conditions.filter(isProblem)) note(`${object} ${c.type}`, c);
      // A Gateway's listeners have conditions of their own (a missing certificate on one of them
      // leaves the Gateway Programmed).
      for (const listener of status.listeners ?? []) for (const c of listener.conditions.filter(isProblem)) note(`${object} listener ${listener.name} ${c.type}`, c);
    }
    for (const where of this.#reported.keys()) if (!now.has(where)) this.#logger.info({ object: where }, 'problem resolved');
    this.#reported = now;
  }
}
