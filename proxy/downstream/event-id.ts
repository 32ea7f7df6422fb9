// The one form of the SSE event ids a client may resume with Last-Event-ID: `<stream key>.<seq>`,
// split at the last dot, so an id names both the stream to resume and where in it. Three kinds of
// stream key, all made here:
//  - `g`: a streamable session's standalone (GET) stream;
//  - `r<n>`: a streamable session's n-th request stream; in a fleet `r<n>~<request id>~<replica>`
//    (the id as base64url JSON), so a replica asked to resume a stream it does not hold learns who
//    holds it and, if that replica is gone, which request to fail;
//  - `<session id>`: a legacy SSE session's one stream (an EventSource that reconnects has no other
//    way to name its session; --workers routing reads the worker tag at its front).
// `seq` counts per stream from 1 (0: a legacy stream's endpoint event), or in a fleet is the
// sequence of the shared JetStream buffer. These are the bytes clients hold across a rolling update,
// so the form is kept exactly: the parser accepts every id an earlier version handed out.
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpmuxError } from '../../shared/errors.ts';

export interface EventId {
  /** Which stream: `g`, `r<n>`, `r<n>~<id>~<replica>` or a legacy session id. */
  streamKey: string;
  /** Position in the stream (≥ 0). */
  seq: number;
}

/** Text that is not an event id of ours (the message is what a client sending it as Last-Event-ID is told). */
export class EventIdError extends McpmuxError {
  readonly text: string;
  readonly reason: 'no stream key' | 'no sequence number';
  constructor(text: string, reason: EventIdError['reason']) {
    super('MCPMUX_INVALID_REQUEST', `Last-Event-ID ${JSON.stringify(text)} is not an event id of this server`);
    this.text = text;
    this.reason = reason;
  }
}

/** The standalone (GET) stream's key: its ids are `g.<seq>`. */
export const STANDALONE_KEY = 'g';

export function formatEventId(streamKey: string, seq: number): string {
  return `${streamKey}.${seq}`;
}

/** `r3.17` → {streamKey: 'r3', seq: 17}; an EventIdError for anything else. */
export function parseEventId(text: string): EventId | EventIdError {
  const dot = text.lastIndexOf('.');
  if (dot <= 0) return new EventIdError(text, 'no stream key');
  const seq = Number(text.slice(dot + 1));
  if (!Number.isSafeInteger(seq) || seq < 0) return new EventIdError(text, 'no sequence number');
  return { streamKey: text.slice(0, dot), seq };
}

/** The key of a single replica's n-th request stream. */
export function requestStreamKey(n: number): string {
  return `r${n}`;
}

/** The key of a request stream in a fleet: `r<n>~<request id as base64url JSON>~<replica>` (no dot: ids split at the last one). */
export function fleetRequestStreamKey(n: number, requestId: RequestId, replica: string): string {
  return `r${n}~${Buffer.from(JSON.stringify(requestId)).toString('base64url')}~${replica}`;
}

/** Which request a fleet request stream answers and which replica holds it; undefined for any other key. */
export function parseRequestStreamKey(key: string): { requestId: RequestId; replica: string } | undefined {
  const parts = key.split('~');
  if (parts.length !== 3 || !/^r\d+$/.test(parts[0] ?? '')) return undefined;
  try {
    const requestId: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString());
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return undefined;
    return { requestId, replica: parts[2] ?? '' };
  } catch {
    return undefined;
  }
}

/** A legacy SSE session's stream key: its session id. */
export function legacyStreamKey(sessionId: string): string {
  return sessionId;
}
