import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serviceNames } from './cli.ts';

test('the control plane certificate\'s default names: the Service proxies dial, its short forms, loopback', () => {
  assert.equal(serviceNames('mcpmux-control-plane.mcpmux-system.svc:18000'), [
    'mcpmux-control-plane.mcpmux-system.svc',
    'mcpmux-control-plane',
    'mcpmux-control-plane.mcpmux-system',
    'mcpmux-control-plane.mcpmux-system.svc.cluster.local',
    'localhost',
    '127.0.0.1',
    '::1',
  ]);
  assert.equal(serviceNames('10.0.0.7:18000'), ['10.0.0.7', 'localhost', '127.0.0.1', '::1']);
});

test.run();
