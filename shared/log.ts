import { pino, type Logger } from 'pino';
import { activeSpanContext } from './telemetry/tracing.ts';

export type { Logger };

/** What the mixin returns without an active span: the merge below then adds nothing (and allocates nothing). */
const NO_SPAN: Record<string, never> = Object.freeze({});

/** trace_id and span_id of the active span on every line, when tracing is on (shared/telemetry/tracing.ts). */
function traceMixin(): Record<string, string> {
  const ids = activeSpanContext();
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : NO_SPAN;
}

/** pino's default merge assigns into the mixin's object: the shared empty one is never written to. */
function mergeTrace(line: object, mixin: object): object {
  return mixin === NO_SPAN ? line : Object.assign(mixin, line);
}

/** JSON logs on stderr; level from MCPMUX_LOG_LEVEL (info by default, silent in tests unless set). */
export function createLogger(component: string, options: { level?: string } = {}): Logger {
  const level = options.level ?? process.env.MCPMUX_LOG_LEVEL ?? 'info';
  return pino({ name: component, level, base: { component }, mixin: traceMixin, mixinMergeStrategy: mergeTrace }, pino.destination(2));
}
