import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInitializeResult, LATEST_PROTOCOL_VERSION, LEGACY_SSE_PROTOCOL_VERSION, mergeCapabilities, mergeInstructions, negotiateProtocolVersion } from './initialize.ts';

const versions: Array<[unknown, string]> = [
  ['2025-11-25', '2025-11-25'],
  ['2025-06-18', '2025-06-18'],
  ['2025-03-26', '2025-03-26'],
  ['2024-11-05', '2024-11-05'],
  ['2024-10-07', LATEST_PROTOCOL_VERSION],
  ['2099-01-01', LATEST_PROTOCOL_VERSION],
  [undefined, LATEST_PROTOCOL_VERSION],
  [42, LATEST_PROTOCOL_VERSION],
];
for (const [requested, expected] of versions) {
  test(`client asks ${String(requested)} → ${expected}`, () => assert.is(negotiateProtocolVersion(requested), expected));
}

test('a legacy SSE client asking for a version we do not know gets 2024-11-05', () => {
  assert.is(negotiateProtocolVersion('2099-01-01', LEGACY_SSE_PROTOCOL_VERSION), '2024-11-05');
  assert.is(negotiateProtocolVersion('2025-06-18', LEGACY_SSE_PROTOCOL_VERSION), '2025-06-18');
});

const ALWAYS = { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } };

test('capabilities: lists always offered with listChanged; the rest is the union of what targets offer', () => {
  const merged = mergeCapabilities([
    { tools: { listChanged: true }, resources: { subscribe: true }, logging: {}, tasks: { list: {} } },
    { tools: {}, prompts: { listChanged: false }, completions: {}, tasks: { cancel: {}, requests: { tools: { call: {} } } } },
    {},
  ]);
  assert.equal(merged, {
    ...ALWAYS,
    resources: { listChanged: true, subscribe: true },
    logging: {},
    completions: {},
    tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
  });
  assert.equal(mergeCapabilities([]), ALWAYS);
});

test('the initialize result carries the serverInfo, the negotiated version and instructions', () => {
  const result = buildInitializeResult({
    protocolVersion: '2025-06-18',
    serverInfo: { name: 'mcpmux', version: '0.1.0' },
    capabilities: [{ tools: {} }],
    instructions: 'use me',
  });
  assert.equal(result, { protocolVersion: '2025-06-18', capabilities: ALWAYS, serverInfo: { name: 'mcpmux', version: '0.1.0' }, instructions: 'use me' });
});

const instructionCases: Array<[string, string, Array<{ target: string; instructions: string | undefined }>, string | undefined]> = [
  ['configured wins', 'Ours.', [{ target: 'a', instructions: 'A.' }], 'Ours.'],
  ['targets merged under their names, in order', '', [{ target: 'a', instructions: 'A says.\n' }, { target: 'b', instructions: undefined }, { target: 'c', instructions: 'C says.' }], '## a\nA says.\n\n## c\nC says.'],
  ['blank instructions are skipped', '', [{ target: 'a', instructions: '  ' }], undefined],
  ['nobody has any', '', [], undefined],
];
for (const [name, configured, targets, expected] of instructionCases) {
  test(`instructions: ${name}`, () => assert.is(mergeInstructions(configured, targets), expected));
}

test.run();
