import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../shared/log.ts';
import { McpmuxError } from '../../shared/errors.ts';
import { deriveGroupKey, deriveGroupKeys, parseMasterKeyFile, randomMasterKey, RequestStateKeyring, sameKeys, watchMasterKeyFile, type MasterKeys } from './keys.ts';

const logger = createLogger('test', { level: 'silent' });
const master = Buffer.alloc(32, 7);

test('derivation: deterministic, 32 bytes, one key per Gateway, never the master key', () => {
  const a = deriveGroupKey(master, 'ns/a');
  assert.is(a.length, 32);
  assert.ok(a.equals(deriveGroupKey(Buffer.alloc(32, 7), 'ns/a')), 'the same master and Gateway: the same key, on every replica');
  assert.not.ok(a.equals(deriveGroupKey(master, 'ns/b')), 'another Gateway, another key');
  assert.not.ok(a.equals(deriveGroupKey(Buffer.alloc(32, 8), 'ns/a')), 'another master, another key');
  assert.not.ok(a.equals(master));
  // HKDF-SHA256(master, salt "mcpmux", info "mcpmux/requestState/v1\0ns/a"): pinned, so a change of derivation is seen.
  assert.is(a.toString('hex'), '588e7a71d252ad0dc9dc2ebfb95612f404864dcb3273408e84ef3c7d3a8abc98');
  assert.throws(() => deriveGroupKey(Buffer.alloc(31), 'ns/a'), /at least 32 bytes/);
  assert.throws(() => deriveGroupKey(master, ''), /NS\/NAME/);
  const both = deriveGroupKeys({ current: master, previous: Buffer.alloc(32, 9) }, 'ns/a');
  assert.ok(both.current.equals(a));
  assert.ok(both.previous!.equals(deriveGroupKey(Buffer.alloc(32, 9), 'ns/a')));
  assert.is(deriveGroupKeys({ current: master }, 'ns/a').previous, undefined);
});

test('the keyring: derives per group (kept), tells subscribers only of a change, refuses short keys', () => {
  const keyring = new RequestStateKeyring();
  assert.is(keyring.ready, false);
  assert.is(keyring.keysFor('ns/a'), undefined, 'no master keys yet: no keys');
  let told = 0;
  const stop = keyring.subscribe(() => told++);
  assert.ok(keyring.set({ current: master }));
  assert.is(told, 1);
  assert.is(keyring.keysFor('ns/a'), keyring.keysFor('ns/a'), 'derived once per group');
  assert.is(keyring.set({ current: Buffer.alloc(32, 7) }), false, 'the same keys again: no change');
  assert.is(told, 1);
  const rotated: MasterKeys = { current: Buffer.alloc(32, 1), previous: master };
  assert.ok(keyring.set(rotated));
  assert.is(told, 2);
  assert.ok(sameKeys(keyring.keysFor('ns/a'), deriveGroupKeys(rotated, 'ns/a')));
  assert.ok(keyring.keysFor('ns/a')!.previous!.equals(deriveGroupKey(master, 'ns/a')), "the old current key's Gateway key is the new previous");
  assert.throws(() => keyring.set({ current: Buffer.alloc(16) }), /at least 32 bytes/);
  stop();
  keyring.set({ current: randomMasterKey() });
  assert.is(told, 2, 'unsubscribed');
});

test('the key file: base64 or hex, current then previous, comments; clear errors that never show a key', () => {
  const b64 = Buffer.alloc(32, 3).toString('base64');
  const hex = Buffer.alloc(48, 4).toString('hex');
  const keys = parseMasterKeyFile(`# rotated today\n${b64}\n\n${hex}\n`, 'keys.txt');
  assert.ok(keys.current.equals(Buffer.alloc(32, 3)));
  assert.ok(keys.previous!.equals(Buffer.alloc(48, 4)));
  assert.is(parseMasterKeyFile(b64).previous, undefined);
  for (const [text, pattern] of [['', /found 0/], [`${b64}\n${b64}\n${b64}`, /found 3/], ['c2hvcnQ=', /key 1 decodes to 5 bytes/]] as const) {
    try {
      parseMasterKeyFile(text, 'keys.txt');
      assert.unreachable(`accepted ${text}`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.match((error as Error).message, pattern);
      assert.match((error as Error).message, /^keys\.txt: /);
      assert.not.match((error as Error).message, new RegExp(b64.slice(0, 12).replace(/[+/]/g, '.')));
    }
  }
});

test('the key file is watched: a rotation written to it arrives; a broken file keeps the keys in use', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpmux-keys-'));
  const path = join(dir, 'keys');
  const first = Buffer.alloc(32, 1).toString('base64');
  const second = Buffer.alloc(32, 2).toString('base64');
  writeFileSync(path, `${first}\n`);
  const seen: MasterKeys[] = [];
  const stop = watchMasterKeyFile(path, (keys) => seen.push(keys), logger, 20);
  try {
    await new Promise((resolve) => setTimeout(resolve, 60));
    writeFileSync(path, `${second}\n${first}\n`);
    const until = async (n: number): Promise<void> => {
      const deadline = Date.now() + 3000;
      while (seen.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await until(1);
    assert.is(seen.length, 1);
    assert.ok(seen[0]!.current.equals(Buffer.alloc(32, 2)));
    assert.ok(seen[0]!.previous!.equals(Buffer.alloc(32, 1)));
    writeFileSync(path, 'not a key\n');
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.is(seen.length, 1, 'a broken file is no change');
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
