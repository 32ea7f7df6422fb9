import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listenerSnapshot } from '../../shared/testing/snapshots.ts';
import type { Snapshot } from '../../shared/config/types.ts';
import { SnapshotCache } from './cache.ts';
import { Debouncer } from './debounce.ts';
import { redactObject, redactSnapshot, REDACTED } from './redact.ts';

const snap = (group: string, port: number, secret = 's3cret'): Snapshot => listenerSnapshot(group, port, { secrets: [{ name: 'ns/creds', data: { token: secret } }] });

test('only groups whose version changed notify and are reported', () => {
  const cache = new SnapshotCache({ now: () => 1000 });
  const seen: string[] = [];
  cache.subscribe('a/gw', (s) => seen.push(`a:${s?.version ?? 'gone'}`));
  cache.subscribe('b/gw', (s) => seen.push(`b:${s?.version ?? 'gone'}`));
  const a1 = snap('a/gw', 80);
  const b1 = snap('b/gw', 80);
  assert.equal(cache.setAll([a1, b1], 1), ['a/gw', 'b/gw']);
  assert.equal(cache.setAll([snap('a/gw', 80), b1], 2), [], 'same content, same version: silent');
  const b2 = snap('b/gw', 81);
  assert.equal(cache.setAll([a1, b2], 3), ['b/gw']);
  assert.equal(cache.setAll([b2], 4), ['a/gw'], 'a vanished group is a change');
  assert.equal(seen, [`a:${a1.version}`, `b:${b1.version}`, `b:${b2.version}`, 'a:gone']);
  assert.equal(cache.groups(), ['b/gw']);
});

test('history keeps past versions newest first, with the event sequence', () => {
  let now = 0;
  const cache = new SnapshotCache({ now: () => ++now, historyLimit: 2 });
  const v1 = snap('g/gw', 1);
  const v2 = snap('g/gw', 2);
  const v3 = snap('g/gw', 3);
  cache.setAll([v1], 10);
  cache.setAll([v2], 11);
  cache.setAll([v3], 12);
  assert.equal(cache.versions('g/gw').map((r) => [r.version, r.eventSeq]), [[v3.version, 12], [v2.version, 11]]);
  assert.is(cache.getVersion('g/gw', v2.version)?.version, v2.version);
  assert.is(cache.getVersion('g/gw', v1.version), undefined, 'beyond the history limit');
});

test('redaction hides every secret value and keeps the keys', () => {
  const redacted = redactSnapshot(snap('g/gw', 1, 'hunter2'));
  assert.equal(redacted.secrets, [{ name: 'ns/creds', data: { token: REDACTED } }]);
  assert.not.match(JSON.stringify(redacted), /hunter2/);
});

test('redaction hides the environment values of stdio targets and keeps the rest', () => {
  const base = snap('g/gw', 1);
  const stdio = { command: 'srv', args: ['--token-file', 'x'], env: { API_TOKEN: 'hunter2', MODE: 'dev' }, cwd: '/tmp' };
  const target = { backend: 'b', name: 't', endpoints: [], path: '', protocol: 'PROTOCOL_STDIO' as const, scheme: '', timeouts: { requestMs: 0, initializeMs: 0 }, authSecret: '', source: 's', stdio, protocolEra: 'PROTOCOL_ERA_LEGACY' as const };
  const redacted = redactSnapshot({ ...base, targets: [target, { ...target, name: 'u', stdio: null }] });
  assert.equal(redacted.targets[0]!.stdio, { ...stdio, env: { API_TOKEN: REDACTED, MODE: REDACTED } });
  assert.is(redacted.targets[1]!.stdio, null);
  assert.not.match(JSON.stringify(redacted), /hunter2/);
  assert.is(stdio.env.API_TOKEN, 'hunter2', 'the snapshot itself is untouched');
});

test('event listings hide the env values of MCPBackend stdio targets too', () => {
  const backend = {
    apiVersion: 'mcpmux.dev/v1alpha1',
    kind: 'MCPBackend',
    metadata: { name: 'b' },
    spec: { prefixMode: 'never', targets: [{ static: { name: 'a', protocol: 'stdio', command: 'srv', env: { API_TOKEN: 'hunter2' } } }, { selector: {} }, null] },
  };
  const redacted = redactObject(backend) as typeof backend;
  assert.equal(redacted.spec.targets[0], { static: { name: 'a', protocol: 'stdio', command: 'srv', env: { API_TOKEN: REDACTED } } });
  assert.equal(redacted.spec.targets.slice(1), [{ selector: {} }, null]);
  assert.is(redacted.spec.prefixMode, 'never');
  assert.not.match(JSON.stringify(redacted), /hunter2/);
  const service = { kind: 'Service', spec: { targets: [{ static: { env: { A: 'b' } } }] } };
  assert.is(redactObject(service), service, 'other kinds are left alone');
});

test('the debouncer waits for quiet but never longer than the max delay', async () => {
  let runs = 0;
  const debouncer = new Debouncer(() => runs++, { quietMs: 30, maxDelayMs: 80 });
  const started = Date.now();
  // Trigger every 10 ms for 150 ms: quiet never comes, the max delay forces progress.
  while (Date.now() - started < 150) {
    debouncer.trigger();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(runs >= 1, `ran ${runs} times under churn`);
  const before = runs;
  await new Promise((r) => setTimeout(r, 60));
  assert.is(runs, before + 1, 'one more run once quiet');
  debouncer.trigger();
  debouncer.cancel();
  await new Promise((r) => setTimeout(r, 60));
  assert.is(runs, before + 1, 'cancel drops the pending run');
});

test('an isolated trigger runs on the next turn; triggers right after a run wait for quiet', async () => {
  let runs = 0;
  const debouncer = new Debouncer(() => runs++, { quietMs: 150, maxDelayMs: 1000 });
  debouncer.trigger();
  debouncer.trigger(); // same turn: shares the run
  await new Promise((r) => setImmediate(r));
  assert.is(runs, 1, 'ran at once, once');
  debouncer.trigger(); // within quietMs of that run: part of a burst
  await new Promise((r) => setTimeout(r, 10));
  assert.is(runs, 1, 'a burst waits for quiet');
  await new Promise((r) => setTimeout(r, 200));
  assert.is(runs, 2, 'then runs once');
  await new Promise((r) => setTimeout(r, 200)); // quiet again: the next change is isolated
  debouncer.trigger();
  await new Promise((r) => setImmediate(r));
  assert.is(runs, 3);
});

test('leading: false waits for quiet every time', async () => {
  let runs = 0;
  const debouncer = new Debouncer(() => runs++, { quietMs: 150, maxDelayMs: 1000, leading: false });
  debouncer.trigger();
  await new Promise((r) => setTimeout(r, 10));
  assert.is(runs, 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.is(runs, 1);
});

test.run();
