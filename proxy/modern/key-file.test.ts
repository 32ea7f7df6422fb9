import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { McpmuxError } from '../../shared/errors.ts';
import { parseKeyFile } from './key-file.ts';
import { RequestStateCodec } from './request-state.ts';

const binding = { target: 't', method: 'tools/call', name: 'x', principal: undefined };

test('the same file gives the same keys: a token sealed by one replica opens on another', () => {
  const text = `# current\n${randomBytes(32).toString('base64')}\n`;
  const a = new RequestStateCodec(parseKeyFile(text));
  const b = new RequestStateCodec(parseKeyFile(text));
  assert.equal(b.open(a.seal(binding, { upstream: 's' }), binding), { upstream: 's' });
});

test('rotation: the previous key (second line) still opens tokens of the old current one', () => {
  const old = randomBytes(32).toString('hex');
  const before = new RequestStateCodec(parseKeyFile(old));
  const after = new RequestStateCodec(parseKeyFile(`${randomBytes(32).toString('base64')}\n${old}`));
  assert.equal(after.open(before.seal(binding, { upstream: undefined }), binding), { upstream: undefined });
});

test('short keys, no keys and three keys are refused with a message that says what to do', () => {
  for (const text of ['c2hvcnQ=', '', '# only a comment', `${'a'.repeat(64)}\n${'b'.repeat(64)}\n${'c'.repeat(64)}`]) {
    try {
      parseKeyFile(text, 'keys.txt');
      assert.unreachable(`accepted ${JSON.stringify(text)}`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.match((error as Error).message, /keys\.txt/);
    }
  }
});

test.run();
