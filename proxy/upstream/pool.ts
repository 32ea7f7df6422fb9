// The proxy's one HTTP client for upstreams: a keep-alive connection pool per origin (undici's
// Agent keeps a Pool per origin), shared by every upstream session, and the choice of endpoint
// for a new session (round-robin over a target's ready endpoints, so sessions spread over pods).
import { Agent, type Dispatcher } from 'undici';
import type { CompiledTarget, EndpointUrl } from '../routing/table.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import { EraDirectory, type Era } from './eras.ts';
import { ToolParams } from '../modern/tool-params.ts';
import { DelayQueues } from '../delay-queue.ts';

export interface UpstreamPoolOptions {
  /** Connections per origin; undefined means unlimited (undici's default). */
  connectionsPerOrigin?: number;
  /** How long an idle keep-alive connection is kept (ms). */
  keepAliveTimeoutMs?: number;
  /** TCP (and TLS) connect timeout (ms). */
  connectTimeoutMs?: number;
  /** Where era verdicts are logged. Default: a silent logger. */
  logger?: Logger;
  /** Told each upstream era verdict (the era metric). */
  onEra?: (target: string, era: Era) => void;
}

export class UpstreamPool {
  readonly dispatcher: Dispatcher;
  /** Which MCP era each endpoint speaks (probed once per endpoint, shared by every session). */
  readonly eras: EraDirectory;
  /** What each target's tools declare with x-mcp-header (2026-07-28 upstreams expect those headers). */
  readonly toolParams = new ToolParams();
  /** The deadlines of upstream requests in flight, one timer per distinct timeout (delay-queue.ts). */
  readonly deadlines = new DelayQueues();
  readonly #nextEndpoint = new Map<string, number>();

  constructor(options: UpstreamPoolOptions = {}) {
    this.dispatcher = new Agent({
      connections: options.connectionsPerOrigin ?? null,
      // Below the 5 s idle timeout of Node servers that send no Keep-Alive hint (see ProxyServerOptions.upstreamKeepAliveMs).
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      connect: { timeout: options.connectTimeoutMs ?? 5_000 },
      // One request at a time per connection: MCP responses may stream for long (SSE), and a
      // pipelined request behind one would wait for it.
      pipelining: 1,
    });
    this.eras = new EraDirectory({
      dispatcher: this.dispatcher,
      logger: options.logger ?? createLogger('upstream-pool', { level: 'silent' }),
      ...(options.onEra ? { onVerdict: options.onEra } : {}),
    });
  }

  /** The endpoint a new upstream session of `target` pins to; undefined if it has none. */
  pickEndpoint(target: CompiledTarget): EndpointUrl | undefined {
    const count = target.endpoints.length;
    if (count === 0) return undefined;
    const key = `${target.backend}\u0000${target.name}`;
    const next = this.#nextEndpoint.get(key) ?? 0;
    this.#nextEndpoint.set(key, (next + 1) % count);
    return target.endpoints[next % count];
  }

  async close(): Promise<void> {
    this.deadlines.clear();
    await this.dispatcher.close();
  }
}
