// The control plane's spans: one per snapshot build (the translator run and what it changed), and
// one per snapshot push to a proxy (discovery/server.ts), from the write to the proxy's ACK or NACK.
// A push caused by a build is its child. With tracing off (shared/telemetry/tracing.ts) these are
// one boolean read.
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { tracer, tracingEnabled, withSpan } from '../../shared/telemetry/tracing.ts';

/** Runs one snapshot build in a `snapshot build` span (`fn` as it is with tracing off). */
export function traceBuild<T>(attributes: Attributes, fn: () => T): T {
  if (!tracingEnabled) return fn();
  const span = tracer().startSpan('snapshot build', { kind: SpanKind.INTERNAL, attributes });
  let result: T;
  try {
    result = withSpan(span, fn);
  } catch (error) {
    failed(span, error);
    span.end();
    throw error;
  }
  if (result instanceof Promise) {
    result.then(() => span.end(), (error: unknown) => {
      failed(span, error);
      span.end();
    });
  } else {
    span.end();
  }
  return result;
}

/** What a build changed, on its span: each changed group as `group@version` (`@deleted` when it went away). */
export function noteBuilt(changed: readonly string[], version: (group: string) => string | undefined): void {
  if (!tracingEnabled || changed.length === 0) return;
  trace.getActiveSpan()?.setAttribute('mcpmux.snapshot.changed', changed.map((group) => `${group}@${version(group) ?? 'deleted'}`));
}

/** The span of one push of `version` to proxy `nodeId`; undefined with tracing off. End it with endPush(). */
export function startPush(nodeId: string, group: string, version: string): Span | undefined {
  if (!tracingEnabled) return undefined;
  return tracer().startSpan('snapshot push', {
    kind: SpanKind.PRODUCER,
    attributes: { 'mcpmux.node.id': nodeId, 'mcpmux.group': group, 'mcpmux.snapshot.version': version },
  });
}

/** How a push ended: ACKed, NACKed (an error), or the stream closed before an answer (an error). */
export function endPush(span: Span | undefined, outcome: 'ack' | 'nack' | 'closed'): void {
  if (!span) return;
  span.setAttribute('mcpmux.push.outcome', outcome);
  if (outcome !== 'ack') {
    span.setAttribute('error.type', outcome);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

function failed(span: Span, error: unknown): void {
  span.setAttribute('error.type', error instanceof Error ? error.name : '_OTHER');
  span.setStatus({ code: SpanStatusCode.ERROR });
}
