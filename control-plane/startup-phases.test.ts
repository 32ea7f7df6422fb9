import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../shared/log.ts';
import { StartupPhases } from './startup-phases.ts';

test('phases move forward only, skipping is allowed, and reached() reads the order', () => {
  const phases = new StartupPhases(createLogger('test', { level: 'silent' }));
  assert.is(phases.phase, 'replaying');
  assert.not.ok(phases.reached('syncing'));
  phases.enter('syncing');
  phases.enter('electing'); // the shared history's start: synced and built at once
  assert.is(phases.phase, 'electing');
  assert.ok(phases.reached('building'));
  phases.enter('building'); // a later rebuild does not reopen "building"
  assert.is(phases.phase, 'electing');
  phases.enter('serving');
  assert.ok(phases.reached('starting'));
  assert.is(phases.phase, 'serving');
});

test.run();
