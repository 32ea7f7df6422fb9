import type { Logger } from '../log.ts';

/** A signal this long after the first one forces an exit; closer ones are echoes (see below). */
const FORCE_AFTER_MS = 1000;

/**
 * Resolves on the first SIGINT or SIGTERM. Ctrl-C in a terminal reaches every process of the
 * group, and `mcpmux dev` forwards SIGTERM too, so a second signal right after the first is an
 * echo and is ignored; one sent later means "stop now" and exits at once.
 */
export function waitForShutdown(logger: Logger): Promise<string> {
  return new Promise((resolve) => {
    let firstAt = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (firstAt === 0) {
        firstAt = Date.now();
        logger.info({ signal }, 'shutting down');
        resolve(signal);
        return;
      }
      if (Date.now() - firstAt < FORCE_AFTER_MS) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
