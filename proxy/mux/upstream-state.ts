// What a downstream session has told its upstreams that they keep for it (the logging level,
// resource subscriptions): remembered here, so a target that connects later or re-initializes
// (it forgot the session: a restart, an expiry) gets it back before the client notices.
import { errorMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { CompiledTarget } from '../routing/table.ts';
import type { UpstreamConnection } from '../upstream/connection.ts';

export class UpstreamState {
  readonly #logger: Logger;
  readonly #defaultTimeoutMs: number;
  /** The level the client set with logging/setLevel; undefined until it does. */
  #logLevel: unknown;
  /** Resource subscriptions by target, as upstream URIs. */
  readonly #subscriptions = new Map<string, Set<string>>();

  constructor(options: { logger: Logger; requestTimeoutMs: number }) {
    this.#logger = options.logger;
    this.#defaultTimeoutMs = options.requestTimeoutMs;
  }

  setLogLevel(level: unknown): void {
    this.#logLevel = level;
  }

  noteSubscription(target: string, uri: string, subscribed: boolean): void {
    let uris = this.#subscriptions.get(target);
    if (subscribed) {
      if (!uris) this.#subscriptions.set(target, (uris = new Set()));
      uris.add(uri);
    } else {
      uris?.delete(uri);
    }
  }

  /** A target left the backend: nothing to restore there any more. */
  forget(target: string): void {
    this.#subscriptions.delete(target);
  }

  /** A newly connected target: the logging level, before first use. */
  async connected(target: CompiledTarget, upstream: UpstreamConnection): Promise<void> {
    if (this.#logLevel === undefined || !upstream.initializeResult?.capabilities.logging) return;
    await this.#send(target, upstream, 'logging/setLevel', { level: this.#logLevel });
  }

  /** A re-initialized target: the logging level and the subscriptions it forgot. */
  async reinitialized(target: CompiledTarget, upstream: UpstreamConnection): Promise<void> {
    await this.connected(target, upstream);
    for (const uri of this.#subscriptions.get(target.name) ?? []) await this.#send(target, upstream, 'resources/subscribe', { uri });
  }

  async #send(target: CompiledTarget, upstream: UpstreamConnection, method: string, params: Record<string, unknown>): Promise<void> {
    try {
      const response = await upstream.request({ method, params }, { timeoutMs: target.requestTimeoutMs ?? this.#defaultTimeoutMs });
      if ('error' in response) this.#logger.warn({ target: target.name, method, err: response.error.message }, 'session state not restored upstream');
    } catch (error) {
      this.#logger.warn({ target: target.name, method, err: errorMessage(error) }, 'session state not restored upstream');
    }
  }
}
