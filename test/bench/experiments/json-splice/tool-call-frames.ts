// (An experiment, not used by the proxy: see bench.ts.) A tools/call forwarded as text: the client's params go upstream with only the tool's name
// replaced, and the upstream's result comes back to the client untouched, when a scan of the
// text proves that is the same as parsing, rewriting and serialising. Whenever it cannot prove
// it, the answer is undefined and the message takes the parsed path.
//
// What must never happen is that the gateway decides on one reading of a message and the
// upstream acts on another. Parsers differ on duplicate keys (JSON.parse keeps the last, others
// the first) and on escapes in keys, so a message with either, at a level the gateway reads
// (the message, its params, the result), is never spliced. The arguments go as the client wrote
// them, as through any forwarding proxy: the gateway decides nothing on them.
import { member, objectMembers, skipWhitespace, valueText } from './members.ts';
import { RawJsonResult } from './raw-result.ts';

/**
 * The params of a client's tools/call, as text, with the name the client called (`exposed`)
 * replaced by the upstream's own; undefined unless `raw` is one message with one `params` holding
 * one `name` that is exactly `exposed`, and no `_meta` (progress tokens and trace context are
 * rewritten on the parsed path).
 */
export function splicedToolCallParams(raw: string, exposed: string, upstreamName: string): string | undefined {
  const message = objectMembers(raw);
  if (!message || message.duplicateKeys) return undefined;
  const params = member(message, 'params');
  if (!params) return undefined;
  const inner = objectMembers(raw, params.valueStart);
  if (!inner || inner.duplicateKeys || member(inner, '_meta')) return undefined;
  const name = member(inner, 'name');
  // Equal to the parsed name's own encoding: the text says exactly what authorization saw.
  if (!name || valueText(raw, name) !== JSON.stringify(exposed)) return undefined;
  return raw.slice(params.valueStart, name.valueStart) + JSON.stringify(upstreamName) + raw.slice(name.valueEnd, params.valueEnd);
}

export interface RawResultRule {
  /** The backend prefixes names: resource URIs in the result's content would be wrapped, so a result that may carry one is parsed. */
  contentUrisWrapped: boolean;
}

/**
 * The result of an upstream's JSON answer to our request `expectId`, kept as text; undefined
 * unless the answer is exactly `{"jsonrpc":"2.0","id":expectId,"result":{...}}` (any order, no
 * other member, no duplicate) and nothing in the result is rewritten on the way to the client:
 * no task id (wrapped with the target), no resource content when URIs are wrapped. The whole
 * answer is checked to be JSON (as JSON.parse would); one with line breaks, even between tokens,
 * is parsed instead: a result's text must fit in one SSE data line.
 */
export function rawToolResult(body: string, expectId: number, rule: RawResultRule): RawJsonResult | undefined {
  if (body.includes('\n') || body.includes('\r')) return undefined;
  const message = objectMembers(body);
  if (!message || message.duplicateKeys || message.members.length !== 3 || skipWhitespace(body, message.end) !== body.length) return undefined;
  const jsonrpc = member(message, 'jsonrpc');
  const id = member(message, 'id');
  const result = member(message, 'result');
  if (!jsonrpc || !id || !result || valueText(body, jsonrpc) !== '"2.0"' || valueText(body, id) !== String(expectId)) return undefined;
  const inner = objectMembers(body, result.valueStart);
  if (!inner || inner.duplicateKeys) return undefined;
  let isError = false;
  for (const each of inner.members) {
    switch (each.key) {
      case 'taskId':
      case 'task':
        return undefined;
      case '_meta': {
        // A related task's id is wrapped; an escape could spell its key.
        const meta = valueText(body, each);
        if (meta.includes('related-task') || meta.includes('\\u')) return undefined;
        break;
      }
      case 'content':
        if (rule.contentUrisWrapped) {
          const content = valueText(body, each);
          if (content.includes('"resource') || content.includes('\\u')) return undefined;
        }
        break;
      case 'isError':
        isError = valueText(body, each) === 'true';
        break;
      default:
    }
  }
  return new RawJsonResult(valueText(body, result), isError);
}
