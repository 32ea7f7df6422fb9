import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInitializeResult, LATEST_PROTOCOL_VERSION, mergeCapabilities, negotiateProtocolVersion } from './initialize.ts';

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

test('capabilities: the union of what targets offer, flags only when true, nothing we do not route', () => {
  const merged = mergeCapabilities([
    { tools: { listChanged: true }, resources: { subscribe: true }, logging: {}, tasks: { list: {} } } as never,
    { tools: {}, prompts: { listChanged: false }, completions: {} },
    {},
  ]);
  assert.equal(merged, { tools: { listChanged: true }, resources: { subscribe: true }, logging: {}, prompts: {}, completions: {} });
  assert.equal(mergeCapabilities([]), {});
});

test('the initialize result carries our serverInfo and the negotiated version', () => {
  const result = buildInitializeResult({
    protocolVersion: '2025-06-18',
    serverInfo: { name: 'mcpmux', version: '0.1.0' },
    capabilities: [{ tools: {} }],
  });
  assert.equal(result, { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'mcpmux', version: '0.1.0' } });
});

test.run();
