import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stderr; level from MCPMUX_LOG_LEVEL (info by default, silent in tests unless set). */
export function createLogger(component: string, options: { level?: string } = {}): Logger {
  const level = options.level ?? process.env.MCPMUX_LOG_LEVEL ?? 'info';
  return pino({ name: component, level, base: { component } }, pino.destination(2));
}
