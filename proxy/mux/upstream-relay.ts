// What one downstream session does with the messages its upstreams send besides answers: each goes
// to the client request it belongs to (progress by token, the rest by the stream that carried it)
// or to the session's standalone stream, with everything that names a target's thing (resource
// URIs, task ids) rewritten to the client's view; ids of server→client requests and progress
// tokens are looked up and rewritten by the session's Correlation (correlation.ts).
// Nothing is broadcast: a message reaches the one session whose upstream session sent it.
import type { JSONRPCNotification, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/log.ts';
import type { ListKind } from '../federation/cursor.ts';
import { wrapUri } from '../federation/resource-uris.ts';
import { wrapTaskIds } from '../federation/task-ids.ts';
import type { UpstreamConnection, UpstreamMessage } from '../upstream/connection.ts';
import type { ClientChannel } from './channel.ts';
import type { Correlation } from './correlation.ts';

export interface UpstreamRelayOptions {
  channel: ClientChannel;
  /** The session's ids and tokens: progress and server→client requests are found and rewritten there. */
  correlation: Correlation;
  logger: Logger;
  /** Whether the session's resource URIs carry their target right now (the backend's naming). */
  urisArePrefixed: () => boolean;
  /** A target said one of its lists changed. */
  onListChanged: (target: string, kind: ListKind) => void;
}

type Params = Record<string, unknown> | undefined;

/** The list a list_changed notification is about. */
const LIST_CHANGED: Readonly<Record<string, ListKind>> = {
  'notifications/tools/list_changed': 'tools',
  'notifications/prompts/list_changed': 'prompts',
  'notifications/resources/list_changed': 'resources',
};

export class UpstreamRelay {
  readonly #options: UpstreamRelayOptions;

  constructor(options: UpstreamRelayOptions) {
    this.#options = options;
  }

  /** A message `upstream` (the session with `target`) sent; `relatedTo` as UpstreamOptions says. */
  relay(target: string, upstream: UpstreamConnection, message: UpstreamMessage, relatedTo: RequestId | undefined): void {
    if ('id' in message) {
      const params = wrapTaskIds(target, message.params) as Params;
      this.#options.correlation.ask(target, upstream, params === undefined ? message : { ...message, params }, relatedTo);
      return;
    }
    const params = message.params as Params;
    const { channel, correlation } = this.#options;
    switch (message.method) {
      case 'notifications/progress': {
        const routed = correlation.progress.route(target, params);
        if (routed) channel.send({ jsonrpc: '2.0', method: message.method, params: routed.params }, routed.relatedTo);
        else this.#options.logger.debug({ target }, 'progress for no request in flight dropped');
        return;
      }
      case 'notifications/cancelled':
        // The upstream withdrew one of its own requests to the client.
        correlation.cancelledByUpstream(target, params?.requestId, params?.reason);
        return;
      case 'notifications/message': {
        // Say which target logged: the client sees one server.
        const logger = typeof params?.logger === 'string' ? `${target}/${params.logger}` : target;
        channel.send({ jsonrpc: '2.0', method: message.method, params: { ...params, logger } }, relatedTo);
        return;
      }
      case 'notifications/resources/updated': {
        if (typeof params?.uri !== 'string') return;
        const uri = wrapUri(this.#options.urisArePrefixed(), target, params.uri);
        channel.send({ jsonrpc: '2.0', method: message.method, params: { ...params, uri } }, relatedTo);
        return;
      }
      default: {
        const kind = LIST_CHANGED[message.method];
        if (kind !== undefined) {
          this.#options.onListChanged(target, kind);
          return;
        }
        // Anything else (task status, elicitation completion, extensions) goes through as it is,
        // with task ids wrapped.
        const relayed: JSONRPCNotification = { jsonrpc: '2.0', method: message.method };
        if (params !== undefined) relayed.params = wrapTaskIds(target, params) as JSONRPCNotification['params'];
        channel.send(relayed, relatedTo);
      }
    }
  }
}
