import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IncomingMessage } from 'node:http';
import { newSessionId } from '../downstream/options.ts';
import { formatEventId as eventId } from '../downstream/event-id.ts';
import { namedSession, workerReplicaId } from './session-routing.ts';
import { sessionOwner, tagSessionIds, workerTag } from './session-owner.ts';

const req = (url: string, headers: Record<string, string> = {}): IncomingMessage => ({ url, headers }) as unknown as IncomingMessage;

test('a worker tags the session ids it makes; the owner is read back from an id or an event id', () => {
  assert.is(sessionOwner(newSessionId()), undefined, 'a lone proxy makes plain ids');
  tagSessionIds(3);
  const id = newSessionId();
  assert.ok(id.startsWith(workerTag(3)));
  assert.ok(id.length >= 3 + 24, 'the random part stays 144 bits');
  assert.match(id, /^[A-Za-z0-9_-]+$/, 'URL-safe, no dot');
  assert.is(sessionOwner(id), 3);
  assert.is(sessionOwner(eventId(id, 17)), 3, 'a legacy Last-Event-ID starts with its session');
  assert.is(sessionOwner('w12_abc'), 12);
  for (const other of ['abc', 'w_abc', 'wx_abc', 'W1_abc', '']) assert.is(sessionOwner(other), undefined, other);
});

test('the session a request names: header, then ?sessionId=, then Last-Event-ID', () => {
  assert.is(namedSession(req('/mcp', { 'mcp-session-id': 'w1_a' })), 'w1_a');
  assert.is(namedSession(req('/mcp/message?sessionId=w0_b')), 'w0_b');
  assert.is(namedSession(req('/mcp', { 'last-event-id': 'w1_c.4' })), 'w1_c.4');
  assert.is(namedSession(req('/mcp/message?sessionId=w0_b', { 'mcp-session-id': 'w1_a' })), 'w1_a');
  assert.is(namedSession(req('/mcp?x=1')), undefined);
  assert.is(namedSession(req('/mcp')), undefined);
});

test('worker replica ids', () => {
  assert.is(workerReplicaId('proxy-0', 2), 'proxy-0-w2');
});

test.run();
