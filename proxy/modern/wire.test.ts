import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { META_KEYS, MODERN_METHODS, MODERN_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSIONS, REMOVED_METHODS, hasModernClaim, nameField } from './wire.ts';

test('the modern revision is 2026-07-28, and the only one served', () => {
  assert.is(MODERN_PROTOCOL_VERSION, '2026-07-28');
  assert.equal([...MODERN_PROTOCOL_VERSIONS], ['2026-07-28']);
});

const claims: Array<[string, unknown, boolean]> = [
  ['a version string', { _meta: { [META_KEYS.protocolVersion]: '2026-07-28' } }, true],
  ['any value: the key is the claim', { _meta: { [META_KEYS.protocolVersion]: 42 } }, true],
  ['an undefined value still has the key', { _meta: { [META_KEYS.protocolVersion]: undefined } }, true],
  ['other reserved keys only', { _meta: { [META_KEYS.clientCapabilities]: {} } }, false],
  ['no _meta', { name: 'x' }, false],
  ['_meta an array', { _meta: [META_KEYS.protocolVersion] }, false],
  ['params an array', [{ _meta: { [META_KEYS.protocolVersion]: 'x' } }], false],
  ['params null', null, false],
  ['params a string', 'io.modelcontextprotocol/protocolVersion', false],
  ['an inherited key only', { _meta: Object.create({ [META_KEYS.protocolVersion]: 'x' }) }, false],
];
for (const [what, params, expected] of claims) test(`claim: ${what} → ${expected}`, () => assert.is(hasModernClaim(params), expected));

test('modern methods: the thirteen a gateway answers, none of the removed ones', () => {
  assert.is(MODERN_METHODS.size, 13);
  for (const method of ['server/discover', 'tools/call', 'resources/templates/list', 'subscriptions/listen', 'tasks/update', 'completion/complete']) assert.ok(MODERN_METHODS.has(method), method);
  for (const method of REMOVED_METHODS.keys()) assert.not.ok(MODERN_METHODS.has(method), method);
  for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'tasks/result', 'tasks/list']) assert.ok(REMOVED_METHODS.has(method), method);
});

const names: Array<[string, string | undefined]> = [
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
  ['tools/list', undefined],
  ['server/discover', undefined],
  ['constructor', undefined],
  ['__proto__', undefined],
  ['TOOLS/CALL', undefined],
];
for (const [method, field] of names) test(`name field of ${method}: ${field}`, () => assert.is(nameField(method), field));

test.run();
