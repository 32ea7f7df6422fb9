import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fieldChanges, type FieldChange } from './field-diff.ts';

const lines = (changes: FieldChange[]): string[] => changes.map((c) => `${c.path}: ${c.before || '∅'} → ${c.after || '∅'}`);

const target = (endpoints: Array<{ address: string; port: number; ready: boolean }>, extra: Record<string, unknown> = {}) => ({
  backend: 'ns/b',
  name: 't',
  endpoints,
  timeouts: { requestMs: 30000, initializeMs: 5000 },
  authSecret: '',
  stdio: null,
  ...extra,
});

test('nested fields by dotted path; unchanged ones say nothing', () => {
  const a = target([]);
  const b = target([], { timeouts: { requestMs: 60000, initializeMs: 5000 }, path: '/mcp' });
  assert.equal(lines(fieldChanges(a, b)), ['path: ∅ → "/mcp"', 'timeouts.requestMs: 30000 → 60000']);
  assert.equal(fieldChanges(a, structuredClone(a)), []);
});

test('endpoints are matched by address:port, not position: one added at the front is one change', () => {
  const e1 = { address: '10.0.0.1', port: 3001, ready: true };
  const e2 = { address: '10.0.0.2', port: 3001, ready: true };
  const a = target([e1, e2]);
  const b = target([{ address: '10.0.0.9', port: 3001, ready: false }, e1, { ...e2, ready: false }]);
  assert.equal(lines(fieldChanges(a, b)), [
    'endpoints[10.0.0.9:3001]: ∅ → {"address":"10.0.0.9","port":3001,"ready":false}',
    'endpoints[10.0.0.2:3001].ready: true → false',
  ]);
  assert.equal(lines(fieldChanges(b, a)), [
    'endpoints[10.0.0.2:3001].ready: false → true',
    'endpoints[10.0.0.9:3001]: {"address":"10.0.0.9","port":3001,"ready":false} → ∅',
  ]);
});

test('named lists match by name; lists of values are sets; a reorder is one change of the whole list', () => {
  const rule = (name: string, tools: string[]) => ({ name, effect: 'allow', tools });
  const a = { rules: [rule('readers', ['a', 'b']), rule('admins', ['*'])], hostnames: ['x.example', 'y.example'] };
  const b = { rules: [rule('readers', ['b', 'c'])], hostnames: ['y.example', 'x.example'] };
  assert.equal(lines(fieldChanges(a, b)), [
    'hostnames: ["x.example","y.example"] → ["y.example","x.example"]',
    'rules[readers].tools[]: "a" → ∅',
    'rules[readers].tools[]: ∅ → "c"',
    'rules[admins]: {"effect":"allow","name":"admins","tools":["*"]} → ∅',
  ]);
});

test('lists without a distinct identity compare by index; odd keys are quoted; null to object is one change', () => {
  const a = { stdio: null, args: ['--a', '--b'], data: { 'tls.crt': '<redacted>' }, list: [{ v: 1 }, { v: 1 }] };
  const b = { stdio: { command: 'x' }, args: ['--a'], data: { 'tls.crt': '<redacted>', 'tls.key': '<redacted>' }, list: [{ v: 1 }, { v: 2 }] };
  assert.equal(lines(fieldChanges(a, b)), [
    'args[]: "--b" → ∅',
    'data["tls.key"]: ∅ → "<redacted>"',
    'list[1].v: 1 → 2',
    'stdio: null → {"command":"x"}',
  ]);
});

test('an added or removed resource: its top-level fields that hold something', () => {
  const t = target([{ address: '10.0.0.1', port: 80, ready: true }]);
  assert.equal(lines(fieldChanges(undefined, t)), [
    'backend: ∅ → "ns/b"',
    'endpoints: ∅ → [{"address":"10.0.0.1","port":80,"ready":true}]',
    'name: ∅ → "t"',
    'timeouts: ∅ → {"initializeMs":5000,"requestMs":30000}',
  ]);
  assert.equal(fieldChanges(t, undefined).map((c) => [c.path, c.after]), [
    ['backend', ''],
    ['endpoints', ''],
    ['name', ''],
    ['timeouts', ''],
  ]);
});

test.run();
