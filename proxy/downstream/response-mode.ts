// How the answer to a 2025 session's request goes out on streamable HTTP: as one JSON body, or as an
// SSE stream (which can carry the request's progress, logs and server→client requests before the
// answer). Decided once per request, here; the channel (streamable-channel.ts) carries it out.
//
// | client accepts SSE | client's version      | request may stream (*)   | mode                                          |
// |--------------------|-----------------------|--------------------------|-----------------------------------------------|
// | no                 | any                   | any                      | json: one body; related messages go to the GET stream |
// | yes                | 2025-11-25 or later   | any                      | primed: SSE at once, opened with an id-only event, so a broken stream can be resumed |
// | yes                | older                 | yes                      | held: JSON if the answer comes first (within 100 ms, and before any related message), SSE otherwise |
// | yes                | older                 | no                       | json                                          |
//
// (*) its method may send related messages before its answer (tools/call, prompts/get,
// resources/read, completion/complete, tasks/result), or it carries a progress token.
//
// Whatever the mode, a fleet changes only where the streams live (the channel's concern), not it.
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';

export type ResponseMode = 'json' | 'primed' | 'held';

/** Requests that may send related messages before their answer: worth an SSE response. */
const STREAMED_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read', 'completion/complete', 'tasks/result']);

/** The first version whose clients take a priming event and resume a stream that broke. */
const PRIMING_VERSION = '2025-11-25';

export function responseMode(acceptsSse: boolean, protocolVersion: string | undefined, request: JSONRPCRequest): ResponseMode {
  if (!acceptsSse) return 'json';
  if ((protocolVersion ?? '') >= PRIMING_VERSION) return 'primed';
  return mayStream(request) ? 'held' : 'json';
}

function mayStream(request: JSONRPCRequest): boolean {
  if (STREAMED_METHODS.has(request.method)) return true;
  return (request.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken !== undefined;
}
